"""The composer in Chromium, two people in a direct chat: focus on open, `@` suggestions (a listbox
the keyboard drives) whose mention reaches the other side, the emoji picker and `:shortcode:`
completion, drafts kept per chat until the message is stored, ArrowUp to edit and Escape."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import REALTIME, wait_connected
from tests.test_browser_chat import composer, open_direct_chat
from tests.test_browser_rich import action, message, send

pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)

DRAFT_KEYS = "() => Object.keys(localStorage).filter((key) => key.startsWith('messanger:draft:'))"


def suggestions(page):
    return page.get_by_role("listbox", name="Suggestions")


def test_focus_is_in_the_composer_when_a_chat_opens_but_not_on_touch_screens(new_page):
    ana, ana_name, bob, _bob_name = open_direct_chat(new_page)
    expect(composer(ana)).to_be_focused()
    expect(composer(bob)).to_be_focused()
    phone = new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone.context.add_cookies(bob.context.cookies())
    phone.goto(f"/chat/{ana_name}")
    wait_connected(phone)
    assert phone.evaluate("matchMedia('(pointer: coarse)').matches")
    expect(composer(phone)).not_to_be_focused()


def test_at_suggests_members_and_the_mention_reaches_them(new_page):
    ana, _ana_name, bob, bob_name = open_direct_chat(new_page)
    field = composer(ana)
    field.press_sequentially("see @" + bob_name[:2])
    listbox = suggestions(ana)
    expect(listbox).to_be_visible()
    option = listbox.get_by_role("option")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Bob Stone")
    expect(option).to_contain_text("@" + bob_name)
    expect(option).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    expect(field).to_have_attribute("aria-controls", "composer-suggestions")
    field.press("ArrowDown")
    field.press("Enter")
    expect(field).to_have_value(f"see @{bob_name} ")
    expect(listbox).to_be_hidden()
    expect(field).not_to_have_attribute("aria-activedescendant", re.compile("."))
    field.press_sequentially("now")
    field.press("Enter")
    expect(message(ana, "now")).to_have_attribute("data-state", "sent")
    # Bob's socket brought the message with its mention of him.
    mention = message(bob, "now").locator('[data-mention="me"]')
    expect(mention).to_have_text("@" + bob_name)

    # Escape closes the list first; typing on without picking closes it too.
    field.press_sequentially("@" + bob_name[:2])
    expect(listbox).to_be_visible()
    field.press("Escape")
    expect(listbox).to_be_hidden()
    expect(field).to_have_value("@" + bob_name[:2])
    field.press_sequentially("zzz")
    expect(listbox).to_be_hidden()


def test_emoji_picker_searches_moves_by_arrow_keys_and_inserts_at_the_caret(new_page):
    ana, _ana_name, _bob, _bob_name = open_direct_chat(new_page)
    field = composer(ana)
    field.fill("good job")
    field.press("End")
    for _ in range(3):
        field.press("ArrowLeft")  # the caret after "good "
    button = ana.get_by_role("button", name="Emoji")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    picker = ana.get_by_role("dialog", name="Emoji")
    search = picker.get_by_role("searchbox", name="Search emoji")
    expect(search).to_be_focused()
    expect(picker.locator("[data-emoji-cell]").first).to_be_visible()
    search.press_sequentially("thumbs")
    expect(picker.locator("[data-emoji-cell]")).to_have_count(2)
    search.press("ArrowDown")
    up = picker.get_by_role("button", name="thumbs up")
    expect(up).to_be_focused()
    ana.keyboard.press("ArrowRight")
    expect(picker.get_by_role("button", name="thumbs down")).to_be_focused()
    expect(picker.get_by_role("button", name="thumbs down")).to_have_attribute("tabindex", "0")
    expect(up).to_have_attribute("tabindex", "-1")
    ana.keyboard.press("ArrowLeft")
    expect(up).to_be_focused()
    ana.keyboard.press("Enter")
    expect(picker).to_have_count(0)
    expect(field).to_have_value("good 👍job")
    expect(field).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    # Escape closes it and gives the focus back to the button.
    button.click()
    expect(picker.get_by_role("searchbox")).to_be_focused()
    ana.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(button).to_be_focused()

    # `:smile` completes to 😄 with the same listbox.
    field.fill("")
    field.press_sequentially("hi :smile")
    option = suggestions(ana).get_by_role("option").first
    expect(option).to_contain_text(":smile:")
    field.press("Enter")
    expect(field).to_have_value("hi 😄 ")
    field.press("Enter")
    expect(message(ana, "hi 😄")).to_have_attribute("data-state", "sent")


def test_a_draft_per_chat_survives_a_reload_and_goes_once_stored(new_page):
    ana, _ana_name, bob, bob_name = open_direct_chat(new_page)
    send(bob, "a question")
    item = message(ana, "a question")
    action(ana, item, "Reply").click()
    composer(ana).press_sequentially("half an answer")
    ana.reload()
    wait_connected(ana)
    expect(composer(ana)).to_have_value("half an answer")
    expect(ana.locator("[data-reply-bar]")).to_contain_text("Replying to Bob Stone")
    expect(composer(ana)).to_be_focused()
    assert len(ana.evaluate(DRAFT_KEYS)) == 1

    composer(ana).press("Enter")
    sent = message(ana, "half an answer")
    expect(sent).to_have_attribute("data-state", "sent")
    expect(sent.locator("[data-reply-quote]")).to_contain_text("a question")
    ana.wait_for_function(f"() => ({DRAFT_KEYS})().length === 0")
    ana.reload()
    wait_connected(ana)
    expect(composer(ana)).to_have_value("")
    expect(ana.locator("[data-reply-bar]")).to_be_hidden()


def test_a_send_that_fails_keeps_the_draft(new_page):
    ana, _ana_name, _bob, bob_name = open_direct_chat(new_page)
    ana.evaluate(f"async () => ({REALTIME}).socket.disconnect()")
    wait_connected(ana, connected=False)
    composer(ana).fill("not lost")
    composer(ana).press("Enter")
    expect(message(ana, "not lost")).to_have_attribute("data-state", "failed")
    expect(composer(ana)).to_have_value("")
    ana.reload()
    wait_connected(ana)
    expect(composer(ana)).to_have_value("not lost")


def test_storage_errors_do_not_break_sending(new_page):
    ana, _ana_name, _bob, bob_name = open_direct_chat(new_page)
    ana.add_init_script("Storage.prototype.setItem = () => { throw new DOMException('full', 'QuotaExceededError'); };")
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    send(ana, "still sent")
    expect(message(ana, "still sent")).to_have_attribute("data-state", "sent")


def test_arrow_up_edits_my_last_message_and_escape_cancels_edit_and_reply(new_page):
    ana, _ana_name, bob, _bob_name = open_direct_chat(new_page)
    send(ana, "frist")
    expect(message(ana, "frist")).to_have_attribute("data-state", "sent")
    mine = ana.locator(f'li[data-message][data-id="{message(ana, "frist").get_attribute("data-id")}"]')
    send(bob, "from bob")
    expect(message(ana, "from bob")).to_be_visible()

    field = composer(ana)
    field.fill("x")
    field.press("ArrowUp")  # not empty: the caret moves, nothing opens
    expect(ana.locator("[data-editor]")).to_have_count(0)
    field.fill("")
    field.press("ArrowUp")
    editor = mine.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("frist")
    editor.press("Escape")
    expect(ana.locator("[data-editor]")).to_have_count(0)
    expect(field).to_be_focused()

    field.press("ArrowUp")
    editor.fill("first")
    editor.press("Enter")
    expect(mine.locator("[data-body]")).to_have_text("first")
    expect(field).to_be_focused()
    expect(message(bob, "first")).to_be_visible()

    # Escape in the editor ends the edit, not the reply; in the composer it ends the reply.
    action(bob, message(bob, "from bob"), "Reply").click()
    bar = bob.locator("[data-reply-bar]")
    expect(bar).to_be_visible()
    composer(bob).press("ArrowUp")  # Bob's last is still editable
    expect(bob.locator("[data-editor]")).to_have_count(1)
    bob.keyboard.press("Escape")
    expect(composer(bob)).to_be_focused()
    expect(bar).to_be_visible()  # the reply is still on
    composer(bob).press("Escape")
    expect(bar).to_be_hidden()
    expect(composer(bob)).to_be_focused()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_open_suggestions_and_picker_pass_the_accessibility_audit(new_page, scheme):
    """axe over the composer's popups while open (the page itself is audited elsewhere)."""
    ana, _ana_name, _bob, bob_name = open_direct_chat(lambda **options: new_page(color_scheme=scheme, **options))
    composer(ana).press_sequentially("@" + bob_name[:2])
    expect(suggestions(ana).get_by_role("option")).to_have_count(1)
    results = Axe().run(ana, context={"include": [["[data-composer-input]"], ["#composer-suggestions"]]})
    assert not results.response["violations"], results.generate_report()
    composer(ana).press("Escape")
    ana.get_by_role("button", name="Emoji").click()
    expect(ana.locator("[data-emoji-cell]").first).to_be_visible()
    results = Axe().run(ana, context={"include": [["[data-emoji-button]"], ["[data-emoji-picker]"]]})
    assert not results.response["violations"], results.generate_report()
