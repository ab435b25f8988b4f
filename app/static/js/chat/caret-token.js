/* The word being completed at the caret of a text field: `@ana` (a member to mention) or `:smi`
 * (an emoji by shortcode), and the text once a suggestion replaces it. Pure: no DOM. */

const MENTION_CHAR = /[\p{L}\p{N}_.-]/u;
const SHORTCODE_CHAR = /[\p{L}\p{N}_+-]/u;
const BEFORE_TRIGGER = /[\s([{"'«]/u; // what may precede the trigger: not "ana@host" nor "10:30"
export const SHORTCODE_MIN = 2; // ":" and one letter is too often the end of a sentence

/** {trigger: "@" | ":", query, start, end} of the token around `caret` in `text`, or null. `start`
 * is the trigger's index, `end` where the token's characters stop (at or after the caret). */
export function tokenAt(text, caret) {
  if (typeof text !== "string" || !Number.isInteger(caret) || caret < 0 || caret > text.length) return null;
  for (const [trigger, allowed, min] of [
    ["@", MENTION_CHAR, 0],
    [":", SHORTCODE_CHAR, SHORTCODE_MIN],
  ]) {
    let start = caret;
    while (start > 0 && allowed.test(text[start - 1])) start -= 1;
    const at = start - 1;
    if (at < 0 || text[at] !== trigger) continue;
    if (at > 0 && !BEFORE_TRIGGER.test(text[at - 1])) continue;
    let end = caret;
    while (end < text.length && allowed.test(text[end])) end += 1;
    const query = text.slice(start, caret);
    if (query.length < min) continue;
    if (trigger === ":" && end < text.length && text[end] === ":") continue; // already closed: ":smile:"
    return { trigger, query, start: at, end };
  }
  return null;
}

/** {text, caret} once `insertion` replaces `token` in `text`, followed by one space. */
export function replaceToken(text, token, insertion) {
  const after = text.slice(token.end);
  const spaced = /^\s/.test(after) ? insertion : insertion + " ";
  const caret = token.start + spaced.length + (spaced === insertion ? 1 : 0);
  return { text: text.slice(0, token.start) + spaced + after, caret };
}

/** `insertion` put in at the selection [from, to) of `text`: {text, caret after it}. */
export function insertAt(text, from, to, insertion) {
  return { text: text.slice(0, from) + insertion + text.slice(to), caret: from + insertion.length };
}
