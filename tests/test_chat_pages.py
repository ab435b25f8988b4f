"""Chat pages over HTTP: direct chats, the no-JavaScript composer, rooms, groups, and what the
list pages and the send path cost."""

import re
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Message, User
from app.services import conversations, messaging
from app.transactions import transaction
from tests.conftest import AuthActions, extract_csrf


@pytest.fixture
def people(app):
    """Signed-in clients by username, registered on first use."""
    clients = {}

    def person(username: str):
        if username not in clients:
            client = app.test_client()
            AuthActions(client).register(username=username, first_name=username.title())
            client.get("/")  # show the welcome flash
            clients[username] = client
        return clients[username]

    return person


def post(client, path: str, csrf_from: str = "/", **data):
    token = extract_csrf(client.get(csrf_from).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def befriend(people, a: str, b: str) -> None:
    people(b)
    post(people(a), f"/u/{b}/friend-request")
    post(people(b), f"/u/{a}/friend-request/accept")


def user(app, username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def test_opening_a_chat_from_a_profile(people):
    befriend(people, "ana", "bob")
    page = people("ana").get("/chat/bob")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Bob Lima" in html
    assert 'name="body"' in html and 'name="client_id"' in html


def test_the_chat_page_loads_its_modules_and_fetches_every_one_at_once(people):
    """main.js is the page's one module script, render-blocking (the first paint is already decorated
    for the reader: nothing shifts); every other module of js/chat/ is preloaded."""
    befriend(people, "ana", "bob")
    html = people("ana").get("/chat/bob").get_data(as_text=True)
    assert '<script type="module" blocking="render" src="/static/js/chat/main.js"></script>' in html
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/js/chat/([\w-]+\.js)">', html))
    modules = {path.name for path in (Path(__file__).parent.parent / "app/static/js/chat").glob("*.js")}
    assert preloaded == modules - {"main.js"}


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_another_site_cannot_start_a_chat_by_a_link_or_an_image(people, app, site):
    """A visit to /chat/<name> from another site (Sec-Fetch-Site says so) creates nothing and goes
    to the profile; the same visit from this site, or typed in, opens the chat."""
    befriend(people, "ana", "bob")
    response = people("ana").get("/chat/bob", headers={"Sec-Fetch-Site": site})
    assert response.status_code == 302 and response.location == "/u/bob"
    with app.test_request_context():
        assert conversations.summaries(user(app, "ana")) == []
    for origin in ("same-origin", "none"):
        assert people("ana").get("/chat/bob", headers={"Sec-Fetch-Site": origin}).status_code == 200
    with app.test_request_context():
        assert len(conversations.summaries(user(app, "ana"))) == 1


def test_a_chat_with_someone_who_only_takes_friends_is_refused_politely(people):
    people("bob")
    post(people("bob"), "/settings/privacy", csrf_from="/settings", message_policy="friends")
    response = people("ana").get("/chat/bob")
    assert response.status_code == 302 and response.location == "/u/bob"
    assert "only accepts messages from friends" in people("ana").get("/u/bob").get_data(as_text=True)


def test_unknown_people_and_foreign_conversations_are_404(people, app):
    befriend(people, "ana", "bob")
    people("ana").get("/chat/bob")
    with app.test_request_context():
        chat_id = conversations.summaries(user(app, "ana"))[0].conversation.id
    assert people("ana").get("/chat/nobody").status_code == 404
    assert people("cyd").get(f"/c/{chat_id}").status_code == 404
    assert people("cyd").get("/c/99999999").status_code == 404
    assert people("cyd").get("/c/99999999999999999999").status_code == 404


def test_the_no_javascript_composer_stores_one_message_per_page(people, app):
    befriend(people, "ana", "bob")
    html = people("ana").get("/chat/bob").get_data(as_text=True)
    chat_id = int(re.search(r'action="/c/(\d+)/messages"', html).group(1))
    client_id = re.search(r'name="client_id"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="client_id"', html)
    client_id = client_id.group(1) or client_id.group(2)
    data = {"body": "  sent without js  ", "client_id": client_id}
    first = post(people("ana"), f"/c/{chat_id}/messages", csrf_from="/chat/bob", **data)
    again = post(people("ana"), f"/c/{chat_id}/messages", csrf_from="/chat/bob", **data)  # a resubmission
    assert first.status_code == again.status_code == 302
    with app.app_context():
        bodies = db.session.scalars(select(Message.body).where(Message.conversation_id == chat_id)).all()
    assert bodies == ["sent without js"]
    assert "sent without js" in people("bob").get(f"/c/{chat_id}").get_data(as_text=True)
    empty = post(people("ana"), f"/c/{chat_id}/messages", csrf_from="/chat/bob", body="   ", client_id="x-1")
    assert empty.status_code == 422


def test_message_bodies_are_escaped_and_links_made_safe(people, app):
    befriend(people, "ana", "bob")
    people("ana").get("/chat/bob")
    with app.test_request_context(), transaction():
        chat = conversations.open_direct(user(app, "ana"), "bob")
        messaging.send_message(
            user(app, "ana"), chat.id, '<img src=x onerror=alert(1)> see https://example.com/a?b=1&c="2"', "x"
        )
    html = people("bob").get("/chat/ana").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="https://example.com/a?b=1&amp;c=&#34;2&#34;"' not in html  # the quote ends the link
    assert 'href="https://example.com/a?b=1&amp;c="' in html
    assert 'target="_blank" rel="noopener noreferrer nofollow ugc"' in html


def test_rooms_directory_join_and_leave(people):
    ana = people("ana")
    html = ana.get("/rooms").get_data(as_text=True)
    room_id = int(re.search(r'action="/rooms/(\d+)/join"', html).group(1))
    assert "Community" in html
    joined = post(ana, f"/rooms/{room_id}/join", csrf_from="/rooms")
    assert joined.status_code == 302 and joined.location == f"/c/{room_id}"
    assert ana.get(f"/c/{room_id}").status_code == 200
    left = post(ana, f"/c/{room_id}/leave", csrf_from=f"/c/{room_id}")
    assert left.status_code == 302
    assert ana.get(f"/c/{room_id}").status_code == 404
    assert post(ana, "/rooms/999999/join", csrf_from="/rooms").status_code == 404


def test_groups_over_http(people, app):
    befriend(people, "ana", "bob")
    befriend(people, "ana", "cyd")
    with app.app_context():
        bob_id, cyd_id, dan_id = (user(app, name).id for name in ("bob", "cyd", "dan") if people(name))
    refused = post(people("ana"), "/groups/new", csrf_from="/groups/new", title="Trip", members=[bob_id, dan_id])
    assert refused.status_code == 422 and "only add your friends" in refused.get_data(as_text=True)
    created = post(people("ana"), "/groups/new", csrf_from="/groups/new", title="Trip", members=[bob_id])
    group_id = int(created.location.rsplit("/", 1)[1])
    settings = f"/c/{group_id}/settings"
    assert people("bob").get(settings).status_code == 200
    assert post(people("bob"), f"/c/{group_id}/rename", csrf_from=settings, title="Mine").status_code == 422
    assert post(people("ana"), f"/c/{group_id}/rename", csrf_from=settings, title="Trip 2").status_code == 302
    assert post(people("ana"), f"/c/{group_id}/members", csrf_from=settings, members=[cyd_id]).status_code == 302
    assert "Trip 2" in people("cyd").get(f"/c/{group_id}").get_data(as_text=True)
    post(people("ana"), f"/c/{group_id}/members/{cyd_id}/remove", csrf_from=settings)
    assert people("cyd").get(f"/c/{group_id}").status_code == 404
    assert people("cyd").get(settings).status_code == 404


# --- cost -----------------------------------------------------------------------------------------


class QueryCounter:
    """Counts the SQL statements the app's engine runs inside a `with` block."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _record(self, *_args):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_home_and_chat_pages_cost_the_same_for_any_number_of_conversations_and_messages(app, people):
    """No query per conversation in the list, nor per message or member on the chat page."""
    counter = QueryCounter(app)
    ana = people("ana")

    def add_chats(start: int, count: int, messages_each: int) -> int:
        for i in range(start, start + count):
            friend = f"pal{i:02d}"
            befriend(people, "ana", friend)
            with app.test_request_context(), transaction():
                chat = conversations.open_direct(user(app, "ana"), friend)
                other = user(app, friend)
                for n in range(messages_each):
                    messaging.send_message(other, chat.id, f"m{n}", f"{friend}-{n}")
                chat_id = chat.id
        return chat_id

    chat_id = add_chats(0, 2, 3)
    ana.get("/")
    with counter:
        assert ana.get("/").status_code == 200
    few_home = counter.count
    with counter:
        assert ana.get(f"/c/{chat_id}").status_code == 200
    few_chat = counter.count

    busy_chat = add_chats(2, 5, 60)
    ana.get("/")
    with counter:
        ana.get("/")
    assert counter.count == few_home
    with counter:
        ana.get(f"/c/{busy_chat}")
    assert counter.count == few_chat


def test_the_send_path_runs_a_fixed_small_number_of_queries(app, people):
    """Sending costs the same in a short or a long conversation, and few statements: the sequence
    number, the insert (a retried client_id inserts nothing: no savepoint) and the sender's read
    position; the first send also reads the membership and who may message whom, which the worker
    then holds (app.services.send_checks)."""
    befriend(people, "ana", "bob")
    counter = QueryCounter(app)
    with app.test_request_context():
        ana = user(app, "ana")
        with transaction():
            chat_id = conversations.open_direct(ana, "bob").id

        def counted_send(body: str, client_id: str) -> int:
            db.session.refresh(ana)  # as in a socket event, whose user was loaded just before
            with counter, transaction():
                messaging.send_message(ana, chat_id, body, client_id)
            return counter.count

        first = counted_send("first", "q-0")
        short = counted_send("second", "q-1")
        for n in range(80):
            with transaction():
                messaging.send_message(ana, chat_id, f"filler {n}", f"f-{n}")
        assert counted_send("later", "q-2") == short
        # The first send read the membership and who may message whom; the worker holds them.
        assert (first, short) == (5, 3), f"the send path ran {first}, then {short} queries"


def test_the_data_export_holds_your_messages(people, app):
    befriend(people, "ana", "bob")
    with app.test_request_context(), transaction():
        chat_id = conversations.open_direct(user(app, "ana"), "bob").id
        messaging.send_message(user(app, "ana"), chat_id, "mine", "e-1")
        messaging.send_message(user(app, "bob"), chat_id, "not mine", "e-2")
    data = people("ana").get("/settings/export").get_json()
    assert [(m["body"], m["seq"], m["conversation_id"]) for m in data["messages"]] == [("mine", 1, chat_id)]
    assert data["messages"][0]["sent_at"].endswith("+00:00")


def test_a_plain_message_fragment_stays_small(people, app):
    """A message's markup (M.html, on the page and over the socket) is repeated for every message
    of a chat, so it stays small: its icons are <use> of the page's one sprite (_icons.html) and
    its long class lists are component classes of app.css."""
    befriend(people, "ana", "bob")
    people("ana").get("/chat/bob")
    with app.test_request_context(), transaction():
        chat = conversations.open_direct(user(app, "ana"), "bob")
        message, _ = messaging.send_message(user(app, "ana"), chat.id, "See you at noon tomorrow?", "s-1")
    html = message["html"]
    assert "See you at noon tomorrow?" in html and 'href="#icon-reply"' in html and "<path" not in html
    assert len(html.encode()) < 4096, f"a plain message's fragment is {len(html.encode())} bytes"
    page = people("bob").get("/chat/ana").get_data(as_text=True)
    assert page.count('<symbol id="icon-reply"') == 1
    assert set(re.findall(r'href="#(icon-[a-z]+)"', page)) <= set(re.findall(r'<symbol id="(icon-[a-z]+)"', page))
