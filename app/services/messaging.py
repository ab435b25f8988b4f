"""Messages: sending (ordered, idempotent, stored before acknowledged), history, sync, read state
and typing. Each function checks membership through conversations.require_member, writes in the
caller's transaction and queues its events on it (app.events): they reach the conversation's room
once the door commits."""

import re
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from app import events
from app.extensions import db
from app.models.base import utcnow
from app.models.chat import BODY_MAX_LENGTH, Conversation, Membership, Message
from app.models.user import User
from app.serializers import (
    attachment_dict,
    forwarded_dict,
    link_preview_dict,
    message_dict,
    message_payload,
    reply_dict,
    user_dict,
)
from app.services import (
    MAX_DB_INT,
    ServiceError,
    attachments,
    formatting,
    is_db_int,
    link_previews,
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
UNREAD_CONTEXT = 5  # read messages shown above the first unread when a chat opens
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
_MESSAGE_VALUES = {
    "conversation_id": bindparam("cid"),
    "seq": bindparam("new_seq"),
    "sender_id": bindparam("uid"),
    "client_id": bindparam("new_client_id"),
    "body": bindparam("new_body"),
    "body_html": bindparam("new_body_html"),
    "created_at": bindparam("now"),
    "reply_to_id": bindparam("new_reply_to_id"),
    "attachment_id": bindparam("new_attachment_id"),
    "forwarded": bindparam("new_forwarded"),
    "forwarded_from_user_id": bindparam("new_forwarded_from"),
    "link_preview_id": bindparam("new_link_preview_id"),
}
# A client_id the sender used before inserts nothing (and returns no id): no savepoint to roll back.
_INSERT_MESSAGE = {
    dialect.__name__.rpartition(".")[2]: dialect.insert(Message)
    .values(_MESSAGE_VALUES)
    .on_conflict_do_nothing(index_elements=["sender_id", "client_id"])
    .returning(Message.id)
    for dialect in (postgresql, sqlite)
}
# The seq taken for a copy that was not stored, given back (the conversation's row is still locked).
_UNDO_SEQ = (
    update(Conversation)
    .where(Conversation.id == bindparam("cid"))
    .values(
        last_seq=Conversation.last_seq - 1,
        last_message_at=select(Message.created_at)
        .where(Message.conversation_id == bindparam("cid"), Message.seq == bindparam("previous_seq"))
        .scalar_subquery(),
    )
)
# Writing in a conversation means having read it up to there.
_READ_OWN_MESSAGE = (
    update(Membership)
    .where(Membership.conversation_id == bindparam("cid"), Membership.user_id == bindparam("uid"))
    .values(last_read_seq=bindparam("new_seq"))
)


def send_message(
    sender: User, conversation_id, body, client_id, reply_to_id=None, attachment_id=None, forward_of=None
) -> tuple[dict, bool]:
    """Store a message and queue its delivery to the conversation's members for the commit.

    Returns (M, created): the message payload of docs/protocol.md, serialized once for the ack and
    every recipient. A retry with the same client_id returns the stored original and stores nothing:
    the INSERT's ON CONFLICT (sender_id, client_id) DO NOTHING stores no copy, and the seq it took
    is given back (no savepoint: the caller's transaction goes on). The sequence number comes from
    an UPDATE of the conversation row inside the same transaction: the row lock orders concurrent
    senders, so seq runs 1, 2, 3, ... with no holes.

    `reply_to_id`: a message of the same conversation this one answers; `attachment_id`: an
    attachment the sender uploaded into this conversation and has not sent yet (the body may then
    be empty). `forward_of`: the Message this one is a forward of (app.services.forwarding), whose
    author it names. The text is rendered here, once, with its mentions (formatting.render_message)
    and stored beside it as body_html.
    """
    body = check_body(body, may_be_empty=attachment_id is not None)
    client_id = check_client_id(client_id)
    target = require_member_target(sender, conversation_id)
    refusal = send_refusal(sender, target)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    original = _reply_target(target.conversation_id, reply_to_id)
    attachment = attachments.unsent(sender, target.conversation_id, attachment_id, client_id)
    preview = link_previews.card_for(sender.id, body)

    # Prepared Core statements and a payload built from the values: ORM loading, or even building
    # the statements anew, would cost more than the SQL itself.
    sender_payload = user_dict(sender)
    forwarded = forward_of is not None
    forwarded_from = forwarded_dict(forwarded, forward_of.author if forwarded else None)
    # Found and rendered before the conversation's row is locked for the seq.
    mentioned = mentions.named_members(target.conversation_id, sender.id, body) if "@" in body else []
    body_html = formatting.render_message(body, mentioned)
    now = utcnow()
    keys = {"cid": target.conversation_id, "uid": sender.id}
    values = {
        **keys,
        "new_client_id": client_id,
        "new_body": body,
        "new_body_html": body_html,
        "now": now,
        "new_reply_to_id": original.id if original else None,
        "new_attachment_id": attachment.id if attachment else None,
        "new_forwarded": forwarded,
        "new_forwarded_from": forward_of.author_id if forwarded else None,
        "new_link_preview_id": preview.id if preview else None,
    }
    if attachment is None:
        stored = _store(values, mentioned, sender.id, body)
    else:
        try:
            # In a savepoint: another send taking the same file at the same moment rolls back to it.
            with db.session.begin_nested():
                stored = _store(values, mentioned, sender.id, body)
        except IntegrityError:
            raise ServiceError("That file was already sent.", "attachment_id", code="not_found") from None
    if stored is None:
        # A retry, or the same client_id racing in from another tab: the first one stands.
        return _same_send(_sent_before(sender, client_id), target.conversation_id), False
    message_id, seq = stored
    # Those statements went past the ORM: rows it holds read again when next used in this transaction.
    _expire_loaded(Conversation, target.conversation_id, "last_seq", "last_message_at")
    _expire_loaded(Membership, (target.conversation_id, sender.id), "last_read_seq")
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
        kind=target.kind,
        forwarded_from=forwarded_from,
        body_html=body_html,
        link_preview=link_preview_dict(preview),
    )
    events.queue("message", payload, rooms.conversation_room(target.conversation_id))
    return payload, True


