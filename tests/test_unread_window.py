"""Where a chat opens: at the reader's first unread message under a "New messages" line (with
older and newer pages to load from there), or at the latest page when nothing is unread."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import messaging
from app.transactions import transaction
from tests.conftest import AuthActions, extract_csrf


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _send(app, username: str, conversation_id: int, count: int, prefix: str) -> None:
    with app.test_request_context(), transaction():
        sender = _user(username)
        for i in range(count):
            messaging.send_message(sender, conversation_id, f"{prefix} {i}", f"{prefix}-{i}")


@pytest.fixture
def chat(app):
    """ana and bob, friends in their own clients, with a direct chat where ana sent 20 (read by
    both) and bob then sent 175 that ana has not read: (ana, bob, conversation id)."""
    clients = {}
    for name in ("ana", "bob"):
        client = app.test_client()
        AuthActions(client).register(username=name, first_name=name.title())
        clients[name] = client
    ana, bob = clients["ana"], clients["bob"]
    ana.post("/u/bob/friend-request", data={"csrf_token": extract_csrf(ana.get("/").get_data(as_text=True))})
    bob.post("/u/ana/friend-request/accept", data={"csrf_token": extract_csrf(bob.get("/").get_data(as_text=True))})
    token = extract_csrf(ana.get("/").get_data(as_text=True))
    cid = ana.post("/api/conversations/direct", json={"username": "bob"}, headers={"X-CSRFToken": token}).get_json()[
        "id"
    ]
    _send(app, "ana", cid, 20, "old")
    _send(app, "bob", cid, 175, "unread")
    return ana, bob, cid


def _seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<li[^>]*data-message[^>]*data-seq="(\d+)"', html)]


def _attribute(html: str, name: str) -> str:
    return re.search(rf'{name}="([^"]*)"', html).group(1)


def test_a_chat_with_175_unread_opens_at_the_first_unread_under_the_divider(chat):
    ana, _bob, cid = chat
    html = ana.get(f"/c/{cid}").get_data(as_text=True)
    seqs = _seqs(html)
    assert seqs == list(range(16, 66))  # 5 read ones above the first unread (21), a full page
    assert _attribute(html, "data-has-more") == "true" and _attribute(html, "data-has-newer") == "true"
    divider = re.search(r"<li[^>]*data-unread-divider[^>]*>", html).group(0)
    assert 'data-seq="21"' in divider and 'data-count="175"' in divider
    assert "New messages" in html and 'aria-labelledby="unread-divider-label"' in divider
    # The line stands right before the first unread message (a day line may sit between).
    after_divider = html[html.index("data-unread-divider") :]
    assert re.search(r"<li[^>]*data-message[^>]*data-seq=\"(\d+)\"", after_divider).group(1) == "21"
    # The socket's catch-up starts from the latest seq: the newer pages come by their own requests.
    assert f'id="conversation-state">{{"{cid}": 195}}' in html
    assert "latest=1" in html  # a page without JavaScript can still go to the latest messages


def test_the_newer_cursor_pages_down_to_the_latest(chat):
    ana, _bob, cid = chat
    url = f"/api/conversations/{cid}/messages"
    seqs, after, rounds = [], 65, 0
    while True:
        page = ana.get(f"{url}?after={after}").get_json()
        assert page["has_older"] is True
        seqs += [m["seq"] for m in page["messages"]]
        after, rounds = seqs[-1], rounds + 1
        if not page["has_more"]:
            assert page["has_newer"] is False
            break
        assert page["has_newer"] is True
    assert seqs == list(range(66, 196)) and rounds == 3
    older = ana.get(f"{url}?before=16").get_json()
    assert [m["seq"] for m in older["messages"]] == list(range(1, 16))
    assert older["has_more"] is False and older["has_older"] is False and older["has_newer"] is True
    first = ana.get(f"{url}?after=0&limit=5").get_json()
    assert first["has_older"] is False and first["has_newer"] is True


def test_latest_and_read_chats_open_at_the_latest_page_without_the_divider(app, chat):
    ana, bob, cid = chat
    latest = ana.get(f"/c/{cid}?latest=1").get_data(as_text=True)
    assert _seqs(latest) == list(range(146, 196)) and "data-unread-divider" not in latest
    assert _attribute(latest, "data-has-newer") == "false"
    html = bob.get(f"/c/{cid}").get_data(as_text=True)  # bob sent them: nothing unread for him
    assert _seqs(html) == list(range(146, 196)) and "data-unread-divider" not in html
    assert _attribute(html, "data-has-more") == "true" and _attribute(html, "data-has-newer") == "false"
    with app.test_request_context(), transaction():
        messaging.mark_read(_user("ana"), cid, 195)
    html = ana.get(f"/c/{cid}").get_data(as_text=True)
    assert _seqs(html) == list(range(146, 196)) and "data-unread-divider" not in html


def test_a_few_unread_show_the_latest_page_with_the_divider(app, chat):
    ana, _bob, cid = chat
    with app.test_request_context(), transaction():
        messaging.mark_read(_user("ana"), cid, 190)
    html = ana.get(f"/c/{cid}").get_data(as_text=True)
    assert _seqs(html) == list(range(146, 196)) and _attribute(html, "data-has-newer") == "false"
    divider = re.search(r"<li[^>]*data-unread-divider[^>]*>", html).group(0)
    assert 'data-seq="191"' in divider and 'data-count="5"' in divider


@pytest.mark.parametrize(
    "query",
    ["after=-1", "after=x", "after=1.5", "after=99999999999999999999", "after=1&before=3", "after=1&limit=0"],
)
def test_bad_newer_cursors_are_refused_clearly(chat, query):
    ana, _bob, cid = chat
    response = ana.get(f"/api/conversations/{cid}/messages?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid"


def test_a_stranger_cannot_page_a_chat(app, chat):
    _ana, _bob, cid = chat
    stranger = app.test_client()
    AuthActions(stranger).register(username="cyd")
    assert stranger.get(f"/api/conversations/{cid}/messages?after=1").status_code == 404
    assert stranger.get(f"/c/{cid}").status_code == 404
