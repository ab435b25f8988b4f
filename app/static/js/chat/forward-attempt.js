/* Messanger: which client_id a forward is sent with (DOM-free; used by ./forward.js).
 *
 * A forward attempt is one choice of target conversation: it gets a fresh client_id, and every
 * retry of it (Retry, or pressing Forward again on the same choice) sends that same id, so the
 * server stores the forward once however often it is sent. Choosing another conversation is a new
 * attempt with a new id (the server answers `duplicate` to one client_id sent into two conversations).
 */

/** A new client_id: a UUID from `cryptoObject` (window.crypto), made by hand where randomUUID is
 * missing (pages served over plain HTTP outside localhost). */
export function newClientId(cryptoObject) {
  if (typeof cryptoObject.randomUUID === "function") return cryptoObject.randomUUID();
  const bytes = cryptoObject.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The attempt to send for a choice of `conversationId` ({conversationId, clientId, title}):
 * `previous` itself when it was for the same conversation (a retry), else a new one with
 * `makeId()` as its client_id and `title` as the words for "Forwarded to ...".
 */
export function attemptFor(previous, conversationId, title, makeId) {
  if (previous && previous.conversationId === conversationId) return previous;
  return { conversationId, clientId: makeId(), title };
}
