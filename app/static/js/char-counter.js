/* Messanger: live character counters for text fields (progressive enhancement).
 *
 * Markup (see templates/settings/profile.html):
 *   <textarea id="bio" maxlength="280"></textarea>
 *   <p data-char-counter data-for="bio" data-maxlength="280" data-state="idle">
 *     <span aria-hidden="true" data-char-counter-count>0/280</span> ...
 *   </p>
 *   <p class="sr-only" aria-live="polite" data-char-counter-live="bio"></p>   (optional)
 *
 * The counter shows "used/max" and gets data-state "idle", "near" (at most 10 % left)
 * or "full"; styling is done in CSS through data-[state=...] variants. The optional
 * live region is only filled near the limit, so screen readers are not interrupted on
 * every keystroke. Lengths are counted like the browser's maxlength (UTF-16 units).
 * Without JavaScript the field's maxlength attribute still applies.
 */

function bind(counter) {
  const field = document.getElementById(counter.getAttribute("data-for") || "");
  const max = parseInt(counter.getAttribute("data-maxlength") || "", 10);
  if (!field || !(max > 0)) return;

  const count = counter.querySelector("[data-char-counter-count]") || counter;
  const live = document.querySelector('[data-char-counter-live="' + field.id + '"]');
  const nearAt = Math.max(1, Math.floor(max * 0.1));
  let lastAnnounced = null;

  function update() {
    const used = field.value.length;
    const left = max - used;
    count.textContent = used + "/" + max;
    counter.setAttribute("data-state", left <= 0 ? "full" : left <= nearAt ? "near" : "idle");

    if (!live) return;
    let message = "";
    if (left <= 0) {
      message = "Character limit reached.";
    } else if (left <= nearAt) {
      message = left === 1 ? "1 character left." : left + " characters left.";
    }
    if (message !== lastAnnounced) {
      live.textContent = message;
      lastAnnounced = message;
    }
  }

  field.addEventListener("input", update);
  update();
}

document.querySelectorAll("[data-char-counter]").forEach(bind);
