// The chat page's small pure rules: the "Seen by N" count (read-positions.js), the typing line
// (typing-text.js) and the edit window (edit-window.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { editable } from "../../app/static/js/chat/edit-window.js";
import { SeenCounter, advancedReadSeq } from "../../app/static/js/chat/read-positions.js";
import { typingText } from "../../app/static/js/chat/typing-text.js";

describe("SeenCounter", () => {
  it("starts from the page's count for my latest message", () => {
    const counter = new SeenCounter({ seq: 7, count: 3 }, 1);
    assert.equal(counter.count(7), 3);
    assert.equal(new SeenCounter(null, 1).count(7), 0);
  });

  it("adds readers who reach it later, once each, never me, never one counted already", () => {
    const counter = new SeenCounter({ seq: 7, count: 3 }, 1);
    counter.read(4, 7, 2); // had not read it: one more
    counter.read(4, 9, 7); // the same reader again
    counter.read(5, 9, 7); // had read it already: in the page's count
    counter.read(1, 9, 0); // me
    counter.read(6, 6, 1); // not yet up to it
    assert.equal(counter.count(7), 4);
  });

  it("counts a message sent after the page was made from the read events alone", () => {
    const counter = new SeenCounter({ seq: 7, count: 3 }, 1);
    counter.read(4, 10, 7);
    counter.read(5, 12, 0);
    counter.read(6, 9, 7);
    assert.equal(counter.count(10), 2);
    assert.equal(counter.count(13), 0);
  });
});

describe("advancedReadSeq", () => {
  it("never goes back", () => {
    assert.equal(advancedReadSeq(5, 8), 8);
    assert.equal(advancedReadSeq(8, 5), 8);
    assert.equal(advancedReadSeq(null, "3"), 3);
  });
});

describe("typingText", () => {
  it("names up to two and counts the rest", () => {
    assert.equal(typingText([]), "");
    assert.equal(typingText(["Ana"]), "Ana is typing…");
    assert.equal(typingText(["Ana", "Bob"]), "Ana and Bob are typing…");
    assert.equal(typingText(["Ana", "Bob", "Cy"]), "Ana, Bob and 1 other are typing…");
    assert.equal(typingText(["Ana", "Bob", "Cy", "Di"]), "Ana, Bob and 2 others are typing…");
  });
});

describe("editable", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  const mine = { mine: true, state: "sent", deleted: false, createdAt: new Date(now - 60_000) };

  it("lets me edit my stored message within the window", () => {
    assert.equal(editable(mine, 15 * 60_000, now), true);
  });

  it("refuses once the window closed, and for others', pending or deleted messages", () => {
    assert.equal(editable(mine, 30_000, now), false);
    assert.equal(editable({ ...mine, mine: false }, 15 * 60_000, now), false);
    assert.equal(editable({ ...mine, state: "pending" }, 15 * 60_000, now), false);
    assert.equal(editable({ ...mine, deleted: true }, 15 * 60_000, now), false);
    assert.equal(editable({ ...mine, createdAt: null }, 15 * 60_000, now), false);
  });
});
