"""Forwarding in Chromium: the Forward dialog of a message, a text and a picture forwarded into a
group whose member sees them arrive live "Forwarded from" their author, only writable conversations
offered, a forward sent while offline retried once back online, and the page without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.conftest import wait_connected
from tests.test_browser_chat import befriend, composer, register

# SQLite under eventlet, and PostgreSQL under gevent.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite", "postgres-gevent"], indirect=True)

REALTIME = "/static/js/realtime/index.js"


def three_people(new_page):
    """Ana, friends with Bob and with Cara, each in their own browser: ((page, username) x 3)."""
    ana, bob, cara = new_page(), new_page(), new_page()
    names = register(ana, "Ana", "Lima"), register(bob, "Bob", "Stone"), register(cara, "Cara", "Diaz")
    befriend(ana, names[0], bob, names[1])
    befriend(ana, names[0], cara, names[2])
    return (ana, names[0]), (bob, names[1]), (cara, names[2])


def forward_dialog(page):
    return page.get_by_role("dialog", name="Forward message")


def focused_in_dialog(page) -> bool:
    return page.evaluate("() => !!document.activeElement.closest('dialog[open][data-forward-dialog]')")


def test_a_text_and_a_picture_are_forwarded_into_a_group_and_arrive_live(new_page):
    """Ana forwards Bob's message and his picture from their chat into her group with Cara, whose
    open group shows each arriving "Forwarded from Bob Stone", the picture as a copy of its own;
    the dialog takes the focus, Escape closes it and gives the focus back to the action."""
    (ana, ana_name), (bob, bob_name), (cara, _cara_name) = three_people(new_page)
    ana.goto("/groups/new")
    ana.get_by_label("Group name").fill("Weekend plans")
    ana.get_by_label(re.compile("Cara Diaz")).check()
    ana.get_by_role("button", name="Create group").click()
    expect(ana.locator("#chat-title")).to_have_text("Weekend plans")
    cara.goto(ana.url.split("#")[0])
    wait_connected(cara)

    bob.goto(f"/chat/{ana_name}")
    wait_connected(bob)
    composer(bob).fill("the plan is on")
    composer(bob).press("Enter")
    bob.locator("[data-attachment-input]").set_input_files(
        {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": images.picture("JPEG", (800, 600))}
    )
    expect(bob.locator("[data-attachment-chip]")).to_have_attribute("data-state", "ready")
    bob.locator("[data-composer] button[type=submit]").click()
    expect(bob.locator("li[data-message][data-state=sent]")).to_have_count(2)

    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    text, picture = ana.locator("li[data-message]").nth(0), ana.locator("li[data-message]").nth(1)
    expect(text).to_contain_text("the plan is on")
    action = text.get_by_role("link", name="Forward")
    action.click()
    dialog = forward_dialog(ana)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("the plan is on")  # the message as the copy carries it
    expect(dialog.get_by_role("radio").first).to_be_focused()  # the focus goes into the dialog
    dialog.get_by_role("radio", name=re.compile("Weekend plans")).check()
    dialog.get_by_role("button", name="Forward").click()
    expect(dialog).to_be_hidden()
    expect(ana.locator("[data-chat-status]")).to_have_text("Forwarded to Weekend plans")
    expect(action).to_be_focused()

    arrived = cara.locator("li[data-message]")
    expect(arrived).to_have_count(1)
    expect(arrived).to_contain_text("the plan is on")
    expect(arrived.locator("[data-forwarded]")).to_be_visible()
    expect(arrived.locator("[data-forwarded]")).to_have_text("Forwarded from Bob Stone")

    # The picture, by keyboard: Escape closes the dialog and gives the focus back; Enter opens it again.
    picture_action = picture.get_by_role("link", name="Forward")
    picture_action.click()
    expect(dialog.get_by_role("radio").first).to_be_focused()
    assert focused_in_dialog(ana)
    ana.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(picture_action).to_be_focused()
    ana.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("sunset.jpg")
    # Closed and opened again at once: the close event, a task later, leaves the new picker alone.
    ana.evaluate(
        "([dialog, link]) => { dialog.close(); link.click(); }",
        [dialog.element_handle(), picture_action.element_handle()],
    )
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("sunset.jpg")
    dialog.get_by_role("radio", name=re.compile("Weekend plans")).check()
    dialog.get_by_role("button", name="Forward").click()
    expect(dialog).to_be_hidden()

    expect(arrived).to_have_count(2)
    copy = arrived.nth(1)
    expect(copy.locator("[data-forwarded]")).to_have_text("Forwarded from Bob Stone")
    thumbnail = copy.locator("[data-attachment] img")
    expect(thumbnail).to_have_attribute("alt", "sunset.jpg")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    original_id = picture.locator("[data-attachment]").get_attribute("data-attachment-id")
    copy_id = copy.locator("[data-attachment]").get_attribute("data-attachment-id")
    assert copy_id and original_id and copy_id != original_id  # a file of the group's own
    expect(copy.locator('[data-action="edit"]')).to_have_count(0)  # a forward is never edited


def test_only_writable_chats_are_offered_a_forward_offline_is_retried_and_the_page_works_without_javascript(
    new_page, browser, live_server
):
    """Cara blocked Ana: her chat is not offered. Ana forwards Bob's message into their own chat
    while offline: the dialog says so, Retry sends it once back online, and it arrives in the open
    chat as any message. Without JavaScript the Forward link leads to the forward page, which
    forwards too, and the other side sees that one live."""
    (ana, ana_name), (bob, bob_name), (cara, cara_name) = three_people(new_page)
    ana.goto(f"/chat/{cara_name}")  # their direct chat exists from here on
    expect(ana.locator("#chat-title")).to_contain_text("Cara Diaz")
    cara.goto(f"/u/{ana_name}")
    cara.get_by_role("button", name=re.compile("^Block")).click()
    expect(cara.locator("[data-flash]")).to_contain_text(f"You blocked @{ana_name}")

    bob.goto(f"/chat/{ana_name}")
    wait_connected(bob)
    composer(bob).fill("pass it on")
    composer(bob).press("Enter")
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    messages = ana.locator("li[data-message]")
    expect(messages).to_have_count(1)

    go_offline = "async () => { const m = await import('%s'); m.socket.io.reconnection(false); m.socket.disconnect(); }"
    ana.evaluate(go_offline % REALTIME)
    messages.first.get_by_role("link", name="Forward").click()
    dialog = forward_dialog(ana)
    expect(dialog.get_by_role("radio", name=re.compile("Bob Stone"))).to_have_count(1)
    expect(dialog.get_by_role("radio", name=re.compile("Cara Diaz"))).to_have_count(0)
    dialog.get_by_role("radio", name=re.compile("Bob Stone")).check()
    dialog.get_by_role("button", name="Forward").click()
    expect(dialog.get_by_role("alert")).to_contain_text("the connection is down")
    ana.evaluate(f"async () => (await import('{REALTIME}')).socket.connect()")
    wait_connected(ana)
    dialog.get_by_role("button", name="Retry").click()
    expect(dialog).to_be_hidden(timeout=20000)  # the retry's ack, right after a reconnect on a busy machine
    expect(ana.locator("[data-chat-status]")).to_have_text("Forwarded to Bob Stone")
    expect(messages).to_have_count(2)
    expect(messages.nth(1).locator("[data-forwarded]")).to_have_text("Forwarded from Bob Stone")
    expect(bob.locator("li[data-message]")).to_have_count(2)

    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        context.add_cookies(ana.context.cookies())
        page = context.new_page()
        page.goto(f"/chat/{bob_name}")
        page.locator("li[data-message]").first.get_by_role("link", name="Forward").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Forward message")
        expect(page.get_by_role("radio", name=re.compile("Cara Diaz"))).to_have_count(0)
        page.get_by_role("radio", name=re.compile("Bob Stone")).check()
        page.get_by_role("button", name="Forward").click()
        expect(page.locator("[data-flash]")).to_contain_text("Message forwarded.")
        expect(page.locator("li[data-message]")).to_have_count(3)
        expect(bob.locator("li[data-message]")).to_have_count(3)
        expect(bob.locator("li[data-message]").last.locator("[data-forwarded]")).to_have_text(
            "Forwarded from Bob Stone"
        )
    finally:
        context.close()
