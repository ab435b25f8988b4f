"""Editing and deleting messages: app.services.editing, and the edit_message / delete_message socket
events on a real server."""

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy
from sqlalchemy import func, select, update

from app.config import normalize_database_url
from app.extensions import db
from app.models import Message
from app.models.base import utcnow
from app.models.chat import FILE, Attachment, Mention, Reaction
from app.serializers import message_dict
from app.services import conversations, editing, messaging, reactions, rooms, social
from tests.conftest import door, refused
from tests.realtime import GRACE, befriend, create_group, direct_chat, history, user_id


def send(user, conversation, body="hello", **extra) -> dict:
    return door(messaging.send_message, user, conversation.id, body, uuid.uuid4().hex, **extra)[0]


def row(message_id) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def updates(events) -> list[dict]:
    return [payload for event, payload, _room in events if event == "message_updated"]


# --- editing ------------------------------------------------------------------------------------


def test_the_sender_edits_within_the_window_and_every_member_is_told(group_and_chat, emitted):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "see you at 5")
    emitted.clear()

    edited = door(editing.edit_message, ana, sent["id"], "  see you at 6  ")

    assert edited["body"] == "see you at 6" and edited["id"] == sent["id"] and edited["seq"] == sent["seq"]
    assert edited["edited_at"] is not None and sent["edited_at"] is None
    stored = row(sent["id"])
    assert stored.body == "see you at 6" and stored.edited_at is not None
    assert edited == message_dict(stored)
    assert [(event, room) for event, _payload, room in emitted] == [
        ("message_updated", rooms.conversation_room(group.id))
    ]
    assert updates(emitted) == [edited]
    # The history and sync hold the edited message.
    assert message_dict(messaging.history(ana, group.id)[0][-1]) == edited
    assert message_dict(messaging.sync(ana, {str(group.id): 0})[0][-1]) == edited


def test_the_same_text_again_changes_nothing_and_tells_no_one(group_and_chat, emitted):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "unchanged")
    emitted.clear()
    assert door(editing.edit_message, ana, sent["id"], " unchanged\n") == sent
    assert row(sent["id"]).edited_at is None
    assert emitted == []


def test_editing_replaces_the_mentions(group_and_chat):
    ana, _bob, cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "@bob bring the map")
    assert [m["username"] for m in sent["mentions"]] == ["bob"]

    edited = door(editing.edit_message, ana, sent["id"], "@cyd bring the map, @ana too")

    assert edited["mentions"] == [{"id": cyd.id, "username": "cyd"}]  # never the sender
    stored = db.session.scalars(select(Mention).where(Mention.message_id == sent["id"])).all()
    assert [(m.user_id, m.conversation_id, m.seq) for m in stored] == [(cyd.id, group.id, sent["seq"])]
    assert door(editing.edit_message, ana, sent["id"], "no one now")["mentions"] == []
    assert db.session.scalar(select(func.count()).select_from(Mention)) == 0


def test_only_the_sender_may_edit_and_outsiders_find_nothing(group_and_chat, emitted):
    ana, bob, _cyd, dan, group, _chat = group_and_chat
    sent = send(ana, group, "mine")
    emitted.clear()
    refused(lambda: door(editing.edit_message, bob, sent["id"], "yours now"), "not_allowed")
    # Owning the group allows deleting others' messages, never rewriting them.
    bobs = send(bob, group, "bob's")
    refused(lambda: door(editing.edit_message, ana, bobs["id"], "owner's words"), "not_allowed")
    # A stranger's attempt answers exactly as for an id nobody has.
    stranger = refused(lambda: door(editing.edit_message, dan, sent["id"], "hi"), "not_found")
    unknown = refused(lambda: door(editing.edit_message, dan, sent["id"] + 1000, "hi"), "not_found")
    assert stranger.message == unknown.message
    for bad_id in (None, "1", -1, 0, 2**31, True, [sent["id"]], 1.0):
        refused(lambda bad_id=bad_id: door(editing.edit_message, ana, bad_id, "x"), "not_found")
    assert row(sent["id"]).body == "mine" and row(bobs["id"]).body == "bob's"
    assert updates(emitted) == []


