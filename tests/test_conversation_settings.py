"""A member's own settings of a conversation (mute, pin, archive) and unread mentions: the service,
the conversation list's order and flags, the navigation badge, the socket event, the no-JavaScript
form and the home page's list. On SQLite and PostgreSQL."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from app.extensions import db, socketio
from app.models import Membership, User
from app.serializers import conversation_dicts
from app.services import ServiceError, accounts, attachments, conversations, editing, messaging, social
from app.services.conversation_settings import set_settings
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, extract_csrf, wait_connected
from tests.images import picture


def build(make_user) -> tuple:
    """bob and cyd are ana's friends; ana has a direct chat with bob and a group ("Team") with both;
    eve is a stranger to all of them. Returns the four users and the two conversations' ids."""
    with transaction():
        ana, bob, cyd, eve = (make_user(name, first_name=name.title()) for name in ("ana", "bob", "cyd", "eve"))
        for friend in (bob, cyd):
            social.send_request(ana, friend.username)
            social.accept_request(friend, "ana")
        chat = conversations.open_direct(ana, "bob")
        group = conversations.create_group(ana, "Team", [bob.id, cyd.id])
    return ana, bob, cyd, eve, chat.id, group.id


@pytest.fixture
def world(make_user):
    """build()'s world, with a request context pushed for calling the services."""
    return build(make_user)


@pytest.fixture
def site(app):
    """build()'s world for tests through HTTP and sockets: built in a request context that is then
    left (one pushed for the whole test would keep its signed-in user for every client's request).
    Returns (ana, bob, cyd, eve) as ids and the conversations' ids; `services(app)` runs code between
    requests."""
    with app.test_request_context():
        ana, bob, cyd, eve, chat, group = build(
            lambda name, **names: accounts.register_user(name, TEST_PASSWORD, **names)
        )
        return ana.id, bob.id, cyd.id, eve.id, chat, group


@contextmanager
def services(app):
    """A request context to call the services in, between a test's requests, committed as a door's."""
    with app.test_request_context():
        with transaction():
            yield
        db.session.remove()


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def send(user, conversation_id, body="hello"):
    """M of a new message."""
    send.counter = getattr(send, "counter", 0) + 1
    with transaction():
        return messaging.send_message(user, conversation_id, body, f"s{send.counter}")[0]


def listed(user) -> list[dict]:
    """The user's conversation list as C, in order."""
    db.session.expire_all()
    return conversation_dicts(conversations.summaries(user))


def listing(user, conversation_id) -> dict:
    return next(c for c in listed(user) if c["id"] == conversation_id)


def settings_of(person, conversation_id) -> tuple:
    """(muted, pinned_at, archived_at) of a user (or a user's id) in a conversation, as stored."""
    db.session.expire_all()
    membership = db.session.get(Membership, (conversation_id, getattr(person, "id", person)))
    return membership.muted, membership.pinned_at, membership.archived_at


# --- setting and clearing --------------------------------------------------------------------------


def test_each_setting_is_set_and_cleared_for_the_member_alone(world):
    ana, bob, _cyd, _eve, _chat, group = world
    fresh = listing(ana, group)
    assert (fresh["muted"], fresh["pinned"], fresh["archived"], fresh["unread_mentions"]) == (False, False, False, 0)

    assert set_settings(ana, group, muted=True)["muted"] is True
    pinned = set_settings(ana, group, pinned=True)
    assert (pinned["muted"], pinned["pinned"], pinned["archived"]) == (True, True, False)
    archived = set_settings(ana, group, archived=True)
    assert (archived["muted"], archived["pinned"], archived["archived"]) == (True, True, True)
    muted, pinned_at, archived_at = settings_of(ana, group)
    assert muted and pinned_at is not None and archived_at is not None
    assert listing(ana, group) == archived  # the ack's C is the list's C
    assert settings_of(bob, group) == (False, None, None)  # bob's own settings are untouched

    cleared = set_settings(ana, group, muted=False, pinned=False, archived=False)
    assert (cleared["muted"], cleared["pinned"], cleared["archived"]) == (False, False, False)
    assert settings_of(ana, group) == (False, None, None)


REFUSED = [
    pytest.param({}, id="nothing given"),
    pytest.param({"muted": None, "pinned": None}, id="only None"),
    pytest.param({"muted": "true"}, id="a string"),
    pytest.param({"pinned": 1}, id="a number"),
    pytest.param({"archived": 0}, id="zero"),
    pytest.param({"muted": [True]}, id="a list"),
    pytest.param({"muted": True, "pinned": "no"}, id="one good and one bad"),
]


