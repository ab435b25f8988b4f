"""The JSON API over HTTP: conversations, direct chats, history pages, errors."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import messaging, reactions
from app.transactions import transaction
from tests.conftest import AuthActions, extract_csrf


@pytest.fixture
def pair(app):
    """ana and bob, signed in in their own clients, friends with a direct chat of three messages."""
    clients = {}
    for name in ("ana", "bob"):
        client = app.test_client()
        AuthActions(client).register(username=name, first_name=name.title())
        clients[name] = client
    ana, bob = clients["ana"], clients["bob"]
    token = extract_csrf(ana.get("/").get_data(as_text=True))
    ana.post("/u/bob/friend-request", data={"csrf_token": token})
    bob.post("/u/ana/friend-request/accept", data={"csrf_token": extract_csrf(bob.get("/").get_data(as_text=True))})
    chat = post_json(ana, "/api/conversations/direct", {"username": "bob"}).get_json()
    with app.test_request_context(), transaction():
        user = db.session.scalar(select(User).where(User.username == "bob"))
        for i in range(3):
            messaging.send_message(user, chat["id"], f"hello {i}", f"seed-{i}")
    return ana, bob, chat


def post_json(client, path, payload):
    token = extract_csrf(client.get("/").get_data(as_text=True))
    return client.post(path, json=payload, headers={"X-CSRFToken": token})


def test_direct_chat_is_created_once(pair):
    ana, bob, chat = pair
    assert chat["kind"] == "direct" and chat["title"] == "Bob Lima"
    again = post_json(bob, "/api/conversations/direct", {"username": "ANA"}).get_json()
    assert again["id"] == chat["id"]


@pytest.mark.parametrize(
    "payload, status", [({"username": "nobody"}, 404), ({"username": 5}, 400), ({}, 400), ([1], 400), (None, 400)]
)
def test_direct_chat_errors(pair, payload, status):
    ana, _bob, _chat = pair
    response = post_json(ana, "/api/conversations/direct", payload)
    assert response.status_code == status
    assert response.get_json()["ok"] is False


def test_api_needs_the_csrf_header_for_writes(pair):
    ana, _bob, _chat = pair
    response = ana.post("/api/conversations/direct", json={"username": "bob"})
    assert response.status_code == 400
    assert response.get_json()["ok"] is False


def test_conversation_list_has_unread_counts_and_the_last_message(pair):
    ana, bob, chat = pair
    (mine,) = ana.get("/api/conversations").get_json()["conversations"]
    assert mine["id"] == chat["id"] and mine["unread_count"] == 3
    assert mine["last_message"]["body"] == "hello 2" and mine["last_message"]["sender"]["username"] == "bob"
    assert bob.get("/api/conversations").get_json()["conversations"][0]["unread_count"] == 0


def test_history_pages(pair):
    ana, _bob, chat = pair
    url = f"/api/conversations/{chat['id']}/messages"
    latest = ana.get(url).get_json()
    assert [m["seq"] for m in latest["messages"]] == [1, 2, 3] and latest["has_more"] is False
    page = ana.get(f"{url}?after=1&limit=1").get_json()
    assert [m["seq"] for m in page["messages"]] == [2] and page["has_more"] is True
    assert [m["seq"] for m in ana.get(f"{url}?before=3").get_json()["messages"]] == [1, 2]
    message = latest["messages"][0]
    assert set(message) == {
        "id", "conversation_id", "seq", "sender", "body", "client_id", "created_at",
        "edited_at", "deleted", "reply_to", "attachment", "reactions", "mentions", "forwarded_from", "link_preview",
        "html",
    }  # fmt: skip
    assert message["created_at"].endswith("+00:00")
    assert message["html"].startswith("<li") and f'data-id="{message["id"]}"' in message["html"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "after=-1", "before=abc", "before=²", "before=2&after=1"]
)
def test_history_refuses_odd_parameters(pair, query):
    ana, _bob, chat = pair
    response = ana.get(f"/api/conversations/{chat['id']}/messages?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid"


def test_strangers_and_unknown_conversations_get_the_same_404(app, pair):
    _ana, _bob, chat = pair
    stranger = app.test_client()
    AuthActions(stranger).register(username="cyd")
    foreign = stranger.get(f"/api/conversations/{chat['id']}/messages")
    unknown = stranger.get("/api/conversations/999999/messages")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_json() == unknown.get_json()


def test_signed_out_api_calls_get_401_json(app):
    response = app.test_client().get("/api/conversations")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_api_errors_are_json(pair):
    ana, _bob, _chat = pair
    response = ana.get("/api/nothing-here")
    assert response.status_code == 404 and response.get_json()["ok"] is False
    assert ana.delete("/api/conversations").status_code == 405


# --- fragments (M.html, C.html) ------------------------------------------------------------------------------


def test_fragments_are_the_same_for_every_reader(app, pair):
    """M.html is rendered once per change and names no reader: ana's and bob's copies are identical,
    carry the data the browser's formatter decorates from, and none is marked as anyone's own."""
    ana, bob, chat = pair
    url = f"/api/conversations/{chat['id']}/messages"
    first = ana.get(url).get_json()["messages"][0]
    with app.test_request_context(), transaction():
        user = db.session.scalar(select(User).where(User.username == "ana"))
        reactions.react(user, first["id"], "👍", True)
        messaging.send_message(user, chat["id"], "hi @bob, see www.example.com", "with-mention")
    seen_by_ana = ana.get(url).get_json()["messages"]
    seen_by_bob = bob.get(url).get_json()["messages"]
    assert [m["html"] for m in seen_by_ana] == [m["html"] for m in seen_by_bob]
    reacted, mentioning = seen_by_ana[0]["html"], seen_by_ana[-1]["html"]
    assert "data-mine" not in reacted + mentioning and 'aria-pressed="true"' not in reacted
    ana_id = seen_by_ana[-1]["sender"]["id"]
    assert f'data-user-ids="{ana_id}"' in reacted and 'title="Ana Lima"' in reacted
    bob_id = seen_by_ana[0]["sender"]["id"]
    assert f'data-mention="other" data-mention-id="{bob_id}">@bob</a>' in mentioning
    assert 'href="https://www.example.com"' in mentioning
    (listed,) = ana.get("/api/conversations").get_json()["conversations"]
    assert listed["html"].startswith("<li") and f'data-conversation-id="{chat["id"]}"' in listed["html"]
    assert 'data-you="You: "' in listed["html"] and "You: " not in listed["html"].replace('data-you="You: "', "")
