/* Messanger: small progressive enhancements (no inline scripts, CSP friendly).
 * - Collapsible main navigation on small screens ([data-nav-toggle] / [data-nav-menu]).
 * - Dismissible flash messages ([data-flash] / [data-flash-dismiss]).
 * Without JavaScript the menu simply stays open and flashes stay visible.
 */
(function () {
  "use strict";

  function initNav() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var menu = document.querySelector("[data-nav-menu]");
    if (!toggle || !menu) return;

    function setOpen(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      // "max-sm:hidden" only hides the menu below the sm breakpoint; desktop is unaffected.
      menu.classList.toggle("max-sm:hidden", !open);
    }

    toggle.classList.remove("hidden");
    setOpen(false);

    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });

    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  function initFlashes() {
    var buttons = document.querySelectorAll("[data-flash-dismiss]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.classList.remove("hidden");
      button.classList.add("inline-flex");
      button.addEventListener("click", function () {
        var flash = button.closest("[data-flash]");
        if (!flash) return;
        var list = flash.parentElement;
        flash.remove();
        if (list && !list.querySelector("[data-flash]")) {
          list.remove();
        }
        var content = document.getElementById("content");
        if (content && document.activeElement === document.body) {
          content.focus();
        }
      });
    });
  }

  function init() {
    initNav();
    initFlashes();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
