// A chat pane's scope (app/static/js/chat/scope.js), the switcher's rules
// (app/static/js/panes/filter.js) and the bus's count (app/static/js/realtime/bus.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createScope } from "../../app/static/js/chat/scope.js";
import { fold, matching, moved } from "../../app/static/js/panes/filter.js";
import { createBus } from "../../app/static/js/realtime/bus.js";

describe("createScope", () => {
  it("releases what was added, last first, once", () => {
    const scope = createScope();
    const released = [];
    scope.add(() => released.push("a"));
    scope.add(() => released.push("b"));
    scope.stop();
    scope.stop();
    assert.deepEqual(released, ["b", "a"]);
    assert.equal(scope.stopped, true);
    assert.equal(scope.signal.aborted, true);
  });

  it("unsubscribes from a bus: after many mounts one handler hears an event", () => {
    const bus = createBus();
    const heard = [];
    let scope = null;
    for (let mount = 0; mount < 10; mount += 1) {
      if (scope) scope.stop();
      scope = createScope();
      scope.add(bus.on("message", (m) => heard.push(m)));
    }
    assert.equal(bus.count("message"), 1);
    bus.dispatch("message", 7);
    assert.deepEqual(heard, [7]);
    scope.stop();
    assert.equal(bus.count("message"), 0);
  });

  it("clears its timers and releases at once what is added after stop", () => {
    const scope = createScope();
    let ran = 0;
    scope.interval(() => (ran += 1), 1);
    scope.timeout(() => (ran += 1), 1);
    let disconnected = false;
    scope.observe({ disconnect: () => (disconnected = true) });
    scope.stop();
    let late = false;
    scope.add(() => (late = true));
    assert.equal(disconnected, true);
    assert.equal(late, true);
    return new Promise((resolve) => setTimeout(resolve, 10)).then(() => assert.equal(ran, 0));
  });

  it("stops a DOM-like listener through its signal", () => {
    const target = new EventTarget();
    const scope = createScope();
    let heard = 0;
    target.addEventListener("ping", () => (heard += 1), { signal: scope.signal });
    target.dispatchEvent(new Event("ping"));
    scope.stop();
    target.dispatchEvent(new Event("ping"));
    assert.equal(heard, 1);
  });
});

describe("the switcher's filter", () => {
  const list = [
    { id: 1, title: "Bob Stone", username: "bob1" },
    { id: 2, title: "Zoë Brown", username: "zoe" },
    { id: 3, title: "Team Bob", username: null },
    { id: 4, title: "Cyd Lima", username: "cyd" },
  ];

  it("folds case and accents", () => {
    assert.equal(fold("ZOË"), "zoe");
  });

  it("matches words of the title or @username, titles starting with the query first", () => {
    assert.deepEqual(
      matching(list, "bob").map((c) => c.id),
      [1, 3],
    );
    assert.deepEqual(
      matching(list, "  zoe ").map((c) => c.id),
      [2],
    );
    assert.deepEqual(
      matching(list, "@cyd").map((c) => c.id),
      [4],
    );
    assert.deepEqual(
      matching(list, "team b").map((c) => c.id),
      [3],
    );
    assert.deepEqual(matching(list, "nobody"), []);
  });

  it("lists everything for an empty query, up to the limit", () => {
    assert.equal(matching(list, "").length, 4);
    assert.equal(matching(list, "", 2).length, 2);
    assert.deepEqual(matching(null, "x"), []);
  });

  it("moves with wrapping", () => {
    assert.equal(moved(0, 1, 3), 1);
    assert.equal(moved(2, 1, 3), 0);
    assert.equal(moved(0, -1, 3), 2);
    assert.equal(moved(-1, 1, 3), 0);
    assert.equal(moved(-1, -1, 3), 2);
    assert.equal(moved(0, 1, 0), -1);
  });
});
