/* The page's unread counts: the navigation's badge ([data-unread-badge], [data-unread-sr]), the
 * document title, the "unread" and "conversation_settings" events, and GET /api/conversations,
 * which tells which conversations are unread and muted. The rules are in ./unread-state.js. */
import { dispatch } from "./bus.js";
import { getJSON } from "./http.js";
import { pageSequences } from "./sequences.js";
import { UnreadCounts, badgeLabel, badgeText, titleWith } from "./unread-state.js";

const counts = new UnreadCounts();
let baseTitle = document.title;
const badges = document.querySelectorAll("[data-unread-badge]");
const badgeLabels = document.querySelectorAll("[data-unread-sr]");
const serverTotal = badges.length ? count(badges[0].getAttribute("data-unread-count")) : 0;
let conversationsRequest = null;

function count(value) {
  return parseInt(value || "0", 10) || 0;
}

function renderTotal() {
  const total = counts.total(serverTotal);
  const text = badgeText(total);
  for (const badge of badges) {
    badge.textContent = text;
    badge.setAttribute("data-unread-count", String(total));
    badge.classList.toggle("hidden", total === 0);
  }
  const label = badgeLabel(total);
  for (const node of badgeLabels) {
    if (node.textContent !== label) node.textContent = label;
  }
  const title = titleWith(total, baseTitle);
  if (document.title !== title) document.title = title;
  return total;
}

function publish(key) {
  dispatch("unread", counts.event(key, renderTotal()));
}

function change(op) {
  counts.record(op);
  if (counts.known) {
    if (counts.apply(op)) publish(op.key);
  } else {
    // We only know the total: learn which conversations are unread (the list counts op too).
    fetchConversations().catch(() => {});
  }
}

/** Promise of GET /api/conversations' list, which also resets the unread counts (one request
 * at a time: a second call while one is on its way gets the same Promise). */
export function fetchConversations() {
  if (conversationsRequest) return conversationsRequest;
  counts.startRecording();
  conversationsRequest = getJSON("/api/conversations").then(
    (data) => {
      conversationsRequest = null;
      const list = (data && data.conversations) || [];
      const serverLast = counts.replaceFromServer(list);
      for (const [key, seq] of serverLast) pageSequences.know(key, seq);
      renderTotal();
      counts.keys().forEach(publish);
      return list;
    },
    (error) => {
      conversationsRequest = null;
      counts.stopRecording();
      throw error;
    },
  );
  return conversationsRequest;
}

/** Learn conversations a page already holds ({id, unread_count, unread_mentions, muted,
 * last_seq}); `complete`: they are all of mine. */
export function seedUnread(list, complete) {
  counts.seed(list, complete);
  for (const conversation of list || []) {
    if (conversation.last_seq != null) pageSequences.know(conversation.id, conversation.last_seq);
  }
  renderTotal();
}

/** The page's title without the unread count is now `title` (another chat's pane came in). */
export function setBaseTitle(title) {
  baseTitle = title;
  renderTotal();
}

/** Unread messages of the conversation, as this page knows them (0 while unknown). */
export function unreadCount(conversationId) {
  return counts.count(conversationId);
}

/** I read the conversation up to seq (here, or another tab told the server). */
export function clearUnread(conversationId, seq) {
  change({ type: "read", key: String(conversationId), seq: seq || 0 });
}

/** A message from someone else arrived while I was not reading its conversation. */
export function countMessage(message, mention) {
  change({ type: "message", key: String(message.conversation_id), seq: message.seq, mention });
}

/** Promise of whether I muted the conversation (asks for the list once if unknown; false when
 * that fails). */
export function mutedState(conversationId) {
  if (counts.known) return Promise.resolve(counts.muted(conversationId));
  return fetchConversations().then(
    () => counts.muted(conversationId),
    () => false,
  );
}

/** My settings of a conversation changed (C): muting changes what the badge counts; the page's
 * modules hear "conversation_settings". The tab that changed them calls this with its ack's C
 * (the server tells only the other tabs). */
export function conversationSettingsChanged(conversation) {
  if (!conversation || conversation.id == null) return;
  const key = String(conversation.id);
  counts.setMuted(key, conversation.muted);
  if (counts.known) publish(key);
  dispatch("conversation_settings", conversation);
}