@pytest.mark.parametrize("values", REFUSED)
def test_values_that_are_not_booleans_are_refused_and_change_nothing(world, values):
    ana, _bob, _cyd, _eve, _chat, group = world
    with pytest.raises(ServiceError) as refused:
        set_settings(ana, group, **values)
    assert refused.value.code == "invalid" and refused.value.message
    assert settings_of(ana, group) == (False, None, None)


@pytest.mark.parametrize("conversation_id", ["group", "1", -1, 0, 2**40, True, None, 3.0])
def test_outsiders_and_impossible_ids_find_no_conversation(world, conversation_id):
    """eve (in no conversation) gets not_found for ana's group as for ids that cannot exist."""
    _ana, _bob, _cyd, eve, _chat, group = world
    target = group if conversation_id == "group" else conversation_id
    with pytest.raises(conversations.ConversationNotFound) as refused:
        set_settings(eve, target, muted=True)
    assert refused.value.code == "not_found"
    assert db.session.scalar(select(Membership).where(Membership.user_id == eve.id)) is None


# --- the list: order, archive, unread, mentions ------------------------------------------------------


def test_pinned_conversations_come_first_the_latest_pin_on_top(world, make_user):
    ana, bob, cyd, _eve, chat, group = world
    other = conversations.open_direct(ana, cyd.username).id
    send(bob, chat, "first")
    send(bob, group, "second")
    send(cyd, other, "third")
    assert [c["id"] for c in listed(ana)] == [other, group, chat]  # newest activity first

    set_settings(ana, chat, pinned=True)
    assert [c["id"] for c in listed(ana)] == [chat, other, group]
    set_settings(ana, group, pinned=True)
    assert [c["id"] for c in listed(ana)] == [group, chat, other]
    send(cyd, other, "news")  # activity does not move an unpinned one above the pins
    assert [c["id"] for c in listed(ana)] == [group, chat, other]
    set_settings(ana, chat, pinned=True)  # pinning again moves it to the top
    assert [c["id"] for c in listed(ana)] == [chat, group, other]
    set_settings(ana, group, pinned=False)
    assert [(c["id"], c["pinned"]) for c in listed(ana)] == [(chat, True), (other, False), (group, False)]
    assert [c["id"] for c in listed(bob)] == [group, chat]  # pins are ana's alone


def test_an_archived_conversation_comes_back_with_a_new_message_unless_muted(world):
    ana, bob, cyd, _eve, chat, group = world
    send(bob, chat, "hi")
    send(bob, group, "hi all")
    assert set_settings(ana, chat, archived=True)["archived"] is True
    assert set_settings(ana, group, archived=True, muted=True)["archived"] is True
    assert listing(ana, chat)["archived"] and listing(ana, group)["archived"]

    send(bob, chat, "are you there?")
    send(cyd, group, "news for the team")
    back, still = listing(ana, chat), listing(ana, group)
    assert back["archived"] is False and back["unread_count"] == 2
    assert still["archived"] is True and still["unread_count"] == 2
    assert settings_of(ana, chat)[2] is not None  # nothing written on the send path

    assert set_settings(ana, chat, archived=True)["archived"] is True  # archived again, as of now
    assert set_settings(ana, group, muted=False)["archived"] is False  # unmuted: its news bring it back


def test_a_muted_conversation_counts_unread_but_stays_off_the_navigation_badge_unless_mentioned(world):
    ana, bob, cyd, _eve, chat, group = world
    send(bob, chat, "hi")
    send(cyd, group, "hi all")
    assert conversations.unread_conversation_count(ana) == 2
    set_settings(ana, group, muted=True)
    assert listing(ana, group)["unread_count"] == 1  # still counted in the list
    assert conversations.unread_conversation_count(ana) == 1
    send(cyd, group, "@ana look at this")
    assert conversations.unread_conversation_count(ana) == 2  # a mention counts, muted or not
    messaging.mark_read(ana, group, 3)
    assert conversations.unread_conversation_count(ana) == 1


def test_unread_mentions_are_counted_per_member_and_cleared_by_reading(world):
    ana, bob, cyd, _eve, _chat, group = world
    send(ana, group, "@ana talking to myself, @bob")  # seq 1: one never mentions oneself
    send(bob, group, "@ana and @cyd: lunch?")  # seq 2
    send(bob, group, "plain news")  # seq 3
    send(cyd, group, "@ana @bob yes")  # seq 4
    assert listing(ana, group)["unread_mentions"] == 2
    assert listing(bob, group)["unread_mentions"] == 1  # seq 4: writing seq 3, he had read seq 1
    assert listing(cyd, group)["unread_mentions"] == 0  # answering at seq 4, she read seq 2

    messaging.mark_read(ana, group, 2)
    assert listing(ana, group)["unread_mentions"] == 1
    messaging.mark_read(ana, group, 4)
    assert listing(ana, group)["unread_mentions"] == 0
    assert listing(bob, group)["unread_mentions"] == 1  # bob's reading is his own


