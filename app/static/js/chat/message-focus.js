/* The message list as one stop for the keyboard (a roving tabindex), as Slack and Element do:
 *
 *   Tab reaches the list once: the message last in focus (until then the latest); Tab goes on into
 *   that message's links and buttons, then out to the composer. The other messages' links and
 *   buttons are no tab stops (tabindex -1) until their message takes the focus.
 *   ArrowUp / ArrowDown   the previous / next message      Home / End   the first / the latest
 *   Enter, the context-menu key or Shift+F10               that message's action menu
 *   Escape (on a link or button inside a message)          back to the message
 *
 * The history's scroller stops being a tab stop of its own once messages hold it.
 */
import { isMenuKey, listMove } from "./keys.js";

const INNER = "a[href], button, input, select, textarea, summary, audio[controls], video[controls], [tabindex]";
const TAMED = "data-rove"; // a control this module took out of the tab order

/** The roving focus of `list` (in `scroller`); `openMenu(item, opener)` opens an action menu. */
export function createMessageFocus({ list, scroller, openMenu, scope }) {
  let current = null; // the message that holds the list's tab stop
  let chosen = false; // the reader has been in the list: the stop stays where they left it
  let scheduled = false;

  const items = () => [...list.querySelectorAll("li[data-message]")];
  const itemOf = (node) => (node && node.closest ? node.closest("li[data-message]") : null);

  function setControls(item, reachable) {
    for (const control of item.querySelectorAll(INNER)) {
      if (control.matches("li[data-message]")) continue;
      if (reachable) {
        if (control.hasAttribute(TAMED)) {
          control.removeAttribute(TAMED);
          control.removeAttribute("tabindex");
        }
      } else if (!control.hasAttribute("tabindex")) {
        control.setAttribute(TAMED, "");
        control.setAttribute("tabindex", "-1");
      }
    }
  }

  /** Give the tab stop to `current` (the latest when it is gone) and take the rest out of the order. */
  function update() {
    scheduled = false;
    const all = items();
    if (!chosen || !current || !current.isConnected || !list.contains(current)) current = all[all.length - 1] || null;
    const focused = itemOf(document.activeElement);
    for (const item of all) {
      const stop = item === current ? "0" : "-1";
      if (item.getAttribute("tabindex") !== stop) item.setAttribute("tabindex", stop);
      setControls(item, item === focused && list.contains(focused));
    }
    const scrollerStop = all.length ? "-1" : "0";
    if (scroller.getAttribute("tabindex") !== scrollerStop) scroller.setAttribute("tabindex", scrollerStop);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(update);
  }

  function focusItem(item) {
    current = item;
    chosen = true;
    update();
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  list.addEventListener("focusin", (event) => {
    const item = itemOf(event.target);
    if (!item) return;
    current = item;
    chosen = true;
    update();
  });
  list.addEventListener("focusout", (event) => {
    const item = itemOf(event.target);
    if (item && !item.contains(event.relatedTarget)) setControls(item, false);
  });

  list.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    const item = itemOf(event.target);
    if (!item) return;
    if (event.target !== item) {
      // On a link or button inside a message: Escape goes back to the message.
      const inForm = event.target.closest("[data-editor], [data-delete-confirm], input, textarea");
      if (event.key === "Escape" && !inForm) {
        event.preventDefault();
        focusItem(item);
      }
      return;
    }
    if (event.key === "Enter" || isMenuKey(event)) {
      event.preventDefault();
      openMenu(item, item);
      return;
    }
    if (event.ctrlKey || event.shiftKey) return;
    const all = items();
    const next = listMove(event.key, all.indexOf(item), all.length);
    if (next === null) return;
    event.preventDefault();
    focusItem(all[next]);
  });

  // Messages come and go (new ones, older pages, a changed one's content): keep one tab stop.
  scope.observe(new MutationObserver(schedule)).observe(list, { childList: true, subtree: true });
  update();

  return { focusItem, update };
}
