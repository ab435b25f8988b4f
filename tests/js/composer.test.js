// The composer's pure parts: the token at the caret (caret-token.js), the suggestion list's state
// (list-state.js), drafts with a fake storage (drafts.js), member answers per prefix
// (member-suggest.js), emoji search (emoji/search.js) and moving in the emoji grid (emoji/grid.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { insertAt, replaceToken, tokenAt } from "../../app/static/js/chat/caret-token.js";
import { createDraftStore, throttle } from "../../app/static/js/chat/drafts.js";
import { ListState, step } from "../../app/static/js/chat/list-state.js";
import { memberMatches, PrefixCache } from "../../app/static/js/chat/member-suggest.js";
import { gridMove } from "../../app/static/js/emoji/grid.js";
import { bestShortcode, emojiName, normalise, searchEmoji } from "../../app/static/js/emoji/search.js";

describe("tokenAt", () => {
  it("finds a mention being typed, with an empty query right after @", () => {
    assert.deepEqual(tokenAt("hi @bo", 6), { trigger: "@", query: "bo", start: 3, end: 6 });
    assert.deepEqual(tokenAt("@", 1), { trigger: "@", query: "", start: 0, end: 1 });
    assert.deepEqual(tokenAt("(@ana.l", 7), { trigger: "@", query: "ana.l", start: 1, end: 7 });
  });

  it("takes the rest of the word after the caret into the token", () => {
    assert.deepEqual(tokenAt("@bob and", 2), { trigger: "@", query: "b", start: 0, end: 4 });
  });

  it("ignores an @ inside a word (an address) and text without one", () => {
    assert.equal(tokenAt("ana@example", 11), null);
    assert.equal(tokenAt("hello there", 5), null);
    assert.equal(tokenAt("@bob done", 9), null);
  });

  it("finds a shortcode from two letters on, not a time or a closed one", () => {
    assert.deepEqual(tokenAt("so :smi", 7), { trigger: ":", query: "smi", start: 3, end: 7 });
    assert.deepEqual(tokenAt(":+1", 3), { trigger: ":", query: "+1", start: 0, end: 3 });
    assert.equal(tokenAt("so :s", 5), null);
    assert.equal(tokenAt("at 10:30", 8), null);
    assert.equal(tokenAt(":smile: ok", 6), null);
  });

  it("refuses impossible carets", () => {
    assert.equal(tokenAt("@a", 5), null);
    assert.equal(tokenAt("@a", -1), null);
    assert.equal(tokenAt(null, 0), null);
  });
});

describe("replaceToken and insertAt", () => {
  it("puts the pick in place of the token, then one space, caret after it", () => {
    const text = "hi @bo";
    assert.deepEqual(replaceToken(text, tokenAt(text, 6), "@bob"), { text: "hi @bob ", caret: 8 });
  });

  it("does not double a space that follows", () => {
    const text = "hi @b there";
    assert.deepEqual(replaceToken(text, tokenAt(text, 5), "@bob"), { text: "hi @bob there", caret: 8 });
  });

  it("inserts at a selection", () => {
    assert.deepEqual(insertAt("ab", 1, 1, "👍"), { text: "a👍b", caret: 3 });
    assert.deepEqual(insertAt("abc", 0, 3, "x"), { text: "x", caret: 1 });
  });
});

describe("ListState", () => {
  it("wraps round and is closed without items", () => {
    assert.equal(step(-1, 3, 1), 0);
    assert.equal(step(-1, 3, -1), 2);
    assert.equal(step(2, 3, 1), 0);
    assert.equal(step(0, 3, -1), 2);
    assert.equal(step(0, 0, 1), -1);
    const state = new ListState();
    assert.equal(state.open, false);
    state.show(["a", "b", "c"]);
    assert.equal(state.current(), "a");
    state.move(-1);
    assert.equal(state.current(), "c");
    state.move(1);
    state.move(1);
    assert.equal(state.current(), "b");
    state.close();
    assert.equal(state.open, false);
    assert.equal(state.current(), null);
  });
});

class FakeStorage {
  constructor() {
    this.items = new Map();
    this.full = false;
    this.broken = false;
  }
  getItem(key) {
    if (this.broken) throw new Error("SecurityError");
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    if (this.broken || this.full) throw new Error("QuotaExceededError");
    this.items.set(key, String(value));
  }
  removeItem(key) {
    if (this.broken) throw new Error("SecurityError");
    this.items.delete(key);
  }
}

describe("drafts", () => {
  it("keeps a draft per user and conversation", () => {
    const storage = new FakeStorage();
    const ana = createDraftStore(storage, 1);
    ana.save(7, { text: "hello", replyId: 12 });
    ana.save(8, { text: "other" });
    assert.deepEqual(ana.load(7), { text: "hello", replyId: 12 });
    assert.deepEqual(ana.load(8), { text: "other", replyId: null });
    assert.equal(createDraftStore(storage, 2).load(7), null);
    ana.save(7, { text: "" });
    assert.equal(ana.load(7), null);
    assert.equal(storage.items.size, 1);
  });

  it("clears a draft only while it still holds the text sent", () => {
    const drafts = createDraftStore(new FakeStorage(), 1);
    drafts.save(7, { text: "sent" });
    drafts.clearIf(7, "sent");
    assert.equal(drafts.load(7), null);
    drafts.save(7, { text: "newer" });
    drafts.clearIf(7, "sent");
    assert.equal(drafts.load(7).text, "newer");
  });

  it("forgets old and unreadable drafts", () => {
    const storage = new FakeStorage();
    let now = 1000;
    const drafts = createDraftStore(storage, 1, () => now);
    drafts.save(7, { text: "old" });
    now += 31 * 24 * 3600 * 1000;
    assert.equal(drafts.load(7), null);
    storage.items.set("messanger:draft:1:9", "{not json");
    assert.equal(drafts.load(9), null);
    assert.equal(storage.items.size, 0);
  });

  it("never throws when the storage does", () => {
    const storage = new FakeStorage();
    const drafts = createDraftStore(storage, 1);
    storage.full = true;
    assert.equal(drafts.save(7, { text: "x" }), false);
    storage.broken = true;
    assert.equal(drafts.load(7), null);
    drafts.clearIf(7, "x");
    drafts.clear(7);
    const none = createDraftStore(null, 1);
    assert.equal(none.save(7, { text: "x" }), false);
    assert.equal(none.load(7), null);
  });
});

