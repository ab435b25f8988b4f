"""Pictures and files in Chromium: choosing one with the attach button, the upload's progress and
chip, sending it, the other person seeing it live and opening the full view; a refused file; a file
dropped on the chat and a pasted picture."""

import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.test_browser_chat import composer, open_direct_chat

# SQLite under eventlet, and PostgreSQL under gevent.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite", "postgres-gevent"], indirect=True)


def test_a_picture_is_uploaded_sent_and_seen_live_with_its_full_view(new_page):
    ana, _ana_name, bob, _bob_name = open_direct_chat(new_page)

    # A file the server refuses: its reason shows under the composer, nothing is attached.
    ana.locator("[data-attachment-input]").set_input_files(
        {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": images.SVG}
    )
    expect(ana.locator("[data-attachment-error]")).to_contain_text("HTML, SVG and XML files cannot be sent")
    expect(ana.locator("[data-attachment-chip]")).to_be_hidden()
    expect(ana.locator("[data-composer]")).not_to_have_attribute("data-attachment-id", re.compile(".+"))

    # The picker: the chip shows the name and size, its progress bar reaches the end.
    expect(ana.locator("[data-attach-button]")).to_be_visible()
    with ana.expect_file_chooser() as chooser:
        ana.locator("[data-attach-button]").click()
    chooser.value.set_files(
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.picture("JPEG", (800, 600), exif=True)}
    )
    chip = ana.locator("[data-attachment-chip]")
    expect(chip).to_be_visible()
    expect(chip).to_have_attribute("data-state", "ready")
    expect(ana.locator("[data-attachment-progress]")).to_have_js_property("value", 100)
    expect(chip.locator("[data-attachment-chip-name]")).to_have_text("sunset.jpg")
    expect(chip.locator("[data-attachment-preview]")).to_be_visible()
    expect(ana.locator("[data-attachment-error]")).to_have_text("")

    # Sent with a caption (Enter); the composer is free again.
    composer(ana).fill("look at this")
    composer(ana).press("Enter")
    sent = ana.locator("li[data-message][data-state=sent]")
    expect(sent).to_have_count(1)
    expect(sent.locator("[data-attachment] img")).to_have_attribute("alt", "sunset.jpg")
    expect(chip).to_be_hidden()

    # Bob sees the thumbnail live, sized up front, and opens the full picture.
    received = bob.locator("li[data-message]")
    expect(received).to_have_count(1)
    expect(received).to_contain_text("look at this")
    thumbnail = received.locator("[data-attachment] img")
    expect(thumbnail).to_have_attribute("width", "320")
    expect(thumbnail).to_have_attribute("height", "240")
    expect(thumbnail).to_have_attribute("alt", "sunset.jpg")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") == 320
    thumbnail.click()
    viewer = bob.locator("[data-attachment-viewer]")
    expect(viewer).to_be_visible()
    full = viewer.locator("[data-viewer-image]")
    expect(full).to_have_js_property("complete", True)
    assert full.evaluate("img => img.naturalWidth") == 800
    bob.keyboard.press("Escape")
    expect(viewer).to_have_count(0)

    # A file without text: sent with the button, shown as a download chip.
    ana.locator("[data-attachment-input]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"remember the milk\n"}
    )
    expect(chip).to_have_attribute("data-state", "ready")
    ana.locator("[data-composer] button[type=submit]").click()
    expect(sent).to_have_count(2)
    download = received.nth(1).locator("a[data-attachment-kind=file]")
    expect(download).to_contain_text("notes.txt")
    expect(download).to_contain_text("18 bytes")
    expect(download).to_have_attribute("download", "notes.txt")


# Chromium's own events carrying real files, as a drag from the desktop or a pasted screenshot makes them.
DROP_AND_PASTE = """([kind, target, name, type, bytes]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, { type }));
  const init = { bubbles: true, cancelable: true };
  const element = document.querySelector(target);
  if (kind === "drop") {
    for (const type of ["dragenter", "dragover"]) {
      element.dispatchEvent(new DragEvent(type, { ...init, dataTransfer: data }));
    }
    window.__dropping = document.querySelector("[data-chat]").getAttribute("data-dropping");
    element.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: data }));
  } else {
    element.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: data }));
  }
}"""


def test_a_file_dropped_on_the_chat_and_a_pasted_picture_are_uploaded_and_sent(new_page):
    ana, _ana_name, bob, _bob_name = open_direct_chat(new_page)
    chip = ana.locator("[data-attachment-chip]")
    received = bob.locator("li[data-message]")

    ana.evaluate(DROP_AND_PASTE, ["drop", "[data-message-log]", "plan.pdf", "application/pdf", list(images.PDF)])
    assert ana.evaluate("window.__dropping") == "true"  # highlighted while dragged over
    expect(ana.locator("[data-chat]")).not_to_have_attribute("data-dropping", "true")
    expect(chip).to_have_attribute("data-state", "ready")
    expect(chip.locator("[data-attachment-chip-name]")).to_have_text("plan.pdf")
    ana.locator("[data-composer] button[type=submit]").click()
    expect(received.locator("a[data-attachment-kind=file]")).to_contain_text("plan.pdf")

    screenshot = images.picture("PNG", (200, 100))
    ana.evaluate(DROP_AND_PASTE, ["paste", "[data-composer-input]", "image.png", "image/png", list(screenshot)])
    expect(chip).to_have_attribute("data-state", "ready")
    composer(ana).fill("pasted")
    composer(ana).press("Enter")
    expect(received).to_have_count(2)
    expect(received.nth(1).locator("[data-attachment] img")).to_have_attribute("width", "200")
    expect(received.nth(1)).to_contain_text("pasted")
