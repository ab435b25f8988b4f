/* Changes to stored messages on the chat page: an edit, a delete or a reaction ("message_updated",
 * the ack of my own action, or a refetch of every message held after a reconnect) replaces what
 * the message's item holds, and the quotes of replies to it follow.
 *
 * Events on the list: "chat:before-update" ({item, message}, cancelable) before an item changes;
 * a listener that holds the update for later (the open editor) cancels it. "chat:message-updated"
 * ({message}) after every change, for what shows the message elsewhere (the composer's reply bar).
 */
import * as realtime from "../realtime/index.js";
import { format, parseFragment } from "./formatter.js";
import { sameConversation } from "./page.js";

const ACK_TIMEOUT_MS = 10000;
const REFETCH_PAGE_SIZE = 100; // the API's largest page

/** Updates of conversation `cid`'s messages in `messages` (./message-list.js). */
export function createUpdates({ cid, messagesUrl, messages, scroll, scope }) {
  const list = messages.list;

  /** Show the changed message M wherever the page has it. */
  function apply(message) {
    if (!message || !sameConversation(message.conversation_id, cid)) return;
    const item = (message.id != null && messages.byId(message.id)) || messages.bySeq(message.seq);
    if (item && item.getAttribute("data-state") === "sent") {
      const proceed = list.dispatchEvent(
        new CustomEvent("chat:before-update", { cancelable: true, detail: { item, message } }),
      );
      if (!proceed) return; // shown once its editor closes
      scroll.keepingView(() => {
        messages.adopt(item, message);
        messages.refresh();
      });
    }
    // Replies quoting it follow (its fragment holds it as quoted).
    const fresh = parseFragment(message.html);
    const source = fresh ? fresh.querySelector("template[data-as-quote]") : null;
    const quote = source ? source.content.firstElementChild : null;
    if (quote) {
      for (const old of list.querySelectorAll(`[data-reply-quote][data-reply-id="${Number(message.id)}"]`)) {
        const copy = quote.cloneNode(true);
        format(copy);
        old.replaceWith(copy);
      }
    }
    list.dispatchEvent(new CustomEvent("chat:message-updated", { detail: { message, quote } }));
  }

  /** Send an action's event; resolves with the changed M (already shown), rejects with an Error
   * whose message says why. */
  function act(event, payload) {
    return realtime.emitWithAck(event, payload, ACK_TIMEOUT_MS).then(
      (ack) => {
        if (ack && ack.ok && ack.message) {
          apply(ack.message);
          return ack.message;
        }
        throw new Error((ack && ack.message) || "Something went wrong.");
      },
      (error) => {
        throw new Error(error && error.message === "timeout" ? "The server did not answer." : "You are offline.");
      },
    );
  }

  // After a reconnect: every message held, page by page from the oldest, for what was edited,
  // deleted or reacted to meanwhile (new messages come through sync).
  function refetchHeld() {
    const range = messages.range();
    if (!messagesUrl || range.low === null) return;
    function from(after) {
      const url = new URL(messagesUrl, window.location.href);
      url.searchParams.set("after", String(after));
      url.searchParams.set("limit", String(REFETCH_PAGE_SIZE));
      realtime
        .getJSON(url.toString())
        .then((page) => {
          const found = page.messages || [];
          for (const message of found) if (messages.byId(message.id)) apply(message);
          const last = found.length ? found[found.length - 1].seq : null;
          if (page.has_more && last !== null && last < range.high) from(last);
        })
        .catch(() => {});
    }
    from(range.low - 1);
  }

  scope.add(realtime.on("message_updated", apply));
  // The first "synced" follows the page's own render; each later one follows a reconnect (a pane
  // swapped in on a connected socket is drawn after the last one).
  let syncedBefore = realtime.connected;
  scope.add(
    realtime.on("synced", () => {
      if (syncedBefore) refetchHeld();
      syncedBefore = true;
    }),
  );

  return { apply, act };
}
