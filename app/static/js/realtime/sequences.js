/* Per-conversation sequence bookkeeping and the sync rounds that fill gaps. Pure: no DOM, no
 * socket (the caller passes the request), so the tests run it in Node.
 *
 * Every message carries its conversation's `seq` (docs/protocol.md). A page remembers the highest
 * seq it holds per conversation (it never goes back) and after each (re)connect asks the server
 * for what came after ("sync"); each message is handed on once, however often it arrives.
 */

const SEEN_LIMIT = 20000;
const MAX_SYNC_ROUNDS = 100;

/** The seq of `value` as a whole number (0 when it is none). */
function asSeq(value) {
  return parseInt(value, 10) || 0;
}

export class Sequences {
  #last = new Map(); // "<conversation id>" -> highest seq this page has seen
  #seen = new Set(); // "<conversation id>:<seq>" of the messages already handed on
  #seenLimit;

  constructor(seenLimit = SEEN_LIMIT) {
    this.#seenLimit = seenLimit;
  }

  /** Remember that this page has `seq` of the conversation; a lower seq changes nothing. */
  track(conversationId, seq) {
    const key = String(conversationId);
    const value = asSeq(seq);
    if (!this.#last.has(key) || value > this.#last.get(key)) this.#last.set(key, value);
  }

  /** Start from `seq` for a conversation this page knows nothing of yet (a list's last_seq). */
  know(conversationId, seq) {
    if (!this.#last.has(String(conversationId))) this.track(conversationId, seq);
  }

  /** The highest seq this page has of the conversation (0 when none). */
  lastSeq(conversationId) {
    return this.#last.get(String(conversationId)) || 0;
  }

  /** {"<conversation id>": last seq} of every conversation tracked: what a full sync asks after. */
  after() {
    return Object.fromEntries(this.#last);
  }

  /** Track every entry of a {"<id>": last_seq} object (the page's conversation-state). */
  seed(state) {
    for (const [key, seq] of Object.entries(state || {})) this.track(key, seq);
  }

  /** True the first time a well-formed message is offered (it is tracked then), false after. */
  firstSight(message) {
    if (!message || message.conversation_id == null || typeof message.seq !== "number") return false;
    const key = String(message.conversation_id);
    const id = key + ":" + message.seq;
    if (this.#seen.has(id)) return false;
    if (this.#seen.size >= this.#seenLimit) this.#seen.clear();
    this.#seen.add(id);
    this.track(key, message.seq);
    return true;
  }
}

/** The {"<id>": last_seq} object in a conversation-state script's text; {} when malformed. */
export function parseConversationState(text) {
  try {
    const state = JSON.parse(text || "{}");
    return state && typeof state === "object" && !Array.isArray(state) ? state : {};
  } catch {
    return {};
  }
}

/**
 * Ask for the messages after `after` ({"<id>": seq}) in rounds until the server has no more.
 *
 * `request(after)` is a Promise of the server's sync ack ({ok, messages, has_more, message});
 * `deliver(message)` hears each message of each round. A round that brings nothing newer for an
 * asked conversation ends the loop (the server would only answer the same again). Resolves with
 * every message received; rejects when the server refuses (its message) or the request fails.
 */
export async function syncRounds(after, request, deliver, maxRounds = MAX_SYNC_ROUNDS) {
  const cursor = { ...after };
  const collected = [];
  if (!Object.keys(cursor).length) return collected;
  for (let round = 1; ; round += 1) {
    const ack = await request({ ...cursor });
    if (!ack || !ack.ok) throw new Error((ack && ack.message) || "sync failed");
    const messages = ack.messages || [];
    let progressed = false;
    for (const message of messages) {
      const key = String(message.conversation_id);
      collected.push(message);
      if (key in cursor && message.seq > cursor[key]) {
        cursor[key] = message.seq;
        progressed = true;
      }
    }
    messages.forEach(deliver);
    if (!(ack.has_more && progressed && round < maxRounds)) return collected;
  }
}

/** The sequences of this page (one per page, shared by the sync and unread modules). */
export const pageSequences = new Sequences();
