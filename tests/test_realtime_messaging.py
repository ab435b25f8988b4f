"""The messaging core against the real eventlet server: send, ack, delivery, order, sync, read state,
typing, presence and hostile payloads, through the same HTTP and Socket.IO doors the browser uses.

The shared `live_server` serves many test files: every test makes its own users and conversations
and never assumes ids or counts it did not create.
"""

import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.conftest import TEST_PASSWORD, HttpUser, LiveServer
from tests.realtime import (
    EVENT_TIMEOUT,
    GRACE,
    Socket,
    assert_activity_stays_on_its_side,
    befriend,
    block,
    conversation_summary,
    create_group,
    direct_chat,
    history,
    history_response,
    quiet,
    user_id,
)


@pytest.fixture
def trio(http_user):
    """Three freshly registered users on the shared live server: a, b (who will talk) and c (a stranger)."""
    return http_user().register(), http_user().register(), http_user().register()


# --- 1. ack after commit, fan-out to every tab of every member --------------------------------------


def test_ack_comes_after_commit_and_every_members_every_tab_gets_the_message_once(trio, open_socket):
    """The sender's ack carries M (seq 1) and M is already in the history when the ack arrives; all
    four member tabs (the sending tab included, tabs opened before and after the chat existed) get
    `message` M exactly once; a connected non-member gets no event at all."""
    a, b, c = trio
    a_tab1, b_tab1 = open_socket(a), open_socket(b)  # open before the chat exists: joined to it live
    chat = direct_chat(a, b)
    a_tab2, b_tab2 = open_socket(a), open_socket(b)  # open after: joined on connect
    outsider = open_socket(c)

    ack = a_tab1.call("send_message", {"conversation_id": chat, "body": "  first  ", "client_id": "m-1"})

    assert ack["ok"] is True, ack
    message = ack["message"]
    assert (message["conversation_id"], message["seq"], message["body"]) == (chat, 1, "first")
    assert message["sender"]["username"] == a.username and message["client_id"] == "m-1"
    assert history(a, chat) == [message]  # committed by the time it was acknowledged
    members = {"a tab 1": a_tab1, "a tab 2": a_tab2, "b tab 1": b_tab1, "b tab 2": b_tab2}
    for name, tab in members.items():
        assert tab.wait_for("message"), f"{name} did not get the message"
    threading.Event().wait(GRACE)
    for name, tab in members.items():
        assert tab.received("message") == [message], name
    assert outsider.events == []


# --- 2. idempotent send -------------------------------------------------------------------------------


def test_a_retried_send_returns_the_original_and_stores_it_once(trio, open_socket):
    """Sending the same client_id twice, and then a new one from two tabs at the same moment, answers
    every retry with the original message (same id and seq); the history holds each once and the
    other member is sent each once."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    a_tab1, a_tab2, b_tab = open_socket(a), open_socket(a), open_socket(b)

    first = a_tab1.send(chat, "once", "retry-1")
    again = a_tab1.call("send_message", {"conversation_id": chat, "body": "once", "client_id": "retry-1"})
    assert again["ok"] is True and again["message"] == first

    barrier = threading.Barrier(2)

    def send_from(tab: Socket) -> dict:
        barrier.wait(EVENT_TIMEOUT)
        return tab.call("send_message", {"conversation_id": chat, "body": "racing", "client_id": "race-1"})

    with ThreadPoolExecutor(2) as pool:
        acks = list(pool.map(send_from, [a_tab1, a_tab2]))
    assert all(ack["ok"] is True for ack in acks), acks
    assert acks[0]["message"] == acks[1]["message"]
    assert acks[0]["message"]["seq"] == 2

    assert [(m["seq"], m["client_id"]) for m in history(a, chat)] == [(1, "retry-1"), (2, "race-1")]
    b_tab.wait_for("message", count=2)
    threading.Event().wait(GRACE)
    assert [m["seq"] for m in b_tab.received("message")] == [1, 2]


# --- 3. order under concurrency -------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def own_server(request, tmp_path):
    """A live server of this test's own on a fresh database of each engine (PostgreSQL skips or fails
    without TEST_POSTGRES_URL, through the postgres_databases fixture)."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    database_url = databases.create()
    server = LiveServer(database_url, tmp_path / "server.log")
    yield server
    server.stop()
    print(f"{request.param} server log:\n{server.log_tail(60)}")  # shown by pytest only on failure
    databases.drop(database_url)


