/* Read state on the chat page: marking the conversation read while the reader is at the bottom
 * of a visible page ("mark_read"), and the "Seen" / "Seen by N" line (#read-state-template)
 * under my last message that others have read, from the page's count (chat data "seen") and the
 * "read" events since. The counting is ./read-positions.js.
 */
import * as realtime from "../realtime/index.js";
import { sameConversation } from "./page.js";
import { SeenCounter, advancedReadSeq } from "./read-positions.js";

const ACK_TIMEOUT_MS = 10000;
const MARK_READ_DELAY_MS = 300;

/** The read state of the page's list (a ./message-list.js), for conversation `cid`. */
export function createReadState({ messages, scroller, template, members, seen, me, cid, lastRead, live, atBottom, showsLatest = () => true, scope }) {
  const counter = new SeenCounter(seen, me);
  let markingSeq = 0;
  let markTimer = null;

  const reading = () => !document.hidden && atBottom();

  // A window that stops before the latest does not show what arrives: it still counts as unread.
  const isReading = (conversationId) => sameConversation(conversationId, cid) && reading() && showsLatest();
  realtime.setReading(isReading);
  scope.add(() => realtime.setReading(null));
  // Leaving the chat while a mark is due: what was in view counts as read.
  scope.add(() => {
    if (markTimer === null) return;
    window.clearTimeout(markTimer);
    markTimer = null;
    markRead();
  });

  function markRead() {
    if (!live || !realtime.connected || !reading()) return;
    const seq = messages.range().high;
    if (seq === null || seq <= lastRead || seq <= markingSeq) return;
    markingSeq = seq;
    realtime
      .emitWithAck("mark_read", { conversation_id: cid, seq }, ACK_TIMEOUT_MS)
      .then(
        (ack) => {
          if (ack && ack.ok) {
            if (seq > lastRead) lastRead = seq;
            realtime.clearUnread(cid, seq);
          }
        },
        () => {},
      )
      .then(() => {
        if (markingSeq === seq) markingSeq = 0;
      });
  }

  function scheduleMarkRead() {
    window.clearTimeout(markTimer);
    markTimer = window.setTimeout(() => {
      markTimer = null;
      markRead();
    }, MARK_READ_DELAY_MS);
  }

  function line(count) {
    if (!count || !template) return null;
    const node = template.content.firstElementChild.cloneNode(true);
    // The server's words, with its count (the blank's 0, the last word) replaced.
    node.textContent = node.textContent.replace(/\d+$/, String(count));
    node.setAttribute("data-count", String(count));
    return node;
  }

  function updateSeen() {
    const mine = messages
      .items()
      .filter((item) => item.getAttribute("data-mine") === "true" && messages.seqOf(item) !== null);
    const last = mine.length ? mine[mine.length - 1] : null;
    const count = last ? counter.count(messages.seqOf(last)) : 0;
    let keep = null;
    for (const receipt of messages.list.querySelectorAll("[data-seen-receipt]")) {
      const same = receipt.parentElement === last && receipt.getAttribute("data-count") === String(count);
      if (count && !keep && same) keep = receipt;
      else receipt.remove();
    }
    if (!count || keep) return;
    keep = line(count);
    if (keep) last.appendChild(keep);
  }

  messages.list.addEventListener("chat:list-changed", () => {
    updateSeen();
    scheduleMarkRead();
  });
  scroller.addEventListener("chat:at-bottom", scheduleMarkRead);
  const { signal } = scope;
  document.addEventListener(
    "visibilitychange",
    () => {
      if (!document.hidden) scheduleMarkRead();
    },
    { signal },
  );
  window.addEventListener("focus", scheduleMarkRead, { signal });
  scope.add(realtime.on("connect", scheduleMarkRead));

  const offRead = realtime.on("read", (event) => {
    if (!sameConversation(event.conversation_id, cid)) return;
    counter.read(event.user_id, event.seq, event.previous_seq);
    const person = members.get(event.user_id);
    if (person) person.last_read_seq = advancedReadSeq(person.last_read_seq, event.seq);
    if (event.user_id === me && event.seq > lastRead) lastRead = event.seq;
    updateSeen();
  });
  scope.add(offRead);

  return { scheduleMarkRead, updateSeen };
}
