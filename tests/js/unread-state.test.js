// Unread totals and their bookkeeping (app/static/js/realtime/unread-state.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { UnreadCounts, badgeLabel, badgeText, titleWith } from "../../app/static/js/realtime/unread-state.js";

function row(id, unread, { mentions = 0, muted = false, lastSeq = 0 } = {}) {
  return { id, unread_count: unread, unread_mentions: mentions, muted, last_seq: lastSeq };
}

describe("UnreadCounts.total", () => {
  it("is the server-rendered fallback until the conversations are known", () => {
    const counts = new UnreadCounts();
    assert.equal(counts.known, false);
    assert.equal(counts.total(4), 4);
    assert.equal(counts.count(1), 0);
  });

  it("counts conversations with unread messages, not messages", () => {
    const counts = new UnreadCounts();
    counts.seed([row(1, 5), row(2, 1), row(3, 0)], true);
    assert.equal(counts.total(99), 2);
  });

  it("counts a muted conversation only while it holds an unread mention of me", () => {
    const counts = new UnreadCounts();
    counts.seed([row(1, 3, { muted: true }), row(2, 2, { muted: true, mentions: 1 }), row(3, 1)], true);
    assert.equal(counts.total(), 2);
    counts.apply({ type: "read", key: "2", seq: 10 });
    assert.equal(counts.total(), 1);
    counts.apply({ type: "message", key: "1", seq: 11, mention: true });
    assert.equal(counts.total(), 2);
  });

  it("follows muting and unmuting", () => {
    const counts = new UnreadCounts();
    counts.seed([row(7, 2)], true);
    counts.setMuted("7", true);
    assert.equal(counts.total(), 0);
    counts.setMuted("7", false);
    assert.equal(counts.total(), 1);
  });
});

describe("UnreadCounts ops", () => {
  it("adds a message (and its mention) and clears on read", () => {
    const counts = new UnreadCounts();
    counts.seed([row(1, 0)], true);
    assert.equal(counts.apply({ type: "message", key: "1", seq: 4, mention: true }), true);
    counts.apply({ type: "message", key: "1", seq: 5, mention: false });
    assert.deepEqual(counts.event("1", counts.total()), { conversation_id: 1, count: 2, mentions: 1, muted: false, total: 1 });
    counts.apply({ type: "read", key: "1", seq: 5 });
    assert.equal(counts.count(1), 0);
    assert.equal(counts.mentions(1), 0);
  });

  it("a complete seed forgets conversations it does not list; a partial one keeps them", () => {
    const counts = new UnreadCounts();
    counts.seed([row(1, 1), row(2, 1)], true);
    counts.seed([row(3, 1)], false);
    assert.deepEqual(counts.keys().sort(), ["1", "2", "3"]);
    counts.seed([row(3, 1)], true);
    assert.deepEqual(counts.keys(), ["3"]);
  });

  it("replays the ops recorded while the list was on its way against its last_seq", () => {
    const counts = new UnreadCounts();
    counts.startRecording();
    counts.record({ type: "message", key: "1", seq: 8, mention: false }); // the list already counts it
    counts.record({ type: "message", key: "1", seq: 9, mention: true }); // after the list was read
    counts.record({ type: "read", key: "2", seq: 3 }); // a read older than the list's last message
    counts.record({ type: "read", key: "3", seq: 6 }); // read up to the list's last message
    const serverLast = counts.replaceFromServer([
      row(1, 2, { lastSeq: 8 }),
      row(2, 1, { lastSeq: 4 }),
      row(3, 4, { lastSeq: 6 }),
    ]);
    assert.equal(serverLast.get("1"), 8);
    assert.equal(counts.count(1), 3);
    assert.equal(counts.mentions(1), 1);
    assert.equal(counts.count(2), 1);
    assert.equal(counts.count(3), 0);
    assert.equal(counts.total(), 2);
  });

  it("records nothing once stopped, and nothing before it started", () => {
    const counts = new UnreadCounts();
    counts.record({ type: "message", key: "1", seq: 9 });
    counts.startRecording();
    counts.stopRecording();
    counts.record({ type: "message", key: "1", seq: 10 });
    counts.replaceFromServer([row(1, 0, { lastSeq: 2 })]);
    assert.equal(counts.count(1), 0);
  });
});

describe("badge words", () => {
  it("shows the number, 99+ past 99, and says it for screen readers and the title", () => {
    assert.equal(badgeText(7), "7");
    assert.equal(badgeText(120), "99+");
    assert.equal(badgeLabel(0), "");
    assert.equal(badgeLabel(1), " (1 unread conversation)");
    assert.equal(badgeLabel(3), " (3 unread conversations)");
    assert.equal(titleWith(0, "Messanger"), "Messanger");
    assert.equal(titleWith(150, "Chat"), "(99+) Chat");
  });
});
