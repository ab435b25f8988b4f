// Reconnect delays and refusals (app/static/js/realtime/backoff.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  RECONNECT_MAX_MS,
  reconnectDelay,
  refusedWith,
  retryAfterConnectError,
} from "../../app/static/js/realtime/backoff.js";

function refusal(message, data) {
  const error = new Error(message);
  if (data) error.data = data;
  return error;
}

describe("reconnectDelay", () => {
  it("doubles from one second and stops growing at thirty", () => {
    const middle = () => 0.5; // the spread's midpoint: exactly the base delay
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map((n) => reconnectDelay(n, 0, middle)), [
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it("spreads between half and one and a half times the base", () => {
    assert.equal(reconnectDelay(2, 0, () => 0), 2000);
    assert.equal(reconnectDelay(2, 0, () => 1), 6000);
  });

  it("told to wait, never comes sooner, and at most half as late again", () => {
    assert.equal(reconnectDelay(0, 7000, () => 0), 7000);
    assert.equal(reconnectDelay(0, 7000, () => 1), 10500);
    assert.equal(reconnectDelay(6, 7000, () => 0), 30000); // the backoff is longer already
  });
});

describe("retryAfterConnectError", () => {
  it("leaves it to Socket.IO while it still retries, and gives up once signed out", () => {
    assert.equal(retryAfterConnectError(refusal("websocket error"), true), null);
    assert.equal(retryAfterConnectError(refusal("unauthorized"), false), null);
  });

  it("waits the longest for too many tabs or connections", () => {
    assert.equal(retryAfterConnectError(refusal("too_many_sockets"), false), RECONNECT_MAX_MS);
    assert.equal(retryAfterConnectError(refusal("too_many_connections"), false), RECONNECT_MAX_MS);
  });

  it("waits the Retry-After of a rate limit (one second when unsaid)", () => {
    assert.equal(retryAfterConnectError(refusal("rate_limited", { retry_after: 12 }), false), 12000);
    assert.equal(retryAfterConnectError(refusal("rate_limited"), false), 1000);
  });

  it("uses the plain backoff for anything else", () => {
    assert.equal(retryAfterConnectError(refusal("unavailable"), false), 0);
    assert.equal(retryAfterConnectError(null, false), 0);
  });
});

describe("refusedWith", () => {
  it("gives the server's words for too many tabs, connections or attempts", () => {
    assert.equal(refusedWith(refusal("too_many_sockets", { message: "Close a tab." })), "Close a tab.");
    assert.match(refusedWith(refusal("too_many_connections")), /Too many connections/);
    assert.match(refusedWith(refusal("rate_limited")), /tries again later/);
  });

  it("is null for any other error", () => {
    assert.equal(refusedWith(refusal("unauthorized")), null);
    assert.equal(refusedWith(refusal("xhr poll error")), null);
    assert.equal(refusedWith(undefined), null);
  });
});
