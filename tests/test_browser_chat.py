"""Two people chatting in Chromium: live delivery, unread badges, "Seen", typing, retries, groups,
and the page without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import REALTIME, register_in_browser, unique_username, wait_connected

# SQLite under eventlet, and PostgreSQL under gevent, whose WebSocket server the browser meets too.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite", "postgres-gevent"], indirect=True)


def register(page, first: str, last: str) -> str:
    username = unique_username(first.lower())
    register_in_browser(page, username, first, last)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Hi, {first}")
    return username


def befriend(asker, asker_name, answerer, answerer_name) -> None:
    asker.goto(f"/u/{answerer_name}")
    asker.get_by_role("button", name=re.compile("^Add friend")).click()
    answerer.goto("/")
    answerer.locator("#friend-requests").get_by_role("button", name=re.compile("^Accept")).click()
    expect(answerer.locator("[data-flash]")).to_contain_text(f"@{asker_name} are now friends")


def composer(page):
    return page.get_by_role("textbox", name="Message")


def open_direct_chat(new_page):
    """Ana and Bob, new friends, each in their own browser with their direct chat open and connected:
    (ana, ana_name, bob, bob_name)."""
    ana, bob = new_page(), new_page()
    ana_name, bob_name = register(ana, "Ana", "Lima"), register(bob, "Bob", "Stone")
    befriend(ana, ana_name, bob, bob_name)
    ana.goto(f"/chat/{bob_name}")
    bob.goto(f"/chat/{ana_name}")
    for page in (ana, bob):
        wait_connected(page)
    return ana, ana_name, bob, bob_name


@pytest.fixture
def ana_and_bob(new_page):
    """Two friends in their own browsers; Bob's is phone-sized."""
    ana, bob = new_page(), new_page(viewport={"width": 360, "height": 740})
    ana_name, bob_name = register(ana, "Ana", "Lima"), register(bob, "Bob", "Stone")
    befriend(ana, ana_name, bob, bob_name)
    return ana, ana_name, bob, bob_name


