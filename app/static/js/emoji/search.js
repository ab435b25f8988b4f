/* Finding emoji by shortcode or name in the list GET /api/emoji serves: rows [emoji, [shortcode,
 * ...]] (the first shortcode is its name). Pure: no DOM; shared by the composer's picker and
 * `:shortcode:` completion, and fit for any other picker. */

/** How a query is compared: case-folded, spaces as underscores, no colons. */
export function normalise(query) {
  return String(query || "")
    .trim()
    .toLowerCase()
    .replace(/^:+|:+$/g, "")
    .replace(/\s+/g, "_");
}

/** The name an emoji is read out by: its first shortcode in words ("thumbs up"). */
export function emojiName(row) {
  return row[1][0].replace(/_/g, " ");
}

// 0: a shortcode is the query; 1: one starts with it; 2: a word in one does; null: no match.
function rank(codes, query) {
  let best = null;
  for (const code of codes) {
    const lower = code.toLowerCase();
    if (lower === query) return 0;
    if (lower.startsWith(query)) best = 1;
    else if (best === null && lower.includes("_" + query)) best = 2;
  }
  return best;
}

/** The rows matching `query` (all of them for an empty one), best first, in list order within a
 * rank, at most `limit`. */
export function searchEmoji(rows, query, limit = Infinity) {
  const wanted = normalise(query);
  if (!Array.isArray(rows)) return [];
  if (!wanted) return rows.slice(0, limit);
  const ranked = [];
  rows.forEach((row, index) => {
    const score = rank(row[1], wanted);
    if (score !== null) ranked.push([score, index, row]);
  });
  ranked.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return ranked.slice(0, limit).map((entry) => entry[2]);
}

/** The shortcode of `row` that best answers `query`, to show next to it (":+1:" for "+"). */
export function bestShortcode(row, query) {
  const wanted = normalise(query);
  return row[1].find((code) => code.toLowerCase().startsWith(wanted)) || row[1][0];
}
