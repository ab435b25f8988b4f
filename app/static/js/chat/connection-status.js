/* The chat header's connection line: the words of ../realtime/connection-text.js (empty while
 * connected, "Reconnecting…" while not, "Signed out. Reload the page." once the session is gone,
 * or the server's words when it refuses this connection for too many tabs). */
import * as realtime from "../realtime/index.js";

/** Keep `line` (the [data-connection-status] element) in step with the socket. */
export function showConnectionStatus(line, scope) {
  scope.add(
    realtime.onConnectionText((text) => {
      if (line && line.textContent !== text) line.textContent = text;
    }),
  );
}
