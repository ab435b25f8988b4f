/* A message's actions on the chat page: the buttons under [data-actions] (Reply, React, Edit,
 * Delete, More actions) routed to the modules that do them, data-may-edit="true" on my stored
 * messages while the edit window lasts (Edit shows then, here and in the action menu; the server
 * has the last word), and Delete asking first with an inline "Delete? [Delete] [Cancel]"
 * (#delete-confirm-template).
 *
 * Only the actions named here are handled; any other data-action (Forward, ./forward.js) is left
 * to the module that listens for it.
 */
import { parseTime } from "../realtime/index.js";
import { editable } from "./edit-window.js";
import { focusAction } from "./message-list.js";

const EDIT_WINDOW_CHECK_MS = 30000;

/** Actions of the list `list`; `handlers` are {reply(item), react(item, button), edit(item), more(item, button)}. */
export function createMessageActions({ list, scroller, template, live, editWindowMs, act, announce, handlers, scope }) {
  function refreshEditable(item) {
    const button = item.querySelector('[data-action="edit"]');
    if (!button) return;
    const may = editable(
      {
        mine: item.getAttribute("data-mine") === "true",
        state: item.getAttribute("data-state"),
        deleted: item.getAttribute("data-deleted") === "true",
        createdAt: parseTime(item.getAttribute("data-created-at")),
      },
      editWindowMs,
    );
    if (!may && document.activeElement === button) focusAction(item, "reply", scroller);
    if (may) item.setAttribute("data-may-edit", "true");
    else item.removeAttribute("data-may-edit");
  }

  function askDelete(item) {
    if (!template || item.querySelector("[data-delete-confirm]")) return;
    const actions = item.querySelector("[data-actions]");
    const question = template.content.firstElementChild.cloneNode(true);
    actions.classList.add("!hidden");
    actions.after(question);

    function close(refocus) {
      question.remove();
      actions.classList.remove("!hidden");
      if (refocus) focusAction(item, "delete", scroller);
    }

    question.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close(true);
    });
    question.querySelector("[data-cancel-delete]").addEventListener("click", () => close(true));
    question.querySelector("[data-confirm-delete]").addEventListener("click", () => {
      act("delete_message", { message_id: Number(item.getAttribute("data-id")) }).then(
        () => {
          close(false);
          scroller.focus();
          announce("Message deleted.");
        },
        (error) => {
          close(true);
          announce("The message was not deleted. " + error.message);
        },
      );
    });
    question.querySelector("[data-cancel-delete]").focus();
  }

  const routes = {
    reply: handlers.reply,
    react: handlers.react,
    edit: handlers.edit,
    more: handlers.more,
    delete: askDelete,
  };

  list.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target : null;
    if (!target || target.closest("[data-retry]")) return;
    const button = target.closest("[data-action]");
    const item = button ? button.closest("li[data-message]") : null;
    const route = button && Object.hasOwn(routes, button.getAttribute("data-action")) ? routes[button.getAttribute("data-action")] : null;
    if (!item || !route) return;
    if (live && item.getAttribute("data-state") === "sent") route(item, button);
  });

  list.addEventListener("chat:decorate", (event) => refreshEditable(event.detail.item));
  // The edit window closes.
  scope.interval(() => list.querySelectorAll('li[data-message][data-mine="true"]').forEach(refreshEditable), EDIT_WINDOW_CHECK_MS);
}
