/* The home page's two sections of conversation rows and the "no conversations" note:
 *   <ul data-conversation-list> the rows (pinned first) </ul>
 *   <details data-conversation-archive> Archived (<span data-archive-count>)
 *     <ul data-conversation-archive-list> the archived rows </ul> </details>
 *   <div data-conversation-empty>
 * Rows are placed where ./order.js says; the one holding the focus keeps it.
 */
import { entryOf, rowFrom, rowId } from "./row.js";
import { split, visibility } from "./order.js";

const ROW = "li[data-conversation-id]";

/** The sections of `doc`, or null when the page has no conversation list. */
export function findSections(doc = document) {
  const list = doc.querySelector("[data-conversation-list]");
  if (!list) return null;
  const archiveList = doc.querySelector("[data-conversation-archive-list]");
  return {
    list,
    archiveList,
    archive: doc.querySelector("[data-conversation-archive]"),
    archiveCount: doc.querySelector("[data-archive-count]"),
    empty: doc.querySelector("[data-conversation-empty]"),
  };
}

function rowsIn(container) {
  return container ? Array.from(container.querySelectorAll(ROW)) : [];
}

/** Every row, the list's then the archive's. */
export function allRows(sections) {
  return rowsIn(sections.list).concat(rowsIn(sections.archiveList));
}

/** The row of conversation `id`, or null. */
export function rowFor(sections, id) {
  return allRows(sections).find((row) => rowId(row) === String(id)) || null;
}

/** The sections as ./order.js reads them: {list: [entry], archive: [entry]}. */
export function entries(sections) {
  return { list: rowsIn(sections.list).map(entryOf), archive: rowsIn(sections.archiveList).map(entryOf) };
}

/** Show or hide the sections and the note, and count the archive. */
export function updateEmpty(sections) {
  const shown = visibility(rowsIn(sections.list).length, rowsIn(sections.archiveList).length);
  sections.list.classList.toggle("hidden", !shown.list);
  if (sections.archive) sections.archive.classList.toggle("hidden", !shown.archive);
  if (sections.archiveCount) sections.archiveCount.textContent = String(rowsIn(sections.archiveList).length);
  if (sections.empty) sections.empty.classList.toggle("hidden", !shown.empty);
}

function containerOf(sections, name) {
  return name === "archive" && sections.archiveList ? sections.archiveList : sections.list;
}

/** Move `row` to `placement` ({section, index} counted without the row; null: it stays). */
export function move(sections, row, placement) {
  if (placement) {
    const container = containerOf(sections, placement.section);
    const before = rowsIn(container).filter((other) => other !== row)[placement.index] || null;
    // Moving the row that holds the focus would drop the focus: put it back.
    const focused = document.activeElement;
    const hadFocus = focused && row.contains(focused);
    container.insertBefore(row, before);
    if (hadFocus) focused.focus();
  }
  updateEmpty(sections);
}

/** Replace every row with the server's (C list, its order), keeping the focus on the same row. */
export function render(sections, conversations) {
  const { list, archiveList } = sections;
  const focused = document.activeElement;
  const inside = focused && (list.contains(focused) || (archiveList && archiveList.contains(focused)));
  const current = inside ? focused.closest(ROW) : null;
  const focusedId = current ? rowId(current) : null;
  const parts = archiveList ? split(conversations) : { list: conversations, archive: [] };
  for (const [container, items] of [
    [list, parts.list],
    [archiveList, parts.archive],
  ]) {
    if (!container) continue;
    container.setAttribute("aria-busy", "true");
    container.replaceChildren(...items.map(rowFrom).filter(Boolean));
    container.removeAttribute("aria-busy");
  }
  updateEmpty(sections);
  const again = focusedId ? rowFor(sections, focusedId) : null;
  const link = again && again.querySelector("[data-conversation-link]");
  if (link) link.focus();
}
