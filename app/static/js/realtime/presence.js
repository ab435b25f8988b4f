/* Presence as text: "online" or "last seen <time>" (a <time data-local-time="seen">, which
 * ./time-elements.js keeps current). */
import { formatTime } from "./local-time.js";

/** Write the presence of person ({online, last_seen}) into container, replacing its content. */
export function writePresence(person, container) {
  container.replaceChildren();
  if (person.online) {
    container.append("online");
  } else if (person.last_seen) {
    const time = document.createElement("time");
    time.setAttribute("datetime", person.last_seen);
    time.setAttribute("data-local-time", "seen");
    time.textContent = formatTime(person.last_seen, "seen");
    container.append("last seen ", time);
  }
}
