"""Phones and keyboards in Chromium: at 390 × 844 no action buttons on the bubbles, a long-press (or
"More actions") opens the action sheet, the chat header shows long names in full and nothing shifts
while a page loads; at a desk the keyboard reaches the composer in a few keys, moves between
messages with the arrows, opens a message's menu with Enter and closes every menu with Escape."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import unique_username, wait_connected
from tests.realtime import befriend, create_group, direct_chat, user_id

pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}
LONG_NAME = ("Bartholomew Maximilian", "Featherstonehaugh-Wolfe")
LONG_TITLE = "Weekend hiking club: planning the autumn trip"

# Whether an element is drawn: displayed, not visibility:hidden and not transparent.
SEEN = "el => el.checkVisibility({opacityProperty: true, visibilityProperty: true})"

# Sums the layout shifts of the page from its first paint on (as Lighthouse's CLS does, without
# its session windows: a stricter sum), ignoring those right after an input.
CLS_OBSERVER = """
window.__cls = 0;
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput) continue;
    window.__cls += entry.value;
    for (const source of entry.sources || []) {
      const node = source.node;
      const name = node && node.nodeType === 1 ? node.tagName + "." + [...node.classList].slice(0, 3).join(".") : "";
      const [from, to] = [source.previousRect, source.currentRect].map((rect) => JSON.stringify(rect));
      window.__shifts.push(`${entry.value.toFixed(3)} ${name} ${from} -> ${to}`);
    }
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def person(http_user, first: str = "Test", last: str = "User"):
    """A new account with these names, signed in over HTTP."""
    return http_user().register(unique_username("m"), first_name=first, last_name=last)


def browser_of(new_page, live_server, user, **options):
    """A page of its own signed in as `user`."""
    page = new_page(**options)
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in user.http.cookies])
    return page


def open_chat(page, cid: int) -> None:
    page.goto(f"/c/{cid}")
    wait_connected(page)
    expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")


@pytest.fixture
def chat(http_user, open_socket):
    """Ana and Bob (a long name) in a direct chat of 50 messages, Bob's last: (ana, bob, cid)."""
    ana, bob = person(http_user, "Ana", "Lima"), person(http_user, *LONG_NAME)
    befriend(ana, bob)
    cid = direct_chat(ana, bob)
    ana_tab, bob_tab = open_socket(ana), open_socket(bob)
    for number in range(48):
        (ana_tab if number % 2 else bob_tab).send(cid, f"message {number}")
    ana_tab.send(cid, "see https://example.com/notes and tell me")
    bob_tab.send(cid, "the last word")
    return ana, bob, cid


def expect_visible_actions(page, count: int) -> None:
    """Wait until exactly `count` message action buttons are seen (they fade in and out)."""
    page.wait_for_function(
        f"""(count) => [...document.querySelectorAll("[data-message-list] [data-actions] [data-action]")]
            .filter({SEEN}).length === count""",
        arg=count,
    )


def expect_seen(locator) -> None:
    """Wait until `locator` is seen: not hidden, and done fading in (opacity above 0)."""
    locator.page.wait_for_function(SEEN, arg=locator.element_handle())


