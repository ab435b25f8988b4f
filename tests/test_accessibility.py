"""The accessibility audit: axe-core (the copy axe-playwright-python bundles, no download) over every
page of the app and the dialogs and menus it opens, in light and dark colour schemes, on a desktop
(1280 x 800) and a phone (390 x 844) viewport, failing on any violation.

One server and one set of seeded data for the module; one signed-in and one signed-out browser
context per (scheme, viewport), reused by every page. To audit a new page or state, add a `Screen`
to SCREENS: its path may name the seeded ids and usernames (`{direct}`, `{bob}`, ...), and `show`
may open something on the loaded page (a dialog, a menu) before the audit runs."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from app import create_app
from app.extensions import db
from app.services import conversations
from app.transactions import transaction
from tests import images
from tests.conftest import HttpUser, LiveServer, app_config, unique_username, wait_connected
from tests.realtime import Socket, befriend, create_group, direct_chat

SCHEMES = ["light", "dark"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
REALTIME = "/static/js/realtime/index.js"
AXE = Axe()


@dataclass(frozen=True)
class Screen:
    """One page (or one state of it) to audit."""

    name: str
    path: str
    signed_in: bool = True
    live: bool = False  # a chat page: wait until its script has connected and decorated it
    show: Callable[[Page], None] | None = None


def open_image_viewer(page: Page) -> None:
    page.locator("[data-attachment-kind=image]").first.click()
    expect(page.locator("[data-attachment-viewer]")).to_be_visible()


def run_menu_action(page: Page, action: str) -> None:
    """Open the first message's action menu from the keyboard (the way that works at any width) and
    pick `action` in it."""
    message = page.locator("li[data-message]").first
    message.focus()
    page.keyboard.press("Enter")
    menu = page.locator("[data-action-menu]")
    expect(menu).to_be_visible()
    menu.locator(f"[data-menu-action={action}]").click()


def open_reaction_picker(page: Page) -> None:
    run_menu_action(page, "react")
    expect(page.locator("[data-reaction-picker]").first).to_be_visible()


def open_more_reactions(page: Page) -> None:
    open_reaction_picker(page)
    page.locator("[data-reaction-picker] [data-more-reactions]").first.click()
    expect(page.locator("[data-reaction-grid]").first).to_be_visible()


def open_forward_dialog(page: Page) -> None:
    run_menu_action(page, "forward")
    expect(page.get_by_role("dialog", name="Forward message")).to_be_visible()


def open_conversation_menu(page: Page) -> None:
    page.locator("[data-conversation-settings-menu] > summary").click()
    expect(page.locator("[data-conversation-settings-menu]")).to_have_attribute("open", "")


def open_nav_menu(page: Page) -> None:
    toggle = page.locator("[aria-controls=nav-menu]")
    if toggle.is_visible():  # the phone's menu button; on a desktop the menu is always shown
        toggle.click()
    expect(page.locator("#nav-menu")).to_be_visible()


def start_reply(page: Page) -> None:
    run_menu_action(page, "reply")
    expect(page.locator("[data-reply-cancel]")).to_be_visible()


def submit_an_expired_form(page: Page) -> None:
    """The page's sign-out form sent with a token that no longer holds: the 400 "Form expired" page."""
    page.evaluate(
        """() => {
            const token = document.querySelector("form[action='/logout'] input[name=csrf_token]");
            token.value = "expired";
            token.form.requestSubmit();
        }"""
    )
    expect(page.get_by_role("heading", name="Form expired")).to_be_visible()


