/* The emoji list (GET /api/emoji, cached by the browser), fetched once per page when first needed. */

let loading = null;

/** A promise of the rows [emoji, [shortcode, ...]]; a failed fetch is tried again next time. */
export function loadEmoji(url = "/api/emoji") {
  if (!loading) {
    loading = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`The emoji did not load (${response.status}).`);
        return response.json();
      })
      .then((data) => (Array.isArray(data.emoji) ? data.emoji : []))
      .catch((error) => {
        loading = null;
        throw error;
      });
  }
  return loading;
}
