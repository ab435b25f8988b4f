"""Replies and mentions on the send path: app.services.messaging.send_message and app.services.mentions."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Mention, Message
from app.models.base import utcnow
from app.serializers import message_dict
from app.services import ServiceError, conversations, mentions, messaging, social
from app.transactions import transaction


@pytest.fixture
def people(make_user):
    """ana, bob and cyd are friends in a group; dan is a stranger with a chat of his own with ana."""
    ana, bob, cyd, dan = (make_user(name) for name in ("ana", "bob", "cyd", "dan"))
    with transaction():
        for friend in (bob, cyd, dan):
            social.send_request(ana, friend.username)
            social.accept_request(friend, "ana")
        group = conversations.create_group(ana, "Plans", [bob.id, cyd.id])
        other = conversations.open_direct(ana, "dan")
    return ana, bob, cyd, dan, group, other


def send(user, conversation, body="hello", **extra):
    send.counter = getattr(send, "counter", 0) + 1
    with transaction():
        return messaging.send_message(user, conversation.id, body, f"rm{send.counter}", **extra)[0]


def stored_mentions(message_id) -> list[int]:
    return sorted(db.session.scalars(select(Mention.user_id).where(Mention.message_id == message_id)))


# --- replies ------------------------------------------------------------------------------------


def test_a_reply_quotes_a_short_preview_of_the_original(people):
    ana, bob, _cyd, _dan, group, _other = people
    original = send(ana, group, "Lunch at noon? " + "x" * 300)
    reply = send(bob, group, "Yes!", reply_to_id=original["id"])
    quote = reply["reply_to"]
    assert quote["id"] == original["id"] and quote["seq"] == original["seq"]
    assert quote["sender"]["username"] == "ana" and quote["deleted"] is False
    assert quote["preview"].startswith("Lunch at noon? ") and len(quote["preview"]) == 140
    assert quote["preview"].endswith("…")
    # The ack, the history and the stored row agree.
    [held] = [m for m in messaging.history(bob, group.id)[0] if m.id == reply["id"]]
    assert message_dict(held)["reply_to"] == quote
    assert db.session.get(Message, reply["id"]).reply_to_id == original["id"]


def test_a_reply_to_a_message_deleted_later_shows_the_tombstone(people):
    ana, bob, _cyd, _dan, group, _other = people
    original = send(ana, group, "secret plan")
    reply = send(bob, group, "agreed", reply_to_id=original["id"])
    row = db.session.get(Message, original["id"])
    row.body, row.deleted_at = "", utcnow()
    db.session.commit()
    db.session.expire_all()
    quote = message_dict(db.session.get(Message, reply["id"]))["reply_to"]
    assert quote == {**quote, "deleted": True, "preview": "", "id": original["id"]}
    assert "secret" not in str(quote)


@pytest.mark.parametrize("bad", [0, -1, 2**31, "1", 1.5, True, [], {}])
def test_reply_to_must_be_a_message_id(people, bad):
    ana, _bob, _cyd, _dan, group, _other = people
    with pytest.raises(ServiceError) as error:
        send(ana, group, "hi", reply_to_id=bad)
    assert error.value.code == "not_found" and error.value.field == "reply_to_id"
    assert db.session.scalar(select(Message.id).where(Message.conversation_id == group.id)) is None


def test_a_reply_cannot_quote_another_conversation_or_a_deleted_message(people):
    ana, bob, _cyd, dan, group, other = people
    elsewhere = send(dan, other, "only for ana")
    with pytest.raises(ServiceError) as error:
        send(bob, group, "peek", reply_to_id=elsewhere["id"])
    assert error.value.code == "not_found"  # same answer as for an unknown id: nothing leaks
    gone = send(ana, group, "oops")
    row = db.session.get(Message, gone["id"])
    row.body, row.deleted_at = "", utcnow()
    db.session.commit()
    with pytest.raises(ServiceError) as error:
        send(bob, group, "what was it?", reply_to_id=gone["id"])
    assert error.value.code == "not_allowed"
    assert [m.body for m in messaging.history(ana, group.id)[0]] == [""]


# --- mentions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@bob hi", {"bob"}),
        ("hi @Bob.", {"bob"}),
        ("@bob,@cyd!", {"bob", "cyd"}),
        ("mail ana@example.org", set()),
        ("@@bob", set()),
        ("x@bob", set()),
        ("(@cyd)", {"cyd"}),
        ("@", set()),
        ("@a.b_c.", {"a.b_c"}),
    ],
)
def test_mentioned_names(body, names):
    assert mentions.mentioned_names(body) == names


def test_mentions_name_members_only_never_the_sender(people):
    ana, bob, cyd, dan, group, _other = people
    message = send(ana, group, "@bob and @CYD, not @dan (not here), not @ana, not @nobody")
    assert [m["username"] for m in message["mentions"]] == ["bob", "cyd"]
    assert stored_mentions(message["id"]) == sorted([bob.id, cyd.id])
    assert dan.id not in stored_mentions(message["id"])
    row = db.session.scalar(select(Mention).where(Mention.message_id == message["id"], Mention.user_id == bob.id))
    assert (row.conversation_id, row.seq) == (group.id, message["seq"])
    assert message_dict(db.session.get(Message, message["id"]))["mentions"] == message["mentions"]


def test_a_message_without_mentions_stores_none(people):
    ana, _bob, _cyd, _dan, group, _other = people
    message = send(ana, group, "no one in particular, write to ana@example.org")
    assert message["mentions"] == [] and stored_mentions(message["id"]) == []


def test_record_replaces_what_a_message_mentioned(people):
    ana, bob, cyd, _dan, group, _other = people
    message = send(ana, group, "@bob look")
    replaced = mentions.record(message["id"], group.id, message["seq"], ana.id, "@cyd look instead")
    db.session.commit()
    assert replaced == [{"id": cyd.id, "username": "cyd"}]
    assert stored_mentions(message["id"]) == [cyd.id] and bob.id not in stored_mentions(message["id"])


def test_a_retried_send_keeps_its_reply_and_mentions(people):
    ana, bob, _cyd, _dan, group, _other = people
    original = send(ana, group, "first")
    first, created = messaging.send_message(bob, group.id, "@ana yes", "same-id", reply_to_id=original["id"])
    again, created_again = messaging.send_message(bob, group.id, "@ana yes", "same-id", reply_to_id=original["id"])
    assert created and not created_again
    assert again["id"] == first["id"] and again["reply_to"] == first["reply_to"]
    assert again["mentions"] == first["mentions"] == [{"id": ana.id, "username": "ana"}]
    assert len(stored_mentions(first["id"])) == 1
