"""Several workers, one site: two real server processes on two ports, one PostgreSQL database and one
Redis (sessions, the Socket.IO message queue and the socket registry). Clients on different workers
must see each other's messages, read receipts, typing and presence as if there were one server."""

import threading
import uuid

import pytest

from tests.conftest import TEST_PASSWORD, HttpUser, LiveServer, two_workers
from tests.realtime import (
    EVENT_TIMEOUT,
    GRACE,
    assert_activity_stays_on_its_side,
    befriend,
    block,
    create_group,
    direct_chat,
    history,
    user_id,
)


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def workers(request, postgres_databases, redis_url, tmp_path_factory):
    """Two workers of one site (same database, Redis and key prefix), under one async mode."""
    folder = tmp_path_factory.mktemp(f"workers-{request.param}")
    with two_workers(postgres_databases, redis_url, folder, ASYNC_MODE=request.param) as pair:
        yield pair


def on(server: LiveServer, user: HttpUser) -> HttpUser:
    """The same person (same session cookie) talking to another worker."""
    other = HttpUser(server.url)
    other.http.cookies.update(user.http.cookies)
    other.username = user.username
    return other


def test_messages_cross_workers_both_ways_and_reach_a_group_made_on_the_other_worker(workers, open_socket):
    """A on worker 1 and B on worker 2 chat; C, whose socket is on worker 2, is put into a group
    created on worker 1 and gets its first message live, without reconnecting."""
    first, second = workers
    a = HttpUser(first.url).register()
    b, c = HttpUser(second.url).register(), HttpUser(second.url).register()
    chat = direct_chat(a, on(first, b))
    a_tab, b_tab, c_tab = open_socket(a), open_socket(b), open_socket(c)

    sent = a_tab.send(chat, "from worker 1")
    assert b_tab.wait_for("message") == [sent]
    reply = b_tab.send(chat, "from worker 2")
    assert a_tab.wait_for("message", lambda m: m["seq"] == reply["seq"]) == [reply]

    befriend(a, on(first, c))
    c_id = user_id(c, direct_chat(c, b))
    group = create_group(a, [c_id], title="Across workers")
    hello = a_tab.send(group, "welcome")
    assert c_tab.wait_for("message", lambda m: m["conversation_id"] == group) == [hello]
    assert [m["body"] for m in history(c, group)] == ["welcome"]


def test_read_receipts_and_typing_cross_workers(workers, open_socket):
    """B marks read and types on worker 2; A's tab on worker 1 gets both."""
    first, second = workers
    a, b = HttpUser(first.url).register(), HttpUser(second.url).register()
    chat = direct_chat(a, on(first, b))
    a_tab, b_tab = open_socket(a), open_socket(b)
    message = a_tab.send(chat, "read me")
    b_tab.wait_for("message")

    assert b_tab.call("mark_read", {"conversation_id": chat, "seq": message["seq"]})["ok"] is True
    receipt = a_tab.wait_for("read")
    assert receipt and receipt[0]["conversation_id"] == chat and receipt[0]["seq"] == message["seq"]

    assert b_tab.call("typing", {"conversation_id": chat}) == {"ok": True}
    typing = a_tab.wait_for("typing")
    assert typing and typing[0]["conversation_id"] == chat


def test_typing_and_read_skip_every_tab_across_a_block_on_every_worker(workers, open_socket):
    """In a group where A blocked B, each with a tab on both workers: A's and B's typing and read
    receipts reach C (on worker 2) and no tab of the other side, whichever worker holds it."""
    first, second = workers
    owner, a = HttpUser(first.url).register(), HttpUser(first.url).register()
    b, c = HttpUser(second.url).register(), HttpUser(second.url).register()
    ids = {}
    for person in (a, b, c):
        befriend(owner, on(first, person))
        ids[person] = user_id(person, direct_chat(person, owner))
    group = create_group(owner, list(ids.values()), title="Blocks across workers")
    block(a, b)
    a_tabs, b_tabs = [open_socket(a), open_socket(on(second, a))], [open_socket(b), open_socket(on(first, b))]
    c_tab = open_socket(c)
    open_socket(owner).send(group, "news for everyone")

    sides = {ids[a]: (a_tabs, ids[b]), ids[b]: (b_tabs, ids[a])}
    assert_activity_stays_on_its_side(group, sides, c_tab, ids[c])


def test_presence_counts_a_users_tabs_on_every_worker(workers, open_socket):
    """B online on worker 2, a second tab on worker 1: closing either one alone says nothing; closing
    the last says offline. Pages on either worker show B online meanwhile."""
    first, second = workers
    a = HttpUser(first.url).register()
    b = HttpUser(second.url).register()
    befriend(a, on(first, b))
    watcher = open_socket(a)

    b_tab_on_second = open_socket(b)
    online = watcher.wait_for("presence")
    assert len(online) == 1 and online[0]["online"] is True
    b_id = online[0]["user_id"]
    for page in (a.http.get(first.url + "/", timeout=10), on(second, a).http.get(second.url + "/", timeout=10)):
        assert page.ok and f'data-presence-for="{b_id}" data-online="true"' in page.text

    b_tab_on_first = open_socket(on(first, b))
    b_tab_on_second.close()
    threading.Event().wait(GRACE)
    assert watcher.received("presence") == online

    b_tab_on_first.close()
    events = watcher.wait_for("presence", count=2)
    assert len(events) == 2 and events[1]["online"] is False and events[1]["user_id"] == b_id


