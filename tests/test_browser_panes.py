"""Two panes in Chromium: the conversation list beside the open chat from 1024 px, chat switches
that swap the pane without a page load over one socket, back/forward and reload, the modules of a
pane that went leaving nothing behind, one pane with a back control on a phone, the Ctrl/Cmd+K
switcher, and every chat its own page without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import REALTIME, HttpUser, unique_username, wait_connected
from tests.realtime import befriend, direct_chat

SOCKET_ID = f"async () => ({REALTIME}).socket.id"
BUS_EVENTS = ["message", "message_updated", "read", "typing", "presence", "synced", "connect", "disconnect"]
SUBSCRIBERS = (
    "async (events) => { const bus = await import('/static/js/realtime/bus.js');"
    " return Object.fromEntries(events.map((e) => [e, bus.count(e)])); }"
)
# Counts the listeners on window and document that are still on, and the intervals still running
# (a listener added with a signal goes when it aborts), for the test of what a pane leaves behind.
COUNT_LISTENERS_AND_TIMERS = """(() => {
  let listeners = 0;
  for (const target of [window, document]) {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    target.addEventListener = (type, fn, options) => {
      listeners += 1;
      const signal = options && typeof options === "object" ? options.signal : null;
      if (signal) signal.addEventListener("abort", () => (listeners -= 1), { once: true });
      return add(type, fn, options);
    };
    target.removeEventListener = (type, fn, options) => {
      listeners -= 1;
      return remove(type, fn, options);
    };
  }
  const intervals = new Set();
  const setInterval_ = window.setInterval.bind(window);
  const clearInterval_ = window.clearInterval.bind(window);
  window.setInterval = (...args) => {
    const id = setInterval_(...args);
    intervals.add(id);
    return id;
  };
  window.clearInterval = (id) => {
    intervals.delete(id);
    return clearInterval_(id);
  };
  window.__held = () => ({ listeners, intervals: intervals.size });
})();"""
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)


def person(live_server, first: str) -> HttpUser:
    """A signed-up HttpUser named `first` Lima."""
    return HttpUser(live_server.url).register(unique_username(first.lower()), first_name=first, last_name="Lima")


@pytest.fixture
def three(live_server, open_socket):
    """Ana with direct chats with Bob and Cyd (one message in each), and Bob's and Cyd's sockets:
    (ana, {"bob": (chat id, socket), "cyd": (chat id, socket)})."""
    ana, bob, cyd = (person(live_server, name) for name in ("Ana", "Bob", "Cyd"))
    chats = {}
    for name, other in (("bob", bob), ("cyd", cyd)):
        befriend(ana, other)
        chat = direct_chat(ana, other)
        tab = open_socket(other)
        tab.send(chat, f"first from {name}")
        chats[name] = (chat, tab)
    return ana, chats


def browser_for(new_page, live_server, user: HttpUser, **options):
    page = new_page(**options)
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in user.http.cookies])
    return page


def row_link(page, chat: int):
    return page.locator(f'[data-conversations] li[data-conversation-id="{chat}"] [data-conversation-link]')


def composer(page):
    return page.get_by_role("textbox", name="Message")


def at_chat(page, chat: int) -> None:
    """The page's URL is the chat's: /c/<id>, or its row's link (/chat/<username> for a direct chat)."""
    href = re.escape(row_link(page, chat).get_attribute("href"))
    expect(page).to_have_url(re.compile(f"(/c/{chat}|{href})$"))


def switch_to(page, chat: int, name: str) -> None:
    row_link(page, chat).click()
    at_chat(page, chat)
    expect(page.locator("#chat-title")).to_contain_text(f"{name} Lima")
    expect(row_link(page, chat)).to_have_attribute("aria-current", "page")


