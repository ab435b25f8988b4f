/* Where messages go in the chat's list, decided from their seqs alone. Pure: no DOM, so the
 * tests run it in Node. A list is described by the seqs of its items in page order, null for a
 * message still being sent (no seq yet). */

/** {low, high}: the smallest and largest seq held (null and null when none is stored yet). */
export function seqRange(seqs) {
  let low = null;
  let high = null;
  for (const seq of seqs) {
    if (seq === null) continue;
    if (low === null || seq < low) low = seq;
    if (high === null || seq > high) high = seq;
  }
  return { low, high };
}

/**
 * Where a stored message with `seq` goes: {before: i} (before the first stored item with a
 * higher seq), else {after: i} (after the last stored one), else {before: i} (before the first
 * bubble being sent), else {append: true}. Bubbles being sent stay at the end, in their order.
 * `skip` is the index of the item itself when it is already in the list (-1 when not).
 */
export function insertPosition(seqs, seq, skip = -1) {
  let lastStored = -1;
  let firstPending = -1;
  for (let i = 0; i < seqs.length; i++) {
    if (i === skip) continue;
    if (seqs[i] === null) {
      if (firstPending === -1) firstPending = i;
      continue;
    }
    if (seqs[i] > seq) return { before: i };
    lastStored = i;
  }
  if (lastStored !== -1) return { after: lastStored };
  if (firstPending !== -1) return { before: firstPending };
  return { append: true };
}

/** True when the stored item at `index` sits between a lower and a higher seq (or an end). */
export function inOrder(seqs, index) {
  const seq = seqs[index];
  for (let i = index - 1; i >= 0; i--) {
    if (seqs[i] === null) continue;
    if (seqs[i] > seq) return false;
    break;
  }
  for (let i = index + 1; i < seqs.length; i++) {
    if (seqs[i] !== null) return seqs[i] > seq;
  }
  return true;
}

/**
 * The seq to sync after before `seq` can be shown, or null when nothing is missing: the list
 * holds up to `high` (null when it holds none; then the page's first render ended at `initialTop`).
 */
export function gapBefore(seq, high, initialTop) {
  const expected = (high === null ? initialTop : high) + 1;
  return seq > expected ? expected - 1 : null;
}

/** True when `seq` is older than the loaded history and more is still to load (not shown yet). */
export function beforeLoaded(seq, range, hasMore) {
  return hasMore && range.low !== null && seq < range.low;
}

/**
 * Which items start a run of one sender: keys[i] is the item's sender ("me" or the sender's id),
 * null for anything between messages (a day line), which ends a run. Returns one boolean per key.
 */
export function runStarts(keys) {
  let previous = null;
  return keys.map((key) => {
    const first = key !== null && (previous === null || previous !== key);
    previous = key;
    return first;
  });
}

/** Which messages open a new day: days[i] is the item's day key ("YYYY-MM-DD", local). */
export function dayStarts(days) {
  return days.map((day, i) => i === 0 || days[i - 1] !== day);
}

/** True when `seq` is newer than the loaded window (which ends at `windowHigh`) and that window
 * stops before the latest (`hasNewer`): it comes with the newer pages, not placed now. */
export function afterLoaded(seq, windowHigh, hasNewer) {
  return hasNewer && windowHigh !== null && seq > windowHigh;
}

/** How many messages lie below `lastSeen` (the last one in view) up to `latest`; 0 when none. */
export function countBelow(latest, lastSeen) {
  if (latest === null || lastSeen === null) return 0;
  return Math.max(0, latest - lastSeen);
}
