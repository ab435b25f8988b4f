/* Sending on the chat page, the DOM side of ./pending-sends.js: a message being sent shows at once
 * as the page's blank bubble (#message-pending-template) with its text, the quote it answers and
 * its file put in; it turns into the stored message when the server acknowledges it. Messages go
 * out one at a time in the order they were written, so none overtakes another: one refused for
 * now (rate_limited, unavailable, no answer) stays "Sending…" and goes again after the server's
 * retry_after, with the same client_id (the server never stores it twice), the ones behind it
 * waiting their turn. Only a refusal, or no success for two minutes, shows "Not sent" with Retry.
 * Failed messages worth retrying go again once a reconnect has caught up.
 */
import * as realtime from "../realtime/index.js";
import { format, parseFragment } from "./formatter.js";
import { newClientId, sendFailure, sendOutcome } from "./pending-sends.js";

const SEND_TIMEOUT_MS = 10000;

/** Sending to `cid`; `pending` is the page's PendingSends, `incoming` confirms a stored message. */
export function createSending({ cid, pending, messages, scroll, incoming, template, input, announce, scope }) {
  const queue = []; // client_ids waiting their turn, in the order written; queue[0] goes next
  let sending = null; // the client_id on its way to the server
  let waiting = null; // the timer of queue[0]'s next try
  let toldWaiting = false;
  const storing = new Map(); // client_id -> resolve of the promise send() returned

  function fail(item, { text, retryable }) {
    const clientId = item.getAttribute("data-client-id");
    if (!item.isConnected || !pending.fail(clientId, text, retryable)) return;
    item.setAttribute("data-state", "failed");
    item.removeAttribute("data-waiting");
    if (retryable) item.setAttribute("data-retryable", "true");
    else item.removeAttribute("data-retryable");
    const label = item.querySelector("[data-failed-text]");
    if (label) label.textContent = text;
    announce("Your message was not sent. " + text);
  }

  /** Queue the message of `item` (new, or failed and tried again): it shows "Sending…" at once. */
  function deliver(item) {
    const clientId = item.getAttribute("data-client-id");
    if (!pending.has(clientId)) return;
    item.setAttribute("data-state", "pending");
    item.removeAttribute("data-retryable");
    if (!queue.includes(clientId)) queue.push(clientId);
    next();
  }

  // Send queue[0], unless one is on its way or waiting for its next try.
  function next() {
    if (sending || waiting) return;
    while (queue.length) {
      const clientId = queue[0];
      const item = messages.byClientId(clientId);
      const payload = item && item.isConnected ? pending.send(clientId, cid) : null;
      if (!payload) {
        queue.shift(); // stored meanwhile, or gone from the page
        continue;
      }
      sending = clientId;
      realtime.emitWithAck("send_message", payload, SEND_TIMEOUT_MS).then(
        (ack) => answered(item, sendOutcome(ack)),
        (error) => answered(item, sendFailure(error)),
      );
      return;
    }
  }

  function answered(item, outcome) {
    const clientId = sending;
    sending = null;
    if (outcome.ok) {
      queue.shift();
      toldWaiting = false;
      item.removeAttribute("data-waiting");
      incoming.confirm(item, outcome.message);
      const stored = storing.get(clientId);
      storing.delete(clientId);
      if (stored) stored(outcome.message);
    } else {
      const delay = pending.retryDelay(clientId, outcome);
      if (delay != null && item.isConnected) {
        item.setAttribute("data-waiting", "true");
        if (!toldWaiting) announce("Sending is slowed down: your messages go out in a moment.");
        toldWaiting = true;
        waiting = window.setTimeout(() => {
          waiting = null;
          next();
        }, delay);
        return;
      }
      queue.shift();
      fail(item, outcome);
    }
    next();
  }

  // The bubble of a message being sent: the page's blank one with its text, the quote of what it
  // answers and the block of its file (the upload's fragment, when known) put in.
  function bubble(clientId, body, reply, attachment) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.setAttribute("data-client-id", clientId);
    item.setAttribute("data-created-at", new Date().toISOString());
    const text = item.querySelector("[data-body]");
    if (text) text.textContent = body;
    const slot = item.querySelector("[data-attachment]");
    if (reply && reply.quote && slot) slot.before(reply.quote.cloneNode(true));
    if (attachment && slot) {
      const block = attachment.html ? parseFragment(attachment.html) : null;
      if (block) slot.appendChild(block);
      slot.setAttribute("data-attachment-id", String(attachment.id));
    }
    format(item);
    messages.setTime(item, item.getAttribute("data-created-at"));
    item.setAttribute("data-state", "pending");
    return item;
  }

  /** Send a new message: {body, reply ({id, quote}) or null, attachment ({id, html?}) or null}; a
   * promise of the stored message (M), once the server has stored it (after retries too). */
  function send({ body, reply, attachment }) {
    const clientId = newClientId();
    pending.add(clientId, { body, reply, attachment });
    const item = bubble(clientId, body, reply, attachment);
    messages.list.appendChild(item);
    messages.refresh();
    scroll.scrollToBottom();
    scroll.hidePill();
    const stored = new Promise((resolve) => storing.set(clientId, resolve));
    deliver(item);
    return stored;
  }

  messages.list.addEventListener("click", (event) => {
    const retry = event.target.closest ? event.target.closest("[data-retry]") : null;
    const item = retry ? retry.closest("li[data-message]") : null;
    if (!item) return;
    deliver(item);
    if (input) input.focus();
  });

  scope.add(() => window.clearTimeout(waiting));

  // After a reconnect has caught up: send again what failed for want of a connection.
  scope.add(
    realtime.on("synced", () => {
      for (const clientId of pending.retryable()) {
        const item = messages.byClientId(clientId);
        if (item && item.getAttribute("data-state") === "failed") deliver(item);
      }
    }),
  );

  return { send };
}