def test_the_list_takes_two_queries_whatever_its_length(world, app):
    """Mentions and settings come in the same query as the rest: no query per conversation."""
    ana, bob, cyd, _eve, chat, group = world
    for conversation_id in (chat, group):
        send(bob, conversation_id, "@ana hi")
        set_settings(ana, conversation_id, pinned=True, muted=True)
    statements = []

    def count(*_args):
        statements.append(1)

    db.session.expire_all()
    db.session.refresh(ana)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        summaries = conversations.summaries(ana)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(summaries) == 2 and [s.unread_mentions for s in summaries] == [1, 1]
    assert len(statements) == 2


# --- the socket event ----------------------------------------------------------------------------------


def signed_in_client(app, username: str):
    client = app.test_client()
    token = extract_csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def events(sock) -> list[tuple[str, object]]:
    return [(item["name"], item["args"][0] if item["args"] else None) for item in sock.get_received()]


def test_the_socket_event_answers_c_and_tells_only_the_users_other_sockets(site, app):
    ana, bob, _cyd, eve, _chat, group = site
    ana_client, bob_client = signed_in_client(app, "ana"), signed_in_client(app, "bob")
    ana_tab, ana_other_tab = (socketio.test_client(app, flask_test_client=ana_client) for _ in range(2))
    bob_tab = socketio.test_client(app, flask_test_client=bob_client)
    eve_tab = socketio.test_client(app, flask_test_client=signed_in_client(app, "eve"))
    for sock in (ana_tab, ana_other_tab, bob_tab, eve_tab):
        sock.get_received()

    ack = ana_tab.emit("set_conversation_settings", {"conversation_id": group, "pinned": True}, callback=True)
    assert ack["ok"] is True
    assert ack["conversation"]["id"] == group and ack["conversation"]["pinned"] is True
    assert events(ana_other_tab) == [("conversation_settings", ack["conversation"])]
    assert events(ana_tab) == [] and events(bob_tab) == [] and events(eve_tab) == []

    for payload, code in [
        ({"conversation_id": group, "muted": "yes"}, "invalid"),
        ({"conversation_id": group}, "invalid"),
        ({"conversation_id": group, "colour": "red"}, "invalid"),  # unknown keys are not settings
        ({"conversation_id": str(group), "muted": True}, "not_found"),
    ]:
        refused = ana_tab.emit("set_conversation_settings", payload, callback=True)
        assert (refused["ok"], refused["error"]) == (False, code), payload
    outsider = eve_tab.emit("set_conversation_settings", {"conversation_id": group, "muted": True}, callback=True)
    assert (outsider["ok"], outsider["error"]) == (False, "not_found")
    assert events(ana_other_tab) == [] and events(bob_tab) == []
    with services(app):
        assert settings_of(ana, group)[0] is False  # only the pin was taken
        assert settings_of(bob, group) == (False, None, None)
        assert db.session.get(Membership, (group, eve)) is None


# --- the no-JavaScript form ------------------------------------------------------------------------------


def test_the_form_changes_a_setting_and_goes_back(site, app):
    ana, _bob, _cyd, _eve, chat, group = site
    client = signed_in_client(app, "ana")
    page = client.get(f"/c/{group}").get_data(as_text=True)
    assert f'action="/c/{group}/settings"' in page and "Mute notifications" in page
    token = extract_csrf(page)

    def stored():
        with services(app):
            return settings_of(ana, group)

    response = client.post(f"/c/{group}/settings", data={"csrf_token": token, "muted": "1", "next": f"/c/{group}"})
    assert response.status_code == 302 and response.location == f"/c/{group}"
    assert stored()[0] is True
    page = client.get(f"/c/{group}").get_data(as_text=True)
    assert "Muted: no notifications" in page and "Unmute notifications" in page

    response = client.post(f"/c/{group}/settings", data={"csrf_token": token, "pinned": "1", "next": "/"})
    assert response.status_code == 302 and response.location == "/"
    response = client.post(f"/c/{group}/settings", data={"csrf_token": token, "muted": "0", "next": "https://x.test/"})
    assert response.location == f"/c/{group}"  # never away from the site
    assert stored()[0] is False and stored()[1] is not None

    refused = client.post(f"/c/{group}/settings", data={"csrf_token": token, "archived": "maybe"})
    assert refused.status_code == 302
    assert "archived must be true or false" in client.get(refused.location).get_data(as_text=True)
    assert client.post(f"/c/{group}/settings", data={"archived": "1"}).status_code == 400  # no CSRF token
    assert client.post(f"/c/{group}/settings", data={"csrf_token": token}).status_code == 302  # nothing given
    assert stored()[2] is None

    eve = signed_in_client(app, "eve")
    eve_token = extract_csrf(eve.get("/").get_data(as_text=True))
    assert eve.post(f"/c/{chat}/settings", data={"csrf_token": eve_token, "muted": "1"}).status_code == 404
    assert eve.post("/c/99999/settings", data={"csrf_token": eve_token, "muted": "1"}).status_code == 404


