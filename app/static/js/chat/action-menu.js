/* The one action menu of the chat page (templates/chat/_action_menu.html, a <dialog>): a bottom
 * sheet on a phone, a popover next to the message from the sm breakpoint. open(item, opener)
 * opens it for a stored message; what applies to the reader comes from the message's data-*
 * (data-may-edit, data-may-delete, its Forward link, its text), copied onto the dialog, whose
 * actions show through CSS. An action runs the message's own [data-action] button (the routing of
 * ./message-actions.js and ./forward.js), a quick reaction toggles mine.
 *
 * showModal() keeps the focus inside; Escape, a click outside or Cancel closes it, and the focus
 * goes back to where it was opened from (the message, or its More actions button). Arrow keys move
 * between the actions.
 */
import { listMove } from "./keys.js";

const SMALL = "(max-width: 639.98px)";
const GAP_PX = 4;

/** The menu `dialog`; `toggleReaction(item, emoji)` is ./reactions.js's; `announce` the page's. */
export function createActionMenu({ dialog, live, toggleReaction, announce, scope }) {
  let open = null; // {item, opener}
  let pressed = false; // a pointer went down on the open menu

  function actionable(item) {
    return live && item && item.getAttribute("data-state") === "sent" && item.getAttribute("data-deleted") !== "true" && !!item.getAttribute("data-id");
  }

  function flag(name, on) {
    if (on) dialog.setAttribute(name, "true");
    else dialog.removeAttribute(name);
  }

  function visible(node) {
    return !!node && node.isConnected && node.getClientRects().length > 0 && window.getComputedStyle(node).visibility !== "hidden";
  }

  function giveFocusBack({ item, opener }) {
    if (opener && opener.setAttribute && opener.hasAttribute("aria-expanded")) opener.setAttribute("aria-expanded", "false");
    const target = visible(opener) ? opener : item;
    if (target && target.isConnected) target.focus({ preventScroll: true });
  }

  function close(refocus = true) {
    if (!open) return;
    const from = open;
    open = null;
    if (dialog.open) dialog.close();
    if (refocus) giveFocusBack(from);
  }

  function place(item, opener) {
    if (window.matchMedia(SMALL).matches) {
      dialog.style.left = "";
      dialog.style.top = "";
      return;
    }
    const anchor = (visible(opener) && opener !== item ? opener : item.querySelector("[data-bubble]")) || item;
    const box = anchor.getBoundingClientRect();
    const width = dialog.offsetWidth;
    const height = dialog.offsetHeight;
    const mine = item.getAttribute("data-mine") === "true";
    let left = mine ? box.right - width : box.left;
    left = Math.max(GAP_PX, Math.min(left, window.innerWidth - width - GAP_PX));
    let top = box.bottom + GAP_PX;
    if (top + height > window.innerHeight - GAP_PX) top = Math.max(GAP_PX, box.top - height - GAP_PX);
    dialog.style.left = left + "px";
    dialog.style.top = top + "px";
  }

  /** Open the menu for the message `item`, from `opener` (the element the focus goes back to). */
  function show(item, opener = item) {
    if (!dialog || !actionable(item) || typeof dialog.showModal !== "function") return;
    if (open && open.item === item) return;
    close(false);
    const body = item.querySelector("[data-body]");
    flag("data-may-edit", item.getAttribute("data-may-edit") === "true" && !!item.querySelector('[data-action="edit"]'));
    flag("data-may-delete", item.getAttribute("data-may-delete") === "true");
    flag("data-may-forward", !!item.querySelector('[data-action="forward"]'));
    flag("data-has-text", !!(body && body.textContent.trim()));
    open = { item, opener };
    pressed = false;
    if (opener && opener.hasAttribute("aria-expanded")) opener.setAttribute("aria-expanded", "true");
    dialog.showModal();
    place(item, opener);
    const first = dialog.querySelector('[data-menu-action="reply"]');
    if (first) first.focus();
  }

  function run(action, item) {
    if (action === "copy") {
      const body = item.querySelector("[data-body]");
      const text = body ? body.textContent : "";
      if (!navigator.clipboard) return;
      navigator.clipboard.writeText(text).then(
        () => announce("Copied."),
        () => announce("Could not copy the text."),
      );
      return;
    }
    const button = item.querySelector(`[data-action="${action}"]`);
    if (button) button.click();
  }

  if (!dialog) return { open: () => {} };

  // The finger of a long-press lifts over the sheet: that is no choice. A pointer's click counts
  // only when it also went down on the open menu (a key's click has no detail).
  dialog.addEventListener("pointerdown", () => {
    pressed = true;
  });

  dialog.addEventListener("click", (event) => {
    const chosen = pressed || event.detail === 0;
    pressed = false;
    if (!open || !chosen) return;
    const { item } = open;
    if (event.target === dialog || event.target.closest("[data-menu-close]")) {
      close(); // outside the menu (its backdrop), or Cancel
      return;
    }
    const reaction = event.target.closest("[data-menu-react]");
    const action = event.target.closest("[data-menu-action]");
    if (!reaction && !action) return;
    event.stopPropagation(); // what the action opens (the reaction picker) is no click outside it
    close(); // first, so that the action may take the focus where it wants
    if (reaction) toggleReaction(item, reaction.getAttribute("data-menu-react"));
    else run(action.getAttribute("data-menu-action"), item);
  });

  // Escape: the browser closes the dialog itself. The event comes a task later: not for a menu
  // opened again meanwhile.
  dialog.addEventListener("close", () => {
    if (open && !dialog.open) close();
  });

  dialog.addEventListener("keydown", (event) => {
    const controls = [...dialog.querySelectorAll("button")].filter(visible);
    const index = controls.indexOf(document.activeElement);
    const row = event.target.closest("[data-menu-reactions]");
    const horizontal = !!row && (event.key === "ArrowLeft" || event.key === "ArrowRight");
    const next = listMove(event.key, index, controls.length, { horizontal });
    if (next === null) return;
    event.preventDefault();
    controls[next].focus();
  });

  window.addEventListener(
    "resize",
    () => {
      if (open) place(open.item, open.opener);
    },
    { signal: scope.signal },
  );

  return { open: show, close };
}
