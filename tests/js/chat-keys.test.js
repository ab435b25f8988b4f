// The chat page's arrow-key rules (keys.js): the message list, the reaction picker's grid, the
// context-menu keys and a long-press that moved too far.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { gridMove, isMenuKey, listMove, movedTooFar } from "../../app/static/js/chat/keys.js";

describe("listMove", () => {
  it("steps up and down and stops at the ends", () => {
    assert.equal(listMove("ArrowDown", 0, 3), 1);
    assert.equal(listMove("ArrowDown", 2, 3), 2);
    assert.equal(listMove("ArrowUp", 1, 3), 0);
    assert.equal(listMove("ArrowUp", 0, 3), 0);
  });

  it("jumps with Home and End", () => {
    assert.equal(listMove("Home", 2, 5), 0);
    assert.equal(listMove("End", 0, 5), 4);
  });

  it("starts from nowhere (-1) and ignores other keys and empty lists", () => {
    assert.equal(listMove("ArrowDown", -1, 3), 0);
    assert.equal(listMove("ArrowUp", -1, 3), 0);
    assert.equal(listMove("Enter", 1, 3), null);
    assert.equal(listMove("ArrowDown", 0, 0), null);
  });

  it("uses Left and Right for a row", () => {
    assert.equal(listMove("ArrowRight", 0, 3, { horizontal: true }), 1);
    assert.equal(listMove("ArrowLeft", 1, 3, { horizontal: true }), 0);
    assert.equal(listMove("ArrowDown", 0, 3, { horizontal: true }), null);
  });
});

describe("gridMove", () => {
  // 10 cells, 4 wide: rows 0-3, 4-7, 8-9.
  it("moves by one sideways, over the row's ends", () => {
    assert.equal(gridMove("ArrowRight", 3, 10, 4), 4);
    assert.equal(gridMove("ArrowLeft", 4, 10, 4), 3);
    assert.equal(gridMove("ArrowLeft", 0, 10, 4), 0);
    assert.equal(gridMove("ArrowRight", 9, 10, 4), 9);
  });

  it("moves by a row up and down, to the last cell of a shorter last row", () => {
    assert.equal(gridMove("ArrowDown", 1, 10, 4), 5);
    assert.equal(gridMove("ArrowDown", 7, 10, 4), 9);
    assert.equal(gridMove("ArrowUp", 5, 10, 4), 1);
  });

  it("says null to leave the grid above the first row and below the last", () => {
    assert.equal(gridMove("ArrowUp", 2, 10, 4), null);
    assert.equal(gridMove("ArrowDown", 9, 10, 4), null);
  });

  it("goes to the row's ends with Home and End, the grid's with Ctrl", () => {
    assert.equal(gridMove("Home", 6, 10, 4), 4);
    assert.equal(gridMove("End", 4, 10, 4), 7);
    assert.equal(gridMove("End", 8, 10, 4), 9);
    assert.equal(gridMove("Home", 6, 10, 4, { ctrl: true }), 0);
    assert.equal(gridMove("End", 1, 10, 4, { ctrl: true }), 9);
  });

  it("ignores other keys", () => {
    assert.equal(gridMove("Enter", 1, 10, 4), null);
  });
});

describe("isMenuKey", () => {
  it("knows the context-menu key and Shift+F10", () => {
    assert.equal(isMenuKey({ key: "ContextMenu" }), true);
    assert.equal(isMenuKey({ key: "F10", shiftKey: true }), true);
    assert.equal(isMenuKey({ key: "F10", shiftKey: false }), false);
    assert.equal(isMenuKey({ key: "Enter" }), false);
  });
});

describe("movedTooFar", () => {
  it("allows a finger's wobble, not a scroll", () => {
    assert.equal(movedTooFar({ x: 10, y: 10 }, { x: 16, y: 17 }), false);
    assert.equal(movedTooFar({ x: 10, y: 10 }, { x: 10, y: 30 }), true);
  });
});
