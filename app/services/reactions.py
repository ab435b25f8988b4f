"""Reactions: one emoji from one member on one message, given or taken back. The table's primary key
(message_id, user_id, emoji) holds each person's emoji once per message."""

import emoji as emoji_data
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import EMOJI_MAX_LENGTH, Conversation, Message, Reaction
from app.models.user import User
from app.serializers import message_dict
from app.services import ServiceError
from app.services.conversations import send_refusal
from app.services.messaging import publish_update, require_message


def check_emoji(value) -> str:
    """The emoji a reaction carries: exactly one emoji (a sequence such as 👍🏽 or 👨‍👩‍👧 counts as one),
    at most EMOJI_MAX_LENGTH characters; ServiceError otherwise."""
    if not isinstance(value, str) or not 0 < len(value) <= EMOJI_MAX_LENGTH or not emoji_data.is_emoji(value):
        raise ServiceError("A reaction is one emoji.", "emoji", code="invalid")
    return value


def _deleted_now(message_id: int) -> bool:
    """Whether the message is a tombstone, reading (and on PostgreSQL locking) its row: a delete
    running at the same moment waits for this transaction, or this one for it."""
    deleted_at = db.session.execute(
        select(Message.deleted_at).where(Message.id == message_id).with_for_update()
    ).scalar_one()
    return deleted_at is not None


def _has_reaction(message_id: int, user_id: int, value: str) -> bool:
    return db.session.scalar(
        select(exists().where(Reaction.message_id == message_id, Reaction.user_id == user_id, Reaction.emoji == value))
    )


def react(user: User, message_id, emoji, on) -> dict:
    """Give (`on` true) or take back (`on` false) the user's `emoji` on a message; every member is
    told ("message_updated") when that changed anything. Any member may, but not on a deleted
    message nor where they may not write (a block in a direct chat). Giving one already given, or
    taking back one not given, changes nothing. Returns M."""
    value = check_emoji(emoji)
    if not isinstance(on, bool):
        raise ServiceError("on must be true or false.", "on", code="invalid")
    message, _membership = require_message(user, message_id)
    if message.deleted_at is not None:
        raise ServiceError("That message was deleted.", "message_id", code="not_allowed")
    refusal = send_refusal(user, db.session.get(Conversation, message.conversation_id))
    if refusal:
        raise ServiceError(refusal, "message_id", code="not_allowed")

    if on:
        changed = _add(message, user, value)
    else:
        changed = bool(
            db.session.execute(
                delete(Reaction).where(
                    Reaction.message_id == message.id, Reaction.user_id == user.id, Reaction.emoji == value
                )
            ).rowcount
        )
    return publish_update(message) if changed else message_dict(message)


def _add(message: Message, user: User, value: str) -> bool:
    """Store the reaction (in the caller's transaction); False when it was there already."""
    if _deleted_now(message.id):
        raise ServiceError("That message was deleted.", "message_id", code="not_allowed")
    if _has_reaction(message.id, user.id, value):
        return False
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(Reaction).values(message_id=message.id, user_id=user.id, emoji=value, created_at=utcnow())
            )
    except IntegrityError:
        # The same reaction from another tab at the same moment: the first one stands.
        if not _has_reaction(message.id, user.id, value):
            raise
        return False
    return True
