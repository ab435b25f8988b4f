/* A picture's full-size view: a click on its thumbnail (a[data-attachment-kind="image"] in the
 * server's _attachment.html) opens the overlay copied from #attachment-viewer-template
 * (chat/_attachment_viewer.html); Escape, Close or a click outside the picture closes it and puts
 * the focus back on the thumbnail. With a modifier key the link opens the picture in a new tab.
 */
import { closesViewer, opensViewer, viewerContent } from "./viewer-rules.js";

let overlay = null;
let returnFocus = null;

function onKey(event) {
  if (!closesViewer(event.key)) return;
  event.preventDefault();
  closeViewer();
}

/** Close the overlay, if open. */
export function closeViewer() {
  if (!overlay) return;
  overlay.remove();
  overlay = null;
  document.removeEventListener("keydown", onKey, true);
  if (returnFocus && returnFocus.focus) returnFocus.focus();
  returnFocus = null;
}

/** Open the overlay for a picture's link; false when the page has no template for it. */
export function openViewer(link, template) {
  closeViewer();
  const copy = template.content.firstElementChild;
  if (!copy) return false;
  const { name, href } = viewerContent(link.getAttribute("href"), link.getAttribute("data-filename"));
  overlay = copy.cloneNode(true);
  overlay.setAttribute("aria-label", name);
  overlay.querySelector("[data-viewer-title]").textContent = name;
  overlay.querySelector("[data-viewer-open]").setAttribute("href", href);
  const picture = overlay.querySelector("[data-viewer-image]");
  picture.setAttribute("src", href);
  picture.setAttribute("alt", name);
  const close = overlay.querySelector("[data-viewer-close]");
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay || event.target === close) closeViewer();
  });
  returnFocus = link;
  document.body.appendChild(overlay);
  document.addEventListener("keydown", onKey, true);
  close.focus();
  return true;
}

/** Open pictures of `doc` in the overlay when clicked (the page holds the template). */
export function initViewer(doc = document) {
  const template = doc.getElementById("attachment-viewer-template");
  if (!template) return false;
  doc.addEventListener("click", (event) => {
    if (!opensViewer(event)) return;
    const link = event.target.closest ? event.target.closest('a[data-attachment-kind="image"]') : null;
    if (!link) return;
    event.preventDefault();
    openViewer(link, template);
  });
  return true;
}
