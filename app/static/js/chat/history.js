/* History on the chat page: a page of older messages loads when the reader nears the top
 * or presses "Load older messages" (keeping the view), short histories load until there is
 * something to scroll, and a jump to a message (a reply's quote, ?around=<seq> from a search
 * result) loads back to it, then shows and highlights it.
 *
 * A page opened at the first unread message may stop before the latest (hasNewer): newer pages
 * load when the reader nears the bottom, and showWindow() swaps the whole window for another
 * (the latest page, or the one around the first unread); the window's stored messages are
 * replaced, bubbles being sent stay at the end. The list then sends "chat:window-replaced"
 * before it is refreshed. Messages newer than the window are not placed (see afterLoaded).
 */
import * as realtime from "../realtime/index.js";
import { afterLoaded } from "./ordering.js";
import { sameConversation } from "./page.js";
import { NEAR_TOP_PX } from "./scroll.js";

const PAGE_SIZE = 50;
const CONTEXT = 5; // messages shown above one jumped to in a new window (as the server does)
const HIGHLIGHT_MS = 2000;

/** History of conversation `cid` for the list `messages` (./message-list.js) and `scroll` (./scroll.js). */
export function createHistory({ cid, messagesUrl, hasMore, hasNewer, messages, scroll, scroller, log, olderButton, newerLink, announce }) {
  let loading = false;
  let failed = false;
  let request = null;
  // The last seq of the window as loaded from the server (a message of mine sent meanwhile may
  // sit after a gap): newer pages start after it.
  let windowHigh = messages.range().high;
  let newerRequest = null;
  let newerFailed = false;
  let generation = 0; // a page that comes back after the window was replaced is dropped
  let replacing = null;

  function busy(on) {
    if (!log) return;
    if (on) log.setAttribute("aria-busy", "true");
    else log.removeAttribute("aria-busy");
  }

  function pageUrl(params) {
    const url = new URL(messagesUrl, window.location.href);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, String(value));
    url.searchParams.set("limit", String(PAGE_SIZE));
    return url.toString();
  }

  function ofThisChat(page) {
    return (page.messages || []).filter((message) => sameConversation(message.conversation_id, cid));
  }

  function updateNewer() {
    if (!newerLink) return;
    newerLink.classList.toggle("hidden", !hasNewer);
    if (!hasNewer && document.activeElement === newerLink) scroller.focus();
  }

  /** Newer pages beyond the window: resolves true once a page was added. */
  function loadNewer() {
    if (newerRequest) return newerRequest;
    if (replacing) return replacing.then(() => false);
    if (!hasNewer || !messagesUrl || !window.fetch || windowHigh === null) return Promise.resolve(false);
    newerFailed = false;
    busy(true);
    const asked = generation;
    newerRequest = realtime
      .getJSON(pageUrl({ after: windowHigh }))
      .then((page) => {
        if (asked !== generation) return false;
        const newer = ofThisChat(page);
        scroll.keepingView(
          () => {
            for (const message of newer) {
              if (messages.bySeq(message.seq)) continue;
              const item = messages.build(message);
              if (item) messages.insert(item, message.seq);
            }
            messages.refresh();
          },
          { stick: false },
        );
        if (newer.length) windowHigh = Math.max(windowHigh, newer[newer.length - 1].seq);
        // One sent while this page was on its way comes with the next.
        hasNewer = !!page.has_more || realtime.lastSeq(cid) > windowHigh;
        return true;
      })
      .catch(() => {
        newerFailed = true;
        announce("Couldn't load newer messages.");
        return false;
      })
      .then((loaded) => {
        newerRequest = null;
        busy(false);
        updateNewer();
        scroll.updatePill();
        return loaded;
      });
    return newerRequest;
  }

  /** Replace the window with the page `params` asks for ({} for the latest, {after: seq}):
   * resolves true once it is shown. */
  function showWindow(params) {
    if (!messagesUrl || !window.fetch) return Promise.resolve(false);
    if (replacing) return replacing.then(() => showWindow(params));
    busy(true);
    generation += 1;
    replacing = realtime
      .getJSON(pageUrl(params))
      .then((page) => {
        const fresh = ofThisChat(page)
          .map((message) => [message, messages.build(message)])
          .filter(([, item]) => item);
        // Replaced: every stored item, but for the latest page those newer than it (mine, just sent).
        const freshHigh = fresh.length ? fresh[fresh.length - 1][0].seq : 0;
        const keepAbove = params.after === undefined ? freshHigh : Infinity;
        for (const item of messages.items()) {
          const seq = messages.seqOf(item);
          if (seq !== null && seq <= keepAbove) item.remove();
        }
        for (const [message, item] of fresh) messages.insert(item, message.seq);
        hasMore = !!page.has_older;
        hasNewer = !!page.has_newer;
        windowHigh = fresh.length ? freshHigh : null;
        if (!hasNewer && realtime.lastSeq(cid) > (windowHigh || 0)) hasNewer = windowHigh !== null;
        messages.list.dispatchEvent(new CustomEvent("chat:window-replaced"));
        messages.refresh();
        updateButton();
        updateNewer();
        scroll.updatePill();
        return true;
      })
      .catch(() => {
        announce("Couldn't load those messages.");
        return false;
      })
      .then((shown) => {
        replacing = null;
        busy(false);
        return shown;
      });
    return replacing;
  }

  /** The latest messages at the bottom: the window loaded down (or swapped for the latest page). */
  function jumpToLatest() {
    if (!hasNewer) {
      scroll.scrollToBottom();
      return Promise.resolve(true);
    }
    return showWindow({}).then((shown) => {
      if (shown) {
        scroll.scrollToBottom();
        scroll.updatePill();
        scroller.dispatchEvent(new CustomEvent("chat:at-bottom"));
        announce("Showing the latest messages.");
      }
      return shown;
    });
  }

  function updateButton() {
    if (!olderButton) return;
    const hadFocus = document.activeElement === olderButton;
    olderButton.classList.toggle("hidden", !hasMore);
    olderButton.disabled = loading;
    olderButton.textContent = loading ? "Loading…" : failed ? "Couldn't load. Try again" : "Load older messages";
    if (hadFocus && !hasMore) scroller.focus();
  }

  /** Resolves true once a page was added (false when there was none to load or it failed); a call
   * while one is on its way gets that one. */
  function loadOlder() {
    if (loading && request) return request;
    if (replacing) return replacing.then(() => false);
    if (!hasMore || !messagesUrl || !window.fetch) return Promise.resolve(false);
    const before = messages.range().low;
    if (before === null) return Promise.resolve(false);
    loading = true;
    failed = false;
    busy(true);
    updateButton();

    const asked = generation;
    request = realtime
      .getJSON(pageUrl({ before }))
      .then((page) => {
        if (asked !== generation) return false;
        const older = (page.messages || []).filter(
          (message) => sameConversation(message.conversation_id, cid) && !messages.bySeq(message.seq),
        );
        scroll.keepingView(() => {
          messages.prepend(older.map(messages.build).filter(Boolean));
          messages.refresh();
        });
        hasMore = !!page.has_more;
        announce(
          older.length
            ? `Loaded ${older.length} older message${older.length === 1 ? "" : "s"}.`
            : "No older messages.",
        );
        return true;
      })
      .catch(() => {
        failed = true;
        announce("Couldn't load older messages.");
        return false;
      })
      .then((loaded) => {
        loading = false;
        request = null;
        busy(false);
        updateButton();
        fillViewport();
        return loaded;
      });
    return request;
  }

  /** Short history: keep loading until there is something to scroll. */
  function fillViewport() {
    if (hasMore && !failed && !loading && scroller.scrollHeight <= scroller.clientHeight + NEAR_TOP_PX) {
      window.setTimeout(loadOlder, 0);
    }
  }

  function reveal(item) {
    item.scrollIntoView({ block: "center" });
    scroll.notePosition();
    const bubble = item.querySelector("[data-bubble]");
    if (bubble) {
      bubble.setAttribute("data-highlight", "true");
      window.setTimeout(() => bubble.removeAttribute("data-highlight"), HIGHLIGHT_MS);
    }
    if (!item.hasAttribute("tabindex")) {
      item.setAttribute("tabindex", "-1");
      item.addEventListener("blur", () => item.removeAttribute("tabindex"), { once: true });
    }
    item.focus({ preventScroll: true });
  }

  /** Bring the message with `seq` into view, loading older pages until it is here. */
  function jumpTo(value) {
    const seq = parseInt(value, 10);
    if (!(seq >= 1)) return Promise.resolve(false);
    const item = messages.bySeq(seq);
    if (item) {
      reveal(item);
      return Promise.resolve(true);
    }
    const low = messages.range().low;
    if (afterLoaded(seq, windowHigh, hasNewer)) {
      return showWindow({ after: Math.max(seq - 1 - CONTEXT, 0) }).then((shown) => shown && jumpTo(seq));
    }
    if (!hasMore || low === null || seq > low) {
      announce("That message is not here.");
      return Promise.resolve(false);
    }
    return loadOlder().then((loaded) => {
      if (!loaded) {
        announce("Couldn't load that message.");
        return false;
      }
      return jumpTo(seq);
    });
  }

  if (olderButton) {
    olderButton.addEventListener("click", () => {
      failed = false;
      loadOlder();
    });
  }
  scroller.addEventListener("chat:near-top", () => {
    if (hasMore && !failed) loadOlder();
  });
  scroller.addEventListener("chat:near-bottom", () => {
    if (hasNewer && !newerFailed) loadNewer();
  });
  if (newerLink) {
    newerLink.addEventListener("click", (event) => {
      event.preventDefault();
      jumpToLatest();
    });
  }
  scroll.followLatest(() => hasNewer, jumpToLatest);
  updateNewer();
  // A reply's quote: go to the message it quotes.
  messages.list.addEventListener("click", (event) => {
    const quote = event.target.closest ? event.target.closest("[data-reply-quote]") : null;
    if (quote && messages.list.contains(quote)) jumpTo(quote.getAttribute("data-reply-seq"));
  });

  return {
    loadOlder,
    loadNewer,
    fillViewport,
    jumpTo,
    jumpToLatest,
    showWindow,
    updateButton,
    hasMore: () => hasMore,
    hasNewer: () => hasNewer,
    windowHigh: () => windowHigh,
  };
}