SCREENS = [
    Screen("landing", "/", signed_in=False),
    Screen("login", "/login", signed_in=False),
    Screen("register", "/register", signed_in=False),
    Screen("not found, signed out", "/no/such/page", signed_in=False),
    Screen("home", "/"),
    Screen("home menu", "/", show=open_nav_menu),
    Screen("direct chat", "/c/{direct}", live=True),
    Screen("direct chat, image viewer", "/c/{direct}", live=True, show=open_image_viewer),
    Screen("direct chat, reaction picker", "/c/{direct}", live=True, show=open_more_reactions),
    Screen("direct chat, forward dialog", "/c/{direct}", live=True, show=open_forward_dialog),
    Screen("direct chat, options menu", "/c/{direct}", live=True, show=open_conversation_menu),
    Screen("direct chat, replying", "/c/{direct}", live=True, show=start_reply),
    Screen("direct chat without a message yet", "/chat/{eve}", live=True),
    Screen("group chat", "/c/{group}", live=True),
    Screen("room", "/c/{room}", live=True),
    Screen("new group", "/groups/new"),
    Screen("group settings", "/c/{group}/settings"),
    Screen("rooms directory", "/rooms"),
    Screen("people search", "/search?q=Stone"),
    Screen("own profile", "/u/{ana}"),
    Screen("a friend's profile", "/u/{bob}"),
    Screen("profile with a request to me", "/u/{dan}"),
    Screen("profile with my request", "/u/{eve}"),
    Screen("settings", "/settings"),
    Screen("profile settings", "/settings/profile"),
    Screen("password settings", "/settings/password"),
    Screen("picture settings", "/settings/avatar"),
    Screen("message search", "/search/messages?q=plan"),
    Screen("message search without results", "/search/messages?q=zzzzqqq"),
    Screen("forward page", "/messages/{forwardable}/forward"),
    Screen("not found", "/c/999999"),
    Screen("form expired", "/settings", show=submit_an_expired_form),
]


def register(server: LiveServer, first: str, last: str) -> HttpUser:
    return HttpUser(server.url).register(unique_username(first.lower()), first_name=first, last_name=last)


def upload(user: HttpUser, conversation_id: int, name: str, data: bytes) -> int:
    response = user.http.post(
        f"{user.base_url}/c/{conversation_id}/attachments",
        files={"file": (name, data)},
        headers={"X-CSRFToken": user.csrf("/")},
        timeout=30,
    )
    assert response.status_code == 201, response.text[:500]
    return response.json()["attachment"]["id"]


def call(tab: Socket, event: str, payload: dict) -> dict:
    ack = tab.call(event, payload)
    assert ack["ok"] is True, (event, ack)
    return ack["message"]


def send(tab: Socket, conversation_id: int, body: str, **extra) -> dict:
    return call(
        tab, "send_message", {"conversation_id": conversation_id, "body": body, "client_id": uuid.uuid4().hex, **extra}
    )


def create_room(server: LiveServer, title: str) -> int:
    """A community room, made on the server's database as `flask rooms create` does."""
    app = create_app(app_config(server.database_url))
    with app.app_context():
        with transaction():
            room_id = conversations.create_room(title).id
        db.session.remove()
        db.engine.dispose()
    return room_id


@pytest.fixture(scope="module")
def live_server(sqlite_databases, tmp_path_factory):
    """This module's own server on SQLite (the markup does not depend on the engine)."""
    url = sqlite_databases.create()
    server = LiveServer(url, tmp_path_factory.mktemp("accessibility") / "server.log", start=False)
    server.start(seconds=90)  # one module's server: a busy CI machine may take a while to start it
    yield server
    server.stop()
    sqlite_databases.drop(url)


