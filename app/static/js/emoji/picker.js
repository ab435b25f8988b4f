/* An emoji picker: a search box over a grid of emoji (#emoji-picker-template and
 * #emoji-cell-template, chat/_composer_popups.html), one focus stop that the arrow keys move
 * (roving tabindex). Enter or a click picks; Escape closes and gives focus back. It knows nothing of
 * what the emoji is for: the composer inserts it, a reaction picker could react with it.
 */
import { loadEmoji } from "./data.js";
import { gridMove } from "./grid.js";
import { emojiName, searchEmoji } from "./search.js";

const COLUMNS = 8; // the grid's grid-cols-8
const SEARCH_LIMIT = 240;

/** A picker from the templates; `onPick(emoji)` gets the chosen one, `onClose()` runs once it shuts. */
export function createEmojiPicker({ template, cellTemplate, onPick, onClose = () => {}, load = loadEmoji }) {
  const element = template.content.firstElementChild.cloneNode(true);
  const search = element.querySelector("[data-emoji-search]");
  const grid = element.querySelector("[data-emoji-grid]");
  const status = element.querySelector("[data-emoji-status]");
  let rows = [];
  let active = 0;
  let returnTo = null;

  const cells = () => [...grid.querySelectorAll("[data-emoji-cell]")];

  function setActive(index, focus) {
    const all = cells();
    if (!all.length) return;
    active = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((cell, i) => (cell.tabIndex = i === active ? 0 : -1));
    if (focus) {
      all[active].focus();
      all[active].scrollIntoView({ block: "nearest" });
    }
  }

  function render() {
    const found = searchEmoji(rows, search.value, search.value.trim() ? SEARCH_LIMIT : Infinity);
    const fragment = document.createDocumentFragment();
    for (const row of found) {
      const cell = cellTemplate.content.firstElementChild.cloneNode(true);
      cell.textContent = row[0];
      cell.setAttribute("data-emoji", row[0]);
      cell.setAttribute("aria-label", emojiName(row));
      cell.title = `:${row[1][0]}:`;
      fragment.appendChild(cell);
    }
    grid.replaceChildren(fragment);
    active = 0;
    setActive(0, false);
    if (status) status.textContent = rows.length && !found.length ? "No emoji found." : "";
  }

  function pick(emoji) {
    close(false);
    onPick(emoji);
  }

  function close(refocus) {
    if (!element.isConnected) return;
    element.remove();
    document.removeEventListener("pointerdown", onOutside, true);
    if (refocus && returnTo && returnTo.isConnected) returnTo.focus();
    onClose();
  }

  function onOutside(event) {
    if (!element.contains(event.target) && !(returnTo && returnTo.contains(event.target))) close(false);
  }

  /** Show the picker inside `container`; focus goes back to `trigger` when Escape closes it. */
  function open(container, trigger) {
    returnTo = trigger || null;
    container.appendChild(element);
    search.value = "";
    document.addEventListener("pointerdown", onOutside, true);
    search.focus();
    if (rows.length) render();
    else {
      if (status) status.textContent = "Loading emoji…";
      load().then(
        (loaded) => {
          rows = loaded;
          if (status) status.textContent = "";
          if (element.isConnected) render();
        },
        (error) => {
          if (status) status.textContent = error.message;
        },
      );
    }
  }

  search.addEventListener("input", render);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && cells().length) {
      event.preventDefault();
      setActive(0, true);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const first = cells()[0];
      if (first) pick(first.getAttribute("data-emoji"));
    }
  });

  grid.addEventListener("keydown", (event) => {
    const cell = event.target.closest("[data-emoji-cell]");
    if (!cell) return;
    const all = cells();
    const next = gridMove(all.indexOf(cell), all.length, event.key, COLUMNS);
    if (next === null) return;
    event.preventDefault();
    if (next < 0) search.focus();
    else setActive(next, true);
  });

  grid.addEventListener("click", (event) => {
    const cell = event.target.closest("[data-emoji-cell]");
    if (cell) pick(cell.getAttribute("data-emoji"));
  });

  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === "Tab") {
      // Two stops, the search box and the grid's active cell; Tab goes round them.
      const targets = [search, cells()[active]].filter(Boolean);
      const at = targets.indexOf(document.activeElement);
      const next = targets[(at + (event.shiftKey ? targets.length - 1 : 1)) % targets.length];
      if (next) {
        event.preventDefault();
        next.focus();
      }
    }
  });

  return { element, open, close, isOpen: () => element.isConnected };
}