def test_switching_chats_swaps_the_pane_without_a_page_load(new_page, live_server, three):
    """The list is beside the chat; a row opens its chat in place (the URL is the chat's, the socket
    and the page stay), live messages arrive there, back and forward swap again, a reload stays."""
    ana, chats = three
    (bob_chat, bob), (cyd_chat, cyd) = chats["bob"], chats["cyd"]
    page = browser_for(new_page, live_server, ana, viewport=DESKTOP)
    page.goto(f"/c/{bob_chat}")
    wait_connected(page)
    expect(page.locator("[data-conversations]")).to_be_visible()
    expect(page.locator("[data-conversations] li[data-conversation-id]")).to_have_count(2)
    expect(row_link(page, bob_chat)).to_have_attribute("aria-current", "page")
    expect(page.locator("[data-chat-back]")).to_be_hidden()
    socket_id = page.evaluate(SOCKET_ID)
    page.evaluate("window.__marker = 'same page'")

    switch_to(page, cyd_chat, "Cyd")
    expect(page).to_have_title(re.compile("Cyd Lima"))
    expect(row_link(page, bob_chat)).not_to_have_attribute("aria-current", "page")
    expect(page.locator("li[data-message]")).to_have_text([re.compile("first from cyd")])
    expect(composer(page)).to_be_focused()
    cyd.send(cyd_chat, "live from cyd")
    expect(page.locator("li[data-message]", has_text="live from cyd")).to_have_count(1)
    # Ana reads it: the chat's row has no unread badge.
    expect(row_link(page, cyd_chat).locator("[data-conversation-unread]")).to_be_hidden()

    # A message in the other chat counts on its row.
    bob.send(bob_chat, "meanwhile from bob")
    expect(row_link(page, bob_chat).locator("[data-conversation-unread]")).to_have_text("1")
    expect(row_link(page, bob_chat).locator("[data-conversation-preview]")).to_contain_text("meanwhile from bob")

    page.go_back()
    at_chat(page, bob_chat)
    expect(page.locator("#chat-title")).to_contain_text("Bob Lima")
    expect(page.locator("li[data-message]")).to_have_text(
        [re.compile("first from bob"), re.compile("meanwhile from bob")]
    )
    expect(row_link(page, bob_chat).locator("[data-conversation-unread]")).to_be_hidden()
    page.go_forward()
    expect(page.locator("#chat-title")).to_contain_text("Cyd Lima")
    expect(page.locator("li[data-message]", has_text="live from cyd")).to_have_count(1)
    assert page.evaluate("window.__marker") == "same page"
    assert page.evaluate(SOCKET_ID) == socket_id

    page.reload()
    at_chat(page, cyd_chat)
    expect(page.locator("#chat-title")).to_contain_text("Cyd Lima")
    assert page.evaluate("window.__marker") is None


def test_a_pane_that_went_leaves_no_handler_behind(new_page, live_server, three):
    """After ten switches the bus has as many subscribers, window and document as many listeners
    and as many intervals run as after the first load, and a message shows once; sending still
    works in the pane swapped in."""
    ana, chats = three
    (bob_chat, bob), (cyd_chat, _cyd) = chats["bob"], chats["cyd"]
    page = browser_for(new_page, live_server, ana, viewport=DESKTOP)
    page.add_init_script(COUNT_LISTENERS_AND_TIMERS)
    page.goto(f"/c/{bob_chat}")
    wait_connected(page)
    before = page.evaluate(SUBSCRIBERS, BUS_EVENTS)
    held = page.evaluate("window.__held()")
    assert held["intervals"] >= 2  # the pane's own (day lines, edit window) are counted
    for _ in range(5):
        switch_to(page, cyd_chat, "Cyd")
        switch_to(page, bob_chat, "Bob")
    assert page.evaluate(SUBSCRIBERS, BUS_EVENTS) == before
    assert page.evaluate("window.__held()") == held

    bob.send(bob_chat, "once only")
    expect(page.locator("li[data-message]", has_text="once only")).to_have_count(1)
    expect(page.locator("li[data-message]")).to_have_count(2)

    composer(page).fill("ana answers")
    composer(page).press("Enter")
    expect(page.locator("li[data-message][data-state=sent]", has_text="ana answers")).to_have_count(1)
    bob.wait_for("message", lambda m: m["body"] == "ana answers")
    assert len(bob.received("message", lambda m: m["body"] == "ana answers")) == 1


