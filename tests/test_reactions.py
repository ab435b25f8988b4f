"""Reactions: app.services.reactions.react, and the `react` socket event on a real server."""

import threading
import uuid

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import Reaction
from app.serializers import message_dict
from app.services import messaging, reactions, rooms, social
from tests.conftest import door, refused, run_concurrently
from tests.realtime import GRACE, befriend, create_group, direct_chat, history, user_id


def send(user, conversation, body="hello") -> dict:
    return door(messaging.send_message, user, conversation.id, body, uuid.uuid4().hex)[0]


def stored(message_id) -> list[tuple[int, str]]:
    db.session.expire_all()
    return sorted(
        db.session.execute(select(Reaction.user_id, Reaction.emoji).where(Reaction.message_id == message_id)).all()
    )


def test_reactions_toggle_on_and_off_with_counts_and_who(group_and_chat, emitted):
    ana, bob, cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "pizza tonight?")
    emitted.clear()

    after_bob = door(reactions.react, bob, sent["id"], "👍", True)
    assert after_bob["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.id]}]
    door(reactions.react, cyd, sent["id"], "👍", True)
    door(reactions.react, cyd, sent["id"], "🍕", True)
    latest = door(reactions.react, ana, sent["id"], "👍", True)
    # In the order each emoji was first given; the group_and_chat in the order they gave it.
    assert latest["reactions"] == [
        {"emoji": "👍", "count": 3, "user_ids": [bob.id, cyd.id, ana.id]},
        {"emoji": "🍕", "count": 1, "user_ids": [cyd.id]},
    ]
    assert stored(sent["id"]) == sorted([(bob.id, "👍"), (cyd.id, "👍"), (cyd.id, "🍕"), (ana.id, "👍")])
    assert [(event, room) for event, _payload, room in emitted] == [
        ("message_updated", rooms.conversation_room(group.id))
    ] * 4
    assert emitted[-1][1] == latest

    removed = door(reactions.react, cyd, sent["id"], "🍕", False)
    assert removed["reactions"] == [{"emoji": "👍", "count": 3, "user_ids": [bob.id, cyd.id, ana.id]}]
    removed = door(reactions.react, bob, sent["id"], "👍", False)
    assert removed["reactions"] == [{"emoji": "👍", "count": 2, "user_ids": [cyd.id, ana.id]}]
    assert stored(sent["id"]) == sorted([(cyd.id, "👍"), (ana.id, "👍")])
    assert len(emitted) == 6 and emitted[-1][1] == removed
    # The history and sync show the same reactions.
    assert message_dict(messaging.history(bob, group.id)[0][-1]) == removed
    assert message_dict(messaging.sync(cyd, {str(group.id): 0})[0][-1]) == removed


def test_adding_twice_or_removing_what_is_not_there_changes_nothing(group_and_chat, emitted):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group)
    first = door(reactions.react, bob, sent["id"], "🎉", True)
    emitted.clear()
    assert door(reactions.react, bob, sent["id"], "🎉", True) == first
    assert stored(sent["id"]) == [(bob.id, "🎉")]
    assert door(reactions.react, bob, sent["id"], "😢", False) == first
    assert door(reactions.react, ana, sent["id"], "🎉", False) == first
    assert emitted == []


def test_the_primary_key_holds_each_persons_emoji_once(group_and_chat):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group)
    door(reactions.react, bob, sent["id"], "👍", True)
    with pytest.raises(IntegrityError):
        db.session.execute(
            insert(Reaction).values(message_id=sent["id"], user_id=bob.id, emoji="👍", created_at=utcnow())
        )
        db.session.flush()
    db.session.rollback()
    assert stored(sent["id"]) == [(bob.id, "👍")]


def test_the_same_reaction_from_two_tabs_at_once_is_stored_once(group_and_chat, database_url):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    message_id, bob_id = send(ana, group)["id"], bob.id
    db.session.remove()

    def react():
        from app.models import User

        return reactions.react(db.session.get(User, bob_id), message_id, "🔥", True)["reactions"]

    outcomes = run_concurrently(database_url, [react] * 4)
    assert outcomes == [[{"emoji": "🔥", "count": 1, "user_ids": [bob_id]}]] * 4, outcomes
    assert stored(message_id) == [(bob_id, "🔥")]


@pytest.mark.parametrize(
    "emoji",
    ["", "abc", "👍👍", "👍a", " 👍", "😀" * 33, "x" * 33, 42, None, True, ["👍"], {"e": "👍"}, ":thumbs_up:"],
)
def test_anything_but_one_emoji_is_refused_and_stores_nothing(group_and_chat, emitted, emoji):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group)
    emitted.clear()
    refused(lambda: door(reactions.react, bob, sent["id"], emoji, True), "invalid")
    assert stored(sent["id"]) == [] and emitted == []


@pytest.mark.parametrize("emoji", ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇵🇹", "1️⃣"])
def test_one_emoji_however_it_is_composed_is_accepted(group_and_chat, emoji):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group)
    assert door(reactions.react, bob, sent["id"], emoji, True)["reactions"][0]["emoji"] == emoji
    assert stored(sent["id"]) == [(bob.id, emoji)]