SENDERS = 20
SENDS_EACH = 5


def test_concurrent_senders_get_gapless_ordered_seqs_that_a_poller_sees_in_order(own_server, open_socket):
    """20 sockets of three group members send 5 messages each at once while a reader polls
    ?after=<last seq>: every ack has its own seq, the seqs are 1..100, each poll continues exactly
    where the previous ended (never a hole that fills later), every sender tab gets all 100 live
    and the final history holds exactly the sent messages in seq order."""
    owner, ana, bob = (HttpUser(own_server.url).register() for _ in range(3))
    member_ids = []
    for friend in (ana, bob):
        befriend(owner, friend)
        member_ids.append(user_id(friend, direct_chat(owner, friend)))
    group = create_group(owner, member_ids)
    people = (owner, ana, bob)
    tabs = [open_socket(people[i % 3]) for i in range(SENDERS)]

    start = threading.Barrier(SENDERS + 1)
    seen: list[int] = []
    poll_errors: list[str] = []
    done = threading.Event()
    total = SENDERS * SENDS_EACH

    def read_while_sending() -> None:
        start.wait(EVENT_TIMEOUT)
        poller = HttpUser(own_server.url)  # the owner's session in a cookie jar of its own
        poller.http.cookies.update(owner.http.cookies)
        last = 0
        while last < total and not done.wait(0.01):
            page = history(poller, group, after=last, limit=100)
            seqs = [m["seq"] for m in page]
            if seqs != list(range(last + 1, last + 1 + len(seqs))):
                poll_errors.append(f"after={last} returned seqs {seqs}")
                return
            seen.extend(seqs)
            last = seqs[-1] if seqs else last

    def send_five(index: int) -> list[dict]:
        start.wait(EVENT_TIMEOUT)
        return [tabs[index].send(group, f"m {index}.{k}", f"s{index}-{k}") for k in range(SENDS_EACH)]

    reader = threading.Thread(target=read_while_sending, daemon=True)
    reader.start()
    try:
        with ThreadPoolExecutor(SENDERS) as pool:
            sent = list(pool.map(send_five, range(SENDERS)))
        reader.join(EVENT_TIMEOUT * 3)
    finally:
        done.set()  # stops the reader if a sender failed

    assert not reader.is_alive(), f"the reader saw only {len(seen)} messages"
    assert poll_errors == []
    assert seen == list(range(1, total + 1))
    acks = [message for mine in sent for message in mine]
    assert sorted(m["seq"] for m in acks) == list(range(1, total + 1))
    for mine in sent:  # one tab's sends, each awaited before the next, get increasing seqs
        assert [m["seq"] for m in mine] == sorted(m["seq"] for m in mine)
    final = history(owner, group, after=0, limit=100)
    assert final == sorted(acks, key=lambda m: m["seq"])
    for tab in tabs:
        tab.wait_for("message", lambda m: m["conversation_id"] == group, count=total)
        assert sorted(m["seq"] for m in tab.received("message")) == list(range(1, total + 1))


# --- 4. no gaps after a reconnect --------------------------------------------------------------------------


