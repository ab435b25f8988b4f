/* The one Socket.IO socket of this page (the vendored client, imported as a module): opened once, connected
 * by ./index.js after the page's modules subscribed, reconnected with backoff after the server
 * closed or refused it (./backoff.js), and reloaded to sign-in when the session ended.
 *
 * `socket`, `connected` and `available` are live bindings: importers always read the current value.
 */
import { io } from "../../vendor/socket.io.esm.min.js";
import { dispatch } from "./bus.js";
import { reconnectDelay, retryAfterConnectError } from "./backoff.js";

const NAVIGATION_GRACE_MS = 5000;
const ACK_TIMEOUT_MS = 10000;

/** The socket (null without the client or a signed-in user). */
export let socket = null;
/** True while the socket is connected. */
export let connected = false;
/** True when this page has a socket at all (live updates possible). */
export let available = false;

let retries = 0;
let submittedAt = 0; // when a form last took this page elsewhere

function reconnectLater(atLeastMs) {
  const wait = reconnectDelay(retries, atLeastMs);
  retries += 1;
  window.setTimeout(() => {
    if (!socket.connected) socket.connect();
  }, wait);
}

/** Create the socket for user `userId` (not connected yet); null when there is none to make. */
export function openSocket(userId) {
  if (socket || userId === null) return null;
  // WebSocket only: a connection is one TCP stream, so workers behind a load balancer need no
  // sticky sessions (docs/deploy.md). Networks that block WebSockets get no live updates.
  socket = io({ transports: ["websocket"], autoConnect: false });
  available = true;

  document.addEventListener("submit", (event) => {
    if (!event.defaultPrevented) submittedAt = Date.now(); // the chat composer prevents it: no navigation
  });

  socket.on("connect", () => {
    connected = true;
    retries = 0;
    dispatch("connect");
  });
  socket.on("disconnect", (reason) => {
    connected = false;
    dispatch("disconnect", reason);
    if (reason === "io server disconnect") reconnectLater();
  });
  socket.on("connect_error", (error) => {
    connected = false;
    dispatch("connect_error", error);
    // A refusal ends Socket.IO's own retries (it stays active through transport errors).
    const atLeastMs = retryAfterConnectError(error, socket.active);
    if (atLeastMs !== null) reconnectLater(atLeastMs);
  });
  // Signed out (here or elsewhere), password changed, account gone: the reload lands on sign-in.
  // When this page's own form ended it ("Log out", deleting the account), the page is already on
  // its way elsewhere: reloading now would cancel that navigation and lose its message, so reload
  // only if the page is still here once that navigation had time to finish.
  socket.on("session_ended", () => {
    const navigating = Date.now() - submittedAt < NAVIGATION_GRACE_MS;
    window.setTimeout(() => window.location.reload(), navigating ? NAVIGATION_GRACE_MS : 0);
  });
  return socket;
}

/** Hear the server's `event` on the socket (nothing without one). */
export function listen(event, fn) {
  if (socket) socket.on(event, fn);
}

/** Connect the socket, if there is one. */
export function connect() {
  if (socket) socket.connect();
}

/**
 * Promise of the server's ack to `event`; rejects with Error("timeout"), Error("disconnected")
 * or Error("unavailable") (no socket at all).
 */
export function emitWithAck(event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    if (!socket) {
      reject(new Error("unavailable"));
      return;
    }
    if (!socket.connected) {
      reject(new Error("disconnected"));
      return;
    }
    let finished = false;
    const timer = window.setTimeout(() => finish(new Error("timeout")), timeoutMs || ACK_TIMEOUT_MS);
    const onDisconnect = () => finish(new Error("disconnected"));

    function finish(error, ack) {
      if (finished) return;
      finished = true;
      window.clearTimeout(timer);
      socket.off("disconnect", onDisconnect);
      if (error) reject(error);
      else resolve(ack);
    }

    socket.on("disconnect", onDisconnect);
    socket.emit(event, payload, (ack) => finish(null, ack));
  });
}
