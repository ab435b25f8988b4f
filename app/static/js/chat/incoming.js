/* New messages on the chat page, each placed once and in order: one that leaves a gap after the
 * newest held waits for a sync of what is missing (./ordering.js decides); my own message that
 * comes back for a bubble being sent replaces that bubble (matched by client_id); one that
 * arrives while the reader is scrolled up shows the "Jump to latest" pill; one newer than a
 * window that stops before the latest waits for the newer pages (./history.js).
 */
import * as realtime from "../realtime/index.js";
import { afterLoaded, beforeLoaded, gapBefore } from "./ordering.js";
import { sameConversation } from "./page.js";

/** Incoming messages of `cid` for `messages` (./message-list.js), `scroll` (./scroll.js), `pending`
 * (a ./pending-sends.js PendingSends) and `history` (./history.js, for whether older ones are loaded). */
export function createIncoming({ cid, me, messages, scroll, pending, history, scope }) {
  const initialTop = messages.range().high || 0;
  let holeSync = null;

  /** The server stored the message of a bubble being sent (its ack, or the message coming back). */
  function confirm(item, message) {
    pending.settle(item.getAttribute("data-client-id"));
    const twin = messages.bySeq(message.seq);
    if (twin && twin !== item) {
      scroll.keepingView(() => {
        item.remove();
        messages.refresh();
      });
      return;
    }
    messages.adopt(item, message);
    scroll.keepingView(() => {
      if (!messages.isInOrder(item)) messages.insert(item, message.seq);
      messages.refresh();
    });
  }

  function place(message) {
    if (messages.bySeq(message.seq)) return;
    const mine = !!(message.sender && message.sender.id != null && message.sender.id === me);
    if (mine && message.client_id) {
      const bubble = messages.byClientId(message.client_id);
      if (bubble) {
        confirm(bubble, message);
        return;
      }
    }
    if (beforeLoaded(message.seq, messages.range(), history.hasMore())) return; // not loaded yet anyway
    if (afterLoaded(message.seq, history.windowHigh(), history.hasNewer())) {
      scroll.updatePill(); // it comes with the newer pages
      return;
    }
    const item = messages.build(message);
    if (!item) return;
    const wasAtBottom = scroll.keepingView(() => {
      messages.insert(item, message.seq);
      messages.refresh();
    });
    if (!wasAtBottom && !mine) scroll.showPill();
  }

  function receive(message) {
    if (!message || !sameConversation(message.conversation_id, cid)) return;
    if (messages.bySeq(message.seq)) return;
    const bubble = message.client_id && message.sender && message.sender.id === me && messages.byClientId(message.client_id);
    if (afterLoaded(message.seq, history.windowHigh(), history.hasNewer())) {
      // Mine takes its bubble's place; any other comes with the newer pages (no gap sync).
      if (bubble) place(message);
      else scroll.updatePill();
      return;
    }
    if (holeSync) {
      holeSync.then(() => place(message));
      return;
    }
    const after = gapBefore(message.seq, messages.range().high, initialTop);
    if (after !== null) {
      // A gap: fetch what is missing first, so the conversation reads in order.
      holeSync = realtime
        .sync(cid, after)
        .then(
          (found) => found.forEach((other) => sameConversation(other.conversation_id, cid) && place(other)),
          () => {},
        )
        .then(() => {
          holeSync = null;
          place(message);
        });
      return;
    }
    place(message);
  }

  scope.add(realtime.on("message", receive));

  // A message seen before this pane came (while it was being fetched) is not sent again: fetch it.
  if (realtime.lastSeq(cid) > initialTop) {
    holeSync = realtime
      .sync(cid, initialTop)
      .then(
        (found) => found.forEach((other) => sameConversation(other.conversation_id, cid) && place(other)),
        () => {},
      )
      .then(() => {
        holeSync = null;
      });
  }
  realtime.track(cid, initialTop);

  return { confirm };
}
