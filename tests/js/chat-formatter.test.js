// The formatter's decisions (app/static/js/chat/formatter.js): mine, may delete, a mention of me,
// a reaction's state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { isMine, mayDelete, mentionState, reactionState } from "../../app/static/js/chat/formatter.js";

const ana = { me: "1", moderates: false, chat: null };
const moderator = { me: "2", moderates: true, chat: null };
const visitor = { me: "", moderates: false, chat: null };

describe("isMine and mayDelete", () => {
  it("knows my own messages", () => {
    assert.equal(isMine("1", ana), true);
    assert.equal(isMine("3", ana), false);
    assert.equal(isMine("", visitor), false);
  });

  it("lets me delete my own, and a moderator anyone's", () => {
    assert.equal(mayDelete("1", ana), true);
    assert.equal(mayDelete("3", ana), false);
    assert.equal(mayDelete("3", moderator), true);
    assert.equal(mayDelete("", visitor), false);
  });
});

describe("mentionState", () => {
  it("is me only for a mention of the reader", () => {
    assert.equal(mentionState("1", ana), "me");
    assert.equal(mentionState("2", ana), "other");
    assert.equal(mentionState("", visitor), "other");
  });
});

describe("reactionState", () => {
  const chip = { emoji: "👍", count: "2", userIds: "3 1", userNames: '["Bob","Ana"]', youName: "You" };

  it("presses my reaction and names me You", () => {
    assert.deepEqual(reactionState(chip, "1"), { pressed: true, title: "Bob, You", label: "👍 2: Bob, You" });
  });

  it("leaves someone else's reaction unpressed", () => {
    assert.deepEqual(reactionState(chip, "4"), { pressed: false, title: "Bob, Ana", label: "👍 2: Bob, Ana" });
    assert.equal(reactionState(chip, "").pressed, false);
  });

  it("survives unreadable names and counts the reactors when the count is missing", () => {
    const state = reactionState({ emoji: "🔥", count: null, userIds: "5 6", userNames: "not json", youName: "You" }, "5");
    assert.deepEqual(state, { pressed: true, title: "You", label: "🔥 2: You" });
  });
});
