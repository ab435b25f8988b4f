"""Messages: sending (ordered, idempotent, stored before acknowledged), history, sync, read state
and typing. Each function checks membership through conversations.require_member and, after its
commit, emits to the conversation's room."""

import re

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import BODY_MAX_LENGTH, Conversation, Membership, Message
from app.models.user import User
from app.serializers import attachment_dict, message_dict, message_payload, reply_dict, user_dict
from app.services import (
    MAX_DB_INT,
    ServiceError,
    attachments,
    is_db_int,
    mentions,
    page_size,
    parse_db_int,
    rooms,
    social,
)
from app.services.conversations import require_member, require_member_target, send_refusal

HISTORY_PAGE_DEFAULT = 50
HISTORY_PAGE_MAX = 100
SYNC_BATCH = 200
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def check_body(body, *, may_be_empty: bool = False) -> str:
    """The message text, trimmed, or ServiceError if it is empty (unless a file carries the message),
    too long or not text."""
    if body is None and may_be_empty:
        return ""
    if not isinstance(body, str):
        raise ServiceError("A message is text.", "body", code="invalid")
    body = body.replace("\x00", "").replace("\r\n", "\n").strip()
    if not body and not may_be_empty:
        raise ServiceError("Write something first.", "body", code="empty")
    if len(body) > BODY_MAX_LENGTH:
        raise ServiceError(f"A message can be at most {BODY_MAX_LENGTH:,} characters.", "body", code="too_long")
    return body


def check_client_id(client_id) -> str:
    """The sender-made id that makes a retried send return the original, or ServiceError."""
    if not isinstance(client_id, str) or not CLIENT_ID_PATTERN.fullmatch(client_id):
        raise ServiceError("client_id must be 1–64 letters, digits or - _ . :", "client_id", code="invalid")
    return client_id


def _sent_before(sender: User, client_id: str) -> Message | None:
    return db.session.scalar(select(Message).where(Message.sender_id == sender.id, Message.client_id == client_id))


def _same_send(existing: Message, conversation_id: int) -> dict:
    if existing.conversation_id != conversation_id:
        raise ServiceError("That client_id was already used for another message.", "client_id", code="duplicate")
    return message_dict(existing)


_NEXT_SEQ = (
    update(Conversation)
    .where(Conversation.id == bindparam("cid"))
    .values(last_seq=Conversation.last_seq + 1, last_message_at=bindparam("now"))
    .returning(Conversation.last_seq)
)
_INSERT_MESSAGE = (
    insert(Message)
    .values(
        conversation_id=bindparam("cid"),
        seq=bindparam("new_seq"),
        sender_id=bindparam("uid"),
        client_id=bindparam("new_client_id"),
        body=bindparam("new_body"),
        created_at=bindparam("now"),
        reply_to_id=bindparam("new_reply_to_id"),
        attachment_id=bindparam("new_attachment_id"),
    )
    .returning(Message.id)
)
# Writing in a conversation means having read it up to there.
_READ_OWN_MESSAGE = (
    update(Membership)
    .where(Membership.conversation_id == bindparam("cid"), Membership.user_id == bindparam("uid"))
    .values(last_read_seq=bindparam("new_seq"))
)


