/* A long-press on a message (a finger or a pen held still for LONG_PRESS_MS) opens its action
 * menu, as on a phone's messenger. Moving the finger (a scroll), lifting it or the history
 * scrolling cancels it. The browser's own long-press menu (and the click that may follow) gives
 * way to it; a mouse's right-click keeps the browser's menu.
 */
import { movedTooFar } from "./keys.js";

export const LONG_PRESS_MS = 500;

/** Long-presses on the items of `list` (in `scroller`) call `onLongPress(item)`. */
export function createLongPress({ list, scroller, onLongPress }) {
  let press = null; // {item, start: {x, y}, timer}
  let fired = false; // the press opened the menu: swallow what the browser makes of it
  let touch = false; // the latest pointer was a finger or a pen

  const skip = (target) => !target.closest || target.closest("[data-editor], [data-delete-confirm], input, textarea, [data-reaction]");

  function cancel() {
    if (!press) return;
    window.clearTimeout(press.timer);
    press = null;
  }

  function fire(item) {
    cancel();
    fired = true;
    onLongPress(item);
  }

  list.addEventListener("pointerdown", (event) => {
    cancel();
    fired = false;
    touch = event.pointerType !== "mouse";
    if (!touch || !event.isPrimary || skip(event.target)) return;
    const item = event.target.closest("li[data-message]");
    if (!item) return;
    press = { item, start: { x: event.clientX, y: event.clientY }, timer: window.setTimeout(() => fire(item), LONG_PRESS_MS) };
  });
  list.addEventListener("pointermove", (event) => {
    if (press && movedTooFar(press.start, { x: event.clientX, y: event.clientY })) cancel();
  });
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) list.addEventListener(name, cancel);
  scroller.addEventListener("scroll", cancel, { passive: true });

  // A finger held on a message: no text selection menu nor link menu, ours instead.
  list.addEventListener("contextmenu", (event) => {
    if (!touch) return;
    const item = event.target.closest ? event.target.closest("li[data-message]") : null;
    if (!item || skip(event.target)) return;
    event.preventDefault();
    if (press && press.item === item) fire(item);
  });
  // Lifting the finger after a long-press is no tap: no mouse events, no click under it.
  list.addEventListener(
    "touchend",
    (event) => {
      if (!fired || !event.cancelable) return;
      event.preventDefault();
      fired = false;
    },
    { passive: false },
  );
  list.addEventListener(
    "click",
    (event) => {
      if (!fired || !event.isTrusted) return;
      fired = false;
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );
}
