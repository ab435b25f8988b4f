/* GET our JSON endpoints with the session cookie. */

/** Promise of the JSON at `url`; an error status or a redirect (to sign-in, once signed out) rejects. */
export function getJSON(url) {
  return fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-Requested-With": "fetch" },
  }).then((response) => {
    if (!response.ok || response.redirected) throw new Error("unusable response");
    return response.json();
  });
}