describe("throttle", () => {
  it("runs the last call once per period, and at once when flushed", () => {
    const queued = [];
    const timers = { set: (fn) => queued.push(fn), clear: () => queued.splice(0) };
    const calls = [];
    const save = throttle((value) => calls.push(value), 100, timers);
    save(1);
    save(2);
    assert.deepEqual(calls, []);
    queued.shift()();
    assert.deepEqual(calls, [2]);
    save(3);
    save.flush();
    assert.deepEqual(calls, [2, 3]);
    save(4);
    save.cancel();
    save.flush();
    assert.deepEqual(calls, [2, 3]);
  });
});

describe("member answers per prefix", () => {
  const bob = { username: "bob", display_name: "Bob Stone" };
  const bea = { username: "bea", display_name: "Beatriz Ruiz" };

  it("matches the username or any word of the name", () => {
    assert.ok(memberMatches(bob, "bo"));
    assert.ok(memberMatches(bob, "sto"));
    assert.ok(memberMatches(bea, "ruiz"));
    assert.ok(!memberMatches(bob, "tone"));
  });

  it("narrows a complete shorter answer here, asks again after a full one", () => {
    const cache = new PrefixCache(3);
    cache.set("b", [bob, bea]);
    assert.deepEqual(cache.get("b"), [bob, bea]);
    assert.deepEqual(cache.get("bo"), [bob]);
    assert.deepEqual(cache.get("bx"), []);
    cache.set("s", [bob, bea, bob]); // as many as the limit: maybe more exist
    assert.equal(cache.get("st"), undefined);
    assert.equal(cache.get("x"), undefined);
  });

  it("holds a bounded number of prefixes", () => {
    const cache = new PrefixCache(3, 2);
    cache.set("aa", [bob, bea, bob]);
    cache.set("bb", [bob, bea, bob]);
    cache.set("cc", [bob, bea, bob]);
    assert.equal(cache.get("aa"), undefined);
    assert.ok(cache.get("cc"));
  });
});

describe("emoji search", () => {
  const rows = [
    ["😄", ["grinning_face_with_smiling_eyes", "smile"]],
    ["😃", ["grinning_face_with_big_eyes", "smiley"]],
    ["👍", ["thumbs_up", "thumbsup", "+1"]],
    ["👎", ["thumbs_down", "thumbsdown", "-1"]],
    ["😼", ["cat_with_wry_smile", "smirk_cat"]],
  ];

  it("ranks an exact shortcode, then a prefix, then a word inside", () => {
    assert.deepEqual(
      searchEmoji(rows, "smile").map((row) => row[0]),
      ["😄", "😃", "😼"],
    );
    assert.deepEqual(
      searchEmoji(rows, "thumbs").map((row) => row[0]),
      ["👍", "👎"],
    );
    assert.deepEqual(
      searchEmoji(rows, "Thumbs Up").map((row) => row[0]),
      ["👍"],
    );
    assert.deepEqual(
      searchEmoji(rows, ":+1:").map((row) => row[0]),
      ["👍"],
    );
    assert.equal(searchEmoji(rows, "").length, rows.length);
    assert.equal(searchEmoji(rows, "", 2).length, 2);
    assert.deepEqual(searchEmoji(rows, "zzz"), []);
    assert.deepEqual(searchEmoji(null, "a"), []);
  });

  it("names and shows the shortcode that answers the query", () => {
    assert.equal(normalise("  :Thumbs Up: "), "thumbs_up");
    assert.equal(emojiName(rows[2]), "thumbs up");
    assert.equal(bestShortcode(rows[0], "smi"), "smile");
    assert.equal(bestShortcode(rows[2], "+"), "+1");
    assert.equal(bestShortcode(rows[2], "zz"), "thumbs_up");
  });
});

describe("gridMove", () => {
  it("moves by one and by a row, stays in the grid, leaves by the top", () => {
    assert.equal(gridMove(0, 20, "ArrowRight", 8), 1);
    assert.equal(gridMove(19, 20, "ArrowRight", 8), 19);
    assert.equal(gridMove(0, 20, "ArrowLeft", 8), 0);
    assert.equal(gridMove(3, 20, "ArrowDown", 8), 11);
    assert.equal(gridMove(13, 20, "ArrowDown", 8), 13);
    assert.equal(gridMove(11, 20, "ArrowUp", 8), 3);
    assert.equal(gridMove(3, 20, "ArrowUp", 8), -1);
    assert.equal(gridMove(5, 20, "Home", 8), 0);
    assert.equal(gridMove(5, 20, "End", 8), 19);
    assert.equal(gridMove(5, 20, "a", 8), null);
    assert.equal(gridMove(0, 0, "ArrowRight", 8), null);
  });
});
