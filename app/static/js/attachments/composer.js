/* The composer's file: the attach button (file picker), a file dropped on the chat and a pasted
 * picture are uploaded at once (./upload.js), shown in the chip (./chip.js), and refused with the
 * reason under the composer ([data-attachment-error]).
 *
 * The interface with the chat's composer, on the form:
 *   - once stored, the form's data-attachment-id is the file's id (sent with the next message,
 *     whose text may then be empty) and "attachment:ready" is dispatched on it, its detail the A
 *     with the server's block as `html` (for the bubble while the message is sent);
 *   - "attachment:taken" on the form (the message took the file) frees the composer.
 */
import { findChip } from "./chip.js";
import { carriesFiles, checkFile, chipName, pastedPicture, TOO_LARGE } from "./rules.js";
import { upload } from "./upload.js";

/** Wire the composer `form` of the chat `root`; false when the page cannot upload. */
export function initComposerFile(root, form) {
  if (!form.hasAttribute("data-attachments-url") || !window.FormData || !window.XMLHttpRequest) return false;
  const picker = form.querySelector("[data-attachment-input]");
  const attachButton = form.querySelector("[data-attach-button]");
  const errorLine = form.querySelector("[data-attachment-error]");
  const input = form.querySelector("[data-composer-input]");
  const tokenInput = form.querySelector('input[name="csrf_token"]');
  const chip = findChip(form);
  if (!picker || !attachButton || !errorLine || !chip) return false;

  const url = form.getAttribute("data-attachments-url");
  const maxBytes = parseInt(form.getAttribute("data-attachment-max-bytes"), 10) || 0;
  const tooLarge = form.getAttribute("data-attachment-too-large") || TOO_LARGE;
  let cancelUpload = null;

  attachButton.classList.remove("hidden");

  function setError(text) {
    errorLine.textContent = text || "";
  }

  function reset() {
    if (cancelUpload) cancelUpload();
    cancelUpload = null;
    form.removeAttribute("data-attachment-id");
    chip.clear();
    if (input) input.required = true;
    picker.value = "";
  }

  function stored(answer) {
    cancelUpload = null;
    chip.ready(answer);
    form.setAttribute("data-attachment-id", String(answer.attachment.id));
    form.dispatchEvent(new CustomEvent("attachment:ready", { detail: { ...answer.attachment, html: answer.html } }));
    if (input) {
      input.required = false;
      input.focus();
    }
  }

  function refused(words) {
    cancelUpload = null;
    reset();
    setError(words);
  }

  function send(file) {
    if (!file) return;
    reset();
    const refusal = checkFile(file, maxBytes, tooLarge);
    setError(refusal);
    if (refusal) return;
    chip.sending(chipName(file));
    cancelUpload = upload(url, file, {
      token: tokenInput ? tokenInput.value : "",
      tooLarge,
      onProgress: chip.progress,
      onStored: stored,
      onRefused: refused,
    });
  }

  attachButton.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    if (picker.files && picker.files[0]) send(picker.files[0]);
  });
  chip.cancel.addEventListener("click", () => {
    reset();
    setError("");
    if (input) input.focus();
  });
  form.addEventListener("attachment:taken", () => {
    cancelUpload = null; // the message holds the stored file now
    reset();
    setError("");
  });

  let dragDepth = 0;
  root.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event.dataTransfer && event.dataTransfer.types)) return;
    event.preventDefault();
    dragDepth += 1;
    root.setAttribute("data-dropping", "true");
  });
  root.addEventListener("dragover", (event) => {
    if (!carriesFiles(event.dataTransfer && event.dataTransfer.types)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  root.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) root.removeAttribute("data-dropping");
  });
  root.addEventListener("drop", (event) => {
    dragDepth = 0;
    root.removeAttribute("data-dropping");
    if (!carriesFiles(event.dataTransfer && event.dataTransfer.types)) return;
    event.preventDefault();
    const files = event.dataTransfer.files;
    if (files && files[0]) send(files[0]);
  });

  if (input) {
    input.addEventListener("paste", (event) => {
      const picture = pastedPicture(event.clipboardData && event.clipboardData.files);
      if (!picture) return;
      event.preventDefault();
      send(picture);
    });
  }
  return true;
}