def test_two_people_chat_live(ana_and_bob):
    """A message appears live, unread badges count, "Seen" shows, typing shows, presence shows."""
    ana, ana_name, bob, bob_name = ana_and_bob
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    composer(ana).fill("hello bob https://example.com/x). ok")
    composer(ana).press("Enter")
    sent = ana.locator("li[data-message][data-state=sent]")
    expect(sent).to_have_count(1)
    expect(sent.locator("[data-body] a")).to_have_attribute("href", "https://example.com/x")
    expect(sent.locator("[data-body] a")).to_have_attribute("rel", "noopener noreferrer nofollow ugc")

    # Bob's home lists the chat with its unread count, and follows live; Ana shows as online.
    bob.goto("/")
    expect(bob.locator("[data-presence-for] [data-presence-text]")).to_have_text("online")
    row = bob.locator("[data-conversation-list] li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("hello bob")
    composer(ana).fill("second")
    composer(ana).press("Enter")
    expect(bob.locator("[data-conversation-preview]")).to_contain_text("second")
    expect(bob.locator("[data-conversation-unread]")).to_have_text("2")
    expect(bob.locator("[data-unread-badge]").first).to_have_text("1")
    expect(bob).to_have_title(re.compile(r"^\(1\) "))

    # Bob opens it: both messages, Ana sees "Seen", Bob's badge clears.
    bob.locator("[data-conversation-link]").click()
    expect(bob.locator("li[data-message]")).to_have_count(2)
    expect(ana.locator("[data-seen-receipt]")).to_have_text("Seen")
    expect(bob.locator("[data-unread-badge]").first).to_be_hidden()

    # Typing shows while Bob types and goes when his message lands.
    composer(bob).press_sequentially("hey", delay=20)
    expect(ana.locator("[data-typing]")).to_contain_text("Bob Stone is typing")
    composer(bob).press("Enter")
    expect(ana.locator("li[data-message]")).to_have_count(3)
    expect(ana.locator("[data-typing]")).to_have_text("")
    expect(ana.locator("[data-chat-presence]")).to_contain_text("online")

    # Shift+Enter keeps a line break.
    composer(ana).press_sequentially("line1")
    composer(ana).press("Shift+Enter")
    composer(ana).press_sequentially("line2")
    composer(ana).press("Enter")
    expect(bob.locator("li[data-message]").last).to_contain_text("line1\nline2")


def test_long_histories_load_older_messages_and_show_the_new_messages_pill(ana_and_bob):
    """The page shows the latest 50; scrolling up loads older ones; a message arriving while
    scrolled up shows a pill instead of jumping."""
    ana, ana_name, bob, bob_name = ana_and_bob
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    for i in range(55):
        composer(ana).fill(f"msg {i}")
        composer(ana).press("Enter")
    expect(ana.locator("li[data-message][data-state=sent]")).to_have_count(55)
    bob.goto(f"/chat/{ana_name}?latest=1")  # the latest page, not the first unread (tests/test_browser_unread.py)
    expect(bob.locator("li[data-message]")).to_have_count(50)
    bob.locator("[data-scroller]").evaluate("element => { element.scrollTop = 0 }")
    expect(bob.locator("li[data-message]")).to_have_count(55)
    expect(bob.locator("li[data-message]").first).to_contain_text("msg 0")

    bob.locator("[data-scroller]").evaluate("element => { element.scrollTop = 0 }")
    composer(ana).fill("while you were up there")
    composer(ana).press("Enter")
    pill = bob.locator("[data-new-messages]")
    expect(pill).to_be_visible()
    pill.click()
    expect(pill).to_be_hidden()
    expect(bob.locator("li[data-message]").last).to_be_in_viewport()


def test_a_send_while_offline_fails_visibly_and_is_stored_once_after_reconnecting(ana_and_bob):
    """Offline, the bubble turns "failed" with Retry; back online it is sent with the same client_id."""
    ana, _ana_name, bob, bob_name = ana_and_bob
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    ana.evaluate(f"async () => {{ const s = ({REALTIME}).socket; s.io.reconnection(false); s.disconnect() }}")
    composer(ana).fill("offline msg")
    composer(ana).press("Enter")
    failed = ana.locator("li[data-state=failed]")
    expect(failed).to_have_count(1)
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    ana.evaluate(f"async () => ({REALTIME}).socket.connect()")
    expect(ana.locator("li[data-state=sent]")).to_have_count(1)
    ana.reload()
    expect(ana.locator("li[data-message]")).to_have_count(1)
    bob.goto("/")
    expect(bob.locator("[data-conversation-list] li")).to_contain_text("offline msg")


def test_the_chat_works_without_javascript(ana_and_bob, browser, live_server):
    """History shows and a plain form POST sends; the other side receives it live."""
    ana, ana_name, bob, bob_name = ana_and_bob
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    composer(ana).fill("from the js side")
    composer(ana).press("Enter")
    expect(ana.locator("li[data-state=sent]")).to_have_count(1)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        context.add_cookies(bob.context.cookies())
        page = context.new_page()
        page.goto(f"/chat/{ana_name}")
        expect(page.locator("li[data-message]")).to_contain_text("from the js side")
        page.get_by_role("textbox", name="Message").fill("from no-js")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("li[data-message]").last).to_contain_text("from no-js")
        expect(ana.locator("li[data-message]").last).to_contain_text("from no-js")
    finally:
        context.close()


def test_groups_show_sender_names_members_and_seen_by(ana_and_bob):
    """A group made from friends: names on others' messages, "Seen by 1", members online."""
    ana, _ana_name, bob, _bob_name = ana_and_bob
    ana.goto("/groups/new")
    ana.get_by_label("Group name").fill("Weekend plans")
    ana.get_by_label(re.compile("Bob Stone")).check()
    ana.get_by_role("button", name="Create group").click()
    expect(ana.locator("#chat-title")).to_have_text("Weekend plans")
    wait_connected(ana)
    composer(ana).fill("group hi")
    composer(ana).press("Enter")
    expect(ana.locator("li[data-message][data-state=sent]")).to_have_count(1)
    bob.goto("/")
    first = bob.locator("[data-conversation-list] li").first
    expect(first).to_contain_text("Ana Lima: group hi")
    first.locator("a").click()
    expect(ana.locator("[data-seen-receipt]")).to_have_text("Seen by 1")
    composer(bob).fill("hi all")
    composer(bob).press("Enter")
    expect(ana.locator("li[data-message]").last.locator("[data-sender-header]")).to_contain_text("Bob Stone")
    expect(ana.locator("main")).to_contain_text("2 members, 2 online")


def test_friends_presence_follows_their_tabs(ana_and_bob):
    """The friend list shows a friend online while a tab of theirs is open, "last seen" after."""
    ana, _ana_name, bob, _bob_name = ana_and_bob
    bob.goto("/")
    status = bob.locator("[data-presence-for] [data-presence-text]")
    expect(status).to_have_text("online")  # Ana's home page holds a socket
    ana.context.close()
    expect(status).to_contain_text("last seen today at")