def test_sync_after_a_reconnect_returns_exactly_what_was_missed(trio, open_socket):
    """A member whose tab was closed while 5 messages were sent gets exactly those 5, in seq order,
    from `sync` with the last seq they had; after 250 missed messages sync pages them as 200 with
    has_more and then the remaining 50 without."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    a_tab, b_tab = open_socket(a), open_socket(b)
    a_tab.send(chat, "before 1")
    a_tab.send(chat, "before 2")
    held = max(m["seq"] for m in b_tab.wait_for("message", count=2))
    b_tab.close()

    missed = [a_tab.send(chat, f"missed {i}") for i in range(5)]
    b_tab = open_socket(b)
    ack = b_tab.call("sync", {"after": {str(chat): held}})

    assert ack == {"ok": True, "messages": missed, "has_more": False}
    assert [m["seq"] for m in missed] == [3, 4, 5, 6, 7]

    b_tab.close()
    a_tabs = [a_tab, open_socket(a), open_socket(a), open_socket(a), open_socket(a)]
    with ThreadPoolExecutor(len(a_tabs)) as pool:  # 5 tabs × 50 sends, to keep the test short
        batches = pool.map(lambda tab: [tab.send(chat, "many") for _ in range(50)], a_tabs)
    many = sorted((m for batch in batches for m in batch), key=lambda m: m["seq"])
    b_tab = open_socket(b)
    first = b_tab.call("sync", {"after": {str(chat): 7}})
    assert first["ok"] is True and first["has_more"] is True
    assert first["messages"] == many[:200]
    second = b_tab.call("sync", {"after": {str(chat): first["messages"][-1]["seq"]}})
    assert second == {"ok": True, "messages": many[200:], "has_more": False}
    assert [m["seq"] for m in first["messages"] + second["messages"]] == list(range(8, 258))


# --- 5. membership on every event -------------------------------------------------------------------------


def test_a_non_member_can_neither_act_in_nor_overhear_a_conversation(trio, open_socket):
    """For a stranger the conversation does not exist: send_message, mark_read and typing answer
    not_found, sync returns nothing for it, the HTTP history is 404, and while the members write,
    type and read the stranger's socket receives no event at all (the members do)."""
    a, b, c = trio
    chat = direct_chat(a, b)
    a_tab, b_tab, c_tab = open_socket(a), open_socket(b), open_socket(c)
    a_tab.send(chat, "secret")

    not_found = {"ok": False, "error": "not_found", "message": "There is no such conversation."}
    attempts = {
        "send_message": {"conversation_id": chat, "body": "let me in", "client_id": "intruder-1"},
        "mark_read": {"conversation_id": chat, "seq": 1},
        "typing": {"conversation_id": chat},
    }
    for event, payload in attempts.items():
        assert c_tab.call(event, payload) == not_found, event
    assert c_tab.call("sync", {"after": {str(chat): 0}}) == {"ok": True, "messages": [], "has_more": False}
    response = history_response(c, chat)
    assert response.status_code == 404 and response.json()["error"] == "not_found"

    message = a_tab.send(chat, "still secret")
    assert b_tab.call("typing", {"conversation_id": chat}) == {"ok": True}
    assert b_tab.call("mark_read", {"conversation_id": chat, "seq": message["seq"]})["ok"] is True
    assert a_tab.wait_for("typing") and a_tab.wait_for("read")
    assert b_tab.wait_for("message", count=2)
    threading.Event().wait(GRACE)
    assert c_tab.events == []
    assert [m["body"] for m in history(a, chat)] == ["secret", "still secret"]


# --- 6. read receipts -------------------------------------------------------------------------------------------


