/* Who is signed in on this page: <body data-user-id="..."> (absent for visitors). */

/** The id in a data-user-id attribute's value, or null. */
export function parseUserId(raw) {
  const id = raw ? parseInt(raw, 10) : NaN;
  return Number.isNaN(id) ? null : id;
}

/** My user id (a number), or null when nobody is signed in. */
export const userId = parseUserId(document.body ? document.body.getAttribute("data-user-id") : null);