def test_the_switcher_opens_a_chat_from_the_keyboard(new_page, live_server, three):
    """Ctrl+K opens the switcher with the box focused; typing filters; arrows move; Enter opens the
    chosen chat in the pane; Esc closes and gives the focus back."""
    ana, chats = three
    bob_chat, cyd_chat = chats["bob"][0], chats["cyd"][0]
    page = browser_for(new_page, live_server, ana, viewport=DESKTOP)
    page.goto(f"/c/{bob_chat}")
    wait_connected(page)
    page.evaluate("window.__marker = 'same page'")
    switcher = page.get_by_role("dialog", name="Go to a conversation")
    box = page.get_by_role("combobox", name="Conversation name")
    options = switcher.get_by_role("option")

    composer(page).click()
    page.keyboard.press("Control+k")
    expect(switcher).to_be_visible()
    expect(box).to_be_focused()
    expect(options).to_have_count(2)
    box.press_sequentially("cy")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(options.first).to_contain_text("Cyd Lima")
    box.press("Enter")
    expect(switcher).to_be_hidden()
    at_chat(page, cyd_chat)
    expect(page.locator("#chat-title")).to_contain_text("Cyd Lima")
    expect(composer(page)).to_be_focused()
    assert page.evaluate("window.__marker") == "same page"

    page.keyboard.press("Control+k")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", re.compile("switcher-option-1"))
    box.press("Escape")
    expect(switcher).to_be_hidden()
    expect(composer(page)).to_be_focused()
    at_chat(page, cyd_chat)


def test_a_phone_shows_one_pane_with_a_back_control(new_page, live_server, three):
    """At 390 px the chat has the screen and a back control to the list; the home page shows the
    list without the start pane; at 1280 px the home page has the start pane beside the list."""
    ana, chats = three
    bob_chat = chats["bob"][0]
    phone = browser_for(new_page, live_server, ana, viewport=PHONE)
    phone.goto(f"/c/{bob_chat}")
    expect(phone.locator("[data-conversations]")).to_be_hidden()
    back = phone.get_by_role("link", name="Back to chats")
    expect(back).to_be_visible()
    back.click()
    expect(phone).to_have_url(re.compile(r"/$"))
    expect(phone.locator("[data-conversations] li[data-conversation-id]")).to_have_count(2)
    expect(phone.locator("[data-start-pane]")).to_be_hidden()

    desktop = browser_for(new_page, live_server, ana, viewport=DESKTOP)
    desktop.goto("/")
    wait_connected(desktop)
    start = desktop.locator("[data-start-pane]")
    expect(start).to_be_visible()
    for name in ("New group", "Find people", "Browse rooms"):
        expect(start.get_by_role("link", name=name)).to_be_visible()
    # The switcher from the home page opens the chat's page.
    desktop.keyboard.press("Control+k")
    box = desktop.get_by_role("combobox", name="Conversation name")
    box.press_sequentially("bob")
    chosen = desktop.get_by_role("dialog", name="Go to a conversation").get_by_role("option")
    expect(chosen).to_have_count(1)
    expect(chosen).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    desktop.wait_for_url(re.compile(r"/(c|chat)/"))  # a page load (from home), not a pane swap
    at_chat(desktop, bob_chat)


def test_without_javascript_every_chat_is_its_own_page(new_page, live_server, three):
    """Without JavaScript the list beside the chat is plain links: a row loads its chat's page."""
    ana, chats = three
    bob_chat, cyd_chat = chats["bob"][0], chats["cyd"][0]
    page = browser_for(new_page, live_server, ana, viewport=DESKTOP, java_script_enabled=False)
    page.goto(f"/c/{bob_chat}")
    expect(page.locator("[data-conversations]")).to_be_visible()
    with page.expect_navigation():
        row_link(page, cyd_chat).click()
    at_chat(page, cyd_chat)
    expect(page.locator("#chat-title")).to_contain_text("Cyd Lima")
    expect(page.locator("li[data-message]")).to_have_text([re.compile("first from cyd")])


def test_a_pane_request_gets_the_pane_alone(live_server, three):
    """X-Messanger-Pane: chat answers the title and the chat pane, without the page around it."""
    ana, chats = three
    bob_chat = chats["bob"][0]
    url = f"{live_server.url}/c/{bob_chat}"
    pane = ana.http.get(url, headers={"X-Messanger-Pane": "chat"}, timeout=10)
    full = ana.http.get(url, timeout=10)
    assert pane.status_code == 200 and "X-Messanger-Pane" in pane.headers["Vary"]
    assert "<html" not in pane.text and "data-conversations" not in pane.text
    assert re.search(r"<title>Bob Lima · Messanger</title>", pane.text)
    assert "data-chat" in pane.text and 'id="chat-data"' in pane.text and "first from bob" in pane.text
    assert "<html" in full.text and "data-conversations" in full.text
