// Where the conversation list's rows go (app/static/js/conversation-list/order.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  afterMessage,
  arrange,
  countText,
  placeAfterActivity,
  placeAfterSettings,
  sectionOf,
  split,
  visibility,
  withSettings,
} from "../../app/static/js/conversation-list/order.js";

function entry(id, flags = {}) {
  return { id, pinned: false, archived: false, muted: false, lastSeq: 1, ...flags };
}

// Two pins (p1 the newest pin), three by activity; two archived.
function home() {
  return {
    list: [entry("p1", { pinned: true }), entry("p2", { pinned: true }), entry("a"), entry("b"), entry("c")],
    archive: [entry("x", { archived: true }), entry("y", { archived: true, muted: true })],
  };
}

const ids = (sections) => ({ list: sections.list.map((e) => e.id), archive: sections.archive.map((e) => e.id) });

function message(sections, id, seq) {
  const current = [...sections.list, ...sections.archive].find((e) => e.id === id);
  const { entry: next, fresh } = afterMessage(current, { conversation_id: id, seq });
  if (!fresh) return sections;
  return arrange(sections, next, placeAfterActivity(next, sections));
}

describe("countText", () => {
  it("writes the number, 99+ past 99, and 0 for none", () => {
    assert.deepEqual([0, 1, 42, 99, 100, 5000, -3, undefined, NaN].map(countText), [
      "0", "1", "42", "99", "99+", "99+", "0", "0", "0",
    ]);
  });
});

describe("split", () => {
  it("keeps the server's order within each section", () => {
    const answer = [
      { id: 1, pinned: true, archived: false },
      { id: 2, archived: true },
      { id: 3, archived: false },
      { id: 4, archived: true },
    ];
    const parts = split(answer);
    assert.deepEqual(parts.list.map((c) => c.id), [1, 3]);
    assert.deepEqual(parts.archive.map((c) => c.id), [2, 4]);
    assert.equal(sectionOf({ archived: true }), "archive");
  });
});

describe("a message", () => {
  it("puts its conversation first after the pinned ones", () => {
    assert.deepEqual(ids(message(home(), "c", 2)).list, ["p1", "p2", "c", "a", "b"]);
  });

  it("leaves the first unpinned one where it is", () => {
    assert.equal(placeAfterActivity(entry("a"), home()), null);
  });

  it("leaves a pinned one among the pins, in its place", () => {
    const sections = home();
    assert.equal(placeAfterActivity(afterMessage(sections.list[1], { seq: 5 }).entry, sections), null);
    assert.deepEqual(ids(message(sections, "p2", 5)).list, ["p1", "p2", "a", "b", "c"]);
  });

  it("brings an archived conversation back, first after the pins", () => {
    const after = message(home(), "x", 2);
    assert.deepEqual(ids(after), { list: ["p1", "p2", "x", "a", "b", "c"], archive: ["y"] });
    assert.equal(after.list[2].archived, false);
  });

  it("leaves a muted archived one archived, first in the archive", () => {
    const after = message(home(), "y", 2);
    assert.deepEqual(ids(after).archive, ["y", "x"]);
    assert.equal(after.archive[0].archived, true);
  });

  it("older than the one shown (a gap being filled) changes nothing", () => {
    const old = entry("c", { lastSeq: 9 });
    assert.deepEqual(afterMessage(old, { seq: 3 }), { entry: old, fresh: false });
    assert.deepEqual(afterMessage(old, { seq: 9 }).fresh, true);
    assert.equal(afterMessage(old, { seq: 10 }).entry.lastSeq, 10);
  });

  it("without pins goes first", () => {
    const sections = { list: [entry("a"), entry("b")], archive: [] };
    assert.deepEqual(ids(message(sections, "b", 2)).list, ["b", "a"]);
  });
});

describe("my settings", () => {
  function change(sections, id, settings) {
    const before = [...sections.list, ...sections.archive].find((e) => e.id === id);
    const next = withSettings(before, settings);
    return arrange(sections, next, placeAfterSettings(before, next, sections));
  }

  it("a new pin goes first", () => {
    assert.deepEqual(ids(change(home(), "b", { pinned: true })).list, ["b", "p1", "p2", "a", "c"]);
  });

  it("a pinned archived one goes to the archive's top, not the list", () => {
    const after = change(home(), "b", { pinned: true, archived: true });
    assert.deepEqual(ids(after), { list: ["p1", "p2", "a", "c"], archive: ["b", "x", "y"] });
  });

  it("unarchiving brings it back after the pins", () => {
    assert.deepEqual(ids(change(home(), "y", { muted: true })), {
      list: ["p1", "p2", "y", "a", "b", "c"],
      archive: ["x"],
    });
  });

  it("unpinning or muting leaves the row in place until the server's order comes", () => {
    const unpinned = change(home(), "p1", { pinned: false });
    assert.deepEqual(ids(unpinned).list, ["p1", "p2", "a", "b", "c"]);
    assert.equal(unpinned.list[0].pinned, false);
    const muted = change(home(), "b", { muted: true });
    assert.deepEqual(ids(muted).list, ["p1", "p2", "a", "b", "c"]);
    assert.equal(muted.list[3].muted, true);
  });
});

describe("visibility", () => {
  it("shows the note only when nothing is listed or archived", () => {
    assert.deepEqual(visibility(0, 0), { list: false, archive: false, empty: true });
    assert.deepEqual(visibility(2, 0), { list: true, archive: false, empty: false });
    assert.deepEqual(visibility(0, 1), { list: false, archive: true, empty: false });
  });
});