def test_read_receipts_move_forward_only_and_clear_the_unread_count(trio, open_socket):
    """mark_read tells the other member's tabs {conversation_id, user_id, seq, previous_seq}; the reader's unread
    count drops to 0; a lower seq later (or one past the end) does not move the position, answers the
    current one and tells nobody."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    a_tab1, a_tab2, b_tab = open_socket(a), open_socket(a), open_socket(b)
    b_id = b_tab.send(chat, "hello a")["sender"]["id"]
    last = [a_tab1.send(chat, f"news {i}") for i in range(3)][-1]["seq"]
    assert last == 4
    assert conversation_summary(b, chat)["unread_count"] == 3

    assert b_tab.call("mark_read", {"conversation_id": chat, "seq": last}) == {"ok": True, "seq": last}

    # b had read up to their own message (seq 1): sending moves the sender's position.
    receipt = {"conversation_id": chat, "user_id": b_id, "seq": last, "previous_seq": 1}
    for tab in (a_tab1, a_tab2):
        assert tab.wait_for("read") == [receipt]
    summary = conversation_summary(b, chat)
    assert summary["unread_count"] == 0 and summary["last_read_seq"] == last

    assert b_tab.call("mark_read", {"conversation_id": chat, "seq": 2}) == {"ok": True, "seq": last}
    assert b_tab.call("mark_read", {"conversation_id": chat, "seq": 999}) == {"ok": True, "seq": last}
    threading.Event().wait(GRACE)
    for tab in (a_tab1, a_tab2):
        assert tab.received("read") == [receipt]
    assert conversation_summary(b, chat)["last_read_seq"] == last


# --- 7. typing ---------------------------------------------------------------------------------------------------


def test_typing_reaches_the_other_member_but_not_the_typing_tab(trio, open_socket):
    """typing is acknowledged and every tab of the other member gets {conversation_id, user_id};
    the tab that typed does not get its own event (the typist's other tabs may)."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    a_tab1, a_tab2 = open_socket(a), open_socket(a)
    b_tab1, b_tab2 = open_socket(b), open_socket(b)
    a_id = a_tab1.send(chat)["sender"]["id"]

    assert a_tab1.call("typing", {"conversation_id": chat}) == {"ok": True}

    signal = {"conversation_id": chat, "user_id": a_id}
    for tab in (b_tab1, b_tab2):
        assert tab.wait_for("typing") == [signal]
    threading.Event().wait(GRACE)
    assert a_tab1.received("typing") == []
    assert a_tab2.wait_for("typing") == [signal]  # the typist's other tabs are members' sockets too


# --- 8. presence --------------------------------------------------------------------------------------------------


def test_presence_follows_the_first_and_last_tab_of_a_friend(http_user, open_socket):
    """A friend's first tab makes them online for A (once); a second tab and closing one of two say
    nothing; closing the last says offline with last_seen as an ISO timestamp."""
    a, b, helper = http_user().register(), http_user().register(), http_user().register()
    befriend(a, b)
    b_id = user_id(b, direct_chat(b, helper))  # learnt without a conversation shared with A
    watcher = open_socket(a)

    b_tab1 = open_socket(b)
    online = watcher.wait_for("presence")
    assert len(online) == 1 and online[0]["user_id"] == b_id and online[0]["online"] is True

    b_tab2 = open_socket(b)
    b_tab1.close()
    threading.Event().wait(GRACE)
    assert watcher.received("presence") == online

    b_tab2.close()
    events = watcher.wait_for("presence", count=2)
    assert len(events) == 2
    offline = events[1]
    assert offline["user_id"] == b_id and offline["online"] is False
    assert datetime.fromisoformat(offline["last_seen"]).tzinfo is not None


def test_a_friend_you_chat_with_is_announced_once(http_user, open_socket):
    """A friend who is also in a conversation with A comes online for A exactly once."""
    a, b = http_user().register(), http_user().register()
    befriend(a, b)
    direct_chat(a, b)
    watcher = open_socket(a)
    open_socket(b)
    watcher.wait_for("presence")
    threading.Event().wait(GRACE)
    assert len(watcher.received("presence")) == 1


def test_a_new_tab_starts_with_the_presence_of_everyone_it_may_see(http_user, open_socket):
    """Presence news from before a tab connected never reached it: it asks (presence_snapshot) and is
    told about everyone whose presence its user sees (friends, people in their chats and groups) as
    they are now, and nobody else: no stranger from a community room, nobody across a block."""
    a, friend, chatted, blocker, stranger, helper = (http_user().register() for _ in range(6))
    befriend(a, friend)
    direct_chat(a, chatted)
    direct_chat(a, blocker)
    assert blocker.post_form(f"/u/{a.username}/block", {}, csrf_from=f"/u/{a.username}").ok
    ids = {person: user_id(person, direct_chat(person, helper)) for person in (friend, chatted, blocker, stranger)}
    friend_tab = open_socket(friend)
    open_socket(blocker)
    open_socket(stranger)

    a_tab = open_socket(a)
    people = a_tab.presence()
    assert set(people) == {ids[friend], ids[chatted]}
    assert people[ids[friend]][0] is True
    assert people[ids[chatted]] == (False, None)  # never online yet
    friend_tab.close()
    # Within PRESENCE_GRACE_SECONDS the friend still counts as online; then everyone is told.
    assert a_tab.wait_for("presence", lambda event: event["user_id"] == ids[friend] and not event["online"])
    people = open_socket(a).presence()
    assert people[ids[friend]][0] is False
    assert datetime.fromisoformat(people[ids[friend]][1]).tzinfo is not None


def test_presence_stays_hidden_across_a_block_and_is_not_pushed_to_mere_room_members(http_user, open_socket):
    """After B blocks A (they had chatted), neither is told when the other comes or goes, and their
    chat page shows no online state or last seen; a community room shared with a stranger pushes
    nothing either, while a friend still hears."""
    a, b, stranger, friend = (http_user().register() for _ in range(4))
    chat = direct_chat(a, b)
    befriend(a, friend)
    assert b.post_form(f"/u/{a.username}/block", {}, csrf_from=f"/u/{a.username}").ok
    rooms_page = a.http.get(a.base_url + "/rooms", timeout=10).text
    room = int(re.search(r"/rooms/(\d+)/join", rooms_page).group(1))
    for person in (a, stranger):
        assert person.post_form(f"/rooms/{room}/join", {}, csrf_from="/rooms").ok
    b_tab, stranger_tab, friend_tab = open_socket(b), open_socket(stranger), open_socket(friend)

    a_tab = open_socket(a)
    assert friend_tab.wait_for("presence")[0]["online"] is True
    a_tab.close()
    assert [event["online"] for event in friend_tab.wait_for("presence", count=2)] == [True, False]
    assert b_tab.received("presence") == [] and stranger_tab.received("presence") == []

    page = b.http.get(f"{b.base_url}/c/{chat}", timeout=10).text
    members = json.loads(re.search(r'id="chat-data"[^>]*>(.*?)</script>', page, re.S).group(1))["members"]
    shown = next(member for member in members if member["username"] == a.username)
    assert shown["online"] is False and shown["last_seen"] is None


# --- 8b. activity across a block ---------------------------------------------------------------------------------


def chat_page(user: HttpUser, conversation_id: int) -> tuple[dict, list[str]]:
    """What the user's chat page shows: {username: P} of its members (the page's chat data) and the
    texts of its "Seen" receipts."""
    page = user.http.get(f"{user.base_url}/c/{conversation_id}", timeout=10).text
    members = json.loads(re.search(r'id="chat-data"[^>]*>(.*?)</script>', page, re.S).group(1))["members"]
    # The browser places the receipt (the page holds its blank in a <template>); the server draws none.
    shown = re.sub(r"<template.*?</template>", "", page, flags=re.S)
    receipts = re.findall(r"data-seen-receipt>\s*([^<\s][^<]*?)\s*<", shown)
    return {member["username"]: member for member in members}, receipts


def test_a_blockers_read_position_reaches_the_blocked_person_neither_live_nor_on_the_page(http_user, open_socket):
    """In their direct chat (it outlives the block), the blocker's mark_read tells their own other tab
    but not the person they blocked; neither page shows the other's read position: no "Seen" under
    one's last message, no last_read_seq in the page's member data (one's own stays)."""
    blocker, blocked = http_user().register(), http_user().register()
    chat = direct_chat(blocker, blocked)
    blocker_tab, blocker_tab2, blocked_tab = open_socket(blocker), open_socket(blocker), open_socket(blocked)
    blocker_id = blocker_tab.send(chat, "from the blocker")["sender"]["id"]
    blocked_tab.send(chat, "from the blocked")  # writing it, they read the blocker's message
    block(blocker, blocked)

    assert blocker_tab.call("mark_read", {"conversation_id": chat, "seq": 2}) == {"ok": True, "seq": 2}

    assert blocker_tab2.wait_for("read", lambda data: data["user_id"] == blocker_id)  # the reader's other tab
    threading.Event().wait(GRACE)
    assert quiet(blocked_tab, "read", chat, blocker_id)
    for viewer, other in ((blocked, blocker), (blocker, blocked)):
        members, receipts = chat_page(viewer, chat)
        assert members[other.username]["last_read_seq"] is None, viewer.username
        assert members[viewer.username]["last_read_seq"] == 2
        assert receipts == [], (viewer.username, receipts)


def test_typing_read_and_presence_in_a_group_skip_both_sides_of_a_block_but_reach_the_rest(http_user, open_socket):
    """In a group of four where A blocked B: A's and B's typing and read receipts reach C, never each
    other; neither is told the other came online; B's "Seen by N" counts C but not A (and A's counts C
    but not B), while C's page counts both."""
    owner, a, b, c = (http_user().register() for _ in range(4))
    ids = {}
    for person in (a, b, c):
        befriend(owner, person)
        ids[person] = user_id(person, direct_chat(person, owner))
    group = create_group(owner, list(ids.values()))
    block(a, b)
    b_tab, c_tab = open_socket(b), open_socket(c)
    a_tab = open_socket(a)
    assert c_tab.wait_for("presence", lambda data: data["user_id"] == ids[a] and data["online"])
    b_sent = b_tab.send(group, "from b")["seq"]
    a_sent = a_tab.send(group, "from a")["seq"]
    c_tab.send(group, "from c")

    assert_activity_stays_on_its_side(group, {ids[a]: ([a_tab], ids[b]), ids[b]: ([b_tab], ids[a])}, c_tab, ids[c])

    assert b_tab.received("presence", lambda data: data["user_id"] == ids[a]) == []
    assert ids[a] not in b_tab.presence() and ids[b] not in a_tab.presence()
    assert b_sent < a_sent
    for viewer, other in ((b, a), (a, b)):
        members, receipts = chat_page(viewer, group)
        assert members[other.username]["last_read_seq"] is None
        assert members[c.username]["last_read_seq"] >= a_sent
        assert receipts == ["Seen by 1"], (viewer.username, receipts)  # C only; the owner read nothing
    members, _receipts = chat_page(c, group)
    assert members[a.username]["last_read_seq"] >= a_sent and members[b.username]["last_read_seq"] >= a_sent


def test_typing_and_read_in_a_community_room_skip_both_sides_of_a_block_but_reach_the_rest(http_user, open_socket):
    """In a community room (shared with whoever else joined it) where A blocked B, A's and B's typing
    and read receipts reach C, never each other."""
    a, b, c = (http_user().register() for _ in range(3))
    rooms_page = a.http.get(a.base_url + "/rooms", timeout=10).text
    room = int(re.search(r"/rooms/(\d+)/join", rooms_page).group(1))
    for person in (a, b, c):
        assert person.post_form(f"/rooms/{room}/join", {}, csrf_from="/rooms").ok
    block(a, b)
    a_tab, b_tab, c_tab = open_socket(a), open_socket(b), open_socket(c)
    c_id = c_tab.send(room, f"hello room {uuid.uuid4().hex[:8]}")["sender"]["id"]
    a_id = a_tab.send(room, "from a")["sender"]["id"]
    b_id = b_tab.send(room, "from b")["sender"]["id"]
    c_tab.send(room, "c again")

    assert_activity_stays_on_its_side(room, {a_id: ([a_tab], b_id), b_id: ([b_tab], a_id)}, c_tab, c_id)


# --- 9. malformed payloads ---------------------------------------------------------------------------------------

HUGE = "x" * 100_000
NOT_OBJECTS = [(), ("a string",), ([1, "two", None],), (42,), (HUGE,)]


def malformed_payloads(chat: int) -> dict[str, list]:
    """Per event, payloads that must each be refused with an error ack (chat: a conversation the
    sender is in, so the checks past membership are reached too)."""
    junk = {"$where": [1, {"a": None, "b": [[], {}]}], "nested": {"deeper": {"deepest": ["\x00"]}}}
    bad_ids = ["1", str(chat), 1.5, True, -1, 0, None, [chat], {"id": chat}, HUGE, f"{chat}\x00"]
    return {
        "send_message": [
            {},
            junk,
            {"conversation_id": junk, "body": junk, "client_id": junk},
            {"conversation_id": chat, "body": HUGE, "client_id": "huge-1"},
            {"conversation_id": chat, "body": "\x00\x00 \x00", "client_id": "nul-1"},
            {"conversation_id": chat, "body": "ok", "client_id": "nul\x00id"},
            {"conversation_id": chat, "body": "ok", "client_id": HUGE},
            {"conversation_id": chat, "body": "ok", "client_id": 12345},
            {"conversation_id": chat, "body": 12345, "client_id": "type-1"},
            {"conversation_id": chat, "body": ["ok"], "client_id": "type-2"},
            *({"conversation_id": bad, "body": "ok", "client_id": "bad-id"} for bad in bad_ids),
        ],
        "sync": [
            {},
            junk,
            {"after": None},
            {"after": "1:0"},
            {"after": [[chat, 0]]},
            {"after": {"abc": 0}},
            {"after": {HUGE: 0}},
            {"after": {f"{chat}\x00": 0}},
            {"after": {"-1": 0}},
            {"after": {str(i): 0 for i in range(1, 1002)}},
            *({"after": {str(chat): bad}} for bad in ["0", -1, 1.5, True, None, [0], {"seq": 0}, HUGE]),
        ],
        "mark_read": [
            {},
            junk,
            {"conversation_id": chat},
            *({"conversation_id": chat, "seq": bad} for bad in ["1", -1, 1.5, True, [1], {"seq": 1}, HUGE]),
            *({"conversation_id": bad, "seq": 1} for bad in bad_ids),
        ],
        "typing": [{}, junk, *({"conversation_id": bad} for bad in bad_ids)],
    }


def test_malformed_payloads_get_an_error_ack_and_keep_the_connection(trio, open_socket):
    """Every event answers a missing payload, a non-object, nested junk, 100k-character strings,
    NUL bytes and ids of the wrong type with {"ok": false, "error": <not "internal">, "message"},
    the socket stays connected, nothing is stored, and a valid send afterwards succeeds."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    tab = open_socket(a)
    failures = []
    cases = [(event, args) for event in ("send_message", "sync", "mark_read", "typing") for args in NOT_OBJECTS]
    cases += [(event, (payload,)) for event, payloads in malformed_payloads(chat).items() for payload in payloads]

    for event, args in cases:
        ack = tab.call(event, *args)
        ok = (
            isinstance(ack, dict)
            and ack.get("ok") is False
            and ack.get("error") not in (None, "internal")
            and isinstance(ack.get("message"), str)
            and ack["message"]
        )
        if not ok:
            failures.append(f"{event} {repr(args)[:80]} -> {repr(ack)[:160]}")
    assert failures == [], "\n".join(failures)

    assert tab.client.connected and not tab.disconnected.is_set()
    assert history(a, chat) == []
    assert tab.send(chat, "still here")["seq"] == 1


TOO_BIG = 2**63  # too big for any INTEGER column


def test_integers_too_big_for_the_database_are_refused_like_unknown_ids(trio, open_socket):
    """An id too big for the database is refused like any unknown one (not_found), a seq that big as
    invalid, never with an internal error."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    tab = open_socket(a)
    payloads = {
        "send_message": {"conversation_id": TOO_BIG, "body": "ok", "client_id": "big-1"},
        "mark_read": {"conversation_id": TOO_BIG, "seq": 1},
        "typing": {"conversation_id": TOO_BIG},
        "sync": {"after": {str(chat): TOO_BIG}},
    }
    errors = {event: tab.call(event, payload).get("error") for event, payload in payloads.items()}
    assert errors == {"send_message": "not_found", "mark_read": "not_found", "typing": "not_found", "sync": "invalid"}
    assert history_response(a, TOO_BIG).status_code == 404
    assert tab.client.connected


# --- 10. a deleted account -----------------------------------------------------------------------------------------


def test_deleting_an_account_drops_its_sockets_and_its_messages_show_as_deleted_user(trio, open_socket):
    """After B deletes the account, every socket of B is disconnected, and A's history keeps B's
    messages with the sender shown as "Deleted user"."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    open_socket(a)
    b_tab1, b_tab2 = open_socket(b), open_socket(b)
    b_tab1.send(chat, "bye 1")
    b_tab2.send(chat, "bye 2")

    response = b.post_form("/settings/delete", {"password": TEST_PASSWORD}, csrf_from="/settings")
    assert response.ok, response.text[:500]

    for tab in (b_tab1, b_tab2):
        assert tab.disconnected.wait(EVENT_TIMEOUT), "a socket of the deleted account stayed connected"
    messages = history(a, chat)
    assert [m["body"] for m in messages] == ["bye 1", "bye 2"]
    for message in messages:
        assert message["sender"]["display_name"] == "Deleted user"
        assert message["sender"]["id"] is None and message["sender"]["username"] is None


# --- membership changes reach open sockets --------------------------------------------------------


def test_removed_and_departed_members_stop_receiving_on_their_open_sockets(http_user, open_socket):
    """The owner removes B and C leaves, each with a socket open; the next message reaches D, who
    stayed, and neither B nor C."""
    a, b, c, d = (http_user().register() for _ in range(4))
    ids = {}
    for person in (b, c, d):
        befriend(a, person)
        ids[person] = user_id(person, direct_chat(person, a))
    group = create_group(a, [ids[b], ids[c], ids[d]], title="Shrinking")
    a_tab, b_tab, c_tab, d_tab = (open_socket(person) for person in (a, b, c, d))
    a_tab.send(group, "everyone")
    for tab in (b_tab, c_tab, d_tab):
        tab.wait_for("message", lambda m: m["conversation_id"] == group)

    assert a.post_form(f"/c/{group}/members/{ids[b]}/remove", {}, csrf_from=f"/c/{group}/settings").ok
    assert c.post_form(f"/c/{group}/leave", {}, csrf_from=f"/c/{group}").ok
    later = a_tab.send(group, "after they went")
    assert d_tab.wait_for("message", lambda m: m["id"] == later["id"]) == [later]
    threading.Event().wait(GRACE)
    for tab in (b_tab, c_tab):
        assert [m["body"] for m in tab.received("message", lambda m: m["conversation_id"] == group)] == ["everyone"]


def test_joining_a_room_puts_the_open_sockets_in_it(http_user, open_socket):
    """A socket opened before its user joins a community room gets the room's next message live."""
    reader, writer = http_user().register(), http_user().register()
    rooms_page = writer.http.get(writer.base_url + "/rooms", timeout=10).text
    room = int(re.search(r"/rooms/(\d+)/join", rooms_page).group(1))
    assert writer.post_form(f"/rooms/{room}/join", {}, csrf_from="/rooms").ok
    reader_tab, writer_tab = open_socket(reader), open_socket(writer)
    assert reader.post_form(f"/rooms/{room}/join", {}, csrf_from="/rooms").ok
    hello = writer_tab.send(room, f"welcome {uuid.uuid4().hex[:8]}")
    assert reader_tab.wait_for("message", lambda m: m["id"] == hello["id"]) == [hello]


def test_a_lone_surrogate_in_a_socket_payload_is_read_as_a_replacement_character(trio, open_socket):
    """JSON may spell a lone UTF-16 surrogate ("\\ud800"), which no database stores: it arrives as U+FFFD
    and the message is stored, instead of an internal error."""
    a, b, _c = trio
    chat = direct_chat(a, b)
    tab = open_socket(a)
    ack = tab.call("send_message", {"conversation_id": chat, "body": "a\ud800b", "client_id": "lone-1"})
    assert ack["ok"] is True, ack
    assert ack["message"]["body"] == "a\ufffdb"
    assert [message["body"] for message in history(a, chat)] == ["a\ufffdb"]
