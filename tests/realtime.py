"""Real-time test helpers: a recording Socket.IO client (one browser tab) and the HTTP calls that set
conversations up, for tests against real servers."""

import re
import threading
import uuid

import requests
import socketio

from tests.conftest import HttpUser

EVENT_TIMEOUT = 10  # the longest wait for anything that should happen
GRACE = 0.5  # how long to keep listening for something that must not happen


class Socket:
    """One python-socketio client (one browser tab) that records every server event it receives."""

    def __init__(self, user: HttpUser):
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, object]] = []
        self.changed = threading.Condition()
        self.disconnected = threading.Event()
        self.client.on("*", self._record)
        self.client.on("disconnect", lambda *_reason: self.disconnected.set())
        self.client.connect(
            user.base_url, headers={"Cookie": user.cookie_header}, transports=["websocket"], wait_timeout=5
        )

    def _record(self, event, data=None, *_more):
        with self.changed:
            self.events.append((event, data))
            self.changed.notify_all()

    def presence(self) -> dict:
        """{user id: (online, last_seen)} of everyone whose presence this tab's user sees, as the
        presence_snapshot event answers it."""
        ack = self.call("presence_snapshot", {})
        assert ack["ok"] is True, ack
        return {person["user_id"]: (person["online"], person["last_seen"]) for person in ack["people"]}

    def received(self, event: str, predicate=lambda _data: True) -> list:
        """The payloads of the `event` events received so far that match `predicate`."""
        with self.changed:
            return [data for name, data in self.events if name == event and predicate(data)]

    def wait_for(self, event: str, predicate=lambda _data: True, count: int = 1) -> list:
        """Wait (bounded) until `count` matching `event` events arrived; return all matching ones."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.received(event, predicate)) >= count, EVENT_TIMEOUT)
            return self.received(event, predicate)

    def call(self, event: str, *payload):
        """Emit `event` (with no argument when no payload is given) and return the server's ack."""
        return self.client.call(event, payload[0] if payload else None, timeout=EVENT_TIMEOUT)

    def send(self, conversation_id: int, body: str = "hello", client_id: str | None = None) -> dict:
        """send_message, asserting the ack is ok; returns the stored message M."""
        ack = self.call(
            "send_message",
            {"conversation_id": conversation_id, "body": body, "client_id": client_id or uuid.uuid4().hex},
        )
        assert ack["ok"] is True, ack
        return ack["message"]

    def close(self) -> None:
        """Close the tab and wait until the client has seen the disconnect."""
        self.client.disconnect()
        assert self.disconnected.wait(EVENT_TIMEOUT)


def refusal(user: HttpUser) -> dict | None:
    """Try to open one more tab for the user: None when it connected (it is closed again), else the
    server's refusal, {"message": CODE, "data": ...} as the page's connect_error sees it."""
    client = socketio.Client(reconnection=False)
    refused = []
    client.on("connect_error", lambda data=None, *_more: refused.append(data))
    try:
        client.connect(user.base_url, headers={"Cookie": user.cookie_header}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        assert refused, "the connection failed without a refusal"
        return refused[0]
    client.disconnect()
    return None


# --- setting things up over HTTP ------------------------------------------------------------------


def direct_chat(user: HttpUser, other: HttpUser) -> int:
    """The id of the direct chat between two users (POST /api/conversations/direct)."""
    response = user.http.post(
        f"{user.base_url}/api/conversations/direct",
        json={"username": other.username},
        headers={"X-CSRFToken": user.csrf("/")},
        timeout=10,
    )
    assert response.ok, response.text[:500]
    return response.json()["id"]


def befriend(user: HttpUser, other: HttpUser) -> None:
    """Make two users friends: a request and its acceptance."""
    assert user.post_form(f"/u/{other.username}/friend-request", {}, csrf_from="/").ok
    assert other.post_form(f"/u/{user.username}/friend-request/accept", {}, csrf_from="/").ok


def history_response(user: HttpUser, conversation_id: int, **params) -> requests.Response:
    """GET /api/conversations/<id>/messages with query parameters (after, before, limit)."""
    return user.http.get(f"{user.base_url}/api/conversations/{conversation_id}/messages", params=params, timeout=10)


def history(user: HttpUser, conversation_id: int, **params) -> list[dict]:
    """One page of the conversation's history, as the user sees it."""
    response = history_response(user, conversation_id, **params)
    assert response.status_code == 200, response.text[:500]
    return response.json()["messages"]


def user_id(user: HttpUser, conversation_id: int) -> int:
    """The user's id, read back from a message they post (without JavaScript) into one of their
    conversations; adds that one message to it."""
    response = user.http.post(
        f"{user.base_url}/c/{conversation_id}/messages",
        data={"body": "hi", "client_id": uuid.uuid4().hex, "csrf_token": user.csrf("/")},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    last = history(user, conversation_id)[-1]
    assert last["sender"]["username"] == user.username
    return last["sender"]["id"]


def create_group(owner: HttpUser, member_ids: list[int], title: str = "Team") -> int:
    """The id of a new group of the owner and some of their friends (POST /groups/new)."""
    response = owner.http.post(
        f"{owner.base_url}/groups/new",
        data={"title": title, "members": member_ids, "csrf_token": owner.csrf("/")},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return int(re.search(r"/c/(\d+)", response.headers["Location"]).group(1))


def conversation_summary(user: HttpUser, conversation_id: int) -> dict:
    """The conversation's row in the user's GET /api/conversations."""
    response = user.http.get(f"{user.base_url}/api/conversations", timeout=10)
    assert response.ok, response.text[:500]
    (row,) = [row for row in response.json()["conversations"] if row["id"] == conversation_id]
    return row


def block(blocker: HttpUser, blocked: HttpUser) -> None:
    """The blocker blocks the other (the profile's Block button)."""
    assert blocker.post_form(f"/u/{blocked.username}/block", {}, csrf_from=f"/u/{blocked.username}").ok


# --- what a tab received --------------------------------------------------------------------------


def quiet(tab: Socket, event: str, conversation_id: int, user_id_: int) -> bool:
    """Whether the tab received no `event` ({conversation_id, user_id, ...}) of that person there."""
    return (
        tab.received(event, lambda data: (data["conversation_id"], data["user_id"]) == (conversation_id, user_id_))
        == []
    )


def assert_activity_stays_on_its_side(conversation_id: int, sides: dict, third: Socket, third_id: int) -> None:
    """Typing and mark_read of either side of a block, {user id: ([their tabs], the other side's id)}
    (the first tab acts), in a conversation the three are in, reach the third member's tab but no
    tab of the other side."""
    assert third_id not in sides
    for actor_id, (tabs, _other_id) in sides.items():
        assert tabs[0].call("typing", {"conversation_id": conversation_id}) == {"ok": True}
        ack = tabs[0].call("mark_read", {"conversation_id": conversation_id, "seq": 1_000})
        assert ack["ok"] is True and ack["seq"] >= 1, ack
        for event in ("typing", "read"):
            assert third.wait_for(event, lambda data, who=actor_id: data["user_id"] == who), (event, actor_id)
    threading.Event().wait(GRACE)
    for tabs, other_id in sides.values():
        for tab in tabs:
            for event in ("typing", "read"):
                assert quiet(tab, event, conversation_id, other_id), (event, other_id)
