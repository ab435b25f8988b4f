/* The state of a suggestion list (the composer's `@` and `:` combobox, the emoji grid's search):
 * the items shown and the active one. Pure: no DOM. */

/** The index `delta` steps from `index` among `count` items, wrapping round; -1 when there are none. */
export function step(index, count, delta) {
  if (count <= 0) return -1;
  if (index < 0) return delta > 0 ? 0 : count - 1;
  return (((index + delta) % count) + count) % count;
}

/** Items shown and the active one; closed while there are none. */
export class ListState {
  constructor() {
    this.items = [];
    this.active = -1;
  }

  get open() {
    return this.items.length > 0;
  }

  /** Show `items` with the first active (the one Enter picks). */
  show(items) {
    this.items = Array.isArray(items) ? items.slice() : [];
    this.active = this.items.length ? 0 : -1;
  }

  move(delta) {
    this.active = step(this.active, this.items.length, delta);
  }

  current() {
    return this.active >= 0 ? this.items[this.active] : null;
  }

  close() {
    this.items = [];
    this.active = -1;
  }
}
