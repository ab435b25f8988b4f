// The client_id of a forward and its retries (app/static/js/chat/forward-attempt.js).
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { describe, it } from "node:test";

import { attemptFor, newClientId } from "../../app/static/js/chat/forward-attempt.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newClientId", () => {
  it("is the crypto object's UUID where it makes them", () => {
    assert.equal(newClientId({ randomUUID: () => "made-by-crypto" }), "made-by-crypto");
  });

  it("is a version 4 UUID from random bytes without randomUUID, a new one each time", () => {
    const bytesOnly = { getRandomValues: (array) => webcrypto.getRandomValues(array) };
    const first = newClientId(bytesOnly);
    const second = newClientId(bytesOnly);
    assert.match(first, UUID);
    assert.match(second, UUID);
    assert.notEqual(first, second);
    assert.match(first, /^[0-9A-Za-z_.:-]{1,64}$/); // what the server accepts as a client_id
  });
});

describe("attemptFor", () => {
  let made = 0;
  const makeId = () => `id-${++made}`;

  it("starts an attempt with a fresh client_id and the target's title", () => {
    assert.deepEqual(attemptFor(null, 7, "Weekend plans", makeId), {
      conversationId: 7,
      clientId: "id-1",
      title: "Weekend plans",
    });
  });

  it("keeps the attempt, and its client_id, for the same conversation again", () => {
    const first = attemptFor(null, 7, "Weekend plans", makeId);
    assert.equal(attemptFor(first, 7, "Weekend plans", makeId), first);
  });

  it("makes a new attempt with a new client_id for another conversation", () => {
    const first = attemptFor(null, 7, "Weekend plans", makeId);
    const other = attemptFor(first, 8, "Bob Stone", makeId);
    assert.equal(other.conversationId, 8);
    assert.equal(other.title, "Bob Stone");
    assert.notEqual(other.clientId, first.clientId);
  });
});
