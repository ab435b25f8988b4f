"""Sending never silently fails: against a server with a small event limit, a burst of messages
typed in Chromium all arrive, in order, once each, none shown "Not sent" (the page waits out
rate_limited with the same client_id); typing notices have their own limit and never use up what a
message needs."""

import pytest
from playwright.sync_api import expect

from tests.conftest import HttpUser, LiveServer, wait_connected
from tests.realtime import Socket, befriend, direct_chat, history

# A small budget: a burst of messages outruns it many times over.
LIMITS = {
    "RATELIMIT_ENABLED": "1",
    "RATELIMIT_USER_EVENTS": "5/second;15/5 seconds",
    "RATELIMIT_TYPING_EVENTS": "3/second",
}
BURST = 40


@pytest.fixture(scope="module")
def limited_server(sqlite_databases, tmp_path_factory):
    """A real server (eventlet, SQLite) with the small limits above."""
    server = LiveServer(sqlite_databases.create(), tmp_path_factory.mktemp("limited") / "server.log", **LIMITS)
    yield server
    server.stop()


@pytest.fixture
def friends(limited_server):
    """Two friends with a direct chat on the limited server: (ana, bob, conversation id)."""
    ana, bob = HttpUser(limited_server.url).register(), HttpUser(limited_server.url).register()
    befriend(ana, bob)
    return ana, bob, direct_chat(ana, bob)


@pytest.fixture
def open_socket():
    opened = []

    def open_(user):
        opened.append(Socket(user))
        return opened[-1]

    yield open_
    for tab in opened:
        tab.client.disconnect()


def test_a_burst_of_messages_over_the_limit_all_arrive_in_order_once(browser, limited_server, friends):
    ana, bob, conversation_id = friends
    context = browser.new_context(base_url=limited_server.url)
    errors = []
    try:
        context.add_cookies([{"name": k, "value": v, "url": limited_server.url} for k, v in ana.http.cookies.items()])
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"/chat/{bob.username}")
        wait_connected(page)
        composer = page.get_by_role("textbox", name="Message")
        for index in range(BURST):
            composer.fill(f"burst {index}")
            composer.press("Enter")
        messages = page.locator("li[data-message]")
        expect(messages).to_have_count(BURST)
        # Meanwhile the ones held back read "Sending…", none "Not sent".
        expect(page.locator("li[data-message][data-state=sent]")).to_have_count(BURST, timeout=60000)
        expect(page.locator("li[data-message][data-state=failed]")).to_have_count(0)
        expect(page.locator("[data-failed]:visible")).to_have_count(0)
        assert [text.strip() for text in messages.locator("[data-body]").all_inner_texts()] == [
            f"burst {index}" for index in range(BURST)
        ]
        stored = history(bob, conversation_id, limit=100)
        assert [message["body"] for message in stored] == [f"burst {index}" for index in range(BURST)]
        assert [message["seq"] for message in stored] == sorted(message["seq"] for message in stored)
        page.reload()
        expect(page.locator("li[data-message]")).to_have_count(BURST)
    finally:
        context.close()
    assert not errors, errors


def test_typing_notices_do_not_spend_the_budget_messages_need(limited_server, friends, open_socket):
    ana, _bob, conversation_id = friends
    tab = open_socket(ana)
    answers = [tab.call("typing", {"conversation_id": conversation_id}) for _ in range(30)]
    assert {answer.get("error") for answer in answers if not answer["ok"]} == {"rate_limited"}
    assert sum(answer["ok"] for answer in answers) < 30
    message = tab.send(conversation_id, "still goes through")
    assert message["body"] == "still goes through"
