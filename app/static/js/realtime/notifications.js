/* Browser notifications for messages from others while the page is hidden, once the user allowed
 * them with a [data-enable-notifications] button; none for a muted conversation unless the
 * message mentions me. */
import { mentionsMe, notificationFor } from "./message-facts.js";
import { mutedState } from "./unread.js";
import { userId } from "./user.js";

const supported = "Notification" in window;

function notify(message) {
  if (!supported || window.Notification.permission !== "granted" || !document.hidden) return;
  const { title, options } = notificationFor(message);
  try {
    const notification = new window.Notification(title, options);
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
    });
  } catch {
    /* e.g. mobile browsers that only allow notifications from a service worker */
  }
}

// Ids of messages already notified of (the newest few hundred): a live event repeated, e.g. after
// a reconnect, notifies once.
const notified = new Set();
const NOTIFIED_KEPT = 500;

function firstNotice(message) {
  if (message.id == null || notified.has(message.id)) return false;
  notified.add(message.id);
  if (notified.size > NOTIFIED_KEPT) notified.delete(notified.values().next().value);
  return true;
}

/** Notify of M once, unless its conversation is muted (a mention of me always notifies). */
export function notifyUnlessMuted(message) {
  if (!firstNotice(message)) return;
  if (mentionsMe(message, userId)) {
    notify(message);
    return;
  }
  mutedState(message.conversation_id).then((muted) => {
    if (!muted) notify(message);
  });
}

/** Wire the [data-enable-notifications] buttons: shown while the browser has not been asked. */
export function initNotificationButtons() {
  const buttons = document.querySelectorAll("[data-enable-notifications]");
  if (!buttons.length || !supported) return;
  const status = document.querySelector("[data-notifications-status]");

  function refresh() {
    const permission = window.Notification.permission;
    for (const button of buttons) button.classList.toggle("hidden", permission !== "default");
    return permission;
  }

  function announce(text) {
    if (status) status.textContent = text;
  }

  const answers = {
    granted: "Notifications are on.",
    denied: "Notifications are blocked. You can allow them in your browser's site settings.",
  };

  for (const button of buttons) {
    button.addEventListener("click", () => {
      const done = (permission) => {
        const hadFocus = document.activeElement === button;
        refresh();
        announce(answers[permission] || "");
        if (hadFocus && button.classList.contains("hidden")) {
          const heading = document.getElementById(button.getAttribute("data-focus-after") || "");
          if (heading) heading.focus();
        }
      };
      try {
        const result = window.Notification.requestPermission(done);
        if (result && typeof result.then === "function") result.then(done, () => {});
      } catch {
        announce("This browser cannot show notifications.");
      }
    });
  }
  refresh();
}
