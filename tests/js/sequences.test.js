// Sync bookkeeping: last seq per conversation, each message once, sync rounds
// (app/static/js/realtime/sequences.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Sequences, parseConversationState, syncRounds } from "../../app/static/js/realtime/sequences.js";

function message(conversationId, seq) {
  return { conversation_id: conversationId, seq, body: "m" + seq };
}

describe("Sequences", () => {
  it("never lets a conversation's last seq go back", () => {
    const sequences = new Sequences();
    sequences.track(5, 10);
    sequences.track("5", 7);
    sequences.track(5, "not a number");
    assert.equal(sequences.lastSeq(5), 10);
    sequences.track(5, 12);
    assert.equal(sequences.lastSeq("5"), 12);
    assert.equal(sequences.lastSeq(6), 0);
  });

  it("starts a conversation from a list's last_seq only when it knows nothing of it", () => {
    const sequences = new Sequences();
    sequences.track(1, 3);
    sequences.know(1, 9); // the page holds up to 3: the sync must still ask for 4..9
    sequences.know(2, 9);
    assert.deepEqual(sequences.after(), { 1: 3, 2: 9 });
  });

  it("seeds from the page's conversation-state", () => {
    const sequences = new Sequences();
    sequences.seed(parseConversationState('{"4": 17, "8": 0}'));
    assert.deepEqual(sequences.after(), { 4: 17, 8: 0 });
    assert.deepEqual(parseConversationState("{broken"), {});
    assert.deepEqual(parseConversationState("[1, 2]"), {});
    assert.deepEqual(parseConversationState(""), {});
  });

  it("hands each message on once and tracks it", () => {
    const sequences = new Sequences();
    assert.equal(sequences.firstSight(message(3, 1)), true);
    assert.equal(sequences.firstSight(message(3, 1)), false);
    assert.equal(sequences.firstSight(message(4, 1)), true);
    assert.equal(sequences.lastSeq(3), 1);
  });

  it("refuses a message without a conversation or a numeric seq", () => {
    const sequences = new Sequences();
    assert.equal(sequences.firstSight(null), false);
    assert.equal(sequences.firstSight({ seq: 1 }), false);
    assert.equal(sequences.firstSight({ conversation_id: 1, seq: "1" }), false);
    assert.deepEqual(sequences.after(), {});
  });

  it("forgets what it saw past its limit, keeping the last seq", () => {
    const sequences = new Sequences(2);
    sequences.firstSight(message(1, 1));
    sequences.firstSight(message(1, 2));
    sequences.firstSight(message(1, 3)); // the set starts over here
    assert.equal(sequences.firstSight(message(1, 3)), false);
    assert.equal(sequences.firstSight(message(1, 1)), true);
    assert.equal(sequences.lastSeq(1), 3);
  });
});

describe("syncRounds", () => {
  it("asks again after the newest seq while the server has more", async () => {
    const asked = [];
    const answers = [
      { ok: true, messages: [message(1, 4), message(1, 5)], has_more: true },
      { ok: true, messages: [message(1, 6)], has_more: false },
    ];
    const delivered = [];
    const all = await syncRounds(
      { 1: 3 },
      async (after) => {
        asked.push(after);
        return answers.shift();
      },
      (m) => delivered.push(m.seq),
    );
    assert.deepEqual(asked, [{ 1: 3 }, { 1: 5 }]);
    assert.deepEqual(delivered, [4, 5, 6]);
    assert.equal(all.length, 3);
  });

  it("never moves a cursor back for an older message, and stops without progress", async () => {
    const asked = [];
    await syncRounds(
      { 1: 10 },
      async (after) => {
        asked.push(after);
        return { ok: true, messages: [message(1, 9), message(2, 50)], has_more: true };
      },
      () => {},
    );
    assert.deepEqual(asked, [{ 1: 10 }]); // no progress for an asked conversation: one round
  });

  it("gives up after the round limit", async () => {
    let seq = 0;
    let rounds = 0;
    await syncRounds(
      { 1: 0 },
      async () => {
        rounds += 1;
        seq += 1;
        return { ok: true, messages: [message(1, seq)], has_more: true };
      },
      () => {},
      3,
    );
    assert.equal(rounds, 3);
  });

  it("asks nothing when nothing is tracked", async () => {
    let called = false;
    const all = await syncRounds({}, async () => (called = true), () => {});
    assert.deepEqual(all, []);
    assert.equal(called, false);
  });

  it("rejects with the server's words when it refuses", async () => {
    await assert.rejects(
      syncRounds({ 1: 0 }, async () => ({ ok: false, message: "Too many requests." }), () => {}),
      { message: "Too many requests." },
    );
    await assert.rejects(syncRounds({ 1: 0 }, async () => null, () => {}), { message: "sync failed" });
  });
});
