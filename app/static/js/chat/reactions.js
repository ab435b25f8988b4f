/* Reactions on the chat page: a click on a reaction chip toggles mine, and the React action opens
 * the picker (#reaction-picker-template: a quick bar and a grid of more), one for the page, placed
 * over the history next to the message (or its bubble, when the React button is not shown: a
 * phone); Escape, a click outside or scrolling closes it. The arrow keys move in the bar and in
 * the grid (one tab stop each: a roving tabindex), Home and End to a row's ends; Enter picks.
 */
import { gridMove, listMove } from "./keys.js";

/** Reactions for the list `messages.list`; `act` is ./updates.js's, `live` whether the socket exists. */
export function createReactions({ list, scroller, template, live, act, announce, scope }) {
  let picker = null;
  let pickerFor = null; // [item, its React button]

  const messageId = (item) => Number(item.getAttribute("data-id"));

  function hasReacted(item, emoji) {
    return [...item.querySelectorAll("[data-reaction]")].some(
      (chip) => chip.getAttribute("data-emoji") === emoji && chip.getAttribute("aria-pressed") === "true",
    );
  }

  /** Add (on) or take back my `emoji` on the message `item`. */
  function react(item, emoji, on) {
    act("react", { message_id: messageId(item), emoji, on }).catch((error) => {
      announce("Your reaction was not saved. " + error.message);
    });
  }

  const shown = (node) => node.getClientRects().length > 0;

  function closePicker(refocus) {
    if (!picker || !pickerFor) return;
    const [item, button] = pickerFor;
    picker.remove();
    pickerFor = null;
    button.setAttribute("aria-expanded", "false");
    if (refocus) (shown(button) ? button : item).focus();
  }

  // One tab stop per group (the bar, the grid): the cell in focus.
  function rove(cells, target) {
    for (const cell of cells) cell.setAttribute("tabindex", cell === target ? "0" : "-1");
    target.focus();
  }

  function onPickerKey(event) {
    const grid = picker.querySelector("[data-reaction-grid]");
    const bar = [...picker.querySelectorAll("[data-reaction-bar] button")];
    const cells = [...grid.querySelectorAll("[data-pick]")];
    const inGrid = grid.contains(event.target);
    const group = inGrid ? cells : bar;
    const index = group.indexOf(event.target);
    if (index === -1) return;
    let next;
    if (inGrid) {
      const columns = window.getComputedStyle(grid).gridTemplateColumns.split(" ").length || 1;
      next = gridMove(event.key, index, cells.length, columns, { ctrl: event.ctrlKey });
      if (next === null && event.key === "ArrowUp") {
        event.preventDefault();
        rove(bar, bar[bar.length - 1]); // up from the grid's first row: back to the bar's "+"
        return;
      }
    } else if (event.key === "ArrowDown" && grid.getAttribute("data-open") === "true") {
      event.preventDefault();
      rove(cells, cells.find((cell) => cell.getAttribute("tabindex") === "0") || cells[0]);
      return;
    } else {
      next = listMove(event.key, index, bar.length, { horizontal: true });
    }
    if (next === null) return;
    event.preventDefault();
    rove(group, group[next]);
  }

  function onPickerClick(event) {
    const more = event.target.closest("[data-more-reactions]");
    if (more) {
      const grid = picker.querySelector("[data-reaction-grid]");
      const open = grid.getAttribute("data-open") !== "true";
      grid.setAttribute("data-open", open ? "true" : "false");
      more.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        const cells = [...grid.querySelectorAll("[data-pick]")];
        rove(cells, cells[0]);
      }
      return;
    }
    const pick = event.target.closest("[data-pick]");
    if (!pick || !pickerFor) return;
    const item = pickerFor[0];
    const emoji = pick.getAttribute("data-pick");
    closePicker(true);
    react(item, emoji, !hasReacted(item, emoji));
  }

  function createPicker() {
    picker = template.content.firstElementChild.cloneNode(true);
    picker.addEventListener("click", onPickerClick);
    picker.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        closePicker(true);
      } else onPickerKey(event);
    });
  }

  /** Open the picker for `item` next to its React `button` (a second press closes it). */
  function openPicker(item, button) {
    if (!template) return;
    if (pickerFor && pickerFor[1] === button) {
      closePicker(true);
      return;
    }
    closePicker(false);
    if (!picker) createPicker();
    const grid = picker.querySelector("[data-reaction-grid]");
    grid.setAttribute("data-open", "false");
    picker.querySelector("[data-more-reactions]").setAttribute("aria-expanded", "false");
    const area = scroller.parentElement; // positioned (relative), holds the scroller
    area.appendChild(picker);
    pickerFor = [item, button];
    button.setAttribute("aria-expanded", "true");

    const anchor = shown(button) ? button : item.querySelector("[data-bubble]") || item;
    const box = anchor.getBoundingClientRect();
    const frame = area.getBoundingClientRect();
    const below = frame.bottom - box.bottom > picker.offsetHeight + 200; // room for the grid too
    picker.style.top = below ? box.bottom - frame.top + 4 + "px" : "";
    picker.style.bottom = below ? "" : frame.bottom - box.top + 4 + "px";
    const mine = item.getAttribute("data-mine") === "true";
    picker.style.right = mine ? Math.max(frame.right - box.right, 4) + "px" : "";
    picker.style.left = mine ? "" : Math.max(box.left - frame.left, 4) + "px";
    const bar = [...picker.querySelectorAll("[data-reaction-bar] button")];
    if (bar.length) rove(bar, bar[0]);
    const cells = [...grid.querySelectorAll("[data-pick]")];
    if (cells.length) for (const cell of cells) cell.setAttribute("tabindex", cell === cells[0] ? "0" : "-1");
  }

  document.addEventListener(
    "click",
    (event) => {
      if (!picker || !pickerFor) return;
      if (picker.contains(event.target) || pickerFor[1].contains(event.target)) return;
      closePicker(false);
    },
    { signal: scope.signal },
  );
  scroller.addEventListener(
    "scroll",
    () => {
      if (pickerFor && !picker.contains(document.activeElement)) closePicker(false);
    },
    { passive: true },
  );

  // A chip under a message: the same reaction, mine toggled.
  list.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target : null;
    if (!target || target.closest("[data-retry], [data-action]")) return;
    const chip = target.closest("[data-reaction]");
    const item = chip ? chip.closest("li[data-message]") : null;
    if (item && live) react(item, chip.getAttribute("data-emoji"), chip.getAttribute("aria-pressed") !== "true");
  });

  /** Add my `emoji` to the message `item`, or take it back when it is there. */
  function toggleReaction(item, emoji) {
    if (live) react(item, emoji, !hasReacted(item, emoji));
  }

  return { openPicker, toggleReaction };
}
