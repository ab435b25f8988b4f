/* Whether a message shows Edit: my own stored message within the edit window (the server has the
 * last word). Pure: no DOM. */

/** True when my message may still be edited: stored, not deleted, within `windowMs` of `createdAt`. */
export function editable({ mine, state, deleted, createdAt }, windowMs, now = Date.now()) {
  return mine && state === "sent" && !deleted && !!createdAt && now - createdAt.getTime() < windowMs;
}
