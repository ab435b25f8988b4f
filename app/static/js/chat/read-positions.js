/* The members' read positions on the chat page and the "Seen by N" count. Pure: no DOM. */

/** A member's read position after a "read" event saying they read up to `seq` (it never goes back). */
export function advancedReadSeq(current, seq) {
  return Math.max(parseInt(current, 10) || 0, parseInt(seq, 10) || 0);
}

/**
 * "Seen by N" under my latest message, however large the conversation, without every member's read
 * position: the page's `seen` ({seq: my latest message when the page was made, or null; count: the
 * others who had read it}) and the "read" events since ({user_id, seq, previous_seq: where that
 * reader was before}).
 */
export class SeenCounter {
  #base;
  #me;
  #readers = new Map(); // user id -> {seq: read up to, before: read up to before their first event here}

  constructor(seen, meId) {
    const seq = seen && seen.seq != null ? parseInt(seen.seq, 10) : null;
    this.#base = { seq: Number.isNaN(seq) ? null : seq, count: (seen && parseInt(seen.count, 10)) || 0 };
    this.#me = meId;
  }

  /** A "read" event: `userId` has read up to `seq`, from `previousSeq` (absent: unknown, taken as 0). */
  read(userId, seq, previousSeq) {
    if (userId === this.#me) return;
    const known = this.#readers.get(userId);
    if (known) known.seq = advancedReadSeq(known.seq, seq);
    else this.#readers.set(userId, { seq: advancedReadSeq(0, seq), before: parseInt(previousSeq, 10) || 0 });
  }

  /** How many others have read up to `seq` (my latest message). Everyone the page counted had read
   * up to the page's seq; a later message of mine was read only by those who said so since. */
  count(seq) {
    const base = this.#base;
    const counted = base.seq !== null && seq <= base.seq;
    let count = counted && seq === base.seq ? base.count : 0;
    for (const reader of this.#readers.values()) {
      if (reader.seq < seq) continue;
      if (counted && seq === base.seq && reader.before >= base.seq) continue; // in the page's count already
      count++;
    }
    return count;
  }
}