def test_signing_out_on_one_worker_closes_that_sessions_sockets_on_the_other(workers, open_socket):
    """Logout over HTTP on worker 1 disconnects the session's socket held by worker 2."""
    first, second = workers
    a = HttpUser(first.url).register()
    tab_on_second = open_socket(on(second, a))
    assert a.logout().ok
    assert tab_on_second.disconnected.wait(EVENT_TIMEOUT)


def test_a_member_removed_on_one_worker_stops_receiving_on_the_other(workers, open_socket):
    """The owner on worker 1 removes B, whose socket is on worker 2: B's socket leaves the room."""
    first, second = workers
    a, b, c = HttpUser(first.url).register(), HttpUser(second.url).register(), HttpUser(first.url).register()
    befriend(a, on(first, b))
    befriend(a, c)
    b_id, c_id = user_id(b, direct_chat(b, on(second, a))), user_id(c, direct_chat(c, a))
    group = create_group(a, [b_id, c_id], title="Across workers, smaller")
    a_tab, b_tab, c_tab = open_socket(a), open_socket(b), open_socket(c)
    a_tab.send(group, "both of you")
    b_tab.wait_for("message", lambda m: m["conversation_id"] == group)

    assert a.post_form(f"/c/{group}/members/{b_id}/remove", {}, csrf_from=f"/c/{group}/settings").ok
    later = a_tab.send(group, "only c")
    assert c_tab.wait_for("message", lambda m: m["id"] == later["id"]) == [later]
    threading.Event().wait(GRACE)
    assert [m["body"] for m in b_tab.received("message", lambda m: m["conversation_id"] == group)] == ["both of you"]


# --- the send path's checks held in memory (app/services/send_checks.py) ---------------------------
# Each test makes worker 2 hold an answer (a send there), changes it through worker 1, and sends on
# worker 2 at once: the change was confirmed by every worker before worker 1 answered.


def attempt(tab, conversation_id: int) -> str:
    """Send on the tab; "ok" or the refusal's error code."""
    ack = tab.call("send_message", {"conversation_id": conversation_id, "body": "hi", "client_id": uuid.uuid4().hex})
    return "ok" if ack["ok"] else ack["error"]


def held_direct_chat(workers, open_socket):
    """a (socket on worker 2) and b (on worker 1) with a direct chat, which a's first send, on
    worker 2, made that worker hold the answers for. Returns (a, b, chat, a's tab)."""
    first, second = workers
    a, b = HttpUser(second.url).register(), HttpUser(first.url).register()
    chat = direct_chat(on(first, a), b)
    a_tab = open_socket(a)
    assert attempt(a_tab, chat) == "ok"
    return a, b, chat, a_tab


def set_policy(user: HttpUser, policy: str) -> None:
    assert user.post_form("/settings/privacy", {"message_policy": policy}, csrf_from="/settings").ok


def test_a_member_who_leaves_or_is_removed_on_one_worker_cannot_send_on_the_other(workers, open_socket):
    first, second = workers
    a, b, c = HttpUser(first.url).register(), HttpUser(second.url).register(), HttpUser(second.url).register()
    befriend(a, on(first, b))
    befriend(a, on(first, c))
    b_id, c_id = user_id(b, direct_chat(b, on(second, a))), user_id(c, direct_chat(c, on(second, a)))
    group = create_group(a, [b_id, c_id], title="Leaving")
    b_tab, c_tab = open_socket(b), open_socket(c)
    assert (attempt(b_tab, group), attempt(c_tab, group)) == ("ok", "ok")

    assert a.post_form(f"/c/{group}/members/{b_id}/remove", {}, csrf_from=f"/c/{group}/settings").ok
    assert attempt(b_tab, group) == "not_found"
    assert on(first, c).post_form(f"/c/{group}/leave", {}, csrf_from=f"/c/{group}/settings").ok
    assert attempt(c_tab, group) == "not_found"


def test_a_block_and_an_unblock_on_one_worker_hold_for_the_next_send_on_the_other(workers, open_socket):
    first, _second = workers
    a, b, chat, a_tab = held_direct_chat(workers, open_socket)

    block(b, on(first, a))
    assert attempt(a_tab, chat) == "not_allowed"
    assert b.post_form(f"/u/{a.username}/unblock", {}, csrf_from=f"/u/{a.username}").ok
    assert attempt(a_tab, chat) == "ok"


def test_a_privacy_change_and_friendships_on_one_worker_hold_for_the_next_send_on_the_other(workers, open_socket):
    first, _second = workers
    a, b, chat, a_tab = held_direct_chat(workers, open_socket)

    set_policy(b, "friends")  # a is no friend of b's
    assert attempt(a_tab, chat) == "not_allowed"
    befriend(on(first, a), b)
    assert attempt(a_tab, chat) == "ok"
    assert b.post_form(f"/u/{a.username}/unfriend", {}, csrf_from=f"/u/{a.username}").ok
    assert attempt(a_tab, chat) == "not_allowed"
    set_policy(b, "everyone")
    assert attempt(a_tab, chat) == "ok"


def test_an_account_deleted_on_one_worker_cannot_be_messaged_on_the_other(workers, open_socket):
    _a, b, chat, a_tab = held_direct_chat(workers, open_socket)

    assert b.post_form("/settings/delete", {"password": TEST_PASSWORD}, csrf_from="/settings").ok
    assert attempt(a_tab, chat) == "not_allowed"
