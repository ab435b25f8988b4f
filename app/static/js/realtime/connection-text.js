/* What to say about the connection, for every signed-in page: nothing while connected,
 * "Reconnecting…" while not, "Signed out. Reload the page." once the session is gone, or the
 * server's words when it refuses this tab (too many tabs; it retries now and then). The chat
 * header's line (chat/connection-status.js) and the other pages' offline banner
 * (./offline-banner.js) both show it. */
import { on } from "./bus.js";
import { refusedWith } from "./backoff.js";

export const RECONNECTING = "Reconnecting…";
export const SIGNED_OUT = "Signed out. Reload the page.";

/** The words for a connect_error `error`. Pure. */
export function connectErrorText(error) {
  if (error && error.message === "unauthorized") return SIGNED_OUT;
  return refusedWith(error) || RECONNECTING;
}

/** Call `show(text)` whenever what to say changes ("" once connected); returns the function that stops. */
export function onConnectionText(show) {
  let said = null;
  const say = (text) => {
    if (text === said) return;
    said = text;
    show(text);
  };
  const offs = [
    on("connect", () => say("")),
    on("disconnect", () => say(RECONNECTING)),
    on("connect_error", (error) => say(connectErrorText(error))),
  ];
  return () => offs.forEach((off) => off());
}
