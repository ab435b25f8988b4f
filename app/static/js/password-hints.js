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

function compile(source) {
  try {
    return new RegExp(source, "u");
  } catch {
    try {
      return new RegExp(source);
    } catch {
      return null;
    }
  }
}

function setState(element, state) {
  if (element.getAttribute("data-state") === state) return false;
  element.setAttribute("data-state", state);
  return true;
}

const RULE_STATUS = { met: " (met)", unmet: " (not met)", idle: "" };
const MATCH_TEXT = { match: "✓ Passwords match", mismatch: "✗ Passwords do not match", idle: "" };

function bind(list) {
  const password = document.getElementById(list.getAttribute("data-password-input") || "");
  if (!password) return;
  const confirm = document.getElementById(list.getAttribute("data-confirm-input") || "");
  const output = document.getElementById(list.getAttribute("data-match-output") || "");

  const rules = [...list.querySelectorAll("[data-pattern]")]
    .map((item) => ({
      item,
      regex: compile(item.getAttribute("data-pattern") || ""),
      status: item.querySelector("[data-rule-status]"),
    }))
    .filter((rule) => rule.regex !== null);

  function updateRules() {
    const value = password.value;
    for (const rule of rules) {
      const state = value === "" ? "idle" : rule.regex.test(value) ? "met" : "unmet";
      if (setState(rule.item, state) && rule.status) rule.status.textContent = RULE_STATUS[state];
    }
  }

  function updateMatch() {
    if (!confirm || !output) return;
    let state = "mismatch";
    if (confirm.value === "") state = "idle";
    else if (confirm.value === password.value) state = "match";
    if (setState(output, state)) output.textContent = MATCH_TEXT[state];
  }

  password.addEventListener("input", () => {
    updateRules();
    updateMatch();
  });
  if (confirm) confirm.addEventListener("input", updateMatch);

  // Browsers may restore or autofill values before this script runs.
  updateRules();
  updateMatch();
}

document.querySelectorAll("[data-password-input]").forEach(bind);
