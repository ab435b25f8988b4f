"""Rich messaging in Chromium, two people in a direct chat: replies with quotes that jump to the
original, reactions, mentions, inline edits and deletes, and a picture, each seen live on the other side."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests import images
from tests.conftest import REALTIME
from tests.realtime import befriend, direct_chat, history
from tests.test_browser_chat import composer, open_direct_chat

pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)


def send(page, text: str) -> None:
    composer(page).fill(text)
    composer(page).press("Enter")


def message(page, text: str):
    """The one message on the page whose text contains text (not counting quotes of it)."""
    return page.locator("li[data-message]").filter(has=page.locator("[data-body]", has_text=text))


def action(page, item, name: str):
    """A message's action button (they show on hover or focus)."""
    item.locator("[data-bubble]").hover()
    return item.get_by_role("button", name=name, exact=True)


def attach_image_step(sender, receiver) -> None:
    """The sender attaches a picture with the picker and sends it; the receiver sees it live, opens
    the full view and replies to it; once the sender deletes it, the file is gone."""
    with sender.expect_file_chooser() as chooser:
        sender.locator("[data-attach-button]").click()
    chooser.value.set_files({"name": "dunes.png", "mimeType": "image/png", "buffer": images.picture("PNG", (640, 480))})
    expect(sender.locator("[data-attachment-chip]")).to_have_attribute("data-state", "ready")
    expect(sender.locator("[data-attachment-progress]")).to_have_js_property("value", 100)
    send(sender, "the dunes")

    received = message(receiver, "the dunes")
    thumbnail = received.locator("[data-attachment] img")
    expect(thumbnail).to_have_attribute("alt", "dunes.png")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") == 320
    thumbnail.click()
    viewer = receiver.locator("[data-attachment-viewer]")
    expect(viewer.locator("[data-viewer-image]")).to_have_js_property("complete", True)
    receiver.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    file_url = received.locator("a[data-attachment-kind=image]").get_attribute("href")
    assert receiver.request.get(file_url).status == 200

    action(receiver, received, "Reply").click()
    send(receiver, "wish I were there")
    expect(message(sender, "wish I were there").locator("[data-reply-quote]")).to_contain_text("the dunes")

    sent = message(sender, "the dunes")
    action(sender, sent, "Delete").click()
    sent.get_by_role("button", name="Delete", exact=True).last.click()
    expect(receiver.locator("li[data-message][data-deleted=true]")).to_have_count(2)
    expect(receiver.locator("li[data-message] [data-attachment] img")).to_have_count(0)
    assert receiver.request.get(file_url).status == 404


@pytest.fixture
def chat(new_page):
    """Ana and Bob, friends, each with their direct chat open."""
    return open_direct_chat(new_page)