def test_editing_after_the_window_is_refused(group_and_chat, app):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    old, fresh = send(ana, group, "old"), send(ana, group, "fresh")
    window = app.config["MESSAGE_EDIT_WINDOW_SECONDS"]
    db.session.execute(
        update(Message).where(Message.id == old["id"]).values(created_at=utcnow() - timedelta(seconds=window + 1))
    )
    db.session.commit()
    error = refused(lambda: door(editing.edit_message, ana, old["id"], "too late"), "not_allowed")
    assert "too old" in error.message
    assert row(old["id"]).body == "old" and row(old["id"]).edited_at is None
    assert door(editing.edit_message, ana, fresh["id"], "in time")["body"] == "in time"
    # The window is the app's setting.
    app.config["MESSAGE_EDIT_WINDOW_SECONDS"] = 0
    refused(lambda: door(editing.edit_message, ana, fresh["id"], "again"), "not_allowed")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        (None, "invalid"),
        (42, "invalid"),
        (["x"], "invalid"),
        ("x" * 4001, "too_long"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(group_and_chat, body, code):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "keep me")
    refused(lambda: door(editing.edit_message, ana, sent["id"], body), code)
    assert row(sent["id"]).body == "keep me" and row(sent["id"]).edited_at is None


def test_a_blocked_partner_cannot_edit_in_the_direct_chat(group_and_chat):
    ana, bob, _cyd, _dan, _group, chat = group_and_chat
    anas, bobs = send(ana, chat, "hi bob"), send(bob, chat, "hi ana")
    door(social.block, ana, "bob")
    refused(lambda: door(editing.edit_message, bob, bobs["id"], "edited"), "not_allowed")
    refused(lambda: door(editing.edit_message, ana, anas["id"], "edited"), "not_allowed")  # nor the blocker
    assert row(bobs["id"]).body == "hi ana" and row(anas["id"]).body == "hi bob"


def test_a_deleted_message_cannot_be_edited(group_and_chat):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "gone soon")
    door(editing.delete_message, ana, sent["id"])
    refused(lambda: door(editing.edit_message, ana, sent["id"], "back again"), "not_allowed")
    assert row(sent["id"]).body == ""


def test_a_message_with_a_file_may_be_edited_to_no_text(group_and_chat, app):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    if "attachments.download" not in app.view_functions:
        pytest.skip("the attachments blueprint is not there yet")
    sent = send(ana, group, "a caption")
    attach(group.id, ana.id, sent["id"])
    edited = door(editing.edit_message, ana, sent["id"], "   ")
    assert edited["body"] == "" and edited["attachment"] is not None


# --- deleting -----------------------------------------------------------------------------------


def attach(conversation_id: int, uploader_id: int, message_id: int) -> int:
    """Store a file row and make it the message's attachment; returns its id."""
    attachment = Attachment(
        conversation_id=conversation_id,
        uploader_id=uploader_id,
        kind=FILE,
        content_type="text/plain",
        filename="notes.txt",
        size=11,
        data=b"secret text",
    )
    db.session.add(attachment)
    db.session.flush()
    db.session.execute(update(Message).where(Message.id == message_id).values(attachment_id=attachment.id))
    db.session.commit()
    return attachment.id


def test_the_sender_deletes_a_message_leaving_a_tombstone(group_and_chat, emitted):
    """Body, file (its row and bytes), reactions and mentions are gone; the seq stays; a reply shows
    the original deleted; every member is told once; deleting again answers the same tombstone."""
    ana, bob, cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "@bob the code is 1234")
    attachment_id = attach(group.id, ana.id, sent["id"])
    db.session.add(Reaction(message_id=sent["id"], user_id=bob.id, emoji="👍"))
    db.session.commit()
    reply = send(cyd, group, "noted", reply_to_id=sent["id"])
    emitted.clear()

    tombstone = door(editing.delete_message, ana, sent["id"])

    assert tombstone["deleted"] is True and tombstone["body"] == "" and tombstone["attachment"] is None
    assert tombstone["reactions"] == [] and tombstone["mentions"] == []
    assert (tombstone["id"], tombstone["seq"]) == (sent["id"], sent["seq"])
    assert updates(emitted) == [tombstone]
    stored = row(sent["id"])
    assert stored.body == "" and stored.deleted_at is not None and stored.attachment_id is None
    assert db.session.get(Attachment, attachment_id) is None
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert db.session.scalar(select(func.count()).where(Reaction.message_id == sent["id"])) == 0
    assert db.session.scalar(select(func.count()).where(Mention.message_id == sent["id"])) == 0
    # The text is gone from the database, not just hidden.
    assert db.session.scalar(select(func.count()).where(Message.body.contains("1234"))) == 0
    replied = message_dict(row(reply["id"]))
    assert replied["reply_to"]["deleted"] is True and replied["reply_to"]["preview"] == ""
    assert row(reply["id"]).reply_to_id == sent["id"]
    # History and sync hold the tombstone in its place.
    listed = {m.id: message_dict(m) for m in messaging.history(bob, group.id)[0]}
    assert listed[sent["id"]] == tombstone
    synced = {m.id: message_dict(m) for m in messaging.sync(bob, {str(group.id): 0})[0]}
    assert synced[sent["id"]] == tombstone

    emitted.clear()
    assert door(editing.delete_message, ana, sent["id"]) == tombstone
    assert emitted == []


