/* Messanger: live people search (progressive enhancement).
 *
 * Markup (see templates/people/search.html):
 *   <form data-people-search data-search-url="/search"> <input name="q"> ... </form>
 *   <div data-search-results aria-live="polite"> ...results fragment... </div>
 *
 * While the user types (debounced), the same search URL is requested with partial=1;
 * the server answers with only the results fragment (rendered and auto-escaped by our
 * own templates), which replaces the region's content. The address bar follows with
 * ?q=... so reloading or sharing the page gives the same results.
 * Out-of-order answers are dropped (request counter + AbortController); on any network
 * or server error nothing changes. Without JavaScript the form simply submits.
 */

const DELAY_MS = 250;

function bind(form) {
  const input = form.querySelector('input[name="q"]');
  const region = document.querySelector("[data-search-results]");
  const searchUrl = form.getAttribute("data-search-url");
  if (!input || !region || !searchUrl) return;

  let timer = null;
  let latest = 0;
  let controller = null;
  let lastQuery = input.value.trim();

  function urlFor(query, partial) {
    const url = new URL(searchUrl, window.location.href);
    if (query) url.searchParams.set("q", query);
    if (partial) url.searchParams.set("partial", "1");
    return url;
  }

  function done(ticket) {
    if (ticket === latest) region.removeAttribute("aria-busy");
  }

  function run() {
    const query = input.value.trim();
    if (query === lastQuery) return;
    lastQuery = query;

    const ticket = ++latest;
    if (controller) controller.abort();
    controller = new AbortController();

    const target = urlFor(query, true);
    if (target.origin !== window.location.origin) return;

    region.setAttribute("aria-busy", "true");
    fetch(target.toString(), {
      headers: { "X-Requested-With": "fetch", Accept: "text/html" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then((response) => {
        // A redirect (e.g. the session ended and we were sent to the login page)
        // or an error page is not a results fragment: leave the page alone.
        if (!response.ok || response.redirected) throw new Error("unusable response");
        return response.text();
      })
      .then((html) => {
        if (ticket !== latest) return;
        region.innerHTML = html;
        const shown = urlFor(query, false);
        window.history.replaceState(window.history.state, "", shown.pathname + shown.search);
        done(ticket);
      })
      .catch(() => {
        // Network error, abort or unusable answer: keep what is shown, and let the
        // next keystroke (or the submit button) try again.
        if (ticket === latest) lastQuery = null;
        done(ticket);
      });
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, DELAY_MS);
  });
}

document.querySelectorAll("[data-people-search]").forEach(bind);
