/* The page's <time datetime="..." data-local-time="STYLE"> elements, written in the reader's time
 * zone (styles: ./local-time.js) with the full date as their title. */
import { formatTime, fullTime, parseTime } from "./local-time.js";

const REFRESH_MS = 60000;

/** Rewrite every <time data-local-time> under `root` (default: the document). */
export function formatTimes(root = document) {
  const nodes = root.querySelectorAll ? root.querySelectorAll("time[data-local-time]") : [];
  for (const node of nodes) {
    const date = parseTime(node.getAttribute("datetime"));
    if (!date) continue;
    const text = formatTime(date, node.getAttribute("data-local-time"));
    if (node.textContent !== text) node.textContent = text;
    const full = fullTime(date);
    if (node.getAttribute("title") !== full) node.setAttribute("title", full);
  }
}

/** Format the page's times now and every minute ("today at" turns into "yesterday at"). */
export function keepTimesCurrent() {
  formatTimes(document);
  window.setInterval(() => formatTimes(document), REFRESH_MS);
}
