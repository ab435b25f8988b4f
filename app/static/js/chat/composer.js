/* The chat composer: Enter sends (Shift+Enter or Alt+Enter starts a new line; not while an input
 * method composes), the field grows with its text, "Write something first." for an empty
 * message, the reply bar (Reply on a message; Escape or × cancels it), and the file handed over
 * by the attachments module. `@` suggests members and `:smi` emoji (./suggestions.js), the emoji
 * button opens a picker (../emoji/picker.js), the draft (and the reply) of each chat is kept
 * (./drafts.js) until the server has stored the message, and ArrowUp in the empty field edits my
 * last message.
 *
 * The attachments module's side (static/js/attachments/): once a file is stored it sets the form's
 * data-attachment-id; this sends that id with the next message (whose text may then be empty)
 * and fires "attachment:taken" on the form. When the form also got "attachment:ready"
 * ({id, html}: the upload's answer), the bubble shows the file's block while it is sent.
 */

import { createEmojiPicker } from "../emoji/picker.js";
import { loadEmoji } from "../emoji/data.js";
import { bestShortcode, searchEmoji } from "../emoji/search.js";
import { insertAt } from "./caret-token.js";
import { browserStorage, createDraftStore, throttle } from "./drafts.js";
import { editable } from "./edit-window.js";
import { createMemberSource } from "./member-suggest.js";
import { createSuggestions } from "./suggestions.js";

const SUGGESTED = 8;
const DRAFT_SAVE_MS = 400;

/** Put the focus in the chat's composer (when a chat opens), except on touch screens, where it
 * would bring up the keyboard unasked. False when there is no composer to focus. */
export function focusComposer(root = document) {
  const input = root.querySelector("[data-composer] [data-composer-input]");
  if (!input || input.disabled) return false;
  if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches) return false;
  input.focus({ preventScroll: true });
  const end = input.value.length;
  input.setSelectionRange(end, end);
  return true;
}

/** My last message in `list` that is not deleted, if it may still be edited; else null. */
export function lastEditable(list, windowMs, now = Date.now()) {
  const mine = [...list.querySelectorAll('li[data-message][data-mine="true"][data-state="sent"]')];
  const item = mine.reverse().find((candidate) => candidate.getAttribute("data-deleted") !== "true");
  if (!item) return null;
  const created = new Date(item.getAttribute("data-created-at") || "");
  const fact = { mine: true, state: "sent", deleted: false, createdAt: isNaN(created) ? null : created };
  return editable(fact, windowMs, now) ? item : null;
}

// What `@` and `:` suggest: members from the server (by prefix), emoji from the list.
function suggestionSources(membersUrl, emojiRows) {
  const findMembers = membersUrl ? createMemberSource({ url: membersUrl, limit: SUGGESTED }) : null;
  const member = (person) => ({ insert: "@" + person.username, iconUrl: person.avatar_url, label: person.display_name, detail: "@" + person.username });
  const emoji = (query) => (row) => ({ insert: row[0], icon: row[0], label: `:${bestShortcode(row, query)}:` });
  return {
    "@": findMembers ? (query) => findMembers(query).then((people) => people && people.map(member)) : null,
    ":": (query) => emojiRows().then((rows) => searchEmoji(rows, query, SUGGESTED).map(emoji(query))),
  };
}

/** The composer `form` of conversation `cid` for user `me`; `onSend({body, reply, attachment})`
 * sends and returns a promise of the message being stored, `typing` is ./typing-presence.js's,
 * `onEdit(item)` opens the editor on my message `item` (ArrowUp), within `editWindowMs`. */