def test_a_group_owner_deletes_anyones_message_a_member_only_their_own(group_and_chat, emitted):
    ana, bob, cyd, dan, group, _chat = group_and_chat
    bobs, cyds = send(bob, group, "bob's"), send(cyd, group, "cyd's")
    anas = send(ana, group, "ana's")
    emitted.clear()

    refused(lambda: door(editing.delete_message, cyd, bobs["id"]), "not_allowed")
    refused(lambda: door(editing.delete_message, bob, anas["id"]), "not_allowed")
    stranger = refused(lambda: door(editing.delete_message, dan, bobs["id"]), "not_found")
    assert stranger.message == refused(lambda: door(editing.delete_message, dan, 10**6), "not_found").message
    assert updates(emitted) == []
    assert row(bobs["id"]).deleted_at is None and row(anas["id"]).deleted_at is None

    assert door(editing.delete_message, ana, bobs["id"])["deleted"] is True  # the owner
    assert door(editing.delete_message, cyd, cyds["id"])["deleted"] is True  # the sender
    assert [m["id"] for m in updates(emitted)] == [bobs["id"], cyds["id"]]


def test_in_a_direct_chat_only_the_sender_deletes_even_when_blocked(group_and_chat):
    ana, bob, _cyd, _dan, _group, chat = group_and_chat
    anas, bobs = send(ana, chat, "hi"), send(bob, chat, "hello")
    refused(lambda: door(editing.delete_message, ana, bobs["id"]), "not_allowed")
    door(social.block, ana, "bob")
    # Taking one's own words back is allowed across a block.
    assert door(editing.delete_message, bob, bobs["id"])["deleted"] is True
    assert door(editing.delete_message, ana, anas["id"])["deleted"] is True


def test_a_room_moderator_deletes_anyones_message_a_member_only_their_own(group_and_chat):
    ana, bob, cyd, _dan, _group, _chat = group_and_chat
    room = conversations.create_room("Town square")
    for person in (ana, bob, cyd):
        door(conversations.join_room, person, room.id)
    conversations.set_moderator(room.id, cyd, True)
    anas, bobs = send(ana, room, "spam"), send(bob, room, "more spam")

    refused(lambda: door(editing.delete_message, bob, anas["id"]), "not_allowed")
    assert door(editing.delete_message, cyd, anas["id"])["deleted"] is True
    assert door(editing.delete_message, cyd, bobs["id"])["deleted"] is True
    conversations.set_moderator(room.id, cyd, False)
    cyds = send(cyd, room, "mine")
    refused(lambda: door(editing.delete_message, ana, cyds["id"]), "not_allowed")
    assert row(cyds["id"]).deleted_at is None


def test_a_groups_moderator_role_or_a_rooms_owner_role_grants_nothing(group_and_chat):
    """The roles count only where they belong: owner in a group, moderator in a room."""
    ana, bob, cyd, _dan, group, _chat = group_and_chat
    bobs = send(bob, group, "bob's")
    db.session.execute(
        sqlalchemy.text("UPDATE memberships SET role = 'moderator' WHERE conversation_id = :c AND user_id = :u"),
        {"c": group.id, "u": cyd.id},
    )
    db.session.commit()
    refused(lambda: door(editing.delete_message, cyd, bobs["id"]), "not_allowed")
    room = conversations.create_room("Lobby")
    for person in (ana, bob):
        door(conversations.join_room, person, room.id)
    db.session.execute(
        sqlalchemy.text("UPDATE memberships SET role = 'owner' WHERE conversation_id = :c AND user_id = :u"),
        {"c": room.id, "u": ana.id},
    )
    db.session.commit()
    in_room = send(bob, room, "hello")
    refused(lambda: door(editing.delete_message, ana, in_room["id"]), "not_allowed")


