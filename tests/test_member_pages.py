"""A big room's chat page carries a bounded number of members: the first few, the counts and the
"Seen by" count made by the server; the members panel pages through the rest
(GET /api/conversations/<id>/members?cursor=&limit=)."""

import json
import re

import pytest
from sqlalchemy import select

from app.chat.routes import MEMBERS_ON_PAGE
from app.extensions import db
from app.models import User
from app.services import accounts, conversations, messaging
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, AuthActions


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def rooms(app):
    """Ana in a room of 20 members and one of 500 (the others: m0000, m0001, ...); her signed-in
    client and {size: room id}."""
    client = app.test_client()
    AuthActions(client).register(username="ana", first_name="Ana")
    client.get("/")
    ids = {}
    with app.test_request_context(), transaction():
        ana = _user("ana")
        others = [accounts.register_user(f"m{i:04d}", TEST_PASSWORD, "Member", f"N{i:04d}") for i in range(499)]
        for size in (20, 500):
            room = conversations.create_room(f"Room {size:03d}")
            for person in [ana, *others[: size - 1]]:
                conversations.join_room(person, room.id)
            ids[size] = room.id
    return client, ids


def test_the_chat_page_does_not_grow_with_the_members_of_a_room(app, rooms):
    client, ids = rooms
    small, big = (client.get(f"/c/{ids[size]}").get_data(as_text=True) for size in (20, 500))
    assert abs(len(big.encode()) - len(small.encode())) < 2048
    assert "500 members" in big and "20 members" in small
    assert big.count("data-member-id=") == small.count("data-member-id=") == MEMBERS_ON_PAGE
    assert "data-members-more" in big and "data-members-more" not in small


def test_the_members_panel_pages_through_everyone_once_in_order(app, rooms):
    client, ids = rooms
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        answer = client.get(f"/api/conversations/{ids[500]}/members", query_string=query)
        assert answer.status_code == 200
        page = answer.get_json()
        assert len(page["members"]) <= 100
        assert page["html"].count("data-member-id=") == len(page["members"])
        seen += [person["username"] for person in page["members"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 5 and len(seen) == len(set(seen)) == 500
    assert seen == sorted(seen)
    assert {"last_read_seq", "online", "role", "display_name"} <= set(page["members"][0])


def test_the_members_endpoint_refuses_bad_input_and_strangers(app, rooms):
    client, ids = rooms
    url = f"/api/conversations/{ids[500]}/members"
    for query in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "nonsense"}, {"cursor": "2:ab"}):
        answer = client.get(url, query_string=query)
        assert answer.status_code == 400 and answer.get_json()["error"] == "invalid", query
    stranger = app.test_client()
    AuthActions(stranger).register(username="zed", first_name="Zed")
    assert stranger.get(url).status_code == 404
    assert client.get("/api/conversations/999999/members").status_code == 404


def test_seen_by_is_counted_by_the_server_in_a_big_room(app, rooms):
    client, ids = rooms
    with app.test_request_context(), transaction():
        message, _ = messaging.send_message(_user("ana"), ids[500], "hello everyone", "seen-1")
        for index in range(30):
            messaging.mark_read(_user(f"m{index:04d}"), ids[500], message["seq"])
    html = client.get(f"/c/{ids[500]}").get_data(as_text=True)
    assert re.search(r"Seen by 30\b", html)
    data = json.loads(re.search(r'<script type="application/json" id="chat-data">(.*?)</script>', html, re.S).group(1))
    assert data["seen"] == {"seq": message["seq"], "count": 30}
    assert data["member_count"] == 500 and len(data["members"]) == MEMBERS_ON_PAGE