@pytest.fixture(scope="module")
def world(live_server) -> dict:
    """Ana's world: friends Bob and Cara, a request from Dan, one to Eve; a direct chat with Bob
    holding a reply, a reaction, a picture, a file, an edited, a deleted and a forwarded message;
    a group, a room. Returns Ana's cookies and the ids and usernames the SCREENS' paths name."""
    ana, bob, cara = (register(live_server, *name) for name in [("Ana", "Lima"), ("Bob", "Stone"), ("Cara", "Diaz")])
    dan, eve = register(live_server, "Dan", "Wright"), register(live_server, "Eve", "Moreau")
    befriend(ana, bob)
    befriend(ana, cara)
    befriend(eve, bob)  # Eve's profile then shows a friend in common
    assert dan.post_form(f"/u/{ana.username}/friend-request", {}, csrf_from="/").ok
    assert ana.post_form(f"/u/{eve.username}/friend-request", {}, csrf_from="/").ok

    direct = direct_chat(ana, bob)
    room = create_room(live_server, "Town square")
    create_room(live_server, "Book club")  # one Ana has not joined
    for user in (ana, bob):
        assert user.post_form(f"/rooms/{room}/join", {}, csrf_from="/rooms").ok

    ana_tab, bob_tab, cara_tab = Socket(ana), Socket(bob), Socket(cara)
    try:
        first = send(bob_tab, direct, "Hi Ana! Are we still on for the weekend plan?")
        send(ana_tab, direct, "Yes, see https://example.com/plan for the details", reply_to_id=first["id"])
        call(ana_tab, "react", {"message_id": first["id"], "emoji": "👍", "on": True})
        picture = upload(bob, direct, "sunset.jpg", images.picture("JPEG", (800, 600)))
        send(bob_tab, direct, "The view from the hill", attachment_id=picture)
        notes = upload(ana, direct, "notes.txt", b"Bring water and snacks.\n" * 40)
        send(ana_tab, direct, "", attachment_id=notes)
        edited = send(ana_tab, direct, "Meet at nine")
        call(ana_tab, "edit_message", {"message_id": edited["id"], "body": "Meet at ten"})
        deleted = send(ana_tab, direct, "Oops, wrong chat")
        call(ana_tab, "delete_message", {"message_id": deleted["id"]})
        send(bob_tab, direct, f"Great, see you then @{ana.username}")

        cara_id = send(cara_tab, direct_chat(cara, ana), "hello Ana")["sender"]["id"]
        bob_id = first["sender"]["id"]
        group = create_group(ana, [bob_id, cara_id], "Weekend plans")
        send(ana_tab, group, "Who brings the map?")
        call(
            ana_tab,
            "forward_message",
            {"message_id": first["id"], "conversation_id": group, "client_id": uuid.uuid4().hex},
        )
        send(bob_tab, room, "Welcome to the town square, everyone")
        send(ana_tab, room, "Hello room, the plan for Saturday is up")
    finally:
        for tab in (ana_tab, bob_tab, cara_tab):
            tab.close()
    return {
        "cookies": ana.http.cookies,
        "ana": ana.username,
        "bob": bob.username,
        "dan": dan.username,
        "eve": eve.username,
        "direct": direct,
        "group": group,
        "room": room,
        "forwardable": first["id"],
    }


@pytest.fixture(scope="module")
def contexts(browser, live_server, world):
    """One browser context per (scheme, viewport, signed in), made on first use, each with one page."""
    made = {}

    def get(scheme: str, viewport: str, signed_in: bool) -> Page:
        key = (scheme, viewport, signed_in)
        if key not in made:
            context = browser.new_context(
                base_url=live_server.url, color_scheme=scheme, viewport=VIEWPORTS[viewport], reduced_motion="reduce"
            )
            if signed_in:
                context.add_cookies(
                    [
                        {"name": cookie.name, "value": cookie.value, "url": live_server.url}
                        for cookie in world["cookies"]
                    ]
                )
            made[key] = context.new_page()
        return made[key]

    yield get
    for page in made.values():
        page.context.close()


def report(violations: list[dict]) -> str:
    """The violations as lines a person can act on: rule, impact, help, then each failing element."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("screen", SCREENS, ids=lambda screen: screen.name)
def test_no_accessibility_violations(contexts, world, screen, scheme, viewport):
    """axe-core finds nothing on the page (in its state) in this scheme and viewport."""
    page = contexts(scheme, viewport, screen.signed_in)
    page.goto(screen.path.format(**world))
    if screen.live:
        wait_connected(page)
        expect(page.locator("[data-chat][data-live=true]")).to_be_attached()
    if screen.show:
        screen.show(page)
    page.wait_for_load_state("load")
    results = AXE.run(page).response
    if results["violations"]:
        pytest.fail(f"{screen.name} ({scheme}, {viewport}) {page.url}:\n{report(results['violations'])}", pytrace=False)
