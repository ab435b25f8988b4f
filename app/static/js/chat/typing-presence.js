/* Who is here and who is typing on the chat page: the typing line ("Ana is typing…"), sending my
 * own "typing" while I write, the header's presence ("online" / "last seen …", or a group's
 * "N members, M online"), the members panel's status per person, and that panel closing on a
 * click outside or Escape. The words are ./typing-text.js.
 */
import * as realtime from "../realtime/index.js";
import { sameConversation } from "./page.js";
import { typingText } from "./typing-text.js";

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const ACK_TIMEOUT_MS = 10000;

/** Typing and presence for conversation `cid`; returns {noteInput(text), resetTyping()} for the composer. */
export function createTypingPresence({
  cid,
  me,
  groupLike,
  members,
  memberCount,
  onlineIds,
  membersCursor,
  membersUrl,
  moreMembersButton,
  typingLine,
  presenceLine,
  memberList,
  membersPanel,
  scope,
}) {
  const typers = new Map(); // user id -> the timer that forgets them
  // The members online (the page lists them all, however many the page carries in full).
  const online = new Set(onlineIds || [...members.values()].filter((person) => person.online).map((person) => person.id));
  let cursor = membersCursor;
  let lastTypingSent = 0;
  scope.add(() => typers.forEach((timer) => window.clearTimeout(timer)));

  function renderTyping() {
    if (!typingLine) return;
    const names = [...typers.keys()].map((id) => (members.has(id) ? members.get(id).display_name : "Someone"));
    const text = typingText(names);
    if (typingLine.textContent !== text) typingLine.textContent = text;
  }

  function stopTyping(userId) {
    if (!typers.has(userId)) return;
    window.clearTimeout(typers.get(userId));
    typers.delete(userId);
    renderTyping();
  }

  function renderPresence() {
    if (!presenceLine) return;
    if (groupLike) {
      const count = Math.max(memberCount || 0, members.size);
      const countNode = presenceLine.querySelector("[data-member-count]");
      const onlineNode = presenceLine.querySelector("[data-online-count]");
      if (countNode) countNode.textContent = `${count} member${count === 1 ? "" : "s"}`;
      if (onlineNode) onlineNode.textContent = `${online.size + (online.has(me) ? 0 : 1)} online`;
    } else {
      const partner = [...members.values()].find((person) => person.id !== me);
      if (partner) realtime.writePresence(partner, presenceLine);
    }
  }

  function renderMember(person) {
    if (!memberList) return;
    const item = memberList.querySelector(`[data-member-id="${Number(person.id)}"]`);
    if (!item) return;
    item.setAttribute("data-online", person.online ? "true" : "false");
    const status = item.querySelector("[data-member-status]");
    if (status) realtime.writePresence(person, status);
  }

  const offTyping = realtime.on("typing", (event) => {
    if (!sameConversation(event.conversation_id, cid) || event.user_id === me) return;
    window.clearTimeout(typers.get(event.user_id));
    typers.set(
      event.user_id,
      window.setTimeout(() => stopTyping(event.user_id), TYPING_SHOWN_MS),
    );
    renderTyping();
  });

  // A message from someone ends their typing.
  const offMessage = realtime.on("message", (message) => {
    if (!message || !sameConversation(message.conversation_id, cid)) return;
    if (message.sender && message.sender.id != null) stopTyping(message.sender.id);
  });

  const offPresence = realtime.on("presence", (event) => {
    const person = members.get(event.user_id);
    // Someone not listed on this page counts only when known to be a member (online at load).
    if (event.user_id === me || (!person && !online.has(event.user_id))) return;
    if (event.online) online.add(event.user_id);
    else online.delete(event.user_id);
    if (person) {
      person.online = !!event.online;
      if (event.last_seen) person.last_seen = event.last_seen;
      renderMember(person);
    }
    renderPresence();
  });
  [offTyping, offMessage, offPresence].forEach(scope.add);

  // The members panel lists the first members; the rest come a page at a time.
  if (moreMembersButton && memberList && membersUrl) {
    moreMembersButton.addEventListener("click", async () => {
      if (!cursor || moreMembersButton.disabled) return;
      moreMembersButton.disabled = true;
      try {
        const page = await realtime.getJSON(`${membersUrl}?cursor=${encodeURIComponent(cursor)}`);
        for (const person of page.members || []) {
          if (person && person.id != null && !members.has(person.id)) members.set(person.id, person);
        }
        const items = document.createElement("template");
        items.innerHTML = page.html || "";
        for (const item of [...items.content.children]) {
          if (!memberList.querySelector(`[data-member-id="${Number(item.getAttribute("data-member-id"))}"]`)) {
            memberList.appendChild(item);
          }
        }
        cursor = page.next_cursor || null;
      } catch {
        // The button stays: another click tries again.
      } finally {
        moreMembersButton.disabled = false;
        if (!cursor) moreMembersButton.closest("p").remove();
      }
    });
  }

  if (membersPanel) {
    document.addEventListener(
      "click",
      (event) => {
        if (membersPanel.open && !membersPanel.contains(event.target)) membersPanel.open = false;
      },
      { signal: scope.signal },
    );
    membersPanel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && membersPanel.open) {
        membersPanel.open = false;
        const summary = membersPanel.querySelector("summary");
        if (summary) summary.focus();
      }
    });
  }

  /** I wrote `text` in the composer: tell the others, at most every few seconds. */
  function noteInput(text) {
    const now = Date.now();
    if (text.trim() && realtime.connected && now - lastTypingSent >= TYPING_EVERY_MS) {
      lastTypingSent = now;
      realtime.emitWithAck("typing", { conversation_id: cid }, ACK_TIMEOUT_MS).catch(() => {});
    }
  }

  /** My message went out: the next keystroke says "typing" again at once. */
  function resetTyping() {
    lastTypingSent = 0;
  }

  return { noteInput, resetTyping };
}
