// The composer's upload rules and the full-size view's (app/static/js/attachments/rules.js,
// app/static/js/attachments/viewer-rules.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  EMPTY,
  FAILED,
  TOO_LARGE,
  carriesFiles,
  checkFile,
  chipName,
  parseBody,
  pastedPicture,
  refusalText,
  sendingPercent,
  storedFrom,
  uploadName,
} from "../../app/static/js/attachments/rules.js";
import { closesViewer, opensViewer, viewerContent } from "../../app/static/js/attachments/viewer-rules.js";

const TEN_MB = 10 * 1024 * 1024;

describe("checkFile", () => {
  it("refuses an empty file and one over the limit in the server's words", () => {
    assert.equal(checkFile({ size: 0 }, TEN_MB), EMPTY);
    assert.equal(checkFile({ size: TEN_MB + 1 }, TEN_MB, "Files can be at most 10 MB."), "Files can be at most 10 MB.");
    assert.equal(checkFile({ size: TEN_MB + 1 }, TEN_MB), TOO_LARGE);
  });

  it("sends one at the limit, and any size when no limit is known", () => {
    assert.equal(checkFile({ size: TEN_MB }, TEN_MB), null);
    assert.equal(checkFile({ size: 1 }, TEN_MB), null);
    assert.equal(checkFile({ size: TEN_MB * 5 }, 0), null);
  });
});

describe("refusalText", () => {
  it("prefers the server's message", () => {
    const body = parseBody('{"ok": false, "error": "not_allowed", "message": "HTML, SVG and XML files cannot be sent."}');
    assert.equal(refusalText(422, body), "HTML, SVG and XML files cannot be sent.");
  });

  it("names what a bare status means", () => {
    assert.equal(refusalText(413, null, "Files can be at most 10 MB."), "Files can be at most 10 MB.");
    assert.match(refusalText(429, null), /Too many uploads/);
    assert.match(refusalText(400, parseBody("<html>Bad Request</html>")), /expired/);
    assert.equal(refusalText(500, null), FAILED);
    assert.equal(refusalText(0, {}), FAILED);
  });
});

describe("storedFrom", () => {
  const answer = {
    ok: true,
    attachment: { id: 7, kind: "image", filename: "sunset.jpg" },
    html: "<div data-attachment></div>",
    size_text: "1.5 MB",
  };

  it("reads a 201 answer", () => {
    assert.deepEqual(storedFrom(201, answer), {
      attachment: answer.attachment,
      html: answer.html,
      sizeText: "1.5 MB",
    });
    assert.deepEqual(storedFrom(201, { ok: true, attachment: { id: 1 } }), {
      attachment: { id: 1 },
      html: "",
      sizeText: "",
    });
  });

  it("is null for anything else", () => {
    assert.equal(storedFrom(200, answer), null);
    assert.equal(storedFrom(201, { ...answer, ok: false }), null);
    assert.equal(storedFrom(201, { ok: true }), null);
    assert.equal(storedFrom(201, null), null);
  });
});

describe("sendingPercent", () => {
  it("rounds, and keeps the last percent for the server's answer", () => {
    assert.deepEqual([0, 1, 50, 99.4, 100].map((loaded) => sendingPercent(loaded, 100)), [0, 1, 50, 99, 99]);
    assert.equal(sendingPercent(1, 3), 33);
  });

  it("is null when the size is unknown", () => {
    assert.equal(sendingPercent(5, 0), null);
    assert.equal(sendingPercent(5, undefined), null);
  });
});

describe("pasted and dropped files", () => {
  it("takes the first picture pasted, never text", () => {
    const text = { type: "text/plain", name: "a.txt" };
    const png = { type: "image/png", name: "" };
    const jpeg = { type: "image/jpeg", name: "b.jpg" };
    assert.equal(pastedPicture([text, png, jpeg]), png);
    assert.equal(pastedPicture([text]), null);
    assert.equal(pastedPicture(null), null);
  });

  it("names a pasted picture", () => {
    assert.equal(uploadName({ name: "" }), "pasted.png");
    assert.equal(uploadName({ name: "plan.pdf" }), "plan.pdf");
    assert.equal(chipName({ name: "" }), "Pasted picture");
    assert.equal(chipName({ name: "plan.pdf" }), "plan.pdf");
  });

  it("tells a drag of files from one of text", () => {
    assert.equal(carriesFiles(["Files"]), true);
    assert.equal(carriesFiles(["text/plain", "text/uri-list"]), false);
    assert.equal(carriesFiles(undefined), false);
  });
});

describe("the full-size view", () => {
  const click = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false, defaultPrevented: false };

  it("opens on a plain left click only", () => {
    assert.equal(opensViewer(click), true);
    for (const key of ["metaKey", "ctrlKey", "shiftKey", "altKey", "defaultPrevented"]) {
      assert.equal(opensViewer({ ...click, [key]: true }), false, key);
    }
    assert.equal(opensViewer({ ...click, button: 1 }), false);
  });

  it("shows the file's name, else 'Picture'", () => {
    assert.deepEqual(viewerContent("/attachments/3/a.png", "a.png"), { name: "a.png", href: "/attachments/3/a.png" });
    assert.deepEqual(viewerContent("/attachments/3/x", null), { name: "Picture", href: "/attachments/3/x" });
  });

  it("closes on Escape", () => {
    assert.equal(closesViewer("Escape"), true);
    assert.equal(closesViewer("Enter"), false);
  });
});