export function createComposer({
  form,
  input,
  composerError,
  replyBar,
  list,
  announce,
  typing,
  onSend,
  cid,
  me,
  editWindowMs = 0,
  onEdit,
}) {
  let replyTarget = null; // {id, quote}: the message the composer answers and its quote
  let ready = null; // {id, html} of the file the attachments module announced
  const doc = form.ownerDocument;
  const drafts = createDraftStore(browserStorage(), me);
  const draftNow = () => ({ text: input.value, replyId: replyTarget ? replyTarget.id : null });
  const saveDraft = throttle(() => drafts.save(cid, draftNow()), DRAFT_SAVE_MS);

  function setError(text) {
    if (!composerError) return;
    composerError.textContent = text || "";
    input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  function autosize() {
    input.style.height = "auto";
    const style = window.getComputedStyle(input);
    const borders = (parseFloat(style.borderTopWidth) || 0) + (parseFloat(style.borderBottomWidth) || 0);
    input.style.height = input.scrollHeight + borders + "px";
  }

  /** Answer the message `item` (a stored li[data-message]) with the next message. */
  function startReply(item, { focus = true } = {}) {
    if (!replyBar) return;
    const source = item.querySelector("template[data-as-quote]");
    const quote = source ? source.content.firstElementChild : null;
    if (!quote) return;
    replyTarget = { id: Number(item.getAttribute("data-id")), quote };
    replyBar.querySelector("[data-reply-name]").textContent =
      item.getAttribute("data-mine") === "true" ? "yourself" : quote.querySelector("[data-quote-name]").textContent;
    replyBar.querySelector("[data-reply-preview]").textContent = quote.querySelector("[data-quote-preview]").textContent;
    replyBar.classList.remove("hidden");
    saveDraft();
    if (focus) input.focus();
  }

  function cancelReply(refocus) {
    replyTarget = null;
    saveDraft();
    if (!replyBar) return;
    replyBar.classList.add("hidden");
    if (refocus) input.focus();
  }

  // The file the attachments module stored for the next message, or null.
  function takeAttachment() {
    const id = form.getAttribute("data-attachment-id");
    if (!id) return null;
    return ready && String(ready.id) === id ? { ...ready, id: Number(id) } : { id: Number(id) };
  }

  function submit() {
    const body = input.value.replace(/^\s+|\s+$/g, "");
    const attachment = takeAttachment();
    if (!body && !attachment) {
      setError("Write something first.");
      input.focus();
      return;
    }
    setError("");
    // The draft holds exactly what is sent until the server has stored it: a failed send keeps it.
    saveDraft.cancel();
    const sentText = input.value;
    drafts.save(cid, draftNow());
    Promise.resolve(onSend({ body, reply: replyTarget, attachment })).then(() => drafts.clearIf(cid, sentText));
    cancelReply(false);
    saveDraft.cancel();
    if (attachment) {
      ready = null;
      form.dispatchEvent(new CustomEvent("attachment:taken")); // the message holds it now
    }
    input.value = "";
    autosize();
    typing.resetTyping();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });

  input.addEventListener("keydown", (event) => {
    if (suggestions && suggestions.handleKey(event)) return;
    if (event.key === "ArrowUp" && !input.value && onEdit && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      const item = lastEditable(list, editWindowMs);
      if (item) {
        event.preventDefault();
        onEdit(item);
      }
      return;
    }
    if (event.key === "Escape" && replyTarget) {
      event.preventDefault();
      cancelReply(true);
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.altKey) return;
    if (event.isComposing || event.keyCode === 229) return; // an input method is composing
    event.preventDefault();
    submit();
  });

  input.addEventListener("input", () => {
    autosize();
    if (composerError && composerError.textContent && input.value.trim()) setError("");
    typing.noteInput(input.value);
    saveDraft();
    if (suggestions) suggestions.update();
  });

  const emojiUrl = form.getAttribute("data-emoji-url") || "/api/emoji";
  const emojiRows = () => loadEmoji(emojiUrl);
  const listbox = form.querySelector("[data-suggestions]");
  const optionTemplate = doc.getElementById("suggestion-option-template");
  const suggestions =
    listbox && optionTemplate
      ? createSuggestions({
          input,
          listbox,
          optionTemplate,
          announce,
          onChange: () => input.dispatchEvent(new Event("input")),
          sources: suggestionSources(form.getAttribute("data-members-url"), emojiRows),
        })
      : null;

  // The emoji button: a picker whose pick goes in at the caret.
  const emojiButton = form.querySelector("[data-emoji-button]");
  const pickerTemplate = doc.getElementById("emoji-picker-template");
  const cellTemplate = doc.getElementById("emoji-cell-template");
  if (emojiButton && pickerTemplate && cellTemplate) {
    let caret = [0, 0];
    const picker = createEmojiPicker({
      template: pickerTemplate,
      cellTemplate,
      load: emojiRows,
      onPick(emoji) {
        const next = insertAt(input.value, caret[0], caret[1], emoji);
        input.value = next.text;
        input.focus();
        input.setSelectionRange(next.caret, next.caret);
        input.dispatchEvent(new Event("input"));
      },
      onClose: () => emojiButton.setAttribute("aria-expanded", "false"),
    });
    emojiButton.classList.remove("hidden");
    emojiButton.addEventListener("click", () => {
      if (picker.isOpen()) {
        picker.close(true);
        return;
      }
      caret = [input.selectionStart ?? input.value.length, input.selectionEnd ?? input.value.length];
      if (suggestions) suggestions.close();
      emojiButton.setAttribute("aria-expanded", "true");
      picker.open(form.querySelector("[data-emoji-anchor]") || form, emojiButton);
    });
  }

  // A draft left in this chat: its text, and the message it replied to if that is still shown.
  const draft = drafts.load(cid);
  if (draft && !input.value) {
    input.value = draft.text;
    const replied = draft.replyId != null ? list.querySelector(`li[data-message][data-id="${draft.replyId}"]`) : null;
    if (replied && replied.getAttribute("data-deleted") !== "true") startReply(replied, { focus: false });
  }
  const flushDraft = () => saveDraft.flush();
  const onHidden = () => doc.visibilityState === "hidden" && flushDraft();
  window.addEventListener("pagehide", flushDraft);
  doc.addEventListener("visibilitychange", onHidden);

  /** Keep the draft now and let go of the page-wide listeners (the chat pane is leaving). */
  function destroy() {
    flushDraft();
    window.removeEventListener("pagehide", flushDraft);
    doc.removeEventListener("visibilitychange", onHidden);
  }

  if (replyBar) replyBar.querySelector("[data-reply-cancel]").addEventListener("click", () => cancelReply(true));

  form.addEventListener("attachment:ready", (event) => {
    ready = event.detail && event.detail.id != null ? event.detail : null;
  });

  // The message replied to changed: the bar's quote follows; a deleted one ends the reply.
  list.addEventListener("chat:message-updated", (event) => {
    const { message, quote } = event.detail;
    if (!replyTarget || replyTarget.id !== message.id) return;
    if (quote) replyTarget.quote = quote;
    if (message.deleted) {
      cancelReply(false);
      announce("The message you were replying to was deleted.");
    }
  });

  autosize();
  return { startReply, flushDraft, destroy, focus: () => focusComposer(form) };
}
