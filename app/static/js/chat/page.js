/* The chat page's elements and data (templates/chat/conversation.html), read once:
 * <script type="application/json" id="chat-data">{conversation, members (the first few), member_count,
 * online_ids, members_cursor, members_url, seen, me, messages_url, edit_window_seconds}</script> and
 * the [data-*] hooks inside [data-chat]. */

/** The chat pane in `doc` (the document, or an element holding the pane), or null when there is
 * none (or its data is unreadable). */
export function readPage(doc) {
  const root = doc.querySelector("[data-chat]");
  const dataElement = doc.querySelector("#chat-data");
  if (!root || !dataElement) return null;
  let data;
  try {
    data = JSON.parse(dataElement.textContent || "{}");
  } catch {
    return null;
  }
  const scroller = root.querySelector("[data-scroller]");
  const list = root.querySelector("[data-message-list]");
  const pendingTemplate = doc.querySelector("#message-pending-template");
  const separatorTemplate = doc.querySelector("#day-separator-template");
  if (!scroller || !list || !pendingTemplate || !separatorTemplate) return null;

  const conversation = data.conversation || {};
  const members = new Map(); // id (a number) -> P, kept current by read and presence events
  for (const person of data.members || []) {
    if (person && person.id != null) members.set(person.id, person);
  }
  const form = root.querySelector("[data-composer]");
  return {
    root,
    scroller,
    list,
    log: root.querySelector("[data-message-log]"),
    olderButton: root.querySelector("[data-load-older]"),
    newerLink: root.querySelector("[data-load-newer]"),
    jumpUnreadButton: root.querySelector("[data-jump-unread]"),
    pill: root.querySelector("[data-new-messages]"),
    typingLine: root.querySelector("[data-typing]"),
    statusLine: root.querySelector("[data-chat-status]"),
    connectionLine: root.querySelector("[data-connection-status]"),
    presenceLine: root.querySelector("[data-chat-presence]"),
    memberList: root.querySelector("[data-member-list]"),
    membersPanel: root.querySelector("[data-members-panel]"),
    emptyState: root.querySelector("[data-empty-state]"),
    form,
    input: form ? form.querySelector("[data-composer-input]") : null,
    composerError: form ? form.querySelector("[data-composer-error]") : null,
    replyBar: form ? form.querySelector("[data-reply-bar]") : null,
    pendingTemplate,
    separatorTemplate,
    readStateTemplate: doc.querySelector("#read-state-template"),
    pickerTemplate: doc.querySelector("#reaction-picker-template"),
    editorTemplate: doc.querySelector("#message-editor-template"),
    confirmTemplate: doc.querySelector("#delete-confirm-template"),
    actionMenu: doc.querySelector("[data-action-menu]"),
    cid: conversation.id,
    me: (data.me || {}).id,
    groupLike: conversation.kind !== "direct",
    lastRead: parseInt(conversation.last_read_seq, 10) || 0,
    hasMore: root.getAttribute("data-has-more") === "true",
    hasNewer: root.getAttribute("data-has-newer") === "true",
    messagesUrl: data.messages_url || "",
    editWindowMs: (parseInt(data.edit_window_seconds, 10) || 0) * 1000,
    members,
    memberCount: parseInt(data.member_count, 10) || members.size,
    onlineIds: new Set(Array.isArray(data.online_ids) ? data.online_ids : []),
    membersCursor: data.members_cursor || null,
    membersUrl: data.members_url || "",
    moreMembersButton: root.querySelector("[data-members-more]"),
    seen: data.seen || null,
  };
}

/** Say `text` in the page's status line (role=status), so screen readers hear it. */
export function announcer(statusLine) {
  return function announce(text) {
    if (!statusLine) return;
    statusLine.textContent = "";
    if (text) window.setTimeout(() => (statusLine.textContent = text), 50);
  };
}

/** True when `conversationId` is this page's conversation `cid` (ids compared as strings). */
export function sameConversation(conversationId, cid) {
  return String(conversationId) === String(cid);
}
