/* One row of the conversation list: the server's <li data-conversation-id> (C.html,
 * templates/chat/_conversation_row.html), read and updated through its data-* attributes. The
 * preview line of a new message is the message's own (the <template data-as-preview> in its
 * M.html), decorated by the formatter; the badges' numbers, the time and the link's name (from
 * the words the row carries for its counts) are the only text written.
 */
import { format, parseFragment } from "../chat/formatter.js";
import { formatTime } from "../realtime/index.js";
import { countText } from "./order.js";

function flag(row, name) {
  return row.getAttribute("data-" + name) === "true";
}

function setFlag(row, name, value) {
  row.setAttribute("data-" + name, value ? "true" : "false");
}

function number(row, name) {
  return parseInt(row.getAttribute("data-" + name), 10) || 0;
}

/** The conversation id of a row, as a string. */
export function rowId(row) {
  return row.getAttribute("data-conversation-id");
}

/** A row's entry for ./order.js: {id, pinned, archived, muted, lastSeq}. */
export function entryOf(row) {
  return {
    id: rowId(row),
    pinned: flag(row, "pinned"),
    archived: flag(row, "archived"),
    muted: flag(row, "muted"),
    lastSeq: number(row, "last-seq"),
  };
}

/** What the row says for realtime's unread counts (seedUnread's shape). */
export function unreadOf(row) {
  return {
    id: rowId(row),
    unread_count: number(row, "unread-count"),
    unread_mentions: number(row, "mentions"),
    muted: flag(row, "muted"),
    last_seq: number(row, "last-seq"),
  };
}

/** Note the unread count its badge shows as the row's data-unread-count (drawn by the server). */
export function readUnreadBadge(row) {
  const badge = row.querySelector("[data-conversation-unread]");
  row.setAttribute("data-unread-count", String(parseInt(badge && badge.textContent, 10) || 0));
}

/** The server's words for `n` of something ("{n} unread messages"), from the link's
 * data-<name>-one / data-<name>-other. */
function counted(link, name, n) {
  const words = link.getAttribute(`data-${name}-${n === 1 ? "one" : "other"}`) || "";
  return words.replace("{n}", String(n));
}

/** Name the row's link as the server does: data-label, then its counts. */
function rename(row) {
  const link = row.querySelector("[data-conversation-link]");
  if (!link || !link.hasAttribute("data-label")) return;
  const parts = [link.getAttribute("data-label")];
  const unread = number(row, "unread-count");
  const mentions = number(row, "mentions");
  if (unread) parts.push(counted(link, "unread", unread));
  if (mentions) parts.push(counted(link, "mentions", mentions));
  link.setAttribute("aria-label", parts.join(", "));
}

/** Show `count` unread messages (the badge is hidden at none). */
export function setUnread(row, count) {
  const n = count > 0 ? count : 0;
  const badge = row.querySelector("[data-conversation-unread]");
  setFlag(row, "unread", n > 0);
  row.setAttribute("data-unread-count", String(n));
  if (badge) {
    badge.textContent = countText(n);
    badge.classList.toggle("hidden", n === 0);
  }
  rename(row);
}

/** Show `count` unread mentions of me (the "@ N" badge is hidden at none). */
export function setMentions(row, count) {
  const n = count > 0 ? count : 0;
  const badge = row.querySelector("[data-conversation-mentions]");
  const slot = row.querySelector("[data-conversation-mention-count]");
  const link = row.querySelector("[data-conversation-link]");
  row.setAttribute("data-mentions", String(n));
  if (badge) {
    badge.classList.toggle("hidden", n === 0);
    const label = n && link ? counted(link, "mentions", n) : "";
    badge.setAttribute("aria-label", label);
    badge.setAttribute("title", label);
  }
  if (slot) slot.textContent = countText(n);
  rename(row);
}

/** Apply an entry's settings and last seq (from ./order.js) to the row. */
export function setEntry(row, entry) {
  setFlag(row, "muted", entry.muted);
  setFlag(row, "pinned", entry.pinned);
  setFlag(row, "archived", entry.archived);
  row.setAttribute("data-last-seq", String(entry.lastSeq));
}

function writeTime(time, createdAt) {
  if (createdAt) {
    time.setAttribute("datetime", createdAt);
    time.textContent = formatTime(createdAt, "short");
  } else {
    time.removeAttribute("datetime");
    time.textContent = "";
  }
}

/** Show M as the row's last message: its preview fragment and its time. */
export function setLastMessage(row, message) {
  const preview = row.querySelector("[data-conversation-preview]");
  const time = row.querySelector("[data-conversation-time]");
  const item = message ? parseFragment(message.html) : null;
  const source = item ? item.querySelector("template[data-as-preview]") : null;
  if (preview && source) {
    preview.replaceChildren(source.content.cloneNode(true));
    format(preview);
  }
  if (time) writeTime(time, message && message.created_at);
}

/** A row as the server drew it (C.html), decorated for me; null when C has none. */
export function rowFrom(conversation) {
  const row = parseFragment(conversation.html);
  if (!row) return null;
  format(row);
  row.setAttribute("data-unread-count", String(conversation.unread_count || 0));
  const time = row.querySelector("[data-conversation-time]");
  const message = conversation.last_message;
  if (time && message && message.created_at) time.textContent = formatTime(message.created_at, "short");
  return row;
}
