"""The unread anchor in Chromium, two people: a chat with 175 unread opens at the first of them
under a "New messages" line; "Jump to latest" and "N unread" go to either end; the line stays while
the chat is open (live messages do not move it) and is gone once it was read and opened again."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import wait_connected
from tests.realtime import befriend, conversation_summary, direct_chat

# The unread anchor's own elements (the whole page in dark mode waits for issue 15's contrast fixes).
ANCHOR = {"include": [["[data-unread-divider]"], ["[data-new-messages]"], ["[data-jump-unread]"]]}


def assert_accessible(page, context=None) -> None:
    """No axe-core violation on the chat as it is now (or in `context`, axe's include/exclude)."""
    results = Axe().run(page, context=context)
    assert results.violations_count == 0, results.generate_report()


pytestmark = pytest.mark.parametrize("live_server", ["sqlite", "postgres-gevent"], indirect=True)


@pytest.fixture
def unread_chat(new_page, http_user, open_socket, live_server):
    """Ana sent 10 messages, then Bob 175 she has not read: (ana's page, bob's socket, cid, ana)."""
    ana, bob = http_user().register(), http_user().register()
    befriend(ana, bob)
    cid = direct_chat(ana, bob)
    ana_tab, bob_tab = open_socket(ana), open_socket(bob)
    for number in range(10):
        ana_tab.send(cid, f"earlier {number}")
    for number in range(175):
        bob_tab.send(cid, f"unread {number}")
    ana_tab.close()
    page = new_page()
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in ana.http.cookies])
    return page, bob_tab, cid, ana


def test_a_chat_opens_at_the_first_unread_and_jumps_to_either_end(unread_chat):
    page, bob_tab, cid, ana = unread_chat
    page.goto(f"/c/{cid}")
    wait_connected(page)
    divider = page.locator("[data-unread-divider]")
    expect(divider).to_be_in_viewport()
    expect(divider.get_by_role("heading", name=re.compile("^New messages"))).to_be_visible()
    first_unread = divider.locator("xpath=following-sibling::li[@data-message][1]")
    expect(first_unread).to_contain_text("unread 0")
    expect(first_unread).to_be_in_viewport()
    expect(page.get_by_text("earlier 9", exact=True)).to_be_attached()  # a few read ones above it
    unread_jump = page.get_by_role("button", name=re.compile(r"175 unread"))
    expect(unread_jump).to_be_hidden()  # the line is in view
    assert_accessible(page)

    # "Jump to latest" counts what is below and loads the latest page.
    latest = page.get_by_role("button", name=re.compile("^Jump to latest"))
    expect(latest).to_be_visible()
    expect(latest).to_contain_text(re.compile(r"\d+"))
    latest.focus()
    page.keyboard.press("Enter")
    last = page.get_by_text("unread 174", exact=True)
    expect(last).to_be_in_viewport()
    expect(latest).to_be_hidden()

    # "175 unread" brings the line back (its window loads again).
    expect(unread_jump).to_be_visible()
    assert_accessible(page)
    unread_jump.click()
    expect(divider).to_be_in_viewport()
    expect(divider).to_be_focused()
    expect(unread_jump).to_be_hidden()
    expect(page.locator("[data-chat-status]")).to_have_text("175 unread messages below.")

    # A message arriving while Ana reads up there does not move the line; it waits below.
    bob_tab.send(cid, "live while reading")
    expect(latest).to_be_visible()
    expect(divider).to_be_in_viewport()
    expect(divider.locator("xpath=following-sibling::li[@data-message][1]")).to_contain_text("unread 0")

    # Scrolling down loads the newer pages in place, up to the live one; the line stays.
    scroller = page.locator("[data-scroller]")
    live = page.get_by_role("log").get_by_text("live while reading", exact=True)
    for _ in range(10):
        scroller.evaluate("element => { element.scrollTop = element.scrollHeight }")
        if live.count():
            break
        page.wait_for_timeout(300)
    expect(live).to_be_attached()
    expect(page.locator("li[data-message]").last).to_contain_text("live while reading")
    expect(divider).to_be_attached()
    seqs = page.locator("li[data-message]").evaluate_all("items => items.map(item => Number(item.dataset.seq))")
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) and seqs[-1] - seqs[0] + 1 == len(seqs)
    scroller.evaluate("element => { element.scrollTop = element.scrollHeight }")
    expect(latest).to_be_hidden()

    # Read at the bottom; opened again, the chat has no line and opens at the bottom.
    for _ in range(50):
        if conversation_summary(ana, cid)["unread_count"] == 0:
            break
        page.wait_for_timeout(200)
    assert conversation_summary(ana, cid)["unread_count"] == 0
    page.reload()
    expect(page.get_by_role("log").get_by_text("live while reading", exact=True)).to_be_in_viewport()
    expect(divider).to_have_count(0)
    expect(unread_jump).to_be_hidden()
    expect(latest).to_be_hidden()


