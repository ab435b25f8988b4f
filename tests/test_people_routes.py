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
