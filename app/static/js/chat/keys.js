/* Arrow keys over a row of items, a list or a grid (pure, tested in Node): where the focus goes. */

/**
 * The index the focus moves to in a list of `count` items from `index` on `key` (ArrowUp/ArrowDown,
 * or ArrowLeft/ArrowRight with `horizontal`; Home, End); null for another key. It stops at the ends.
 */
export function listMove(key, index, count, { horizontal = false } = {}) {
  if (count <= 0) return null;
  const back = horizontal ? "ArrowLeft" : "ArrowUp";
  const forward = horizontal ? "ArrowRight" : "ArrowDown";
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  if (key === back) return Math.max(0, Math.min(index, count) - 1);
  if (key === forward) return index < 0 ? 0 : Math.min(count - 1, index + 1);
  return null;
}

/**
 * The index the focus moves to in a grid of `count` cells, `columns` wide, filled row by row, from
 * `index` on `key`: the arrows (Left and Right go on over the row's ends), Home and End of the row
 * (with `ctrl`: of the grid). null for another key, or for Up on the first row and Down on the last
 * (the caller may leave the grid there).
 */
export function gridMove(key, index, count, columns, { ctrl = false } = {}) {
  if (count <= 0 || columns <= 0) return null;
  const rowStart = index - (index % columns);
  switch (key) {
    case "ArrowLeft":
      return Math.max(0, index - 1);
    case "ArrowRight":
      return Math.min(count - 1, index + 1);
    case "ArrowUp":
      return index - columns >= 0 ? index - columns : null;
    case "ArrowDown":
      if (index + columns < count) return index + columns;
      return rowStart + columns < count ? count - 1 : null; // a shorter last row
    case "Home":
      return ctrl ? 0 : rowStart;
    case "End":
      return ctrl ? count - 1 : Math.min(count - 1, rowStart + columns - 1);
    default:
      return null;
  }
}

/** True when the key event asks for a context menu: the context-menu key or Shift+F10. */
export function isMenuKey(event) {
  return event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey);
}

/** True when a pointer moved from `start` to `point` ({x, y}) by more than `slop` CSS pixels. */
export function movedTooFar(start, point, slop = 10) {
  return Math.hypot(point.x - start.x, point.y - start.y) > slop;
}
