/* The composer's upload rules, without the DOM: what is refused before any byte is sent, the words
 * of a refusal, the progress shown, which pasted or dropped file is taken, and what a successful
 * answer of POST /c/<id>/attachments (docs/protocol.md) holds.
 */

export const TOO_LARGE = "That file is too large.";
export const EMPTY = "That file is empty.";
export const FAILED = "The upload failed. Please try again.";
export const OFFLINE = "The upload failed. Check your connection and try again.";
const TOO_MANY = "Too many uploads. Wait a moment and try again.";
const EXPIRED = "The page has expired. Reload it and try again.";

/** Why `file` ({size}) is refused before it is sent, or null to send it. `maxBytes` 0: no limit
 * known here (the server still checks); `tooLarge` the server's words for a file over it. */
export function checkFile(file, maxBytes, tooLarge = TOO_LARGE) {
  if (!file.size) return EMPTY;
  if (maxBytes > 0 && file.size > maxBytes) return tooLarge;
  return null;
}

/** The JSON of a response's text, or null. */
export function parseBody(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The words for a refused upload: the server's message, else what its status means. */
export function refusalText(status, body, tooLarge = TOO_LARGE) {
  if (body && body.message) return body.message;
  if (status === 413) return tooLarge;
  if (status === 429) return TOO_MANY;
  if (status === 400) return EXPIRED;
  return FAILED;
}

/** The stored file of a successful answer, {attachment: A, html, sizeText}, or null for a refusal. */
export function storedFrom(status, body) {
  if (status !== 201 || !body || !body.ok || !body.attachment) return null;
  return { attachment: body.attachment, html: body.html || "", sizeText: body.size_text || "" };
}

/** The progress bar's value while sending: the last percent waits for the server's answer (it
 * checks and stores the file); null when the size is unknown. */
export function sendingPercent(loaded, total) {
  if (!(total > 0)) return null;
  return Math.min(99, Math.max(0, Math.round((loaded / total) * 100)));
}

/** The first picture among pasted files (a list of {type}), or null: pasted text stays text. */
export function pastedPicture(files) {
  for (const file of Array.from(files || [])) {
    if (/^image\//.test(file.type || "")) return file;
  }
  return null;
}

/** True when a drag carries files (its dataTransfer.types), not text or a link. */
export function carriesFiles(types) {
  return !!types && Array.from(types).includes("Files");
}

/** The name sent for a file: its own, else the name a pasted picture is given. */
export function uploadName(file) {
  return file.name || "pasted.png";
}

/** The chip's name for a file being sent (the server's filename replaces it once stored). */
export function chipName(file) {
  return file.name || "Pasted picture";
}
