/* Messanger's real-time connection, shared by every signed-in page: the one module a page
 * imports. Loaded by base.html (<script type="module">); ./connection.js imports the vendored
 * Socket.IO client. The socket connects once the page's scripts have run and subscribed
 * (DOMContentLoaded).
 *
 *   userId, socket, connected, available       who I am; the socket and its state (live bindings)
 *   on(event, fn) -> off                       the page's events (./bus.js lists them)
 *   emitWithAck(event, payload, timeoutMs)     Promise of the server's ack (./connection.js)
 *   refusedWith(error)                         the words of a refusal for too many tabs, or null
 *   onConnectionText(fn)                       fn(words) as the connection comes and goes ("" when up)
 *   sync(conversationId, afterSeq), track(conversationId, seq), lastSeq(conversationId),
 *   setReading(fn)                             messages in, each once, gaps filled (./sync.js)
 *   clearUnread, seedUnread, unreadCount, conversationSettingsChanged, fetchConversations,
 *   setBaseTitle
 *                                              unread counts, badge and title (./unread.js)
 *   parseTime, dayKey, formatTime, dayLabel, formatTimes, writePresence   local time and presence
 *   getJSON(url)                               GET one of our JSON endpoints
 */
import { dispatch } from "./bus.js";
import { connect, listen, openSocket } from "./connection.js";
import { initNotificationButtons } from "./notifications.js";
import { showOfflineBanner } from "./offline-banner.js";
import { catchUpPresence, readPageState, receive, syncAll } from "./sync.js";
import { keepTimesCurrent } from "./time-elements.js";
import { clearUnread, conversationSettingsChanged } from "./unread.js";
import { userId } from "./user.js";

export { on } from "./bus.js";
export { available, connected, emitWithAck, socket } from "./connection.js";
export { refusedWith } from "./backoff.js";
export { onConnectionText } from "./connection-text.js";
export { getJSON } from "./http.js";
export { dayKey, dayLabel, formatTime, parseTime } from "./local-time.js";
export { writePresence } from "./presence.js";
export { lastSeq, setReading, sync, track } from "./sync.js";
export { formatTimes } from "./time-elements.js";
export {
  clearUnread,
  conversationSettingsChanged,
  fetchConversations,
  seedUnread,
  setBaseTitle,
  unreadCount,
} from "./unread.js";
export { userId } from "./user.js";

function forward(event) {
  listen(event, (payload) => {
    if (payload) dispatch(event, payload);
  });
}

readPageState();
if (openSocket(userId)) {
  listen("connect", () => {
    syncAll();
    catchUpPresence();
  });
  listen("message", (message) => receive(message, { synced: false }));
  // An edit, a delete or a reaction: pages replace the message they hold by its id.
  listen("message_updated", (message) => {
    if (message && message.id != null) dispatch("message_updated", message);
  });
  listen("read", (event) => {
    if (!event) return;
    if (event.user_id === userId) clearUnread(event.conversation_id, event.seq);
    dispatch("read", event);
  });
  forward("typing");
  forward("presence");
  // I changed my settings of a conversation in another tab.
  listen("conversation_settings", conversationSettingsChanged);
}
keepTimesCurrent();

// Connect once every page script has run and subscribed to the bus: DOMContentLoaded fires after
// the last deferred and module script (this one runs while the state is "interactive").
let started = false;
function start() {
  if (started) return;
  started = true;
  initNotificationButtons();
  showOfflineBanner(document.querySelector("[data-offline-banner]"));
  connect();
}

if (document.readyState === "complete") {
  window.setTimeout(start, 0);
} else {
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", start);
}
