"""Profiles, search and friend/block actions over HTTP."""

import json
import re

import pytest

from tests.conftest import TEST_PASSWORD, AuthActions, extract_csrf


@pytest.fixture
def people(app):
    """Signed-in browsers by username: people("ana") registers ana (once) and returns her client."""
    clients = {}

    def person(username: str, **names):
        if username not in clients:
            client = app.test_client()
            AuthActions(client).register(username=username, **names)
            clients[username] = client
        return clients[username]

    return person


def act(client, path: str, next_url: str | None = None):
    token = extract_csrf(client.get("/").get_data(as_text=True))
    data = {"csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return client.post(path, data=data)


def test_a_profile_shows_the_person(people):
    people("bob", first_name="Bob", last_name="Stone")
    ana = people("ana")
    html = ana.get("/u/bob").get_data(as_text=True)
    assert "Bob Stone" in html and "@bob" in html and "Member since" in html
    assert "Add friend" in html


def test_bio_is_shown_escaped_with_line_breaks(people, app):
    bob = people("bob")
    token = extract_csrf(bob.get("/settings/profile").get_data(as_text=True))
    bio = "<script>window.owned=1</script>\nsecond line"
    response = bob.post(
        "/settings/profile",
        data={"username": "bob", "first_name": "Bob", "last_name": "", "bio": bio, "csrf_token": token},
    )
    assert response.status_code == 302
    html = people("ana").get("/u/bob").get_data(as_text=True)
    assert "<script>window.owned=1</script>" not in html
    assert "&lt;script&gt;window.owned=1&lt;/script&gt;\nsecond line" in html


def test_profiles_of_unknown_people_and_of_those_who_blocked_you_are_alike_404(people):
    ana = people("ana")
    people("bob")
    act(people("bob"), "/u/ana/block")
    ana.get("/")  # show the welcome flash, so both pages below are alike but for what is probed
    unknown = ana.get("/u/nobody")
    blocked = ana.get("/u/bob")
    assert unknown.status_code == blocked.status_code == 404
    assert unknown.data == blocked.data


def test_visitors_are_sent_to_login(client):
    assert client.get("/u/anyone").status_code == 302
    assert client.get("/search?q=a").status_code == 302


def test_the_whole_friendship_over_http(people):
    ana, bob = people("ana"), people("bob")
    response = act(ana, "/u/bob/friend-request", next_url="/search?q=bob")
    assert response.status_code == 302 and response.location == "/search?q=bob"
    assert "Request sent" in ana.get("/u/bob").get_data(as_text=True)
    home = bob.get("/").get_data(as_text=True)
    assert "Friend requests" in home and "@ana" in home
    assert "1 pending friend request" in home

    assert act(bob, "/u/ana/friend-request/accept").status_code == 302
    assert "now friends" in bob.get("/").get_data(as_text=True)
    for client, other in ((ana, "bob"), (bob, "ana")):
        assert f'href="/u/{other}"' in client.get("/").get_data(as_text=True)

    act(ana, "/u/bob/unfriend")
    assert "Add friend" in ana.get("/u/bob").get_data(as_text=True)


def test_next_cannot_leave_the_site(people):
    ana = people("ana")
    people("bob")
    response = act(ana, "/u/bob/friend-request", next_url="//evil.example/")
    assert response.location == "/u/bob"


def test_actions_need_a_csrf_token(people):
    ana = people("ana")
    people("bob")
    assert ana.post("/u/bob/friend-request").status_code == 400
    assert "Add friend" in ana.get("/u/bob").get_data(as_text=True)


def test_actions_are_post_only(people):
    ana = people("ana")
    people("bob")
    assert ana.get("/u/bob/friend-request").status_code == 405


def test_refused_actions_say_why(people):
    ana = people("ana")
    response = act(ana, "/u/ana/friend-request")
    assert response.status_code == 302
    assert "yourself" in ana.get("/").get_data(as_text=True)
    assert act(ana, "/u/ghost/friend-request").status_code == 404


def test_blocking_from_a_profile(people):
    ana, bob = people("ana"), people("bob")
    act(ana, "/u/bob/friend-request")
    act(bob, "/u/ana/block")
    html = bob.get("/settings").get_data(as_text=True)
    assert "@ana" in html and "Unblock" in html
    assert ana.get("/u/bob").status_code == 404
    assert "@bob" not in ana.get("/search?q=bob").get_data(as_text=True)
    assert act(ana, "/u/bob/friend-request").status_code == 404
    act(bob, "/u/ana/unblock")
    assert ana.get("/u/bob").status_code == 200


def test_search_page_without_javascript(people):
    people("anabel", first_name="Anabel")
    people("bob", last_name="Anand")
    ana = people("ana")
    html = ana.get("/search?q=AN").get_data(as_text=True)
    assert "@anabel" in html and "@bob" in html
    assert 'name="q"' in html and 'value="AN"' in html
    results = ana.get("/search?q=AN&partial=1").get_data(as_text=True)
    assert "@anabel" in results and 'href="/u/ana"' not in results  # never yourself


def test_search_fragment_for_live_search(people):
    people("anabel")
    ana = people("ana")
    fragment = ana.get("/search?q=ana&partial=1").get_data(as_text=True)
    assert "@anabel" in fragment
    assert "<html" not in fragment and 'name="q"' not in fragment


@pytest.mark.parametrize("query", ["page=-5&q=a", "page=abc&q=a", "page=99999999999999999999&q=a", "q=" + "a" * 5000])
def test_search_odd_parameters_do_not_crash(people, query):
    assert people("ana").get(f"/search?{query}").status_code == 200


def test_the_navigation_counts_incoming_requests(people):
    ana, bob = people("ana"), people("bob")
    people("cyd")
    act(people("cyd"), "/u/bob/friend-request")
    act(ana, "/u/bob/friend-request")
    assert "2 pending friend requests" in bob.get("/search").get_data(as_text=True)


# --- settings -------------------------------------------------------------------------------------


def settings_post(client, path: str, **data):
    token = extract_csrf(client.get("/settings").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_edit_profile_including_username(people):
    ana = people("ana")
    people("bob")
    token = extract_csrf(ana.get("/settings/profile").get_data(as_text=True))
    taken = ana.post(
        "/settings/profile", data={"username": "BOB", "first_name": "", "last_name": "", "bio": "", "csrf_token": token}
    )
    assert taken.status_code == 422 and "That username is taken." in taken.get_data(as_text=True)
    bad = ana.post(
        "/settings/profile",
        data={"username": "a..b", "first_name": "", "last_name": "", "bio": "", "csrf_token": token},
    )
    assert bad.status_code == 422 and "two dots" in bad.get_data(as_text=True)
    long_bio = ana.post(
        "/settings/profile",
        data={"username": "ana", "first_name": "", "last_name": "", "bio": "x" * 281, "csrf_token": token},
    )
    assert long_bio.status_code == 422
    ok = ana.post(
        "/settings/profile",
        data={"username": "Ana.New", "first_name": "Ana", "last_name": "New", "bio": "hi", "csrf_token": token},
    )
    assert ok.status_code == 302 and ok.location == "/u/ana.new"
    assert ana.get("/u/ana").status_code == 404
    assert "Ana New" in ana.get("/u/ana.new").get_data(as_text=True)


def test_message_policy_is_saved(people, app):
    ana = people("ana")
    assert settings_post(ana, "/settings/privacy", message_policy="friends").status_code == 302
    html = ana.get("/settings").get_data(as_text=True)
    assert re.search(r'<input[^>]*\bchecked\b[^>]*value="friends"', html)
    assert not re.search(r'<input[^>]*\bchecked\b[^>]*value="everyone"', html)
    assert settings_post(ana, "/settings/privacy", message_policy="nobody").status_code == 422


def test_export_is_a_json_download_of_your_data(people):
    ana, bob = people("ana", first_name="Ana"), people("bob")
    act(ana, "/u/bob/friend-request")
    act(bob, "/u/ana/friend-request/accept")
    people("cyd")
    act(ana, "/u/cyd/block")
    response = ana.get("/settings/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="messanger-ana-')
    data = json.loads(response.data)
    assert data["profile"]["username"] == "ana" and data["profile"]["first_name"] == "Ana"
    assert [friend["username"] for friend in data["friends"]] == ["bob"]
    assert [person["username"] for person in data["blocked"]] == ["cyd"]
    assert data["messages"] == []
    assert "password" not in response.get_data(as_text=True)


def test_deleting_the_account_needs_the_password_and_ends_every_session(app, people):
    ana, bob = people("ana"), people("bob")
    act(ana, "/u/bob/friend-request")
    act(bob, "/u/ana/friend-request/accept")
    second_session = app.test_client()
    AuthActions(second_session).login("ana")

    wrong = settings_post(ana, "/settings/delete", password="Wrong-pass1!")
    assert wrong.status_code == 422 and "That is not your password." in wrong.get_data(as_text=True)
    assert ana.get("/u/bob").status_code == 200

    response = settings_post(ana, "/settings/delete", password=TEST_PASSWORD)
    assert response.status_code == 302
    assert "Your account has been deleted." in ana.get("/").get_data(as_text=True)
    assert second_session.get("/settings").status_code == 302  # signed out there too
    assert bob.get("/u/ana").status_code == 404
    assert "@ana" not in bob.get("/").get_data(as_text=True)
    # The name is free again, and the new account is not the old one.
    newcomer = app.test_client()
    assert AuthActions(newcomer).register(username="ana").status_code == 302
    assert "@ana" not in bob.get("/").get_data(as_text=True)


# --- cost of the list pages -----------------------------------------------------------------------


def count_queries(app, client, path: str) -> int:
    from sqlalchemy import event

    from app.extensions import db

    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


@pytest.mark.parametrize("path", ["/", "/search?q=pal", "/settings"])
def test_list_pages_cost_the_same_whatever_the_number_of_people(app, people, path):
    """No query per listed person (N+1): 2 or 8 friends, requests and blocks, with avatars, cost the same."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Avatar

    with app.app_context():
        avatar_ids = list(db.session.scalars(select(Avatar.id)))
    ana = people("ana")

    def add_people(start: int, count: int):
        for i in range(start, start + count):
            friend, asker, blocked = people(f"pal{i:02d}"), people(f"palask{i:02d}"), people(f"palblk{i:02d}")
            for offset, client in enumerate((friend, asker, blocked)):
                # Different pictures for different people, so a lazy load per person would show.
                avatar_id = avatar_ids[(i * 3 + offset) % len(avatar_ids)]
                settings_post(client, "/settings/avatar/choose", avatar_id=avatar_id)
            act(friend, "/u/ana/friend-request")
            act(ana, f"/u/pal{i:02d}/friend-request/accept")
            act(asker, "/u/ana/friend-request")
            act(ana, f"/u/palblk{i:02d}/block")
        ana.get("/")  # show the flashes, so both measured pages render the same parts

    add_people(0, 2)
    few = count_queries(app, ana, path)
    add_people(2, 6)
    assert count_queries(app, ana, path) == few


# --- names that lie ------------------------------------------------------------------------------------

INVISIBLE = "\u200b\u200c\u200d\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u2060\u3164"


def profile_post(client, **fields):
    token = extract_csrf(client.get("/settings/profile").get_data(as_text=True))
    return client.post("/settings/profile", data={"csrf_token": token, "bio": "", **fields})


def test_names_lose_bidi_controls_and_zero_width_characters(app, people):
    """Sign-up and the profile editor strip format characters (bidi controls, zero-width spaces and
    joiners, the BOM) from names; so do group titles."""
    from app.extensions import db
    from app.models import Conversation, User

    people("zed", first_name="Z\u200be\u202ed", last_name="\ufeffSt\u2066one\u2069")
    with app.app_context():
        zed = db.session.scalar(db.select(User).filter_by(username="zed"))
        assert (zed.first_name, zed.last_name, zed.first_name_key) == ("Zed", "Stone", "zed")
    ana = people("ana")
    page = ana.get("/u/zed").get_data(as_text=True)
    assert "Zed Stone" in page and not any(char in page for char in INVISIBLE)

    response = profile_post(people("zed"), username="zed", first_name="\u200dMia\u200d", last_name="\u202eenots")
    assert response.status_code == 302
    act(ana, "/u/zed/friend-request")
    act(people("zed"), "/u/ana/friend-request/accept")
    token = extract_csrf(ana.get("/groups/new").get_data(as_text=True))
    with app.app_context():
        zed = db.session.scalar(db.select(User).filter_by(username="zed"))
        assert (zed.first_name, zed.last_name) == ("Mia", "enots")
        zed_id = zed.id
    ana.post("/groups/new", data={"csrf_token": token, "title": "\u202eTeam\u200b", "members": [str(zed_id)]})
    with app.app_context():
        assert db.session.scalar(db.select(Conversation.title).filter_by(kind="group")) == "Team"


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e\u202c", "\ufeff \u2066", "\u3164", "\u2800", "\u0301"])
def test_a_name_with_nothing_visible_is_refused(app, people, invisible):
    """A name of only invisible characters (or blanks that show nothing) is refused with a clear
    message and nothing is stored: at sign-up, in the profile editor, and as a group title."""
    from app.extensions import db
    from app.models import Conversation, User

    client = app.test_client()
    response = AuthActions(client).register(username="ghost", first_name=invisible, last_name="Lima")
    assert response.status_code == 422
    assert "Your first name has no visible characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(username="ghost")) is None

    ana = people("ana", first_name="Ana", last_name="Lima")
    response = profile_post(ana, username="ana", first_name="Ana", last_name=invisible)
    assert response.status_code == 422
    assert "Your last name has no visible characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User.last_name).filter_by(username="ana")) == "Lima"

    token = extract_csrf(ana.get("/groups/new").get_data(as_text=True))
    response = ana.post("/groups/new", data={"csrf_token": token, "title": invisible})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(Conversation).filter_by(kind="group")) is None


def flashes(client) -> list[str]:
    """The flash messages the next page shows."""
    html = client.get("/").get_data(as_text=True)
    return [text.strip() for text in re.findall(r'<p class="min-w-0 flex-1 break-words">(.*?)</p>', html, re.S)]


@pytest.mark.parametrize(
    ("first", "last", "alike"),
    [
        ("Alice", "Wong", True),  # an exact copy
        ("\u0410lice", "Wong", True),  # Cyrillic А
        ("ALICE", "W\u043eng", True),  # another case, Cyrillic о
        ("Alice", "Wong\u200b", True),  # a copy hidden behind a zero-width space
        ("alice.w", "", True),  # her username
        ("Alicia", "Wong", False),
    ],
)
def test_a_name_that_looks_like_someone_elses_is_warned_about(app, people, first, last, alike):
    """Choosing a display name that looks like another person's display name or username (the same
    UTS #39 skeleton) shows a warning naming them with their @username, at sign-up and in the profile
    editor; the name is kept (people share names; the @username tells them apart)."""
    from html import unescape

    people("alice.w", first_name="Alice", last_name="Wong")
    mallory = app.test_client()
    assert AuthActions(mallory).register(username="mallory", first_name=first, last_name=last).status_code == 302
    warning = "looks like the name of Alice Wong (@alice.w)"
    shown = [unescape(text) for text in flashes(mallory)]
    assert any(warning in text for text in shown) is alike, shown

    eve = people("eve", first_name="Eve", last_name="Stone")
    assert flashes(eve) == ["Welcome to Messanger, Eve Stone!"]
    assert profile_post(eve, username="eve", first_name=first, last_name=last).status_code == 302
    shown = [unescape(text) for text in flashes(eve)]
    assert any(warning in text for text in shown) is alike, shown
    # Saving again without changing the name does not warn again.
    assert profile_post(eve, username="eve", first_name=first, last_name=last).status_code == 302
    assert not any(warning in unescape(text) for text in flashes(eve))


def test_lookalikes_are_found_by_index(app, people):
    """The lookalike check reads the indexed skeleton columns, not every user."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import User
    from app.services import accounts

    people("alice.w", first_name="Alice", last_name="Wong")
    with app.app_context():
        assert [user.username for user in accounts.lookalikes("\u0410LICE wong")] == ["alice.w"]
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in db.session.execute(
                    text("EXPLAIN QUERY PLAN SELECT id FROM users WHERE name_skeleton = :k OR username_skeleton = :k"),
                    {"k": "x"},
                )
            )
            assert "ix_users_name_skeleton" in plan and "ix_users_username_skeleton" in plan, plan
            assert "SCAN users" not in plan.replace("SCAN users USING", ""), plan
        assert User.__table__.c.name_skeleton.index and User.__table__.c.username_skeleton.index


def test_the_conversation_list_and_the_chat_header_show_the_username(people):
    """A direct chat's row on the home page and its header show the partner's @username beside the
    display name, which alone could be anyone's."""
    ana = people("ana", first_name="Ana", last_name="Lima")
    people("bob.s", first_name="Bob", last_name="Stone")
    page = ana.get("/chat/bob.s").get_data(as_text=True)
    assert re.search(r">Bob Stone</a> <span[^>]*data-chat-username>@bob\.s</span>", page)
    home = ana.get("/").get_data(as_text=True)
    row = re.search(r'<li data-conversation-id="\d+".*?</li>', home, re.S).group(0)
    assert re.search(r"data-conversation-title>Bob Stone</span>", row)
    assert re.search(r'class="[^"]*" data-conversation-username>@bob\.s</span>', row)
    assert 'class="hidden' not in re.search(r"<span[^>]*data-conversation-username>", row).group(0)
    assert 'aria-label="Bob Stone (@bob.s)' in row
