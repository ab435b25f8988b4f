// The event bus (bus.js) and what a message says about me (message-facts.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createBus } from "../../app/static/js/realtime/bus.js";
import { mentionsMe, notificationFor, sentBy } from "../../app/static/js/realtime/message-facts.js";

describe("createBus", () => {
  it("calls subscribers in order with the event's arguments until they unsubscribe", () => {
    const { on, dispatch } = createBus();
    const heard = [];
    const off = on("message", (m, meta) => heard.push(["a", m, meta]));
    on("message", (m) => heard.push(["b", m]));
    dispatch("message", 1, { synced: true });
    off();
    off(); // twice is harmless
    dispatch("message", 2);
    dispatch("typing", 3);
    assert.deepEqual(heard, [["a", 1, { synced: true }], ["b", 1], ["b", 2]]);
  });

  it("reports a throwing subscriber and still calls the others", () => {
    const reported = [];
    const { on, dispatch } = createBus((error) => reported.push(error.message));
    const heard = [];
    on("read", () => {
      throw new Error("broken");
    });
    on("read", (event) => heard.push(event));
    dispatch("read", "x");
    assert.deepEqual(reported, ["broken"]);
    assert.deepEqual(heard, ["x"]);
  });

  it("lets a subscriber unsubscribe while the event is being dispatched", () => {
    const { on, dispatch } = createBus();
    const heard = [];
    const off = on("e", () => {
      heard.push("first");
      off();
    });
    on("e", () => heard.push("second"));
    dispatch("e");
    dispatch("e");
    assert.deepEqual(heard, ["first", "second", "second"]);
  });
});

describe("message facts", () => {
  const message = {
    conversation_id: 3,
    seq: 12,
    body: "x".repeat(150),
    sender: { id: 2, display_name: "Alice", username: "alice", avatar_url: "/a.png" },
    mentions: [{ id: 9, username: "bob" }],
  };

  it("knows who sent a message and whom it mentions", () => {
    assert.equal(sentBy(message, 2), true);
    assert.equal(sentBy(message, 9), false);
    assert.equal(sentBy({ sender: null }, null), false);
    assert.equal(mentionsMe(message, 9), true);
    assert.equal(mentionsMe(message, 2), false);
    assert.equal(mentionsMe({}, 9), false);
  });

  it("names the sender with the @username and cuts the body to 100 characters", () => {
    const { title, options } = notificationFor(message);
    assert.equal(title, "Alice (@alice)");
    assert.equal(options.body.length, 100);
    assert.equal(options.tag, "messanger-3-12");
    assert.equal(options.icon, "/a.png");
    assert.equal(notificationFor({ conversation_id: 1, seq: 1 }).title, "New message");
  });
});