def test_few_unread_open_under_the_line_and_none_at_the_bottom(new_page, http_user, open_socket, live_server):
    """A few unread: the latest page with the line above them; all read: the bottom, no line."""
    ana, bob = http_user().register(), http_user().register()
    befriend(ana, bob)
    cid = direct_chat(ana, bob)
    bob_tab = open_socket(bob)
    for number in range(60):
        bob_tab.send(cid, f"seen {number}")
    ana_tab = open_socket(ana)
    assert ana_tab.call("mark_read", {"conversation_id": cid, "seq": 57})["ok"] is True
    page = new_page(color_scheme="dark")
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in ana.http.cookies])
    page.goto(f"/c/{cid}")
    divider = page.locator("[data-unread-divider]")
    expect(divider).to_be_in_viewport()
    page.locator("[data-scroller]").evaluate("element => { element.scrollTop = 0 }")
    latest = page.get_by_role("button", name=re.compile("^Jump to latest"))
    expect(latest).to_be_visible()
    assert_accessible(page, ANCHOR)  # dark, with the control showing
    latest.click()
    expect(latest).to_be_hidden()
    expect(divider).to_be_in_viewport()
    expect(divider.locator("xpath=following-sibling::li[@data-message][1]")).to_contain_text("seen 57")
    expect(page.get_by_role("log").get_by_text("seen 59", exact=True)).to_be_in_viewport()

    assert ana_tab.call("mark_read", {"conversation_id": cid, "seq": 60})["ok"] is True
    page.reload()
    expect(page.get_by_role("log").get_by_text("seen 59", exact=True)).to_be_in_viewport()
    expect(divider).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Jump to latest"))).to_be_hidden()


def test_a_message_sent_from_the_first_unread_goes_out_under_the_latest(unread_chat):
    """Sending while the page stops before the latest shows the latest, then the message, in order."""
    page, _bob_tab, cid, _ana = unread_chat
    page.goto(f"/c/{cid}")
    wait_connected(page)
    expect(page.locator("[data-unread-divider]")).to_be_in_viewport()
    box = page.get_by_role("textbox", name="Message")
    box.fill("answering all of them")
    box.press("Enter")
    mine = page.locator("li[data-message][data-state=sent]").filter(has_text="answering all of them")
    expect(mine).to_have_count(1)
    expect(mine).to_be_in_viewport()
    # The latest page is 50 with or without mine, as it reached the server before or after the page
    # asked for it: either way, mine comes last, right under the latest.
    expect(page.locator("li[data-message]").last).to_contain_text("answering all of them")
    expect(page.locator("li[data-message]").nth(-2)).to_contain_text("unread 174")
    seqs = page.locator("li[data-message]").evaluate_all("items => items.map(item => Number(item.dataset.seq))")
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and seqs[-1] == 186
    expect(page.get_by_role("button", name=re.compile("^Jump to latest"))).to_be_hidden()