@pytest.mark.parametrize("on", [None, 1, 0, "true", [], "yes"])
def test_on_must_be_a_boolean(group_and_chat, on):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group)
    refused(lambda: door(reactions.react, bob, sent["id"], "👍", on), "invalid")
    assert stored(sent["id"]) == []


def test_outsiders_find_no_message_and_blocked_partners_cannot_react(group_and_chat, emitted):
    ana, bob, _cyd, dan, group, chat = group_and_chat
    in_group, in_chat = send(ana, group), send(bob, chat, "hi")
    emitted.clear()
    stranger = refused(lambda: door(reactions.react, dan, in_group["id"], "👍", True), "not_found")
    unknown = refused(lambda: door(reactions.react, dan, in_group["id"] + 1000, "👍", True), "not_found")
    assert stranger.message == unknown.message
    for bad_id in (None, "1", 0, -5, 2**31, 1.5, False):
        refused(lambda bad_id=bad_id: door(reactions.react, ana, bad_id, "👍", True), "not_found")

    door(reactions.react, ana, in_chat["id"], "👍", True)
    door(social.block, bob, "ana")
    emitted.clear()
    refused(lambda: door(reactions.react, ana, in_chat["id"], "😡", True), "not_allowed")
    refused(lambda: door(reactions.react, ana, in_chat["id"], "👍", False), "not_allowed")
    refused(lambda: door(reactions.react, bob, in_chat["id"], "👍", True), "not_allowed")
    assert stored(in_chat["id"]) == [(ana.id, "👍")]
    assert stored(in_group["id"]) == [] and emitted == []


# --- over Socket.IO, on the real server ----------------------------------------------------------


def test_react_over_sockets_reaches_every_member_and_no_one_else(http_user, open_socket, live_server):
    """bob reacts in ana's group and takes it back: the acks carry M, each change reaches every
    member's tab as "message_updated", a repeat changes and sends nothing, a stranger's tab hears
    nothing and their attempt answers as for no message; bad payloads are refused."""
    ana, bob, cyd, stranger = (http_user().register() for _ in range(4))
    befriend(ana, bob)
    befriend(ana, cyd)
    bob_id, cyd_id = (user_id(friend, direct_chat(ana, friend)) for friend in (bob, cyd))
    group = create_group(ana, [bob_id, cyd_id])
    ana_tab, bob_tab, cyd_tab, out_tab = (open_socket(person) for person in (ana, bob, cyd, stranger))
    sent = ana_tab.send(group, "who's in?")

    ack = bob_tab.call("react", {"message_id": sent["id"], "emoji": "✋", "on": True})
    assert ack["ok"] is True, ack
    assert ack["message"]["reactions"] == [{"emoji": "✋", "count": 1, "user_ids": [bob_id]}]
    for tab in (ana_tab, bob_tab, cyd_tab):
        assert tab.wait_for("message_updated") == [ack["message"]]
    again = bob_tab.call("react", {"message_id": sent["id"], "emoji": "✋", "on": True})
    assert again == ack

    for payload in (
        {"message_id": sent["id"], "emoji": "no", "on": True},
        {"message_id": sent["id"], "emoji": "✋", "on": "yes"},
        {"message_id": sent["id"], "emoji": "✋"},
        {"message_id": sent["id"], "emoji": ["✋"], "on": True},
    ):
        assert bob_tab.call("react", payload)["error"] == "invalid", payload
    foreign = out_tab.call("react", {"message_id": sent["id"], "emoji": "✋", "on": True})
    assert foreign["error"] == "not_found"
    assert foreign == out_tab.call("react", {"message_id": 2**31 - 1, "emoji": "✋", "on": True})

    off = bob_tab.call("react", {"message_id": sent["id"], "emoji": "✋", "on": False})
    assert off["ok"] is True and off["message"]["reactions"] == []
    for tab in (ana_tab, bob_tab, cyd_tab):
        assert tab.wait_for("message_updated", count=2)[-1] == off["message"]
    threading.Event().wait(GRACE)
    assert len(cyd_tab.received("message_updated")) == 2
    assert out_tab.events == []
    assert history(cyd, group)[-1] == off["message"]


def test_reactions_leave_with_a_deleted_message(http_user, open_socket, live_server):
    ana, bob = http_user().register(), http_user().register()
    chat = direct_chat(ana, bob)
    ana_tab, bob_tab = open_socket(ana), open_socket(bob)
    sent = ana_tab.send(chat, "oops")
    assert bob_tab.call("react", {"message_id": sent["id"], "emoji": "😂", "on": True})["ok"] is True
    tombstone = ana_tab.call("delete_message", {"message_id": sent["id"]})["message"]
    assert tombstone["reactions"] == [] and tombstone["deleted"] is True
    ack = bob_tab.call("react", {"message_id": sent["id"], "emoji": "😂", "on": True})
    assert ack["ok"] is False and ack["error"] == "not_allowed"
    assert history(bob, chat)[-1] == tombstone
