/* Suggestions while typing in the composer: `@ana` lists members, `:smi` lists emoji, in a listbox
 * under the text field's control (aria-controls, aria-activedescendant; the field keeps the
 * focus). ArrowUp/ArrowDown move, Enter or Tab picks, Escape closes. The field stays a textbox
 * (role=combobox is not allowed on a textarea) that says it autocompletes from a listbox.
 */
import { replaceToken, tokenAt } from "./caret-token.js";
import { ListState } from "./list-state.js";

/** Suggestions for `input` in `listbox` (a role=listbox element), options copied from
 * `optionTemplate`; `sources` map a trigger ("@", ":") to a function of the query returning a
 * promise of items {insert, icon?, iconUrl?, label, detail}; `onChange()` runs after a pick. */
export function createSuggestions({ input, listbox, optionTemplate, sources, announce, onChange }) {
  const state = new ListState();
  let token = null;
  let asked = 0; // the latest query's number: older answers are dropped

  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-haspopup", "listbox");
  input.setAttribute("aria-controls", listbox.id);

  function paint() {
    const options = [...listbox.children];
    options.forEach((option, index) => {
      const selected = index === state.active;
      option.setAttribute("aria-selected", selected ? "true" : "false");
      if (selected) option.scrollIntoView({ block: "nearest" });
    });
    const current = options[state.active];
    if (current) input.setAttribute("aria-activedescendant", current.id);
    else input.removeAttribute("aria-activedescendant");
  }

  function render(items) {
    state.show(items);
    listbox.replaceChildren(
      ...items.map((item, index) => {
        const option = optionTemplate.content.firstElementChild.cloneNode(true);
        option.id = `${listbox.id}-${index}`;
        const icon = option.querySelector("[data-option-icon]");
        const picture = option.querySelector("[data-option-picture]");
        if (item.iconUrl && picture) {
          picture.src = item.iconUrl;
          picture.classList.remove("hidden");
          if (icon) icon.remove();
        } else if (icon) icon.textContent = item.icon || "";
        option.querySelector("[data-option-label]").textContent = item.label;
        option.querySelector("[data-option-detail]").textContent = item.detail || "";
        return option;
      }),
    );
    listbox.classList.toggle("hidden", !state.open);
    paint();
    if (announce) announce(state.open ? `${items.length} suggestion${items.length === 1 ? "" : "s"}. Arrow keys choose, Enter picks.` : "");
  }

  function close() {
    asked += 1;
    token = null;
    if (!state.open && listbox.classList.contains("hidden")) return;
    state.close();
    listbox.replaceChildren();
    listbox.classList.add("hidden");
    input.removeAttribute("aria-activedescendant");
  }

  /** Look at the caret again: suggest for the token there, or close. */
  function update() {
    const caret = input.selectionStart;
    const found = caret === input.selectionEnd ? tokenAt(input.value, caret) : null;
    const source = found ? sources[found.trigger] : null;
    if (!source) {
      close();
      return;
    }
    token = found;
    const number = ++asked;
    source(found.query).then(
      (items) => {
        if (number !== asked || items === null) return;
        if (items.length) render(items);
        else {
          state.close();
          listbox.replaceChildren();
          listbox.classList.add("hidden");
          input.removeAttribute("aria-activedescendant");
        }
      },
      () => {},
    );
  }

  function pick(index) {
    const item = state.items[index];
    if (!item || !token) return;
    const next = replaceToken(input.value, token, item.insert);
    input.value = next.text;
    input.setSelectionRange(next.caret, next.caret);
    close();
    input.focus();
    onChange();
  }

  /** Handle a key in the field; true when the suggestions took it. */
  function handleKey(event) {
    if (!state.open) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      state.move(event.key === "ArrowDown" ? 1 : -1);
      paint();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && !event.isComposing) {
      pick(state.active);
    } else if (event.key === "Escape") {
      close();
    } else return false;
    event.preventDefault();
    return true;
  }

  listbox.addEventListener("mousedown", (event) => event.preventDefault()); // the field keeps the focus
  listbox.addEventListener("click", (event) => {
    const option = event.target.closest('[role="option"]');
    if (option) pick([...listbox.children].indexOf(option));
  });
  input.addEventListener("blur", close);
  input.addEventListener("click", update);
  input.addEventListener("keyup", (event) => {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End") update();
  });

  return { update, close, handleKey, isOpen: () => state.open };
}
