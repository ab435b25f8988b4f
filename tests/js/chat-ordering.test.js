// Where the chat's messages go (app/static/js/chat/ordering.js): positions, gaps, runs, day lines.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  afterLoaded,
  beforeLoaded,
  countBelow,
  dayStarts,
  gapBefore,
  inOrder,
  insertPosition,
  runStarts,
  seqRange,
} from "../../app/static/js/chat/ordering.js";

describe("seqRange", () => {
  it("spans the stored seqs and ignores bubbles being sent", () => {
    assert.deepEqual(seqRange([4, null, 2, 9, null]), { low: 2, high: 9 });
  });

  it("is empty for a list of bubbles only", () => {
    assert.deepEqual(seqRange([null, null]), { low: null, high: null });
    assert.deepEqual(seqRange([]), { low: null, high: null });
  });
});

describe("insertPosition", () => {
  it("goes before the first higher seq", () => {
    assert.deepEqual(insertPosition([1, 2, 5, 6], 3), { before: 2 });
    assert.deepEqual(insertPosition([4, 5], 1), { before: 0 });
  });

  it("goes after the last stored one, ahead of the bubbles being sent", () => {
    assert.deepEqual(insertPosition([1, 2, null, null], 3), { after: 1 });
  });

  it("goes before the first bubble when nothing is stored", () => {
    assert.deepEqual(insertPosition([null, null], 7), { before: 0 });
  });

  it("appends to an empty list", () => {
    assert.deepEqual(insertPosition([], 7), { append: true });
  });

  it("skips the item itself when it is moved", () => {
    // The item at index 0 now has seq 8 and must go to the end of the stored ones.
    assert.deepEqual(insertPosition([8, 3, 5, null], 8, 0), { after: 2 });
    // Seq 3 at index 2 among [9, 2, (3), 4]: before the 9 that is higher.
    assert.deepEqual(insertPosition([9, 2, 3, 4], 3, 2), { before: 0 });
  });
});

describe("inOrder", () => {
  it("is true between a lower and a higher seq, bubbles being sent not counting", () => {
    assert.equal(inOrder([1, null, 3, null, 5], 2), true);
    assert.equal(inOrder([1, 3], 1), true);
    assert.equal(inOrder([7], 0), true);
  });

  it("is false after a higher seq or before a lower one", () => {
    assert.equal(inOrder([4, null, 3], 2), false);
    assert.equal(inOrder([3, 2], 0), false);
  });
});

describe("gapBefore", () => {
  it("finds nothing missing for the next seq or an older one", () => {
    assert.equal(gapBefore(6, 5, 5), null);
    assert.equal(gapBefore(3, 5, 5), null);
  });

  it("syncs after the newest held when seqs are missing", () => {
    assert.equal(gapBefore(9, 5, 0), 5);
  });

  it("counts from the first render's last seq when the list holds none", () => {
    assert.equal(gapBefore(1, null, 0), null);
    assert.equal(gapBefore(4, null, 2), 2);
    assert.equal(gapBefore(3, null, 2), null);
  });
});

describe("beforeLoaded", () => {
  it("is true only for seqs older than the loaded history while more is to load", () => {
    assert.equal(beforeLoaded(3, { low: 10, high: 20 }, true), true);
    assert.equal(beforeLoaded(3, { low: 10, high: 20 }, false), false);
    assert.equal(beforeLoaded(12, { low: 10, high: 20 }, true), false);
    assert.equal(beforeLoaded(3, { low: null, high: null }, true), false);
  });
});

describe("afterLoaded", () => {
  it("is true only for seqs newer than a window that stops before the latest", () => {
    assert.equal(afterLoaded(30, 20, true), true);
    assert.equal(afterLoaded(30, 20, false), false);
    assert.equal(afterLoaded(20, 20, true), false);
    assert.equal(afterLoaded(30, null, true), false);
  });
});

describe("countBelow", () => {
  it("counts the seqs after the last one in view, never below zero", () => {
    assert.equal(countBelow(195, 60), 135);
    assert.equal(countBelow(60, 60), 0);
    assert.equal(countBelow(50, 60), 0);
    assert.equal(countBelow(null, 60), 0);
    assert.equal(countBelow(60, null), 0);
  });
});

describe("runStarts", () => {
  it("starts a run at each change of sender and after anything between messages", () => {
    assert.deepEqual(runStarts([null, "u1", "u1", "me", "me", null, "me", "u2"]), [
      false,
      true,
      false,
      true,
      false,
      false,
      true,
      true,
    ]);
  });
});

describe("dayStarts", () => {
  it("opens a day at the first message and at each change of day", () => {
    assert.deepEqual(dayStarts(["2026-01-01", "2026-01-01", "2026-01-02", "2026-01-02"]), [true, false, true, false]);
    assert.deepEqual(dayStarts([]), []);
  });
});
