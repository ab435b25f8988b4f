/* When to come back after the server closed or refused the socket. Pure: no DOM, no timers.
 *
 * Socket.IO does not reconnect by its own accord after the server closed the socket or refused to
 * connect it; a stopping worker does the first, a server that cannot reach its database or Redis
 * the second. The page comes back after a random, growing moment, so that the tabs of a busy
 * worker do not all arrive at the same instant.
 */

export const RECONNECT_AFTER_MS = 1000;
export const RECONNECT_MAX_MS = 30000;

const TOO_MANY = new Set(["too_many_sockets", "too_many_connections"]);

/** The server's words for a connect_error refusing this tab for too many tabs or connections
 * (or too many attempts), else null. */
export function refusedWith(error) {
  const code = error && error.message;
  if (!TOO_MANY.has(code) && code !== "rate_limited") return null;
  return (error.data && error.data.message) || "Too many connections: this tab tries again later.";
}

/**
 * Milliseconds to wait before the reconnect after `retries` earlier ones: doubling from 1 s up to
 * 30 s, spread between half and one and a half times that. Told to wait `atLeastMs` (rate limited,
 * too many tabs), never sooner than that and spread a little later. `random` is Math.random's kind.
 */
export function reconnectDelay(retries, atLeastMs = 0, random = Math.random) {
  const delay = Math.min(RECONNECT_AFTER_MS * 2 ** retries, RECONNECT_MAX_MS);
  if (atLeastMs) return Math.max(delay, atLeastMs) * (1 + random() * 0.5);
  return delay * (0.5 + random());
}

/**
 * What to do after connect_error `error`: null when Socket.IO still retries on its own (`active`)
 * or the refusal is final (signed out); else the least milliseconds to wait (0: the usual backoff).
 * Too many tabs or connections: another tab must close first, so look again now and then.
 */
export function retryAfterConnectError(error, active) {
  const code = error && error.message;
  if (active || code === "unauthorized") return null;
  if (TOO_MANY.has(code)) return RECONNECT_MAX_MS;
  if (code === "rate_limited") return ((error.data && error.data.retry_after) || 1) * 1000;
  return 0;
}
