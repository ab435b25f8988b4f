/* The live conversation list on the home page (templates/main/home.html; rows are C.html).
 *
 * A new message updates its row's preview and time and moves the row (./order.js); unread and
 * mention badges follow realtime's "unread" events; "conversation_settings" (my mute, pin, archive,
 * from any tab) updates the row and moves it; a message for a conversation not listed yet, and a
 * change of settings (the row's words and the server's order by activity change with them), asks
 * GET /api/conversations again and renders its rows. A count renames the row from the words the
 * row carries (./row.js): a message in a busy room costs its members no request. Without
 * JavaScript the server-drawn list stays as it is.
 */
import { format } from "../chat/formatter.js";
import { fetchConversations, on, seedUnread } from "../realtime/index.js";
import { afterMessage, placeAfterActivity, placeAfterSettings, withSettings } from "./order.js";
import { entryOf, readUnreadBadge, setEntry, setLastMessage, setMentions, setUnread, unreadOf } from "./row.js";
import { allRows, entries, findSections, move, render, rowFor } from "./sections.js";
import { watchFriendsPresence } from "./friends-presence.js";

const REFRESH_DELAY_MS = 300;

function start(sections) {
  let refreshTimer = null;

  function refresh() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => {
      fetchConversations().then(
        (conversations) => render(sections, conversations),
        () => {
          /* keep what is shown; the next message tries again */
        },
      );
    }, REFRESH_DELAY_MS);
  }

  format(sections.list.parentNode || sections.list);
  const rows = allRows(sections);
  rows.forEach(readUnreadBadge);
  // What the server drew is the complete list: it tells realtime which conversations are unread.
  seedUnread(rows.map(unreadOf), true);

  on("message", (message) => {
    const row = rowFor(sections, message.conversation_id);
    if (!row) {
      refresh();
      return;
    }
    const { entry, fresh } = afterMessage(entryOf(row), message);
    if (!fresh) return; // an older message filling a gap: the preview stays
    const placement = placeAfterActivity(entry, entries(sections));
    setLastMessage(row, message);
    setEntry(row, entry);
    move(sections, row, placement);
  });

  // realtime counts unread messages and mentions (bumped by messages, cleared by my "read").
  on("unread", (event) => {
    const row = rowFor(sections, event.conversation_id);
    if (!row) return;
    setUnread(row, event.count);
    if (event.mentions != null) setMentions(row, event.mentions);
  });

  // I muted, pinned or archived a conversation (in another tab, or on its page).
  on("conversation_settings", (conversation) => {
    const row = rowFor(sections, conversation.id);
    if (row) {
      const before = entryOf(row);
      const entry = withSettings(before, conversation);
      const placement = placeAfterSettings(before, entry, entries(sections));
      setEntry(row, entry);
      move(sections, row, placement);
    }
    refresh(); // the server knows the order by activity, and says the row's words
  });

  // Back from a conversation through the browser's cache: the list may be stale.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) refresh();
  });
}

const sections = findSections();
if (sections) start(sections);
watchFriendsPresence();
