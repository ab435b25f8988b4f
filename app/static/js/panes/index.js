/* Two panes on the chat page (templates/chat/conversation.html): the conversation list beside the
 * open chat. A click on a row (or the switcher, ./switcher.js) fetches that chat's own URL asking
 * only for its pane (X-Messanger-Pane: chat), stops the pane's modules, swaps [data-chat-pane]'s
 * content, the title and the row marked aria-current, pushes the chat's URL and starts the new
 * pane: no page load, the same socket. Back and forward swap again; a reload draws the URL's chat.
 * Without JavaScript (or fetch and the history API) every row is a plain link to a full page.
 */
import { focusComposer } from "../chat/composer.js";
import { setBaseTitle } from "../realtime/index.js";
import { startSwitcher } from "./switcher.js";

const PANE_HEADER = "X-Messanger-Pane";

function conversationIdOf(container) {
  const root = container.querySelector("[data-chat]");
  const data = container.querySelector("#chat-data");
  if (!root || !data) return null;
  try {
    const id = JSON.parse(data.textContent || "{}").conversation.id;
    return id == null ? null : String(id);
  } catch {
    return null;
  }
}

/** Mark the open conversation's row (aria-current="page"), on the page's list of `doc`. */
export function markCurrent(doc, conversationId) {
  for (const row of doc.querySelectorAll("[data-conversations] li[data-conversation-id]")) {
    const link = row.querySelector("[data-conversation-link]");
    if (!link) continue;
    if (row.getAttribute("data-conversation-id") === conversationId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function focusPane(pane) {
  if (focusComposer(pane)) return;
  const scroller = pane.querySelector("[data-scroller]");
  if (scroller) scroller.focus({ preventScroll: true });
}

function plainClick(event) {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey && !event.defaultPrevented;
}

/** Start the chat pane of this page with `mount(container) -> unmount` (../chat/main.js's
 * mountChat), and switch chats in place from then on. */
export function startPanes(mount, doc = document) {
  const pane = doc.querySelector("[data-chat-pane]");
  let unmount = mount(pane || doc);
  if (!pane) return;
  let current = conversationIdOf(pane);
  let shownPath = window.location.pathname;
  let loads = 0;
  const lists = doc.querySelectorAll("[data-conversation-list], [data-conversation-archive-list]");
  markCurrent(doc, current);
  // The list redraws its rows from the server now and then: mark the open one again.
  if (typeof window.MutationObserver === "function") {
    const observer = new window.MutationObserver(() => markCurrent(doc, current));
    lists.forEach((list) => observer.observe(list, { childList: true }));
  }

  const canSwap = !!(window.fetch && window.history && window.history.pushState && window.DOMParser);

  function swap(html, url, push) {
    const parsed = new window.DOMParser().parseFromString(html, "text/html");
    const id = conversationIdOf(parsed.body);
    if (id === null) return false;
    if (unmount) unmount();
    unmount = null;
    pane.replaceChildren(...Array.from(parsed.body.childNodes, (node) => doc.adoptNode(node)));
    if (parsed.title) {
      doc.title = parsed.title;
      setBaseTitle(parsed.title);
    }
    if (push) window.history.pushState({ pane: "chat" }, "", url);
    shownPath = window.location.pathname;
    current = id;
    markCurrent(doc, current);
    unmount = mount(pane);
    focusPane(pane);
    return true;
  }

  /** Open the chat at `url` in the pane (push: a new history entry); a full load when that fails. */
  function open(url, push = true) {
    if (!canSwap) {
      window.location.assign(url);
      return Promise.resolve(false);
    }
    const load = ++loads;
    pane.setAttribute("aria-busy", "true");
    return window
      .fetch(url, { headers: { [PANE_HEADER]: "chat" }, credentials: "same-origin" })
      .then((response) => {
        const type = response.headers.get("Content-Type") || "";
        if (!response.ok || !type.startsWith("text/html")) throw new Error(`pane: ${response.status}`);
        return response.text().then((html) => ({ html, url: response.url || url }));
      })
      .then(({ html, url: finalUrl }) => {
        if (load !== loads) return false; // a later switch won
        if (!swap(html, finalUrl, push)) throw new Error("pane: no chat");
        return true;
      })
      .catch(() => {
        if (load === loads) window.location.assign(url);
        return false;
      })
      .finally(() => {
        if (load === loads) pane.removeAttribute("aria-busy");
      });
  }

  if (!canSwap) {
    startSwitcher((url) => window.location.assign(url), doc);
    return;
  }
  window.history.replaceState({ ...(window.history.state || {}), pane: "chat" }, "", window.location.href);

  doc.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("[data-conversations] a[data-conversation-link]") : null;
    if (!link || !plainClick(event)) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    const row = link.closest("li[data-conversation-id]");
    if (row && row.getAttribute("data-conversation-id") === current) {
      focusPane(pane);
      return;
    }
    open(url.href);
  });

  window.addEventListener("popstate", (event) => {
    // Back from a #fragment of the same chat is no switch.
    if (event.state && event.state.pane === "chat" && window.location.pathname !== shownPath) open(window.location.href, false);
  });

  startSwitcher((url) => {
    const target = new URL(url, window.location.href);
    if (target.pathname === window.location.pathname) focusPane(pane);
    else open(target.href);
  }, doc);
}
