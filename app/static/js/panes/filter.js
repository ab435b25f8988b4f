/* The switcher's rules (./switcher.js): which conversations match what was typed, and where the
 * arrow keys move. Pure: no DOM. */

/** `text` lower-cased without accents ("Zoë" -> "zoe"), for matching. */
export function fold(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase();
}

/** The conversations (C: title, username) whose title or @username holds every word of `query`,
 * those whose title starts with it first; at most `limit`. An empty query: the first `limit`. */
export function matching(conversations, query, limit = 50) {
  const words = fold(query).trim().split(/\s+/).filter(Boolean);
  const whole = words.join(" ");
  const first = [];
  const rest = [];
  for (const conversation of conversations || []) {
    if (!conversation) continue;
    const title = fold(conversation.title);
    const haystack = `${title} @${fold(conversation.username)}`;
    if (!words.every((word) => haystack.includes(word))) continue;
    (whole && title.startsWith(whole) ? first : rest).push(conversation);
  }
  return first.concat(rest).slice(0, limit);
}

/** The option after `index` by `delta` among `length`, wrapping around; -1 when there is none. */
export function moved(index, delta, length) {
  if (!length) return -1;
  if (index < 0) return delta > 0 ? 0 : length - 1;
  return (((index + delta) % length) + length) % length;
}