# --- the home page -------------------------------------------------------------------------------------------


def row_of(html: str, conversation_id: int) -> str:
    match = re.search(rf'<li data-conversation-id="{conversation_id}".*?</li>', html, re.S)
    assert match, f"no row for conversation {conversation_id}"
    return match.group(0)


def test_the_home_page_shows_pins_first_badges_and_an_archive(site, app):
    ana_id, bob_id, cyd_id, _eve, chat, group = site
    with services(app):
        ana, bob, cyd = user(ana_id), user(bob_id), user(cyd_id)
        third = conversations.open_direct(ana, cyd.username).id
        send(bob, chat, "@ana one")
        send(bob, chat, "@ana two")
        send(cyd, group, "hi team")
        send(cyd, third, "hello")
        set_settings(ana, chat, pinned=True)
        set_settings(ana, group, muted=True)
        set_settings(ana, third, archived=True)
    html = signed_in_client(app, "ana").get("/").get_data(as_text=True)
    main_list = html[html.index("data-conversation-list") : html.index("data-conversation-archive")]
    archive = html[html.index("data-conversation-archive-list") : html.index("data-conversation-empty")]
    assert [int(i) for i in re.findall(r'data-conversation-id="(\d+)"', main_list)] == [chat, group]
    assert [int(i) for i in re.findall(r'data-conversation-id="(\d+)"', archive)] == [third]
    assert re.search(r"Archived \(<span data-archive-count>1</span>\)", html)

    pinned = row_of(html, chat)
    assert 'data-pinned="true"' in pinned and 'data-mentions="2"' in pinned
    assert 'aria-label="2 unread mentions"' in pinned
    assert 'aria-label="Bob (@bob), pinned, 2 unread messages, 2 unread mentions"' in pinned
    muted = row_of(html, group)
    assert 'data-muted="true"' in muted and 'data-mentions="0"' in muted
    assert re.search(r'aria-label="Team, muted, 1 unread message"', muted)
    # the navigation badge counts the chat and the archived (unmuted) chat, not the muted group
    assert re.search(r'data-unread-badge\s+data-unread-count="2"', html)


def test_the_preview_of_a_deleted_message_and_of_attachments(site, app):
    ana_id, bob_id, cyd_id, _eve, chat, group = site
    with services(app):
        ana, bob, cyd = user(ana_id), user(bob_id), user(cyd_id)
        photo = attachments.upload(bob, chat, "cat.png", picture("PNG", size=(32, 32)))
        messaging.send_message(bob, chat, "", "with-photo", attachment_id=photo.id)
        notes = attachments.upload(cyd, group, "notes.txt", b"plain words\n")
        messaging.send_message(cyd, group, "", "with-file", attachment_id=notes.id)
        third = conversations.open_direct(ana, cyd.username).id
        gone = send(cyd, third, "oops")
        editing.delete_message(cyd, gone["id"])

    html = signed_in_client(app, "ana").get("/").get_data(as_text=True)

    def preview(conversation_id):
        row = row_of(html, conversation_id)
        shown = re.search(r"data-conversation-preview>(.*?)</span>", row, re.S).group(1)
        return re.sub(r"<[^>]+>", "", shown).strip()

    assert preview(chat) == "Photo"
    assert preview(group) == "Cyd: notes.txt"
    assert preview(third) == "Message deleted"


