/* The conversation switcher (templates/chat/_switcher.html): Ctrl/Cmd+K opens it from anywhere on
 * the page, the conversations come from GET /api/conversations once per opening, typing filters
 * them (./filter.js), ArrowUp/ArrowDown move, Enter or a click opens one through `go(url)`, Esc
 * closes. Focus goes back where it was, unless a conversation was opened (`go` places it then). */
import { getJSON } from "../realtime/index.js";
import { matching, moved } from "./filter.js";

/** Start the switcher of `doc`; `go(url)` opens a conversation. False when the page has none. */
export function startSwitcher(go, doc = document) {
  const dialog = doc.querySelector("[data-switcher]");
  const input = dialog && dialog.querySelector("[data-switcher-input]");
  const options = dialog && dialog.querySelector("[data-switcher-options]");
  const template = dialog && dialog.querySelector("[data-switcher-option-template]");
  if (!input || !options || !template || typeof dialog.showModal !== "function") return false;
  const empty = dialog.querySelector("[data-switcher-empty]");

  let conversations = [];
  let shown = [];
  let active = -1;
  let opener = null;
  let chosen = false;

  function option(conversation, index) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.id = `switcher-option-${index}`;
    item.setAttribute("data-url", conversation.url);
    item.querySelector("[data-switcher-title]").textContent = conversation.title || "";
    item.querySelector("[data-switcher-username]").textContent = conversation.username ? `@${conversation.username}` : "";
    const avatar = item.querySelector("[data-switcher-avatar]");
    if (conversation.avatar_url) avatar.src = conversation.avatar_url;
    else avatar.remove();
    return item;
  }

  function select(index) {
    active = index;
    const items = options.children;
    for (let i = 0; i < items.length; i += 1) items[i].setAttribute("aria-selected", i === active ? "true" : "false");
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render() {
    shown = matching(conversations, input.value);
    options.replaceChildren(...shown.map(option));
    if (empty) empty.classList.toggle("hidden", shown.length > 0);
    select(shown.length ? 0 : -1);
  }

  function choose(index) {
    const conversation = shown[index];
    if (!conversation || !conversation.url) return;
    chosen = true;
    dialog.close();
    go(conversation.url);
  }

  function open() {
    if (dialog.open) return;
    opener = doc.activeElement;
    chosen = false;
    input.value = "";
    conversations = [];
    render();
    dialog.showModal();
    input.focus();
    getJSON("/api/conversations").then(
      (data) => {
        conversations = ((data && data.conversations) || []).filter((c) => c && !c.archived).concat(
          ((data && data.conversations) || []).filter((c) => c && c.archived),
        );
        if (dialog.open) render();
      },
      () => {
        if (empty) {
          empty.textContent = "Couldn't load your conversations.";
          empty.classList.remove("hidden");
        }
      },
    );
  }

  doc.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      open();
    }
  });
  input.addEventListener("input", render);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      select(moved(active, event.key === "ArrowDown" ? 1 : -1, shown.length));
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(active);
    }
  });
  options.addEventListener("click", (event) => {
    const item = event.target.closest('[role="option"]');
    if (item) choose(Array.prototype.indexOf.call(options.children, item));
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // the backdrop
  });
  dialog.addEventListener("close", () => {
    if (dialog.open) return; // opened again before this event came
    options.replaceChildren();
    if (!chosen && opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    opener = null;
  });
  return true;
}