def send_message(
    sender: User, conversation_id, body, client_id, reply_to_id=None, attachment_id=None
) -> tuple[dict, bool]:
    """Store a message and, once committed, deliver it to the conversation's members.

    Returns (M, created): the message payload of docs/protocol.md, serialized once for the ack and
    every recipient. A retry with the same client_id returns the stored original and stores nothing:
    UNIQUE (sender_id, client_id) refuses the copy and the transaction rolls back. The sequence number
    comes from an UPDATE of the conversation row inside the same transaction: the row lock orders
    concurrent senders, so seq runs 1, 2, 3, ... with no holes.

    `reply_to_id`: a message of the same conversation this one answers; `attachment_id`: an
    attachment the sender uploaded into this conversation and has not sent yet (the body may then
    be empty).
    """
    body = check_body(body, may_be_empty=attachment_id is not None)
    client_id = check_client_id(client_id)
    target = require_member_target(sender, conversation_id)
    refusal = send_refusal(sender, target)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    original = _reply_target(target.conversation_id, reply_to_id)
    attachment = attachments.unsent(sender, target.conversation_id, attachment_id, client_id)

    # Prepared Core statements and a payload built from the values: ORM loading, or even building
    # the statements anew, would cost more than the SQL itself.
    sender_payload = user_dict(sender)
    now = utcnow()
    keys = {"cid": target.conversation_id, "uid": sender.id}
    try:
        # On the session's connection, in its transaction, but past the ORM's bulk-statement layer.
        connection = db.session.connection()
        seq = connection.execute(_NEXT_SEQ, {**keys, "now": now}).scalar_one()
        message_id = connection.execute(
            _INSERT_MESSAGE,
            {
                **keys,
                "new_seq": seq,
                "new_client_id": client_id,
                "new_body": body,
                "now": now,
                "new_reply_to_id": original.id if original else None,
                "new_attachment_id": attachment.id if attachment else None,
            },
        ).scalar_one()
        mentioned = (
            mentions.record(message_id, target.conversation_id, seq, sender.id, body, replacing=False)
            if "@" in body
            else []
        )
        connection.execute(_READ_OWN_MESSAGE, {**keys, "new_seq": seq})
        db.session.commit()
    except IntegrityError:
        # A retry, or the same client_id racing in from another tab: the first one stands.
        db.session.rollback()
        existing = _sent_before(sender, client_id)
        if existing is None:
            if attachment is not None:  # another send took the attachment in the meantime
                raise ServiceError("That file was already sent.", "attachment_id", code="not_found") from None
            raise
        return _same_send(existing, target.conversation_id), False
    payload = message_payload(
        message_id,
        target.conversation_id,
        seq,
        sender_payload,
        body,
        client_id,
        now,
        reply_to=reply_dict(original),
        attachment=attachment_dict(attachment),
        mentions=mentioned,
    )
    rooms.emit("message", payload, rooms.conversation_room(target.conversation_id))
    return payload, True


def _reply_target(conversation_id: int, reply_to_id) -> Message | None:
    """The message a new one answers: one of the same conversation, not deleted; None for none."""
    if reply_to_id is None:
        return None
    original = None
    if is_db_int(reply_to_id, minimum=1):
        original = db.session.scalar(
            select(Message).where(Message.id == reply_to_id, Message.conversation_id == conversation_id)
        )
    if original is None:
        raise ServiceError("There is no such message in this conversation.", "reply_to_id", code="not_found")
    if original.deleted_at is not None:
        raise ServiceError("That message was deleted.", "reply_to_id", code="not_allowed")
    return original


def require_message(user: User, message_id) -> tuple[Message, Membership]:
    """A message in a conversation the user is in, with the user's membership; unknown messages and
    messages of other conversations answer alike (ServiceError not_found)."""
    message = None
    if is_db_int(message_id, minimum=1):
        message = db.session.get(Message, message_id)
    membership = db.session.get(Membership, (message.conversation_id, user.id)) if message is not None else None
    if membership is None:
        raise ServiceError("There is no such message.", "message_id", code="not_found")
    return message, membership


def publish_update(message: Message) -> dict:
    """Tell every member's every tab that a stored message changed (edit, delete, reactions):
    "message_updated" with the whole M, which replaces the one they hold. Returns M."""
    payload = message_dict(message)
    rooms.emit("message_updated", payload, rooms.conversation_room(message.conversation_id))
    return payload


def _check_seq(value, name: str) -> int | None:
    if value is None:
        return None
    if not is_db_int(value):
        raise ServiceError(f"{name} must be a whole number from 0 to {MAX_DB_INT}.", name, code="invalid")
    return value


