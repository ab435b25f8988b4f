/* Scroll keeping for the chat history: stay at the bottom while the reader is there, keep the
 * first visible message in place when the list changes above it, the "Jump to latest" pill
 * (shown while the reader is not at the bottom, or the list stops before the latest), and
 * staying at the bottom when the scroller resizes (a phone's keyboard, the composer growing).
 *
 * Events on the scroller: "chat:at-bottom" when the reader reaches the bottom (by scrolling or
 * the pill), "chat:near-top" / "chat:near-bottom" when they scroll close to the top / bottom
 * (older / newer messages may load), "chat:scrolled" after every scroll.
 */

const NEAR_BOTTOM_PX = 48;
export const NEAR_TOP_PX = 160;

/** The scroll keeper of `scroller` (holding `list`); `input` takes the focus from a hidden pill. */
export function createScroll({ scroller, list, pill, input, scope }) {
  let pinned = true;
  let beyond = () => false; // true while the list stops before the latest (./history.js)
  let toLatest = null; // what the pill does then instead of scrolling down

  // The list starts at the bottom through CSS (flex-col-reverse) so it also does without
  // JavaScript; from here on the script keeps the position itself.
  scroller.classList.remove("flex-col-reverse");
  scroller.classList.add("flex-col");

  function fromBottom() {
    return scroller.scrollHeight - scroller.clientHeight - scroller.scrollTop;
  }

  function atBottom() {
    return fromBottom() <= NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    pinned = true;
  }

  /** Note where the reader is now (after the page scrolled by itself, e.g. to a message). */
  function notePosition() {
    pinned = atBottom();
  }

  // The first message at least partly in view and how far below the scroller's top it starts.
  function anchor() {
    const top = scroller.getBoundingClientRect().top;
    for (const item of list.querySelectorAll("li[data-message]")) {
      const box = item.getBoundingClientRect();
      if (box.bottom > top) return { item, offset: box.top - top };
    }
    return null;
  }

  /** Run change() without moving what the reader is looking at: stay at the bottom if they were
   * there, else keep the first visible message where it was. Returns whether they were at the bottom. */
  function keepingView(change, { stick = true } = {}) {
    const wasAtBottom = stick && atBottom();
    const kept = wasAtBottom ? null : anchor();
    change();
    if (wasAtBottom) {
      scrollToBottom();
    } else if (kept && kept.item.isConnected) {
      const moved = kept.item.getBoundingClientRect().top - scroller.getBoundingClientRect().top - kept.offset;
      if (moved) scroller.scrollTop += moved;
    }
    updatePill();
    return wasAtBottom;
  }

  function showPill() {
    if (!pill) return;
    pill.classList.remove("hidden");
    pill.classList.add("flex");
  }

  function hidePill() {
    if (!pill) return;
    const hadFocus = document.activeElement === pill;
    pill.classList.add("hidden");
    pill.classList.remove("flex");
    if (hadFocus) (input || scroller).focus();
  }

  /** The pill shows while the reader is above the bottom or the list stops before the latest. */
  function updatePill() {
    if (!atBottom() || beyond()) showPill();
    else hidePill();
  }

  /** `isBeyond()`: whether the list stops before the latest; `jump()`: what the pill does then. */
  function followLatest(isBeyond, jump) {
    beyond = isBeyond;
    toLatest = jump;
    updatePill();
  }

  function reachedBottom() {
    scroller.dispatchEvent(new CustomEvent("chat:at-bottom"));
  }

  scroller.addEventListener(
    "scroll",
    () => {
      pinned = atBottom();
      updatePill();
      if (pinned) reachedBottom();
      if (scroller.scrollTop < NEAR_TOP_PX) scroller.dispatchEvent(new CustomEvent("chat:near-top"));
      if (fromBottom() < NEAR_TOP_PX) scroller.dispatchEvent(new CustomEvent("chat:near-bottom"));
      scroller.dispatchEvent(new CustomEvent("chat:scrolled"));
    },
    { passive: true },
  );

  if (pill) {
    pill.addEventListener("click", () => {
      if (beyond() && toLatest) {
        toLatest();
        return;
      }
      scrollToBottom();
      hidePill();
      reachedBottom();
    });
  }

  const onResize = () => {
    if (pinned) scrollToBottom();
  };
  if (typeof window.ResizeObserver === "function") scope.observe(new window.ResizeObserver(onResize)).observe(scroller);
  else window.addEventListener("resize", onResize, { signal: scope.signal });

  return { atBottom, scrollToBottom, notePosition, keepingView, showPill, hidePill, updatePill, followLatest };
}
