"""Pictures and files in Chromium: choosing one with the attach button, the upload's progress and
chip, sending it, the other person seeing it live and opening the full view; a refused file."""

import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.test_browser_chat import befriend, composer, register

# SQLite under eventlet, and PostgreSQL under gevent.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite", "postgres-gevent"], indirect=True)


def test_a_picture_is_uploaded_sent_and_seen_live_with_its_full_view(new_page):
    ana, bob = new_page(), new_page()
    ana_name, bob_name = register(ana, "Ana", "Lima"), register(bob, "Bob", "Stone")
    befriend(ana, ana_name, bob, bob_name)
    ana.goto(f"/chat/{bob_name}")
    bob.goto(f"/chat/{ana_name}")

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