def _store(values: dict, mentioned: list[dict], sender_id: int, body: str) -> tuple[int, int] | None:
    """Write a message: its seq, its row, its mentions, the sender's read position; on the
    session's connection, past the ORM's bulk-statement layer. (message id, seq), or None when the
    sender stored that client_id before (nothing is written then)."""
    connection = db.session.connection()
    seq = connection.execute(_NEXT_SEQ, {"cid": values["cid"], "now": values["now"]}).scalar_one()
    insert_message = _INSERT_MESSAGE[connection.dialect.name]
    message_id = connection.execute(insert_message, {**values, "new_seq": seq}).scalar_one_or_none()
    if message_id is None:
        connection.execute(_UNDO_SEQ, {"cid": values["cid"], "previous_seq": seq - 1})
        return None
    if mentioned:
        mentions.record(message_id, values["cid"], seq, sender_id, body, replacing=False, members=mentioned)
    connection.execute(_READ_OWN_MESSAGE, {"cid": values["cid"], "uid": sender_id, "new_seq": seq})
    return message_id, seq


def _expire_loaded(model, key, *attributes: str) -> None:
    """Expire those attributes of the row `key` of `model` if the session holds it (no query)."""
    loaded = db.session.identity_map.get(identity_key(model, key))
    if loaded is not None:
        db.session.expire(loaded, attributes)


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
    """Queue, for the commit, the news to every member's every tab that a stored message changed
    (edit, delete, reactions): "message_updated" with the whole M, which replaces the one they hold.
    Returns M: serialized once, for the ack and every recipient."""
    payload = message_dict(message)
    events.queue("message_updated", payload, rooms.conversation_room(message.conversation_id))
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


@dataclass(frozen=True)
class Window:
    """A page of history in ascending seq, whether older and newer messages lie beyond it, and the
    reader's first unread message (its seq, 0 when none is unread) with how many are unread."""

    messages: list[Message]
    has_older: bool
    has_newer: bool
    first_unread_seq: int = 0
    unread_count: int = 0


def _exists(query) -> bool:
    return db.session.scalar(select(query.exists())) or False


def history_window(user: User, conversation_id, before=None, after=None, limit=None) -> Window:
    """history() with both directions told: has_older and has_newer (one EXISTS more at most)."""
    rows, has_more = history(user, conversation_id, before=before, after=after, limit=limit)
    if after is not None:
        older = select(Message.id).where(Message.conversation_id == conversation_id, Message.seq <= after)
        return Window(rows, after > 0 and _exists(older), has_more)
    if before is not None:
        newer = select(Message.id).where(Message.conversation_id == conversation_id, Message.seq >= before)
        return Window(rows, has_more, _exists(newer))
    return Window(rows, has_more, False)


def opening_window(user: User, conversation_id, unread_count: int) -> Window:
    """The page a chat opens at: with messages unread (`unread_count`, from the reader's summary),
    the one holding the first unread and UNREAD_CONTEXT messages before it (the latest page when
    that reaches it); with none, the latest page."""
    membership = require_member(user, conversation_id)
    first = 0
    if unread_count > 0:
        first = (
            db.session.scalar(
                select(Message.seq)
                .where(
                    Message.conversation_id == membership.conversation_id,
                    Message.seq > membership.last_read_seq,
                    or_(Message.sender_id.is_(None), Message.sender_id != user.id),
                )
                .order_by(Message.seq)
                .limit(1)
            )
            or 0
        )
    if not first:
        return history_window(user, conversation_id)
    start = max(first - UNREAD_CONTEXT, 1)
    last_seq = db.session.get(Conversation, membership.conversation_id).last_seq
    if last_seq - start + 1 <= HISTORY_PAGE_DEFAULT:
        window = history_window(user, conversation_id)
    else:
        window = history_window(user, conversation_id, after=start - 1)
    return Window(window.messages, window.has_older, window.has_newer, first, unread_count)


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

    Members are told ({conversation_id, user_id, seq, previous_seq}) when it moved, but nobody on either side of a
    block with the user (social.activity_hidden). Returns the position.
    """
    membership = require_member(user, conversation_id)
    seq = _check_seq(seq, "seq")
    if seq is None:
        raise ServiceError("seq is required.", "seq", code="invalid")
    last_seq = db.session.scalar(select(Conversation.last_seq).where(Conversation.id == membership.conversation_id))
    target = min(seq, last_seq)
    previous = membership.last_read_seq  # read before the update, which refreshes the loaded row
    moved = db.session.execute(
        update(Membership)
        .where(
            Membership.conversation_id == membership.conversation_id,
            Membership.user_id == user.id,
            Membership.last_read_seq < target,
        )
        .values(last_read_seq=target)
    ).rowcount
    if moved:
        events.queue_activity(
            "read",
            {
                "conversation_id": membership.conversation_id,
                "user_id": user.id,
                "seq": target,
                "previous_seq": previous,
            },
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
    events.queue_activity(
        "typing",
        {"conversation_id": target.conversation_id, "user_id": user.id},
        target.conversation_id,
        social.activity_hidden(user.id, target.conversation_id),
        skip_sid=skip_sid,
    )
