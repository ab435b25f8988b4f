/*
 * What a reader does to one message of the chat page besides replying (chat.js): reacting through
 * the picker (a quick bar and a grid of more), editing in place, deleting after an inline "Delete?".
 *
 *   Messanger.messageActions(chat) -> {react(item, emoji, on), openPicker(item, button),
 *                                      startEdit(item), askDelete(item), held(item, M)}
 *
 * `chat` is what chat.js lends: {scroller, act(event, payload) -> Promise of the changed M,
 * announce(text), focusActions(item, action), applyUpdate(M)}. `held(item, M)` keeps an update of
 * the message being edited until its editor closes (a deletion closes it) and says whether it did.
 */
(function () {
  "use strict";

  var M = (window.Messanger = window.Messanger || {});

  M.messageActions = function (chat) {
    var scroller = chat.scroller;
    var pickerTemplate = document.getElementById("reaction-picker-template");
    var editorTemplate = document.getElementById("message-editor-template");
    var confirmTemplate = document.getElementById("delete-confirm-template");

    function messageId(item) {
      return Number(item.getAttribute("data-id"));
    }

    /* React: the picker (quick bar and a grid of more), one for the page, over the history. */

    function hasReacted(item, emoji) {
      return Array.prototype.some.call(item.querySelectorAll("[data-reaction]"), function (chip) {
        return chip.getAttribute("data-emoji") === emoji && chip.getAttribute("aria-pressed") === "true";
      });
    }

    function react(item, emoji, on) {
      chat.act("react", { message_id: messageId(item), emoji: emoji, on: on }).catch(function (error) {
        chat.announce("Your reaction was not saved. " + error.message);
      });
    }

    var picker = null;
    var pickerFor = null; // [item, its React button]

    function closePicker(refocus) {
      if (!picker || !pickerFor) return;
      var button = pickerFor[1];
      picker.remove();
      pickerFor = null;
      button.setAttribute("aria-expanded", "false");
      if (refocus) button.focus();
    }

    function openPicker(item, button) {
      if (!pickerTemplate) return;
      if (pickerFor && pickerFor[1] === button) {
        closePicker(true);
        return;
      }
      closePicker(false);
      if (!picker) {
        picker = pickerTemplate.content.firstElementChild.cloneNode(true);
        picker.addEventListener("click", onPickerClick);
        picker.addEventListener("keydown", function (event) {
          if (event.key === "Escape") {
            event.stopPropagation();
            closePicker(true);
          }
        });
      }
      var grid = picker.querySelector("[data-reaction-grid]");
      grid.setAttribute("data-open", "false");
      picker.querySelector("[data-more-reactions]").setAttribute("aria-expanded", "false");
      var area = scroller.parentElement; // positioned (relative), holds the scroller
      area.appendChild(picker);
      pickerFor = [item, button];
      button.setAttribute("aria-expanded", "true");

      var box = button.getBoundingClientRect();
      var frame = area.getBoundingClientRect();
      var below = frame.bottom - box.bottom > picker.offsetHeight + 200; // room for the grid too
      picker.style.top = below ? box.bottom - frame.top + 4 + "px" : "";
      picker.style.bottom = below ? "" : frame.bottom - box.top + 4 + "px";
      var mine = item.getAttribute("data-mine") === "true";
      picker.style.right = mine ? Math.max(frame.right - box.right, 4) + "px" : "";
      picker.style.left = mine ? "" : Math.max(box.left - frame.left, 4) + "px";
      var first = picker.querySelector("[data-pick]");
      if (first) first.focus();
    }

    function onPickerClick(event) {
      var more = event.target.closest("[data-more-reactions]");
      if (more) {
        var grid = picker.querySelector("[data-reaction-grid]");
        var open = grid.getAttribute("data-open") !== "true";
        grid.setAttribute("data-open", open ? "true" : "false");
        more.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) grid.querySelector("[data-pick]").focus();
        return;
      }
      var pick = event.target.closest("[data-pick]");
      if (!pick || !pickerFor) return;
      var item = pickerFor[0];
      var emoji = pick.getAttribute("data-pick");
      closePicker(true);
      react(item, emoji, !hasReacted(item, emoji));
    }

    document.addEventListener("click", function (event) {
      if (!picker || !pickerFor) return;
      if (picker.contains(event.target) || pickerFor[1].contains(event.target)) return;
      closePicker(false);
    });
    scroller.addEventListener(
      "scroll",
      function () {
        if (pickerFor && !picker.contains(document.activeElement)) closePicker(false);
      },
      { passive: true }
    );

    /* Edit: a textarea in the bubble; Enter saves, Escape cancels. */

    var editing = null; // {item, editor}

    function stopEditing(refocus) {
      if (!editing) return;
      var item = editing.item;
      var latest = editing.latest;
      editing.editor.remove();
      var body = item.querySelector("[data-body]");
      if (body) body.classList.remove("hidden");
      editing = null;
      if (latest) chat.applyUpdate(latest);
      if (refocus && item.isConnected) chat.focusActions(item, "edit");
    }

    function startEdit(item) {
      if (!editorTemplate) return;
      stopEditing(false);
      var body = item.querySelector("[data-body]");
      var editor = editorTemplate.content.firstElementChild.cloneNode(true);
      var field = editor.querySelector("[data-editor-input]");
      var original = body ? body.textContent : "";
      field.value = original;
      field.rows = Math.min(8, Math.max(2, original.split("\n").length, Math.ceil(original.length / 48)));
      if (body) {
        body.classList.add("hidden");
        body.parentNode.insertBefore(editor, body.nextSibling);
      }
      editing = { item: item, editor: editor };
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);

      function save() {
        var text = field.value.replace(/^\s+|\s+$/g, "");
        var error = editor.querySelector("[data-editor-error]");
        if (text === original) {
          stopEditing(true);
          return;
        }
        if (!text && !item.querySelector("[data-attachment]").getAttribute("data-attachment-id")) {
          error.textContent = "Write something, or delete the message.";
          return;
        }
        field.readOnly = true;
        chat.act("edit_message", { message_id: messageId(item), body: text }).then(
          function () {
            if (editing && editing.editor === editor) stopEditing(true);
          },
          function (failure) {
            field.readOnly = false;
            error.textContent = failure.message;
            field.focus();
          }
        );
      }

      editor.addEventListener("submit", function (event) {
        event.preventDefault();
        save();
      });
      field.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          stopEditing(true);
        } else if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing && event.keyCode !== 229) {
          event.preventDefault();
          save();
        }
      });
    }

    /* Delete: a small inline "Delete? [Delete] [Cancel]" next to the bubble. */

    function askDelete(item) {
      if (!confirmTemplate || item.querySelector("[data-delete-confirm]")) return;
      var actions = item.querySelector("[data-actions]");
      var question = confirmTemplate.content.firstElementChild.cloneNode(true);
      actions.classList.add("!hidden");
      actions.parentNode.insertBefore(question, actions.nextSibling);

      function close(refocus) {
        question.remove();
        actions.classList.remove("!hidden");
        if (refocus) chat.focusActions(item, "delete");
      }

      question.addEventListener("keydown", function (event) {
        if (event.key === "Escape") close(true);
      });
      question.querySelector("[data-cancel-delete]").addEventListener("click", function () {
        close(true);
      });
      question.querySelector("[data-confirm-delete]").addEventListener("click", function () {
        chat.act("delete_message", { message_id: messageId(item) }).then(
          function () {
            close(false);
            scroller.focus();
            chat.announce("Message deleted.");
          },
          function (error) {
            close(true);
            chat.announce("The message was not deleted. " + error.message);
          }
        );
      });
      question.querySelector("[data-cancel-delete]").focus();
    }

    /* While a message is being edited, updates of it wait for the editor to close; a deletion
       closes it. Whether the update was held. */
    function held(item, message) {
      if (!editing || editing.item !== item) return false;
      if (!message.deleted) {
        editing.latest = message;
        return true;
      }
      stopEditing(false);
      return false;
    }

    return { react: react, openPicker: openPicker, startEdit: startEdit, askDelete: askDelete, held: held };
  };
})();
