/* Messanger: live password rule hints.
 *
 * Markup (see templates/_form.html, render_password_hints):
 *   <ul data-password-input="ID" data-confirm-input="ID" data-match-output="ID">
 *     <li data-pattern="JS regex source" data-rule="key" data-state="idle">
 *       ... <span class="sr-only" data-rule-status></span>
 *     </li>
 *   </ul>
 *
 * Each rule gets data-state "idle" (nothing typed), "met" or "unmet"; the styling
 * (colour + icon) is done in CSS through data-[state=...] variants. The confirmation
 * output gets data-state "idle", "match" or "mismatch" and a short text.
 */
(function () {
  "use strict";

  function compile(source) {
    try {
      return new RegExp(source, "u");
    } catch (unicodeError) {
      try {
        return new RegExp(source);
      } catch (error) {
        return null;
      }
    }
  }

  function setState(element, state) {
    if (element.getAttribute("data-state") !== state) {
      element.setAttribute("data-state", state);
      return true;
    }
    return false;
  }

  function bind(list) {
    var password = document.getElementById(list.getAttribute("data-password-input") || "");
    if (!password) return;
    var confirm = document.getElementById(list.getAttribute("data-confirm-input") || "");
    var output = document.getElementById(list.getAttribute("data-match-output") || "");

    var rules = Array.prototype.map
      .call(list.querySelectorAll("[data-pattern]"), function (item) {
        return {
          item: item,
          regex: compile(item.getAttribute("data-pattern") || ""),
          status: item.querySelector("[data-rule-status]"),
        };
      })
      .filter(function (rule) {
        return rule.regex !== null;
      });

    function updateRules() {
      var value = password.value;
      rules.forEach(function (rule) {
        var state = value === "" ? "idle" : rule.regex.test(value) ? "met" : "unmet";
        if (setState(rule.item, state) && rule.status) {
          rule.status.textContent = state === "met" ? " (met)" : state === "unmet" ? " (not met)" : "";
        }
      });
    }

    function updateMatch() {
      if (!confirm || !output) return;
      var state;
      if (confirm.value === "") {
        state = "idle";
      } else if (confirm.value === password.value) {
        state = "match";
      } else {
        state = "mismatch";
      }
      if (setState(output, state)) {
        output.textContent =
          state === "match" ? "✓ Passwords match" : state === "mismatch" ? "✗ Passwords do not match" : "";
      }
    }

    password.addEventListener("input", function () {
      updateRules();
      updateMatch();
    });
    if (confirm) {
      confirm.addEventListener("input", updateMatch);
    }

    // Browsers may restore or autofill values before this script runs.
    updateRules();
    updateMatch();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-password-input]"), bind);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
