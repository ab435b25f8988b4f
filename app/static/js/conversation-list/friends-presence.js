/* Friends' presence on the home page: "online" or "last seen …" under each name
 * (<li data-presence-for="<user id>" data-online> … <span data-presence-text>), the dot on the
 * picture following data-online.
 */
import { on, writePresence } from "../realtime/index.js";

/** Keep every [data-presence-for] of `doc` current with realtime's "presence" events. */
export function watchFriendsPresence(doc = document) {
  return on("presence", (event) => {
    const id = Number(event.user_id);
    for (const node of doc.querySelectorAll('[data-presence-for="' + id + '"]')) {
      node.setAttribute("data-online", event.online ? "true" : "false");
      const text = node.querySelector("[data-presence-text]");
      if (text) writePresence({ online: !!event.online, last_seen: event.last_seen }, text);
    }
  });
}
