/* Messanger: forwarding a message from the chat page (templates/chat/conversation.html).
 *
 * A message's Forward action is a link to its forward page (GET /messages/<id>/forward), which works
 * without JavaScript. On a live page (one with a socket) a click opens the Forward dialog instead
 * (templates/chat/_forward_dialog.html, a native <dialog>) holding the picker the page shows, fetched
 * from the server (?partial=1, templates/chat/_forward_picker.html): no markup is made here.
 *
 * Choosing a conversation sends forward_message {message_id, conversation_id, client_id} over the
 * socket, the client_id made for that choice and kept for its retries (./forward-attempt.js). Once
 * the server acknowledges it the dialog closes and the page's status region says "Forwarded to
 * <title>"; a forward into this same conversation arrives as any "message" does. A refusal or a
 * lost connection shows in the dialog with Retry. Escape, Close, Cancel or a click outside close it,
 * and the focus goes back to the message's Forward action.
 */
import { available, emitWithAck } from "../realtime/index.js";
import { attemptFor, newClientId } from "./forward-attempt.js";

const ACK_TIMEOUT_MS = 10000;
const OFFLINE = "Not forwarded: the connection is down. Try again.";
const REFUSED = "Not forwarded. Try again.";
const LOAD_FAILED = "Couldn't load your conversations. Try again.";
const GONE = "That message is no longer there.";
const RADIO = 'input[type="radio"][name="conversation_id"]';

/** Open Forward as a dialog for the messages of `root` (the chat pane); `dialog` is its <dialog>. */
export function initForward(root, dialog) {
  const list = root.querySelector("[data-message-list]");
  const scroller = root.querySelector("[data-scroller]");
  const status = root.querySelector("[data-chat-status]");
  const body = dialog.querySelector("[data-forward-body]");
  const loading = dialog.querySelector("[data-forward-loading]");
  const error = dialog.querySelector("[data-forward-error]");
  const errorText = dialog.querySelector("[data-forward-error-text]");
  const retryButton = dialog.querySelector("[data-forward-retry]");
  if (!list || !body || !loading || !error || !errorText || !retryButton) return;

  let opener = null; // {link, messageId}: the Forward action the dialog was opened from
  let attempt = null; // {conversationId, clientId, title}: the choice being forwarded
  let retry = null; // what Retry does: load the picker again, or send the attempt again
  let loads = 0; // an answer to an earlier load (or one for a closed dialog) is dropped

  function showError(text, again) {
    retry = again;
    errorText.textContent = text;
    retryButton.classList.toggle("hidden", !again);
    error.setAttribute("data-shown", "true");
  }

  function clearError() {
    retry = null;
    errorText.textContent = "";
    error.removeAttribute("data-shown");
  }

  // The live region is emptied first so that the same words twice are read twice.
  function announce(text) {
    if (!status) return;
    status.textContent = "";
    window.setTimeout(() => {
      status.textContent = text;
    }, 50);
  }

  function load() {
    const ticket = ++loads;
    clearError();
    body.replaceChildren();
    loading.classList.remove("hidden");
    const url = new URL(opener.link.href, window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html", "X-Requested-With": "fetch" } })
      .then((response) => {
        if (response.status === 404 || response.status === 410) throw new Error("gone");
        // A redirect (to sign-in, once signed out) or an error page is not the picker.
        if (!response.ok || response.redirected) throw new Error("unusable response");
        return response.text();
      })
      .then((html) => {
        if (ticket !== loads) return;
        body.innerHTML = html; // our own server-rendered, escaped fragment
        const first = body.querySelector(`${RADIO}:checked`) || body.querySelector(RADIO);
        const target = first || body.querySelector("[data-forward-cancel]");
        if (target) target.focus();
      })
      .catch((failure) => {
        if (ticket !== loads) return;
        if (failure.message === "gone") showError(GONE, null);
        else showError(LOAD_FAILED, load);
      })
      .finally(() => {
        if (ticket === loads) loading.classList.add("hidden");
      });
  }

  function send() {
    const sending = attempt;
    const submit = body.querySelector("[data-forward-submit]");
    const payload = {
      message_id: opener.messageId,
      conversation_id: sending.conversationId,
      client_id: sending.clientId,
    };
    clearError();
    if (submit) submit.disabled = true;
    emitWithAck("forward_message", payload, ACK_TIMEOUT_MS)
      .then(
        (ack) => {
          if (ack && ack.ok) {
            announce(`Forwarded to ${sending.title}`);
            if (attempt === sending) dialog.close();
          } else if (attempt === sending) {
            showError((ack && ack.message) || REFUSED, send);
          }
        },
        () => {
          if (attempt === sending) showError(OFFLINE, send);
        },
      )
      .finally(() => {
        if (submit) submit.disabled = false;
      });
  }

  function open(link, messageId) {
    opener = { link, messageId };
    attempt = null;
    dialog.showModal();
    load();
  }

  function giveFocusBack({ link, messageId }) {
    const target = link.isConnected
      ? link
      : list.querySelector(`li[data-message][data-id="${messageId}"] [data-action="forward"]`);
    const item = list.querySelector(`li[data-message][data-id="${messageId}"]`);
    if (target && target.offsetParent !== null) target.focus();
    else if (item && item.hasAttribute("tabindex")) item.focus(); // a phone: its Forward is in the menu
    else if (scroller) scroller.focus();
  }

  list.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest('a[data-action="forward"]') : null;
    if (!link || !available || dialog.open || typeof dialog.showModal !== "function") return;
    // A modified click opens the forward page elsewhere, as links do.
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const item = link.closest("li[data-message]");
    const messageId = item ? parseInt(item.getAttribute("data-id"), 10) : NaN;
    if (!item || item.getAttribute("data-state") !== "sent" || Number.isNaN(messageId)) return;
    event.preventDefault();
    open(link, messageId);
  });

  dialog.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-forward-form]");
    if (!form || !opener) return;
    event.preventDefault();
    const choice = form.querySelector(`${RADIO}:checked`);
    if (!choice) return;
    const title = choice.closest("label")?.querySelector("[data-forward-title]");
    const words = title ? title.textContent.trim() : "";
    attempt = attemptFor(attempt, parseInt(choice.value, 10), words, () => newClientId(window.crypto));
    send();
  });

  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target.closest("[data-forward-close], [data-forward-cancel]")) {
      event.preventDefault(); // Cancel is a link back to this conversation's page
      dialog.close();
    } else if (event.target.closest("[data-forward-retry]") && retry) {
      retry();
    }
  });

  dialog.addEventListener("close", () => {
    // The event comes a task after the close: the dialog may have been opened again meanwhile.
    if (dialog.open) return;
    loads += 1;
    attempt = null;
    clearError();
    body.replaceChildren();
    loading.classList.add("hidden");
    const from = opener;
    opener = null;
    if (from) giveFocusBack(from);
  });
}
