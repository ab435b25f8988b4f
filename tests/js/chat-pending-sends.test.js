// Messages being sent, one entry per client_id (app/static/js/chat/pending-sends.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  GIVE_UP_MS,
  MAX_ATTEMPTS,
  MAX_WAIT_MS,
  PendingSends,
  newClientId,
  retryDelay,
  sendFailure,
  sendOutcome,
} from "../../app/static/js/chat/pending-sends.js";

describe("PendingSends", () => {
  it("sends with the same client_id every time, reply and file included", () => {
    const sends = new PendingSends();
    sends.add("c1", { body: "hi", reply: { id: 7, quote: null }, attachment: { id: 3 } });
    assert.equal(sends.state("c1"), "pending");
    const first = sends.send("c1", 42);
    assert.deepEqual(first, { conversation_id: 42, body: "hi", client_id: "c1", reply_to_id: 7, attachment_id: 3 });
    sends.fail("c1", "You are offline.", true);
    assert.deepEqual(sends.send("c1", 42), first);
  });

  it("leaves out a reply and a file it does not have", () => {
    const sends = new PendingSends();
    sends.add("c2", { body: "plain" });
    assert.deepEqual(sends.send("c2", 1), { conversation_id: 1, body: "plain", client_id: "c2" });
  });

  it("goes pending -> failed -> pending on retry, and is gone once stored", () => {
    const sends = new PendingSends();
    sends.add("c1", { body: "x" });
    assert.equal(sends.fail("c1", "The server did not answer.", true), true);
    assert.equal(sends.state("c1"), "failed");
    assert.deepEqual(sends.failure("c1"), { text: "The server did not answer.", retryable: true });
    sends.send("c1", 1);
    assert.equal(sends.state("c1"), "pending");
    assert.equal(sends.failure("c1"), null);
    sends.settle("c1");
    assert.equal(sends.state("c1"), null);
    assert.equal(sends.has("c1"), false);
    assert.equal(sends.send("c1", 1), null);
  });

  it("ignores a failure that comes after the message was stored", () => {
    const sends = new PendingSends();
    sends.add("c1", { body: "x" });
    sends.settle("c1");
    assert.equal(sends.fail("c1", "late", true), false);
    assert.equal(sends.state("c1"), null);
  });

  it("lists only the failed messages worth retrying, in the order they were written", () => {
    const sends = new PendingSends();
    for (const id of ["a", "b", "c", "d"]) sends.add(id, { body: id });
    sends.fail("a", "offline", true);
    sends.fail("b", "Too long.", false);
    sends.fail("d", "offline", true);
    assert.deepEqual(sends.retryable(), ["a", "d"]);
  });
});

describe("sendOutcome and sendFailure", () => {
  it("takes a stored message from a good ack", () => {
    const message = { id: 1, seq: 1 };
    assert.deepEqual(sendOutcome({ ok: true, message }), { ok: true, message });
  });

  it("retries refusals that may pass later, not the others", () => {
    for (const error of ["internal", "rate_limited", "unavailable"]) {
      assert.equal(sendOutcome({ ok: false, error, message: "later" }).retryable, true, error);
    }
    assert.deepEqual(sendOutcome({ ok: false, error: "invalid", message: "Too long." }), {
      ok: false,
      text: "Too long.",
      retryable: false,
    });
    assert.deepEqual(sendOutcome(null), { ok: false, text: "Something went wrong.", retryable: false });
  });

  it("says why there was no answer", () => {
    assert.deepEqual(sendFailure(new Error("timeout")), {
      ok: false,
      text: "The server did not answer.",
      retryable: true,
      retryAfter: 1,
    });
    assert.deepEqual(sendFailure(new Error("disconnected")), { ok: false, text: "You are offline.", retryable: true });
  });
});

describe("retrying on its own", () => {
  const never = () => 0;

  it("waits out rate_limited and unavailable for the server's retry_after, spread a little later", () => {
    const limited = sendOutcome({ ok: false, error: "rate_limited", message: "slow down", retry_after: 3 });
    assert.equal(limited.retryAfter, 3);
    assert.equal(retryDelay(limited, { attempts: 1, elapsedMs: 0 }, never), 3000);
    assert.equal(retryDelay(limited, { attempts: 1, elapsedMs: 0 }, () => 1), 3750);
    const down = sendOutcome({ ok: false, error: "unavailable", message: "later" });
    assert.equal(retryDelay(down, { attempts: 1, elapsedMs: 0 }, never), 1000);
    const huge = sendOutcome({ ok: false, error: "rate_limited", retry_after: 3600 });
    assert.equal(retryDelay(huge, { attempts: 1, elapsedMs: 0 }, never), MAX_WAIT_MS);
  });

  it("shows the others failed at once: a real refusal, internal, offline", () => {
    for (const ack of [{ ok: false, error: "invalid" }, { ok: false, error: "internal" }, null]) {
      assert.equal(retryDelay(sendOutcome(ack), { attempts: 1, elapsedMs: 0 }), null);
    }
    assert.equal(retryDelay(sendFailure(new Error("disconnected")), { attempts: 1, elapsedMs: 0 }), null);
    assert.equal(retryDelay(sendFailure(new Error("timeout")), { attempts: 1, elapsedMs: 0 }, never), 1000);
  });

  it("gives up after many tries or two minutes", () => {
    const limited = sendOutcome({ ok: false, error: "rate_limited", retry_after: 1 });
    assert.equal(retryDelay(limited, { attempts: MAX_ATTEMPTS, elapsedMs: 0 }), null);
    assert.equal(retryDelay(limited, { attempts: 2, elapsedMs: GIVE_UP_MS }), null);
  });

  it("counts tries and time from the first send, anew after a failure", () => {
    const sends = new PendingSends();
    const limited = sendOutcome({ ok: false, error: "rate_limited", retry_after: 1 });
    sends.add("c1", { body: "x" });
    sends.send("c1", 1, 1000);
    sends.send("c1", 1, 2000);
    assert.equal(sends.retryDelay("c1", limited, 1000 + GIVE_UP_MS, never), null);
    assert.equal(sends.retryDelay("c1", limited, 5000, never), 1000);
    sends.fail("c1", "Not sent.", true);
    sends.send("c1", 1, 1000 + GIVE_UP_MS);
    assert.equal(sends.retryDelay("c1", limited, 2000 + GIVE_UP_MS, never), 1000);
    assert.equal(sends.retryDelay("gone", limited), null);
  });
});

describe("newClientId", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("is a version 4 UUID, different each time", () => {
    const a = newClientId();
    assert.match(a, uuid);
    assert.notEqual(a, newClientId());
  });

  it("builds one from random bytes when randomUUID is missing", () => {
    const id = newClientId({ getRandomValues: (bytes) => bytes.fill(0xff) });
    assert.equal(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    assert.match(newClientId({}), uuid);
  });
});
