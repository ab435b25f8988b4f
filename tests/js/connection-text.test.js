// What every signed-in page says about the connection (app/static/js/realtime/connection-text.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { dispatch } from "../../app/static/js/realtime/bus.js";
import {
  RECONNECTING,
  SIGNED_OUT,
  connectErrorText,
  onConnectionText,
} from "../../app/static/js/realtime/connection-text.js";

describe("connectErrorText", () => {
  it("says signed out, the server's refusal, or reconnecting", () => {
    assert.equal(connectErrorText({ message: "unauthorized" }), SIGNED_OUT);
    assert.equal(connectErrorText({ message: "too_many_sockets", data: { message: "Too many tabs." } }), "Too many tabs.");
    assert.equal(connectErrorText({ message: "unavailable" }), RECONNECTING);
    assert.equal(connectErrorText(null), RECONNECTING);
  });
});

describe("onConnectionText", () => {
  it("follows the socket, saying each change once", () => {
    const said = [];
    onConnectionText((text) => said.push(text));
    dispatch("connect");
    dispatch("disconnect", "transport close");
    dispatch("connect_error", { message: "unavailable" });
    dispatch("connect");
    assert.deepEqual(said, ["", RECONNECTING, ""]);
  });
});
