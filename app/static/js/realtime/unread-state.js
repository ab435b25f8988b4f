/* Unread bookkeeping: which conversations hold unread messages, how many mention me, which I
 * muted, and the total the navigation badge shows. Pure: no DOM, no requests.
 *
 * The total counts conversations, not messages. A muted conversation counts only while it holds
 * an unread mention of me, as on the server. Until the list of conversations is known
 * (`replaceFromServer`, or `seed`) the total is the server-rendered one the page started with.
 *
 * Changes are ops: {type: "message", key, seq, mention} (a message from someone else arrived
 * while I was not reading that conversation) and {type: "read", key, seq} (I read up to seq).
 * While the list is on its way the ops are recorded; once it arrives they are applied again
 * against each conversation's last_seq in it, so none is counted twice or lost.
 */

function count(value) {
  return parseInt(value, 10) || 0;
}

export class UnreadCounts {
  #unread = null; // "<conversation id>" -> unread messages, once known
  #mentions = new Map(); // "<conversation id>" -> unread messages mentioning me
  #muted = new Map(); // "<conversation id>" -> true when I muted it
  #recorded = null; // ops seen while the list is on its way

  /** True once the page knows which conversations are unread. */
  get known() {
    return this.#unread !== null;
  }

  /** What conversation C (or a list row for one) says of my unread messages and settings. */
  learn(key, conversation) {
    if (!this.#unread) this.#unread = new Map();
    this.#unread.set(key, count(conversation.unread_count));
    this.#mentions.set(key, count(conversation.unread_mentions));
    this.#muted.set(key, !!conversation.muted);
  }

  /** Learn a list of conversations ({id, unread_count, unread_mentions, muted}); `complete`
   * says it is all of them (the unread counts known before are dropped). */
  seed(list, complete) {
    if (!this.#unread || complete) this.#unread = new Map();
    for (const conversation of list || []) this.learn(String(conversation.id), conversation);
  }

  /** Apply op; `serverLast` ({key -> last_seq}) skips what the server's list already counts.
   * False when the op changed nothing for that reason. */
  apply(op, serverLast = null) {
    const known = serverLast ? serverLast.get(op.key) || 0 : 0;
    if (op.type === "message") {
      if (serverLast && op.seq <= known) return false; // already counted by the server
      this.#unread.set(op.key, this.count(op.key) + 1);
      if (op.mention) this.#mentions.set(op.key, this.mentions(op.key) + 1);
    } else if (!serverLast || op.seq >= known) {
      this.#unread.set(op.key, 0);
      this.#mentions.set(op.key, 0);
    }
    return true;
  }

  /** Start recording ops (the list of conversations was asked for). */
  startRecording() {
    this.#recorded = [];
  }

  /** Stop recording without applying (the list did not come). */
  stopRecording() {
    this.#recorded = null;
  }

  /** Keep op for the list on its way, if one is. */
  record(op) {
    if (this.#recorded) this.#recorded.push(op);
  }

  /** Take the server's full list ({id, unread_count, unread_mentions, muted, last_seq}) as the
   * truth, then apply the ops recorded meanwhile. Returns {key -> last_seq} of the list. */
  replaceFromServer(list) {
    const serverLast = new Map();
    this.#unread = new Map();
    for (const conversation of list || []) {
      const key = String(conversation.id);
      this.learn(key, conversation);
      serverLast.set(key, count(conversation.last_seq));
    }
    const ops = this.#recorded || [];
    this.#recorded = null;
    for (const op of ops) this.apply(op, serverLast);
    return serverLast;
  }

  /** Unread messages in the conversation (0 while unknown). */
  count(key) {
    return (this.#unread && this.#unread.get(String(key))) || 0;
  }

  /** Unread messages mentioning me in the conversation. */
  mentions(key) {
    return this.#mentions.get(String(key)) || 0;
  }

  /** True when I muted the conversation. */
  muted(key) {
    return !!this.#muted.get(String(key));
  }

  /** Note that I muted (or unmuted) the conversation. */
  setMuted(key, muted) {
    this.#muted.set(String(key), !!muted);
  }

  /** The conversations known. */
  keys() {
    return this.#unread ? [...this.#unread.keys()] : [];
  }

  /** Conversations with unread messages that count (a muted one only with a mention of me);
   * `fallback` until the list is known. */
  total(fallback = 0) {
    if (!this.#unread) return fallback;
    return this.keys().filter((key) => this.count(key) > 0 && (!this.muted(key) || this.mentions(key) > 0))
      .length;
  }

  /** The "unread" event of conversation `key`: {conversation_id, count, mentions, muted, total}. */
  event(key, total) {
    return {
      conversation_id: Number.isNaN(Number(key)) ? key : Number(key),
      count: this.count(key),
      mentions: this.mentions(key),
      muted: this.muted(key),
      total,
    };
  }
}

/** The badge's text for `total`: the number, "99+" past 99. */
export function badgeText(total) {
  return total > 99 ? "99+" : String(total);
}

/** The screen-reader words after the badge: " (3 unread conversations)", "" for none. */
export function badgeLabel(total) {
  return total ? " (" + total + " unread conversation" + (total === 1 ? "" : "s") + ")" : "";
}

/** The document title with the unread total before it: "(3) Messanger". */
export function titleWith(total, baseTitle) {
  return total ? "(" + badgeText(total) + ") " + baseTitle : baseTitle;
}
