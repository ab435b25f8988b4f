/* Editing a message in place on the chat page: a textarea (#message-editor-template) in the
 * bubble; Enter saves, Escape cancels. While it is open, updates of that message wait for it to
 * close (it cancels their "chat:before-update"); a deletion closes it.
 */
import { focusAction } from "./message-list.js";

/** The editor of the list `list`; `act` and `apply` are ./updates.js's. */
export function createEditor({ list, scroller, template, act, apply }) {
  let editing = null; // {item, editor, latest, returnFocus}

  function stopEditing(refocus) {
    if (!editing) return;
    const { item, editor, latest, returnFocus } = editing;
    editor.remove();
    const body = item.querySelector("[data-body]");
    if (body) body.classList.remove("hidden");
    editing = null;
    if (latest) apply(latest);
    if (refocus && returnFocus && returnFocus.isConnected) returnFocus.focus();
    else if (refocus && item.isConnected) focusAction(item, "edit", scroller);
  }

  /** Open the editor on my message `item`; closing it gives the focus to `returnFocus` (the
   * composer, when ArrowUp opened it) or else to the message's Edit button. */
  function startEdit(item, { returnFocus = null } = {}) {
    if (!template) return;
    stopEditing(false);
    const body = item.querySelector("[data-body]");
    const editor = template.content.firstElementChild.cloneNode(true);
    const field = editor.querySelector("[data-editor-input]");
    // The text as typed (the fragment's data-source), not as its formatting shows it.
    const original = body ? (body.getAttribute("data-source") ?? body.textContent) : "";
    field.value = original;
    field.rows = Math.min(8, Math.max(2, original.split("\n").length, Math.ceil(original.length / 48)));
    if (body) {
      body.classList.add("hidden");
      body.after(editor);
    }
    editing = { item, editor, latest: null, returnFocus };
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);

    function save() {
      const text = field.value.replace(/^\s+|\s+$/g, "");
      const error = editor.querySelector("[data-editor-error]");
      if (text === original) {
        stopEditing(true);
        return;
      }
      if (!text && !item.querySelector("[data-attachment]").getAttribute("data-attachment-id")) {
        error.textContent = "Write something, or delete the message.";
        return;
      }
      field.readOnly = true;
      act("edit_message", { message_id: Number(item.getAttribute("data-id")), body: text }).then(
        () => {
          if (editing && editing.editor === editor) stopEditing(true);
        },
        (failure) => {
          field.readOnly = false;
          error.textContent = failure.message;
          field.focus();
        },
      );
    }

    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      save();
    });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        stopEditing(true);
      } else if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        save();
      }
    });
  }

  // Hold an update of the message being edited until the editor closes; a deletion closes it.
  list.addEventListener("chat:before-update", (event) => {
    const { item, message } = event.detail;
    if (!editing || editing.item !== item) return;
    if (message.deleted) stopEditing(false);
    else {
      editing.latest = message;
      event.preventDefault();
    }
  });

  return { startEdit };
}