def test_reply_react_edit_and_delete_live(chat):
    ana, ana_name, bob, bob_name = chat

    # A mention of Bob stands out on his side and links to his profile.
    send(ana, f"hello @{bob_name} how are you")
    original = message(bob, "hello")
    expect(original).to_have_count(1)
    mention = original.locator("[data-body] a[data-mention]")
    expect(mention).to_have_text(f"@{bob_name}")
    expect(mention).to_have_attribute("data-mention", "me")
    expect(mention).to_have_attribute("href", re.compile(f"/u/{bob_name}$"))
    expect(message(ana, "hello").locator("[data-body] a[data-mention]")).to_have_attribute("data-mention", "other")
    # Not my message: no Edit or Delete for Bob.
    expect(original.get_by_role("button", name="Edit")).to_have_count(0)
    expect(original.get_by_role("button", name="Delete")).to_have_count(0)

    # Bob replies: the composer shows what he answers; Escape would cancel, he sends instead.
    action(bob, original, "Reply").click()
    bar = bob.locator("[data-reply-bar]")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Replying to Ana Lima")
    expect(bar).to_contain_text("hello @")
    send(bob, "fine, thanks")
    expect(bar).to_be_hidden()
    for page in (ana, bob):
        reply = message(page, "fine, thanks")
        expect(reply).to_have_attribute("data-state", "sent")
        quote = reply.locator("[data-reply-quote]")
        expect(quote).to_be_visible()
        expect(quote).to_contain_text("Ana Lima")
        expect(quote).to_contain_text("hello @")

    # Clicking the quote shows the original, highlighted.
    message(ana, "fine, thanks").locator("[data-reply-quote]").click()
    expect(message(ana, "hello").locator("[data-bubble]")).to_have_attribute("data-highlight", "true")
    expect(message(ana, "hello")).to_be_focused()

    # Ana reacts 👍 to the reply: the chip shows on both sides, pressed on hers.
    action(ana, message(ana, "fine, thanks"), "React").click()
    picker = ana.get_by_role("dialog", name="Add a reaction")
    expect(picker).to_be_visible()
    picker.get_by_role("button", name="React with 👍").click()
    expect(picker).to_be_hidden()
    ana_chip = message(ana, "fine, thanks").locator("[data-reaction]")
    bob_chip = message(bob, "fine, thanks").locator("[data-reaction]")
    expect(bob_chip).to_have_count(1)
    expect(bob_chip).to_have_text("👍1")
    expect(bob_chip).to_have_attribute("aria-pressed", "false")
    expect(bob_chip).to_have_attribute("title", "Ana Lima")
    expect(ana_chip).to_have_attribute("aria-pressed", "true")
    expect(ana_chip).to_have_attribute("title", "You")
    # Bob adds his from the "more" grid, then Ana takes hers back by clicking the chip.
    action(bob, message(bob, "fine, thanks"), "React").click()
    bob.get_by_role("button", name="More reactions").click()
    bob.get_by_role("button", name="React with 🎉").click()
    expect(ana_chip).to_have_count(2)
    expect(ana_chip.nth(1)).to_have_text("🎉1")
    ana_chip.first.click()
    expect(bob_chip).to_have_count(1)
    expect(bob_chip).to_have_text("🎉1")

    # Ana edits her message inline: Bob sees the new text and "edited".
    first = message(ana, "hello")
    action(ana, first, "Edit").click()
    editor = first.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value(f"hello @{bob_name} how are you")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    action(ana, first, "Edit").click()
    editor.fill("hello again")
    editor.press("Enter")
    expect(editor).to_have_count(0)
    expect(first.locator("[data-body]")).to_have_text("hello again")
    edited = message(bob, "hello again")
    expect(edited.locator("[data-edited-label]")).to_be_visible()
    expect(edited.locator("[data-edited-label]")).to_have_attribute("title", re.compile("^Edited "))
    expect(edited.locator("[data-body] a[data-mention]")).to_have_count(0)

    # Ana deletes it (after confirming): Bob sees the tombstone, without actions; the quote follows.
    action(ana, first, "Delete").click()
    first.get_by_role("button", name="Cancel").click()
    expect(first.locator("[data-body]")).to_have_text("hello again")
    action(ana, first, "Delete").click()
    first.get_by_role("button", name="Delete", exact=True).last.click()
    tombstone = bob.locator("li[data-message][data-deleted=true]")
    expect(tombstone).to_have_count(1)
    expect(tombstone.locator("[data-tombstone]")).to_have_text("Message deleted")
    expect(tombstone.locator("[data-body]")).to_be_hidden()
    expect(tombstone.locator("[data-actions]")).to_be_hidden()
    expect(message(bob, "fine, thanks").locator("[data-reply-quote]")).to_contain_text("Message deleted")
    bob.reload()
    expect(bob.locator("li[data-message][data-deleted=true] [data-tombstone]")).to_be_visible()
    expect(message(bob, "fine, thanks").locator("[data-reply-quote]")).to_contain_text("Message deleted")
    expect(message(bob, "fine, thanks").locator("[data-reaction]")).to_have_text("🎉1")

    attach_image_step(ana, bob)


