/* Messages being sent, one entry per client_id: a small state machine. Pure: no DOM, no socket.
 *
 *   add -> "pending" --(the server stored it)--> gone (settle)
 *                    --(rate_limited, unavailable, no answer)--> "pending", tried again after a while
 *                    --(refused, or still not stored after GIVE_UP_MS)--> "failed" (retryable or not)
 *   "failed" --(retry: the same client_id, so the server never stores it twice)--> "pending"
 */

/** Refusals (ack.error) that may pass when the same message is tried again later. */
const RETRYABLE = new Set(["internal", "rate_limited", "unavailable"]);
/** Refusals the page waits out on its own (after the ack's retry_after) before showing "Not sent". */
const AUTOMATIC = new Set(["rate_limited", "unavailable"]);

/** How long, and how many tries, a message stays "Sending…" before it shows "Not sent". */
export const GIVE_UP_MS = 120000;
export const MAX_ATTEMPTS = 40;
/** The longest single wait between two tries, whatever retry_after says. */
export const MAX_WAIT_MS = 30000;

/** A new client_id (a version 4 UUID) from `cryptoObject` (default: the platform's crypto). */
export function newClientId(cryptoObject = globalThis.crypto) {
  if (cryptoObject && typeof cryptoObject.randomUUID === "function") return cryptoObject.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoObject && cryptoObject.getRandomValues) cryptoObject.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => (byte + 0x100).toString(16).slice(1)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a send's answer means: {ok: true, message} or {ok: false, text, retryable}; a refusal the
 * page retries on its own also has `retryAfter` (seconds, from the ack; 1 when it gives none). */
export function sendOutcome(ack) {
  if (ack && ack.ok && ack.message) return { ok: true, message: ack.message };
  const outcome = {
    ok: false,
    text: (ack && ack.message) || "Something went wrong.",
    retryable: !!(ack && RETRYABLE.has(ack.error)),
  };
  if (ack && AUTOMATIC.has(ack.error)) outcome.retryAfter = Number(ack.retry_after) > 0 ? Number(ack.retry_after) : 1;
  return outcome;
}

/** What a send that got no answer means (the emit rejected): always worth retrying; one that timed
 * out is retried on its own, one sent while offline when the connection is back. */
export function sendFailure(error) {
  const timedOut = error && error.message === "timeout";
  if (timedOut) return { ok: false, text: "The server did not answer.", retryable: true, retryAfter: 1 };
  return { ok: false, text: "You are offline.", retryable: true };
}

/**
 * Milliseconds to wait before trying a message again after `outcome` (of sendOutcome/sendFailure),
 * or null to show it "Not sent": after a refusal the page does not wait out, or once it has been
 * tried `attempts` times or for `elapsedMs` (GIVE_UP_MS). The server's retry_after, spread up to a
 * quarter later so that tabs told the same do not come back at once, and never over MAX_WAIT_MS.
 */
export function retryDelay(outcome, { attempts, elapsedMs }, random = Math.random) {
  if (!outcome || outcome.ok || !outcome.retryAfter) return null;
  if (attempts >= MAX_ATTEMPTS || elapsedMs >= GIVE_UP_MS) return null;
  const wait = Math.min(outcome.retryAfter * 1000, MAX_WAIT_MS, Math.max(GIVE_UP_MS - elapsedMs, 0));
  return Math.round(Math.max(wait, 250) * (1 + random() * 0.25));
}

export class PendingSends {
  #entries = new Map(); // client_id -> {body, reply, attachment, state, text, retryable, attempts, since}

  /** Hold a new message; it starts "pending". `reply` is {id, quote} or null, `attachment` {id, ...} or null. */
  add(clientId, { body, reply = null, attachment = null }) {
    this.#entries.set(clientId, {
      body,
      reply,
      attachment,
      state: "pending",
      text: "",
      retryable: false,
      attempts: 0,
      since: null,
    });
  }

  /** True while the message is held (not yet stored by the server). */
  has(clientId) {
    return this.#entries.has(clientId);
  }

  /** "pending", "failed", or null once it is stored (or was never held). */
  state(clientId) {
    const entry = this.#entries.get(clientId);
    return entry ? entry.state : null;
  }

  /** {text, retryable} of a failed message; null otherwise. */
  failure(clientId) {
    const entry = this.#entries.get(clientId);
    return entry && entry.state === "failed" ? { text: entry.text, retryable: entry.retryable } : null;
  }

  /** Start (or retry) sending at `now` (ms): the entry turns "pending" and this returns the
   * send_message payload for `conversationId` (the same client_id every time), or null when it is
   * not held. */
  send(clientId, conversationId, now = Date.now()) {
    const entry = this.#entries.get(clientId);
    if (!entry) return null;
    if (entry.state === "failed") entry.attempts = 0; // tried again by hand or after a reconnect
    if (entry.attempts === 0) entry.since = now;
    entry.attempts += 1;
    entry.state = "pending";
    entry.text = "";
    entry.retryable = false;
    const payload = { conversation_id: conversationId, body: entry.body, client_id: clientId };
    if (entry.reply) payload.reply_to_id = entry.reply.id;
    if (entry.attachment) payload.attachment_id = entry.attachment.id;
    return payload;
  }

  /** Milliseconds to wait before sending it again after `outcome` (see retryDelay), or null: then
   * it is to be shown failed. */
  retryDelay(clientId, outcome, now = Date.now(), random = Math.random) {
    const entry = this.#entries.get(clientId);
    if (!entry) return null;
    return retryDelay(outcome, { attempts: entry.attempts, elapsedMs: now - (entry.since ?? now) }, random);
  }

  /** The send failed: the entry turns "failed". False when it is no longer held (stored meanwhile). */
  fail(clientId, text, retryable) {
    const entry = this.#entries.get(clientId);
    if (!entry) return false;
    entry.state = "failed";
    entry.text = text;
    entry.retryable = !!retryable;
    return true;
  }

  /** The server stored it: forget the entry. */
  settle(clientId) {
    this.#entries.delete(clientId);
  }

  /** The client_ids of the failed messages worth sending again (after a reconnect). */
  retryable() {
    return [...this.#entries].filter(([, e]) => e.state === "failed" && e.retryable).map(([id]) => id);
  }
}