# --- in the browser ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_in_the_browser_mentions_mute_and_archive_follow_live(new_page):
    """Ana's home tab follows Bob's mention, her reading it in another tab, and her muting and
    archiving the chat from its menu there; a muted archived chat stays in the archive on news and
    leaves the navigation badge alone until it mentions her."""
    from playwright.sync_api import expect

    from tests.test_browser_chat import befriend, composer, register

    ana, bob = new_page(), new_page()
    names = {"Ana": register(ana, "Ana", "Lima"), "Bob": register(bob, "Bob", "Lima")}
    befriend(ana, names["Ana"], bob, names["Bob"])

    def bob_says(text):
        composer(bob).fill(text)
        composer(bob).press("Enter")

    bob.goto(f"/chat/{names['Ana']}")
    bob_says("hi")
    ana.goto("/")
    row = ana.locator("[data-conversation-list] li[data-conversation-id]")
    expect(row).to_have_count(1)
    wait_connected(ana)
    list_requests = []
    ana.on("request", lambda request: "/api/conversations" in request.url and list_requests.append(request.url))
    link = row.locator("[data-conversation-link]")
    bob_says(f"@{names['Ana']} look")
    expect(row.locator("[data-conversation-mentions]")).to_have_attribute("aria-label", "1 unread mention")
    expect(row.locator("[data-conversation-unread]")).to_have_text("2")
    expect(link).to_have_attribute("aria-label", f"Bob Lima (@{names['Bob']}), 2 unread messages, 1 unread mention")

    chat = ana.context.new_page()
    chat.goto(f"/chat/{names['Bob']}")
    expect(row.locator("[data-conversation-mentions]")).to_be_hidden()  # read in the other tab
    expect(link).to_have_attribute("aria-label", f"Bob Lima (@{names['Bob']})")
    assert list_requests == [], "counts rename the row without asking for the list"
    chat.locator("[data-conversation-settings-menu] summary").click()
    chat.get_by_role("button", name="Mute notifications").click()
    expect(row).to_have_attribute("data-muted", "true")
    chat.locator("[data-conversation-settings-menu] summary").click()
    expect(chat.get_by_role("button", name="Unmute notifications")).to_be_visible()
    chat.get_by_role("button", name="Archive").click()
    archived = ana.locator("[data-conversation-archive-list] li[data-conversation-id]")
    expect(archived).to_have_count(1)
    expect(ana.locator("[data-conversation-archive] summary")).to_contain_text("Archived (1)")
    expect(ana.locator("[data-conversation-list]")).to_be_hidden()
    chat.close()

    bob_says("more news")
    expect(archived.locator("[data-conversation-preview]")).to_have_text("more news")
    expect(archived.locator("[data-conversation-unread]")).to_have_text("1")
    expect(ana.locator("[data-unread-badge]").first).to_be_hidden()  # muted: not in the total
    bob_says(f"@{names['Ana']} are you there?")
    expect(ana.locator("[data-unread-badge]").first).to_have_text("1")
    expect(archived).to_have_count(1)  # muted: it stays archived


# The page is hidden and notifications are allowed; the desktop notification itself is outside our
# reach, so the page's Notification records what it would show.
HIDDEN_PAGE_WITH_NOTIFICATIONS = """
Object.defineProperty(Document.prototype, "hidden", { get: () => true });
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  constructor(title, options) { window.__notifications.push({ title, body: options.body }); }
  addEventListener() {}
  close() {}
};
"""


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_in_the_browser_a_muted_chat_notifies_only_when_it_mentions_you(new_page, http_user, open_socket, live_server):
    """A hidden tab with notifications allowed: an ordinary chat notifies of each message, a muted one
    stays silent until a message mentions the reader."""
    from playwright.sync_api import expect

    from tests.realtime import befriend, direct_chat

    ana, bob, cyd = http_user().register(), http_user().register(), http_user().register()
    befriend(ana, bob)
    befriend(ana, cyd)
    muted, ordinary = direct_chat(ana, bob), direct_chat(ana, cyd)
    assert open_socket(ana).call("set_conversation_settings", {"conversation_id": muted, "muted": True})["ok"]
    bob_tab, cyd_tab = open_socket(bob), open_socket(cyd)

    page = new_page()
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url} for c in ana.http.cookies])
    page.add_init_script(HIDDEN_PAGE_WITH_NOTIFICATIONS)
    page.goto("/")
    wait_connected(page)

    def bodies():
        return [note["body"] for note in page.evaluate("window.__notifications")]

    cyd_tab.send(ordinary, "from an ordinary chat")
    expect(page.locator(f'li[data-conversation-id="{ordinary}"] [data-conversation-preview]')).to_contain_text(
        "from an ordinary chat"
    )
    bob_tab.send(muted, "muted news")
    expect(page.locator(f'li[data-conversation-id="{muted}"] [data-conversation-preview]')).to_contain_text(
        "muted news"
    )
    bob_tab.send(muted, f"@{ana.username} look at this")
    page.wait_for_function("() => window.__notifications.length >= 2")
    assert bodies() == ["from an ordinary chat", f"@{ana.username} look at this"]