def test_a_deleted_message_takes_no_reactions_and_no_replies(group_and_chat):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "bye")
    door(editing.delete_message, ana, sent["id"])
    refused(lambda: door(reactions.react, bob, sent["id"], "👍", True), "not_allowed")
    refused(lambda: send(bob, group, "re", reply_to_id=sent["id"]), "not_allowed")
    assert db.session.scalar(select(func.count()).select_from(Reaction)) == 0


# --- over Socket.IO, on the real server ----------------------------------------------------------


def test_edit_and_delete_over_sockets_reach_every_member_and_no_one_else(http_user, open_socket, live_server):
    """ana edits and deletes in her group over her socket: both acks carry M, every member's tab
    (hers included) gets "message_updated" with that M, a stranger's tab gets nothing; bob may do
    neither to her message; a stranger's attempt answers as for no message; the history shows the
    edit and the tombstone."""
    ana, bob, cyd, stranger = (http_user().register() for _ in range(4))
    befriend(ana, bob)
    befriend(ana, cyd)
    member_ids = [user_id(friend, direct_chat(ana, friend)) for friend in (bob, cyd)]
    group = create_group(ana, member_ids)
    ana_tab, bob_tab, cyd_tab, out_tab = (open_socket(person) for person in (ana, bob, cyd, stranger))
    sent = ana_tab.send(group, "meet at 5")

    ack = ana_tab.call("edit_message", {"message_id": sent["id"], "body": "meet at 6"})
    assert ack["ok"] is True, ack
    edited = ack["message"]
    assert edited["body"] == "meet at 6" and edited["edited_at"] is not None
    for tab in (ana_tab, bob_tab, cyd_tab):
        assert tab.wait_for("message_updated") == [edited]

    assert bob_tab.call("edit_message", {"message_id": sent["id"], "body": "mine"})["error"] == "not_allowed"
    assert bob_tab.call("delete_message", {"message_id": sent["id"]})["error"] == "not_allowed"
    foreign = out_tab.call("delete_message", {"message_id": sent["id"]})
    assert foreign == out_tab.call("delete_message", {"message_id": 2**31 - 1})
    assert foreign["ok"] is False and foreign["error"] == "not_found"
    for payload in ({}, {"message_id": "x"}, {"message_id": sent["id"], "body": {"a": 1}}):
        assert ana_tab.call("edit_message", payload)["ok"] is False

    ack = ana_tab.call("delete_message", {"message_id": sent["id"]})
    assert ack["ok"] is True, ack
    tombstone = ack["message"]
    assert tombstone["deleted"] is True and tombstone["body"] == ""
    for tab in (ana_tab, bob_tab, cyd_tab):
        assert tab.wait_for("message_updated", count=2)[-1] == tombstone
    assert ana_tab.call("delete_message", {"message_id": sent["id"]}) == {"ok": True, "message": tombstone}
    assert ana_tab.call("edit_message", {"message_id": sent["id"], "body": "undo"})["error"] == "not_allowed"

    threading.Event().wait(GRACE)
    assert out_tab.events == []
    assert len(bob_tab.received("message_updated")) == 2  # the repeated delete told no one
    assert [m for m in history(bob, group) if m["id"] == sent["id"]] == [tombstone]
    assert bob_tab.call("sync", {"after": {str(group): sent["seq"] - 1}})["messages"][0] == tombstone


def test_edit_window_on_the_real_server(http_user, open_socket, live_server):
    """An edit is refused once the message is older than the window (its created_at moved back in
    the server's database)."""
    ana, bob = http_user().register(), http_user().register()
    chat = direct_chat(ana, bob)
    tab = open_socket(ana)
    sent = tab.send(chat, "old news")
    engine = sqlalchemy.create_engine(normalize_database_url(live_server.database_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Message).where(Message.id == sent["id"]).values(created_at=utcnow() - timedelta(hours=1))
            )
    finally:
        engine.dispose()
    ack = tab.call("edit_message", {"message_id": sent["id"], "body": "new news"})
    assert ack["ok"] is False and ack["error"] == "not_allowed", ack
    assert history(ana, chat)[-1]["body"] == "old news"
