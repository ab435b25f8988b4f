/* Messanger: small progressive enhancements on every page (no inline scripts, CSP friendly).
 * - Collapsible main navigation on small screens ([data-nav-toggle] / [data-nav-menu]).
 * - Dismissible flash messages ([data-flash] / [data-flash-dismiss]).
 * - Escape closes an open <details> menu (the chat header's).
 * The menu is drawn closed on phones (max-sm:hidden); without JavaScript its toggle is a link to
 * #nav-menu, which :target opens. Flashes stay visible without JavaScript.
 * An ES module: it runs once the page is parsed.
 */

function initNav() {
  const toggle = document.querySelector("[data-nav-toggle]");
  const menu = document.querySelector("[data-nav-menu]");
  if (!toggle || !menu) return;

  function setOpen(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    // "max-sm:hidden" only hides the menu below the sm breakpoint; desktop is unaffected.
    menu.classList.toggle("max-sm:hidden", !open);
    menu.classList.toggle("max-sm:target:flex", false);
  }

  toggle.setAttribute("role", "button");
  setOpen(false);

  toggle.addEventListener("click", (event) => {
    event.preventDefault();
    setOpen(toggle.getAttribute("aria-expanded") !== "true");
  });
  toggle.addEventListener("keydown", (event) => {
    if (event.key !== " ") return;
    event.preventDefault();
    toggle.click();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      toggle.focus();
    }
  });
}

function initFlashes() {
  for (const button of document.querySelectorAll("[data-flash-dismiss]")) {
    button.classList.remove("hidden");
    button.classList.add("inline-flex");
    button.addEventListener("click", () => {
      const flash = button.closest("[data-flash]");
      if (!flash) return;
      const list = flash.parentElement;
      flash.remove();
      if (list && !list.querySelector("[data-flash]")) list.remove();
      const content = document.getElementById("content");
      if (content && document.activeElement === document.body) content.focus();
    });
  }
}

// Escape closes the open <details> menu (one that pops up: not a folded list) holding the focus,
// back on its summary.
function initDisclosures() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const active = document.activeElement;
    const details = active && active.closest ? active.closest("details[open]:not([data-conversation-archive])") : null;
    if (!details) return;
    details.open = false;
    const summary = details.querySelector("summary");
    if (summary) summary.focus();
  });
}

initNav();
initDisclosures();
// The chat's history waits for its script to decorate it (app.css): by now that script has run,
// or failed; either way the history shows.
window.addEventListener("load", () => {
  const chat = document.querySelector("[data-chat]");
  if (chat) chat.setAttribute("data-loaded", "");
});
initFlashes();