def history(user: User, conversation_id, before=None, after=None, limit=None) -> tuple[list[Message], bool]:
    """A page of messages in ascending seq, and whether there are more beyond it.

    `after`: the messages following that seq; `before`: those preceding it; neither: the latest.
    Keyset pagination on (conversation_id, seq), so any page costs the same in any history.
    """
    membership = require_member(user, conversation_id)
    limit = page_size(limit, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX)
    before, after = _check_seq(before, "before"), _check_seq(after, "after")
    if before is not None and after is not None:
        raise ServiceError("Give before or after, not both.", code="invalid")
    query = select(Message).where(Message.conversation_id == membership.conversation_id)
    if after is not None:
        rows = list(db.session.scalars(query.where(Message.seq > after).order_by(Message.seq).limit(limit + 1)))
        return rows[:limit], len(rows) > limit
    if before is not None:
        query = query.where(Message.seq < before)
    rows = list(db.session.scalars(query.order_by(Message.seq.desc()).limit(limit + 1)))
    return list(reversed(rows[:limit])), len(rows) > limit


def sync(user: User, after: dict) -> tuple[list[Message], bool]:
    """What the user missed: for each {conversation_id: last seq held}, the messages after it.

    At most SYNC_BATCH messages per call (has_more says to call again with the new seqs).
    Conversations the user is not in are skipped, exactly as if they did not exist.
    """
    if not isinstance(after, dict) or len(after) > 1000:
        raise ServiceError("after must map conversation ids to sequence numbers.", code="invalid")
    wanted = {}
    for key, seq in after.items():
        conversation_id = parse_db_int(key, minimum=1)
        if conversation_id is None or _check_seq(seq, "seq") is None:
            raise ServiceError("after must map conversation ids to sequence numbers.", code="invalid")
        wanted[conversation_id] = seq
    if not wanted:
        return [], False
    # One query finds the user's conversations among them that have news; only those are read.
    with_news = sorted(
        conversation_id
        for conversation_id, last_seq in db.session.execute(
            select(Conversation.id, Conversation.last_seq)
            .join(Membership, Membership.conversation_id == Conversation.id)
            .where(Membership.user_id == user.id, Conversation.id.in_(wanted))
        )
        if last_seq > wanted[conversation_id]
    )
    messages, has_more = [], False
    for conversation_id in with_news:
        room_left = SYNC_BATCH - len(messages)
        if room_left <= 0:
            has_more = True
            break
        rows = list(
            db.session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq > wanted[conversation_id])
                .order_by(Message.seq)
                .limit(room_left + 1)
            )
        )
        if len(rows) > room_left:
            has_more = True
        messages.extend(rows[:room_left])
    return messages, has_more


def mark_read(user: User, conversation_id, seq) -> int:
    """Move the user's read position forward to seq (never back, never past the last message).

    Members are told ({conversation_id, user_id, seq}) when it moved, but nobody on either side of a
    block with the user (social.activity_hidden). Returns the position.
    """
    membership = require_member(user, conversation_id)
    seq = _check_seq(seq, "seq")
    if seq is None:
        raise ServiceError("seq is required.", "seq", code="invalid")
    last_seq = db.session.scalar(select(Conversation.last_seq).where(Conversation.id == membership.conversation_id))
    target = min(seq, last_seq)
    moved = db.session.execute(
        update(Membership)
        .where(
            Membership.conversation_id == membership.conversation_id,
            Membership.user_id == user.id,
            Membership.last_read_seq < target,
        )
        .values(last_read_seq=target)
    ).rowcount
    db.session.commit()
    if moved:
        rooms.emit_activity(
            "read",
            {"conversation_id": membership.conversation_id, "user_id": user.id, "seq": target},
            membership.conversation_id,
            social.activity_hidden(user.id, membership.conversation_id),
        )
        return target
    return max(target, membership.last_read_seq)


def typing(user: User, conversation_id, skip_sid: str | None = None) -> None:
    """Tell the other members that the user is typing: not where the user may not write (a direct
    chat across a block), and never anyone on either side of a block with them."""
    target = require_member_target(user, conversation_id)
    refusal = send_refusal(user, target)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    rooms.emit_activity(
        "typing",
        {"conversation_id": target.conversation_id, "user_id": user.id},
        target.conversation_id,
        social.activity_hidden(user.id, target.conversation_id),
        skip_sid=skip_sid,
    )