def test_quotes_and_search_links_load_history_back_to_the_original(new_page, http_user, open_socket, live_server):
    """The original is older than the page's 50 messages: a quote, and ?around=<seq>, load older
    pages until it is there, then scroll to it and highlight it. Changes made to those old messages
    while the page was offline show once it reconnects."""
    ana, bob = http_user().register(), http_user().register()
    befriend(ana, bob)
    cid = direct_chat(ana, bob)
    tab = open_socket(ana)
    original = tab.send(cid, "the very first")
    for number in range(60):
        tab.send(cid, f"filler {number}")
    ack = tab.call(
        "send_message",
        {
            "conversation_id": cid,
            "body": "answering the first",
            "client_id": uuid.uuid4().hex,
            "reply_to_id": original["id"],
        },
    )
    assert ack["ok"] is True, ack
    # Bob has read them: the chat opens at the latest page, not at his first unread.
    assert open_socket(bob).call("mark_read", {"conversation_id": cid, "seq": ack["message"]["seq"]})["ok"] is True

    page = new_page()
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in bob.http.cookies])
    page.goto(f"/c/{cid}")
    expect(page.locator("li[data-message]")).to_have_count(50)
    expect(page.locator("li[data-message][data-seq='1']")).to_have_count(0)
    page.locator("li[data-message]").last.locator("[data-reply-quote]").click()
    first = page.locator("li[data-message][data-seq='1']")
    expect(first.locator("[data-bubble]")).to_have_attribute("data-highlight", "true")
    expect(first).to_be_in_viewport()
    expect(first).to_be_focused()

    page.goto(f"/c/{cid}?around=5")
    fifth = page.locator("li[data-message][data-seq='5']")
    expect(fifth.locator("[data-bubble]")).to_have_attribute("data-highlight", "true")
    expect(fifth).to_be_in_viewport()
    expect(fifth).to_contain_text("filler 3")

    # Offline, the page misses an edit, a delete and a reaction on messages older than the latest page.
    page.evaluate(f"async () => ({REALTIME}).socket.disconnect()")
    messages = {message["seq"]: message for message in history(ana, cid, limit=100)}
    assert tab.call("edit_message", {"message_id": messages[3]["id"], "body": "filler 1, edited"})["ok"]
    assert tab.call("delete_message", {"message_id": messages[4]["id"]})["ok"]
    assert tab.call("react", {"message_id": messages[5]["id"], "emoji": "🎉", "on": True})["ok"]
    expect(page.locator("li[data-message][data-seq='3'] [data-body]")).to_have_text("filler 1")
    page.evaluate(f"async () => ({REALTIME}).socket.connect()")
    expect(page.locator("li[data-message][data-seq='3'] [data-body]")).to_have_text("filler 1, edited")
    expect(page.locator("li[data-message][data-seq='3'] [data-edited-label]")).to_be_visible()
    expect(page.locator("li[data-message][data-seq='4']")).to_have_attribute("data-deleted", "true")
    expect(page.locator("li[data-message][data-seq='5'] [data-reaction]")).to_have_text("🎉1")


def test_formatting_shows_for_both_live_and_edit_starts_from_the_text(chat):
    """Ana sends Markdown: both see it formatted live (her pending bubble's plain text gives way to
    the server's fragment), a mention inside code is none, and Edit starts from the text as typed."""
    ana, _ana_name, bob, bob_name = chat
    typed = f"**bold** and `@{bob_name}` and\n> quoted"
    send(ana, typed)
    for page in (ana, bob):
        sent = message(page, "bold")
        expect(sent).to_have_attribute("data-state", "sent")
        expect(sent.locator("[data-body] strong")).to_have_text("bold")
        expect(sent.locator("[data-body] code")).to_have_text(f"@{bob_name}")
        expect(sent.locator("[data-body] blockquote")).to_have_text("quoted")
        expect(sent.locator("[data-body] a[data-mention]")).to_have_count(0)
        expect(sent.locator("[data-body]")).not_to_contain_text("**")

    mine = message(ana, "bold")
    action(ana, mine, "Edit").click()
    editor = mine.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value(typed)
    editor.fill("~~struck~~ *now* @" + bob_name)
    editor.press("Enter")
    edited = message(bob, "struck")
    expect(edited.locator("[data-body] s")).to_have_text("struck")
    expect(edited.locator("[data-body] em")).to_have_text("now")
    expect(edited.locator("[data-body] a[data-mention]")).to_have_attribute("data-mention", "me")
    bob.reload()
    expect(message(bob, "struck").locator("[data-body] s")).to_have_text("struck")
