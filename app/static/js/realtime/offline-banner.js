/* The offline banner of the signed-in pages (base.html's [data-offline-banner]): shown with
 * ./connection-text.js's words while the socket is down, so a page never looks live when the
 * server is gone. The chat page says it in its header instead (it leaves the banner out). */
import { onConnectionText } from "./connection-text.js";

/** Put the words in `banner` (a role=status element, hidden by CSS while empty). */
export function showOfflineBanner(banner) {
  if (!banner) return;
  onConnectionText((words) => {
    banner.textContent = words;
  });
}