def long_press(page, target) -> None:
    """Hold a finger on `target` (scrolled into view) until the action sheet shows, then lift it."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    expect(page.locator("[data-action-menu]")).to_be_visible()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_phone_long_press_opens_the_action_sheet(new_page, live_server, chat):
    """No action buttons on the bubbles; a long-press opens the sheet at the bottom with what Ana
    may do; Reply from it sets the reply bar; Escape and a tap outside close it."""
    ana, _bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=PHONE, has_touch=True, is_mobile=True)
    open_chat(page, cid)
    items = page.locator("li[data-message]")
    expect(items).to_have_count(50)
    expect_visible_actions(page, 0)

    sheet = page.locator("[data-action-menu]")
    theirs = items.last
    long_press(page, theirs.locator("[data-bubble]"))
    box = sheet.bounding_box()
    assert box["width"] == PHONE["width"] and abs(box["y"] + box["height"] - PHONE["height"]) <= 1, box
    expect(sheet.get_by_role("button", name="Reply")).to_be_focused()
    expect(sheet.get_by_role("button", name="Forward")).to_be_visible()
    expect(sheet.get_by_role("button", name="React with 👍")).to_be_visible()
    expect(sheet.get_by_role("button", name="Edit")).to_be_hidden()  # Bob's message
    expect(sheet.get_by_role("button", name="Delete")).to_be_hidden()

    sheet.get_by_role("button", name="Reply").tap()
    expect(sheet).to_be_hidden()
    expect(page.locator("[data-reply-bar]")).to_be_visible()
    expect(page.locator("[data-reply-preview]")).to_have_text("the last word")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()

    # My own message: Edit and Delete apply. Escape closes, the focus goes back to the message.
    mine = items.filter(has_text="tell me")
    long_press(page, mine.locator("[data-body]"))
    expect(sheet.get_by_role("button", name="Edit")).to_be_visible()
    expect(sheet.get_by_role("button", name="Delete")).to_be_visible()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(mine).to_be_focused()

    # The message in focus shows its "More actions" button, which opens the same sheet; a tap
    # outside closes it.
    more = mine.locator("[data-action=more]")  # by role it is out of reach while the sheet is modal
    expect_seen(more)
    expect_visible_actions(page, 1)
    more.tap()
    expect(sheet).to_be_visible()
    expect(more).to_have_attribute("aria-expanded", "true")
    page.mouse.click(PHONE["width"] / 2, 40)
    expect(sheet).to_be_hidden()
    expect(more).to_have_attribute("aria-expanded", "false")

    # A quick reaction from the sheet.
    long_press(page, theirs.locator("[data-bubble]"))
    sheet.get_by_role("button", name="React with 👍").tap()
    expect(theirs.locator("[data-reaction][data-emoji='👍']")).to_have_attribute("aria-pressed", "true")


def test_phone_header_shows_long_names_in_full(new_page, live_server, http_user, chat):
    """A long display name (direct chat) and a long group title wrap in the header, never cut."""
    ana, bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=PHONE)

    def assert_whole(locator, text: str) -> None:
        expect(locator).to_have_text(text)
        sizes = locator.evaluate("el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]")
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    open_chat(page, cid)
    assert_whole(page.locator("#chat-title a"), " ".join(LONG_NAME))
    assert_whole(page.locator("[data-chat-username]"), f"@{bob.username}")

    group = create_group(ana, [user_id(bob, cid)], title=LONG_TITLE)
    open_chat(page, group)
    title = page.locator("#chat-title")
    assert_whole(title, LONG_TITLE)
    assert title.bounding_box()["height"] > 30  # on two lines
    # Search and the group's settings fold into the options menu.
    expect(page.locator("[data-search-conversation]")).to_be_hidden()
    page.locator("[data-conversation-settings-menu] > summary").click()
    expect(page.get_by_role("link", name="Search in this conversation")).to_be_visible()


@pytest.mark.parametrize("path", ["home", "chat"])
def test_phone_pages_do_not_shift_while_loading(new_page, live_server, chat, path):
    """The menu is drawn closed, so nothing moves once the scripts run: CLS under 0.1."""
    ana, _bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=PHONE)
    page.add_init_script(CLS_OBSERVER)
    if path == "chat":
        open_chat(page, cid)
    else:
        page.goto("/")
        wait_connected(page)
    page.wait_for_load_state("networkidle")
    menu = page.locator("#nav-menu")
    expect(menu).to_be_hidden()
    cls = page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(() => done(__cls), 0)))")
    assert cls < 0.1, f"layout shift {cls} on {path}: {page.evaluate('window.__shifts')}"
    toggle = page.locator("[data-nav-toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_be_focused()


def test_phone_menu_opens_without_javascript(new_page, live_server, chat):
    """Without JavaScript the Menu link still opens the menu (#nav-menu:target)."""
    ana, _bob, _cid = chat
    page = browser_of(new_page, live_server, ana, viewport=PHONE, java_script_enabled=False)
    page.goto("/")
    expect(page.locator("#nav-menu")).to_be_hidden()
    page.locator("[data-nav-toggle]").click()
    expect(page.locator("#nav-menu")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_keyboard_reaches_the_composer_and_moves_between_messages(new_page, live_server, chat):
    """On a 50-message chat the composer is at most 3 Tab presses away (the skip link leads to it);
    the list is one tab stop; the arrows, Home and End move between messages; Tab goes into the
    message in focus; Enter opens its menu, the arrows move in it, Escape closes it."""
    ana, _bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=DESK)
    open_chat(page, cid)
    composer = page.get_by_role("textbox", name="Message")
    items = page.locator("li[data-message]")
    expect(items).to_have_count(50)

    presses = 0
    while not composer.evaluate("el => el === document.activeElement") and presses <= 3:
        if page.evaluate("document.activeElement.textContent.trim()") == "Skip to composer":
            page.keyboard.press("Enter")
            continue
        page.keyboard.press("Tab")
        presses += 1
    expect(composer).to_be_focused()
    assert presses <= 3

    # One tab stop in the whole history, whatever its length: the latest message.
    stops = page.evaluate(
        """() => [...document.querySelectorAll("[data-scroller], [data-scroller] *")]
            .filter((el) => el.tabIndex >= 0 && el.checkVisibility()).map((el) => el.getAttribute("data-seq"))"""
    )
    assert stops == ["50"], stops

    # Back past the emoji and attach buttons to the message; Tab goes into it.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    last = items.last
    expect(last).to_be_focused()
    page.keyboard.press("Tab")
    expect(last.get_by_role("button", name="Reply")).to_be_focused()  # its actions show on focus
    expect_seen(last.get_by_role("button", name="Reply"))

    last.focus()
    page.keyboard.press("ArrowUp")
    with_link = items.nth(48)
    expect(with_link).to_be_focused()
    expect(with_link).to_have_attribute("tabindex", "0")
    expect(last).to_have_attribute("tabindex", "-1")
    page.keyboard.press("Tab")
    expect(with_link.get_by_role("link", name="https://example.com/notes")).to_be_focused()
    page.keyboard.press("Escape")
    expect(with_link).to_be_focused()
    page.keyboard.press("Home")
    expect(items.first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(last).to_be_focused()

    # Enter opens the menu next to the message (a popover, not a sheet).
    menu = page.locator("[data-action-menu]")
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    assert menu.bounding_box()["width"] < 400
    reply = menu.get_by_role("button", name="Reply")
    expect(reply).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("button", name="Forward")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(reply).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(last).to_be_focused()

    page.keyboard.press("Shift+F10")
    expect(menu).to_be_visible()
    page.keyboard.press("Enter")  # Reply
    expect(menu).to_be_hidden()
    expect(page.locator("[data-reply-preview]")).to_have_text("the last word")
    expect(composer).to_be_focused()

    # Escape closes the header's menus too.
    options = page.locator("[data-conversation-settings-menu]")
    options.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(options).to_have_js_property("open", True)
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(options).to_have_js_property("open", False)
    expect(options.locator("summary")).to_be_focused()


def test_desk_actions_show_on_hover_only(new_page, live_server, chat):
    """At a desk a message's actions show while it is hovered or in focus, not for good."""
    ana, _bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=DESK)
    open_chat(page, cid)
    page.mouse.move(1, 1)
    expect_visible_actions(page, 0)
    last = page.locator("li[data-message]").last
    last.locator("[data-bubble]").hover()
    expect_seen(last.get_by_role("button", name="Reply"))
    expect_seen(last.get_by_role("button", name="More actions"))


def test_reaction_picker_moves_with_the_arrows(new_page, live_server, chat):
    """The picker's bar and grid move with the arrows (one tab stop each); Enter picks; Escape closes."""
    ana, _bob, cid = chat
    page = browser_of(new_page, live_server, ana, viewport=DESK)
    open_chat(page, cid)
    last = page.locator("li[data-message]").last
    last.focus()
    page.keyboard.press("Enter")
    page.locator("[data-action-menu]").get_by_role("button", name="More reactions").click()
    picker = page.locator("[data-reaction-picker]")
    expect(picker).to_be_visible()
    bar = picker.locator("[data-reaction-bar] button")
    expect(bar.first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(bar.nth(1)).to_be_focused()
    expect(bar.nth(1)).to_have_attribute("tabindex", "0")
    expect(bar.first).to_have_attribute("tabindex", "-1")
    page.keyboard.press("End")
    expect(picker.get_by_role("button", name="More reactions")).to_be_focused()
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)

    page.keyboard.press("Enter")  # from the React button the focus went back to
    picker = page.locator("[data-reaction-picker]")
    expect(picker).to_be_visible()
    picker.get_by_role("button", name="More reactions").press("Enter")
    cells = picker.locator("[data-reaction-grid] [data-pick]")
    expect(cells.first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(cells.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(cells.nth(9)).to_be_focused()  # eight to a row
    page.keyboard.press("ArrowLeft")
    expect(cells.nth(8)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(cells.nth(0)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(picker.get_by_role("button", name="More reactions")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(cells.nth(0)).to_be_focused()
    emoji = cells.nth(0).get_attribute("data-pick")
    page.keyboard.press("Enter")
    expect(picker).to_have_count(0)
    chip = last.locator("[data-reaction]").filter(has_text=re.compile(re.escape(emoji)))
    expect(chip).to_have_attribute("aria-pressed", "true")
