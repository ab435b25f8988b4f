"""The small things seen in the walk, measured in Chromium: "New group" stays inside its card while
notifications are undecided, the header keeps its height when a friend request arrives, the picture
viewer covers the sticky header, the home page says when the server is gone, the password hints
mark the rules again after a refused sign-up, and a big room's members panel pages."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD, HttpUser, LiveServer, register_in_browser, unique_username, wait_connected

SQLITE = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)

UNDECIDED = "Object.defineProperty(Notification, 'permission', { get: () => 'default' })"


def _signed_up(page, first="Ana"):
    username = unique_username(first.lower())
    register_in_browser(page, username, first, "Lima")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Hi, {first}")
    return username


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@SQLITE
@pytest.mark.parametrize("width", [1024, 1280, 1600, 1920])
def test_new_group_stays_inside_its_card_while_notifications_are_undecided(new_page, width):
    page = new_page(viewport={"width": width, "height": 900})
    page.add_init_script(UNDECIDED)
    _signed_up(page)
    card = page.locator("section[aria-labelledby=conversations-title]")
    enable = card.locator("[data-enable-notifications]")
    expect(enable).to_be_visible()
    expect(enable).to_have_accessible_name("Enable notifications")
    header = card.locator("h2#conversations-title").locator("xpath=..")
    for control in (enable, header.get_by_role("link", name="New group")):
        assert _inside(control.bounding_box(), header.bounding_box()), (width, control.bounding_box())


@SQLITE
@pytest.mark.parametrize("width", [1024, 1280, 1920])
def test_the_header_keeps_its_height_when_a_friend_request_arrives(new_page, width):
    ana, bob = new_page(viewport={"width": width, "height": 900}), new_page(viewport={"width": width, "height": 900})
    ana_name = _signed_up(ana, "Ana")
    _signed_up(bob, "Bob")
    header = ana.locator("body > header")
    before = header.bounding_box()["height"]
    bob.goto(f"/u/{ana_name}")
    bob.get_by_role("button", name=re.compile("^Add friend")).click()
    ana.reload()
    expect(ana.get_by_role("link", name=re.compile("Requests"))).to_be_visible()
    assert header.bounding_box()["height"] == before


@SQLITE
def test_the_picture_viewer_covers_the_sticky_header(page):
    _signed_up(page)
    page.goto("/rooms")
    page.locator("form[action$='/join'] button").first.click()
    page.wait_for_url(re.compile(r"/c/\d+$"))
    page.evaluate(
        """async () => {
          const { openViewer } = await import('/static/js/attachments/viewer.js');
          const link = document.createElement('a');
          link.href = '/static/favicon.svg';
          link.setAttribute('data-filename', 'picture.png');
          openViewer(link, document.getElementById('attachment-viewer-template'));
        }"""
    )
    expect(page.locator("[data-attachment-viewer]")).to_be_visible()
    header = page.locator("body > header").bounding_box()
    on_top = page.evaluate(
        "([x, y]) => !!document.elementFromPoint(x, y).closest('[data-attachment-viewer]')",
        [header["x"] + header["width"] / 2, header["y"] + header["height"] / 2],
    )
    assert on_top
    # And the white header does not show through: where the overlay's own background covers it, all but black.
    points = page.evaluate(
        """([width, height]) => {
          const overlay = document.querySelector('[data-attachment-viewer]');
          const points = [];
          for (let x = 2; x < width; x += 16) for (let y = 2; y < height; y += 8) {
            if (document.elementFromPoint(x, y) === overlay) points.push([x, y]);
          }
          return points;
        }""",
        [header["width"], header["height"]],
    )
    page.evaluate("() => document.activeElement.blur()")  # no focus ring in the way
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    assert len(points) > 20
    brightest = max(max(shot.getpixel((x, y))) for x, y in points)
    assert brightest < 25, brightest


@SQLITE
def test_password_hints_mark_the_rules_again_after_a_refused_sign_up(page):
    """A refused sign-up (the name is taken) empties the password fields (never sent back); the hints
    start over and mark each rule as the password is typed again."""
    taken = _signed_up(page)
    page.context.clear_cookies()
    register_in_browser(page, taken, "Ana", "Lima")
    expect(page.locator("[role=alert], .field-error").first).to_be_visible()
    rules = page.locator("#password-hints [data-pattern]")
    expect(rules.first).to_have_attribute("data-state", "idle")
    page.fill("#password", TEST_PASSWORD)
    assert rules.count() > 0
    for index in range(rules.count()):
        expect(rules.nth(index)).to_have_attribute("data-state", "met")
    page.fill("#confirm_password", TEST_PASSWORD)
    expect(page.locator("#password-match")).to_have_attribute("data-state", "match")


@pytest.fixture
def own_server(sqlite_databases, tmp_path):
    """A server of this test's own, which it may stop."""
    server = LiveServer(sqlite_databases.create(), tmp_path / "server.log")
    yield server
    server.stop()


def test_the_home_page_says_when_the_server_is_gone(browser, own_server):
    context = browser.new_context(base_url=own_server.url)
    try:
        page = context.new_page()
        _signed_up(page)
        wait_connected(page)
        banner = page.locator("[data-offline-banner]")
        expect(banner).to_be_hidden()
        own_server.kill()
        expect(banner).to_be_visible(timeout=15000)
        expect(banner).to_have_text("Reconnecting…")
        expect(banner).to_have_attribute("role", "status")
        own_server.start()
        expect(banner).to_be_hidden(timeout=40000)
    finally:
        context.close()


@SQLITE
def test_the_members_panel_of_a_big_room_loads_the_rest_on_demand(page, live_server):
    """The chat page lists the first 20 members; "Show more members" brings the others, a page at a time."""
    _signed_up(page)
    page.goto("/rooms")
    page.locator("form[action$='/join'] button").first.click()
    page.wait_for_url(re.compile(r"/c/\d+$"))
    room_path = page.url.removeprefix(live_server.url)
    for _ in range(21):
        other = HttpUser(live_server.url).register()
        assert other.post_form(f"/rooms/{room_path.rsplit('/', 1)[1]}/join", {}, csrf_from="/rooms").ok
    page.reload()
    total = int(re.search(r"(\d+) members", page.locator("[data-chat-presence]").inner_text()).group(1))
    assert total > 20
    page.locator("[data-members-panel] summary").click()
    items = page.locator("[data-member-list] > li")
    expect(items).to_have_count(20)
    more = page.get_by_role("button", name="Show more members")
    while more.count():
        more.click()
        page.wait_for_function("() => !document.querySelector('[data-members-more]')?.disabled")
    expect(items).to_have_count(total)
    ids = items.evaluate_all("items => items.map((item) => item.getAttribute('data-member-id'))")
    assert len(set(ids)) == total


@SQLITE
@pytest.mark.parametrize("path", ["/login", "/register"])
def test_form_cards_have_no_empty_band_above_their_first_field(page, path):
    """The card's space above its first field is its padding, as below the last one: the hidden CSRF
    field does not start the spacing between fields."""
    page.goto(path)
    gaps = page.evaluate(
        """() => {
            const card = document.querySelector("main .card");
            const form = card.querySelector("form");
            const first = [...form.children].find((el) => el.offsetParent !== null);
            const style = getComputedStyle(card);
            const top = card.getBoundingClientRect().top + parseFloat(style.borderTopWidth);
            return { above: first.getBoundingClientRect().top - top, padding: parseFloat(style.paddingTop) };
        }"""
    )
    assert abs(gaps["above"] - gaps["padding"]) < 1, gaps
