/* Moving in a grid of `count` cells `columns` wide by key (roving focus). Pure: no DOM. */

/** The index the key `key` moves to from `index`, or null when the key is not a grid move (or moves
 * out of the top row: -1, so the search box above can take focus). */
export function gridMove(index, count, key, columns) {
  if (count <= 0) return null;
  const last = count - 1;
  switch (key) {
    case "ArrowRight":
      return Math.min(index + 1, last);
    case "ArrowLeft":
      return Math.max(index - 1, 0);
    case "ArrowDown":
      return index + columns <= last ? index + columns : index;
    case "ArrowUp":
      return index - columns >= 0 ? index - columns : -1;
    case "Home":
      return 0;
    case "End":
      return last;
    case "PageDown":
      return Math.min(index + columns * 4, last);
    case "PageUp":
      return Math.max(index - columns * 4, 0);
    default:
      return null;
  }
}
