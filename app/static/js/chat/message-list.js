/* The chat's message list: finds its items, places the server's fragments by seq (./ordering.js),
 * swaps a changed message's content in place, and keeps the day lines and sender runs right.
 *
 * Events on the list: "chat:decorate" ({item}) for every item built or changed, so the modules
 * that add to an item (the Edit button's window) see it; "chat:list-changed" after every
 * refresh(), once the items are where they belong (the read-state line, marking read).
 */
import { dayKey, dayLabel, formatTime, parseTime } from "../realtime/index.js";
import { format, parseFragment } from "./formatter.js";
import { dayStarts, inOrder, insertPosition, runStarts, seqRange } from "./ordering.js";

function seqOf(item) {
  const value = item.getAttribute("data-seq");
  return value ? parseInt(value, 10) : null;
}

/** Focus the item's `action` button when it shows, else the item (the list's roving focus), else `fallback`. */
export function focusAction(item, action, fallback) {
  const button = item.querySelector(`[data-action="${action}"]`);
  if (button && button.offsetParent !== null) button.focus();
  else if (item.isConnected && item.hasAttribute("tabindex")) item.focus();
  else fallback.focus();
}

/** The list `list` (an <ol>); day lines are copies of `separatorTemplate`; `emptyState` shows when empty. */
export function createMessageList({ list, scroller, separatorTemplate, emptyState, scope }) {
  const items = () => [...list.querySelectorAll("li[data-message]")];
  const bySeq = (seq) => list.querySelector(`li[data-message][data-seq="${Number(seq)}"]`);
  const byId = (id) => list.querySelector(`li[data-message][data-id="${Number(id)}"]`);
  const byClientId = (clientId) => items().find((item) => item.getAttribute("data-client-id") === clientId) || null;
  const range = () => seqRange(items().map(seqOf));

  function decorate(item) {
    const label = item.querySelector("[data-edited-label]");
    const date = parseTime(item.getAttribute("data-edited-at"));
    if (label) label.setAttribute("title", date ? "Edited " + date.toLocaleString() : "");
    list.dispatchEvent(new CustomEvent("chat:decorate", { detail: { item } }));
  }

  /** Write the item's time (ISO 8601) in the reader's zone; none for a blank one. */
  function setTime(item, iso) {
    const time = item.querySelector("[data-message-time]");
    if (!time) return;
    if (iso) {
      time.setAttribute("datetime", iso);
      time.textContent = formatTime(iso, "time");
      const date = parseTime(iso);
      if (date) time.setAttribute("title", date.toLocaleString());
    } else {
      time.removeAttribute("datetime");
      time.textContent = "";
    }
  }

  /** The item of a stored message (M), from its fragment, decorated for the reader; null when none. */
  function build(message) {
    const item = parseFragment(message.html);
    if (!item) return null;
    format(item);
    setTime(item, message.created_at);
    decorate(item);
    return item;
  }

  // What element of an item has the focus, to give it back once the item changes.
  function focusKey(item) {
    const active = document.activeElement;
    if (!active || !item.contains(active)) return null;
    if (active.hasAttribute("data-emoji")) return `[data-emoji="${CSS.escape(active.getAttribute("data-emoji"))}"]`;
    if (active.hasAttribute("data-action")) return `[data-action="${active.getAttribute("data-action")}"]`;
    return null;
  }

  /** A changed message: the item takes the new fragment's attributes and content (it stays the same
   * element, so whatever holds it keeps it). A picture that stays is kept, not loaded again. */
  function adopt(item, message) {
    const fresh = build(message);
    if (!fresh) return;
    const key = focusKey(item);
    const hadFocus = item.contains(document.activeElement);
    const oldSlot = item.querySelector("[data-attachment]");
    const newSlot = fresh.querySelector("[data-attachment]");
    const id = newSlot ? newSlot.getAttribute("data-attachment-id") : "";
    if (oldSlot && id && oldSlot.getAttribute("data-attachment-id") === id && oldSlot.firstChild) {
      newSlot.replaceWith(oldSlot);
    }
    for (const attribute of [...item.attributes]) {
      if (attribute.name !== "tabindex" && !fresh.hasAttribute(attribute.name)) item.removeAttribute(attribute.name);
    }
    for (const attribute of fresh.attributes) item.setAttribute(attribute.name, attribute.value);
    item.replaceChildren(...fresh.childNodes);
    const target = key ? item.querySelector(key) : null;
    if (target && target.offsetParent !== null) target.focus();
    else if (hadFocus) focusAction(item, key && key.includes("data-emoji") ? "react" : "reply", scroller);
  }

  /** Put a stored item (new or already here) where its seq belongs. */
  function insert(item, seq) {
    const all = items();
    const where = insertPosition(all.map(seqOf), seq, all.indexOf(item));
    if (where.append) list.appendChild(item);
    else if (where.after !== undefined) all[where.after].after(item);
    else list.insertBefore(item, all[where.before]);
  }

  /** True when the stored item sits between a lower and a higher seq. */
  function isInOrder(item) {
    const all = items();
    return inOrder(all.map(seqOf), all.indexOf(item));
  }

  /** Put stored items (oldest first) before everything held: a page of older history. */
  function prepend(newItems) {
    const fragment = document.createDocumentFragment();
    fragment.append(...newItems);
    list.insertBefore(fragment, list.firstChild);
  }

  function fixSeparators() {
    const all = items();
    const dates = all.map((item) => parseTime(item.getAttribute("data-created-at")) || new Date());
    const days = dates.map(dayKey);
    const starts = dayStarts(days);
    const claimed = new Set();
    all.forEach((item, i) => {
      if (!starts[i]) return;
      const before = item.previousElementSibling;
      let separator;
      if (before && before.hasAttribute("data-day-separator") && !claimed.has(before)) {
        separator = before; // reuse it (relabelling is not announced as a new line)
      } else {
        separator = separatorTemplate.content.firstElementChild.cloneNode(true);
        list.insertBefore(separator, item);
      }
      if (separator.getAttribute("data-day") !== days[i]) separator.setAttribute("data-day", days[i]);
      const label = separator.querySelector("[data-day-label]") || separator;
      const text = dayLabel(dates[i]);
      if (label.textContent !== text) label.textContent = text;
      claimed.add(separator);
    });
    for (const separator of list.querySelectorAll("[data-day-separator]")) {
      if (!claimed.has(separator)) separator.remove();
    }
  }

  function fixRuns() {
    const nodes = [...list.children];
    const keys = nodes.map((node) => {
      if (!node.hasAttribute("data-message")) return null;
      return node.getAttribute("data-mine") === "true" ? "me" : "u" + node.getAttribute("data-sender-id");
    });
    const starts = runStarts(keys);
    nodes.forEach((node, i) => {
      if (keys[i] === null) return;
      node.classList.toggle("mt-3", starts[i]);
      node.classList.toggle("mt-0.5", !starts[i]);
      const header = node.querySelector("[data-sender-header]");
      if (header) header.classList.toggle("hidden", !starts[i]);
    });
  }

  /** After a change: day lines, sender runs, the empty state; then "chat:list-changed". */
  function refresh() {
    fixSeparators();
    fixRuns();
    if (emptyState) emptyState.classList.toggle("hidden", items().length > 0);
    list.dispatchEvent(new CustomEvent("chat:list-changed"));
  }

  /** Decorate the items of the page's first render (already formatted with the page). */
  function decorateAll() {
    items().forEach(decorate);
  }

  // "Today" becomes "Yesterday" at midnight.
  scope.interval(fixSeparators, 60000);

  return {
    list,
    items,
    seqOf,
    bySeq,
    byId,
    byClientId,
    range,
    build,
    setTime,
    adopt,
    insert,
    isInOrder,
    prepend,
    refresh,
    decorateAll,
  };
}
