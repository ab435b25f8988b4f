/* The unread anchor of the chat page: it opens at the "New messages" line the server drew before
 * the first unread message (chat/_unread_divider.html), which stays until the chat is left
 * (reading or new messages do not move it); "N unread ↑" ([data-jump-unread]) shows while that
 * line is above the view and brings it back, and the "Jump to latest" pill ([data-new-messages],
 * ./scroll.js) counts the messages below the view.
 */
import * as realtime from "../realtime/index.js";
import { countBelow } from "./ordering.js";

const CONTEXT = 5; // messages shown above the first unread when the window is loaded anew
const RELEASE_ON = ["wheel", "touchstart", "keydown", "pointerdown"]; // the reader moves the view

/** The anchor of conversation `cid`'s list `messages` (./message-list.js), with `scroll`
 * (./scroll.js) and `history` (./history.js). */
export function createUnreadAnchor({ cid, messages, scroll, history, scroller, jumpButton, pill, announce, scope }) {
  const divider = messages.list.querySelector("[data-unread-divider]");
  const seq = divider ? parseInt(divider.getAttribute("data-seq"), 10) || 0 : 0;
  const count = divider ? parseInt(divider.getAttribute("data-count"), 10) || 0 : 0;
  const jumpCount = jumpButton ? jumpButton.querySelector("[data-jump-unread-count]") : null;
  const belowCount = pill ? pill.querySelector("[data-below-count]") : null;
  const belowWords = pill ? pill.querySelector("[data-below-words]") : null;
  let frame = 0;

  if (jumpCount) jumpCount.textContent = String(count);

  // The divider above the view, or not in the window at all (another one is shown).
  function dividerAbove() {
    if (!divider) return false;
    if (!divider.isConnected) return true;
    return divider.getBoundingClientRect().bottom <= scroller.getBoundingClientRect().top;
  }

  function lastSeenSeq() {
    const bottom = scroller.getBoundingClientRect().bottom;
    const items = messages.items();
    for (let i = items.length - 1; i >= 0; i--) {
      const seqOf = messages.seqOf(items[i]);
      if (seqOf !== null && items[i].getBoundingClientRect().top < bottom) return seqOf;
    }
    return null;
  }

  function update() {
    frame = 0;
    if (jumpButton) {
      const show = dividerAbove();
      if (!show && document.activeElement === jumpButton) scroller.focus();
      jumpButton.classList.toggle("hidden", !show);
      jumpButton.classList.toggle("flex", show);
    }
    if (belowCount) {
      const high = messages.range().high;
      const latest = Math.max(realtime.lastSeq(cid), high || 0);
      const below = countBelow(latest || null, lastSeenSeq());
      const text = below ? String(below) : "";
      if (belowCount.textContent !== text) belowCount.textContent = text;
      if (belowWords) belowWords.textContent = below ? ` message${below === 1 ? "" : "s"} below` : "";
    }
  }

  function schedule() {
    if (!frame) frame = window.requestAnimationFrame(update);
  }

  function showDivider() {
    divider.scrollIntoView({ block: "start" });
    scroll.notePosition();
    scroll.updatePill();
    update();
  }

  /** Open at the divider (true), or leave the page to open at the bottom (false: nothing unread).
   * Until the reader scrolls, the line stays in place while pictures above it load. */
  function open() {
    if (!divider || !divider.isConnected) return false;
    showDivider();
    if (typeof window.ResizeObserver === "function") {
      const holder = scope.observe(new window.ResizeObserver(() => divider.isConnected && showDivider()));
      holder.observe(messages.list);
      const release = () => {
        holder.disconnect();
        for (const name of RELEASE_ON) scroller.removeEventListener(name, release);
      };
      for (const name of RELEASE_ON) scroller.addEventListener(name, release, { passive: true });
      messages.list.addEventListener("chat:window-replaced", release, { once: true });
      scroller.addEventListener("chat:near-top", release, { once: true });
      scroller.addEventListener("chat:at-bottom", release, { once: true });
    }
    return true;
  }

  /** Bring the "New messages" line back into view (loading its window again when it is gone). */
  function jumpToFirstUnread() {
    if (!divider) return Promise.resolve(false);
    const shown = divider.isConnected ? Promise.resolve(true) : history.showWindow({ after: Math.max(seq - 1 - CONTEXT, 0) });
    return shown.then((ok) => {
      if (!ok || !divider.isConnected) return false;
      showDivider();
      divider.focus({ preventScroll: true });
      announce(`${count} unread message${count === 1 ? "" : "s"} below.`);
      return true;
    });
  }

  // A window loaded anew: the line goes back before its message, or out while that is not here.
  messages.list.addEventListener("chat:window-replaced", () => {
    if (!divider) return;
    const first = messages.bySeq(seq);
    if (first) messages.list.insertBefore(divider, first);
    else divider.remove();
  });
  messages.list.addEventListener("chat:list-changed", schedule);
  scroller.addEventListener("chat:scrolled", schedule);
  scope.add(realtime.on("message", schedule));
  scope.add(() => frame && window.cancelAnimationFrame(frame));
  if (jumpButton) jumpButton.addEventListener("click", jumpToFirstUnread);

  return { open, jumpToFirstUnread, update };
}
