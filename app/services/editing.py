"""Changing a sent message: editing its text (the sender, for a while) and deleting it (the sender,
or whoever keeps order in the conversation). A deleted message stays as a tombstone so the thread
and the replies quoting it still read; its text, file, reactions and mentions are gone.

Both write with an UPDATE conditioned on `deleted_at IS NULL`: it locks the message's row, so an edit
racing a delete either lands before it (and is then wiped) or finds the tombstone and is refused.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import (
    GROUP,
    MODERATOR,
    OWNER,
    ROOM,
    Attachment,
    Conversation,
    Membership,
    Mention,
    Message,
    Reaction,
)
from app.models.user import User
from app.serializers import message_dict
from app.services import ServiceError, mentions
from app.services.conversations import send_refusal
from app.services.messaging import check_body, publish_update, require_message


def _refuse(message: str) -> ServiceError:
    return ServiceError(message, "message_id", code="not_allowed")


def edit_message(user: User, message_id, body) -> dict:
    """Replace the text of one of the user's messages and tell every member ("message_updated").

    Only the sender, within MESSAGE_EDIT_WINDOW_SECONDS of sending, not on a deleted message and not
    where they may no longer write (a block in a direct chat). The body follows send_message's rules
    (it may be empty only when a file carries the message). The same text changes nothing and is not
    broadcast. The mentions are those of the new text. Returns M.
    """
    message, _membership = require_message(user, message_id)
    if message.sender_id != user.id:
        raise _refuse("Only its sender can edit a message.")
    if message.deleted_at is not None:
        raise _refuse("That message was deleted.")
    window = timedelta(seconds=current_app.config["MESSAGE_EDIT_WINDOW_SECONDS"])
    if utcnow() - message.created_at > window:
        raise _refuse("That message is too old to edit.")
    refusal = send_refusal(user, db.session.get(Conversation, message.conversation_id))
    if refusal:
        raise _refuse(refusal)
    body = check_body(body, may_be_empty=message.attachment_id is not None)
    if body == message.body:
        return message_dict(message)

    edited = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.deleted_at.is_(None))
        .values(body=body, edited_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not edited:  # deleted in the meantime
        db.session.rollback()
        raise _refuse("That message was deleted.")
    mentions.record(message.id, message.conversation_id, message.seq, user.id, body)
    db.session.commit()
    return publish_update(message)


def may_delete(user: User, message: Message, membership: Membership, conversation: Conversation) -> bool:
    """Whether the user may delete the message: its sender, an owner of the group it is in, or a
    moderator of the community room it is in."""
    if message.sender_id is not None and message.sender_id == user.id:
        return True
    return (conversation.kind == GROUP and membership.role == OWNER) or (
        conversation.kind == ROOM and membership.role == MODERATOR
    )


def delete_message(user: User, message_id) -> dict:
    """Turn a message into a tombstone and tell every member ("message_updated").

    The sender, a group's owner or a room's moderator may. The text is emptied, the attached file's
    row (and so its bytes) is removed, and so are its reactions and mentions; the message keeps its
    seq, and replies keep pointing at it (their R shows it deleted). Deleting a tombstone answers it
    again without telling anyone. Returns M.
    """
    message, membership = require_message(user, message_id)
    conversation = db.session.get(Conversation, message.conversation_id)
    if not may_delete(user, message, membership, conversation):
        raise _refuse("You can delete only your own messages.")
    if message.deleted_at is not None:
        return message_dict(message)

    attachment_id = message.attachment_id
    deleted = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.deleted_at.is_(None))
        .values(body="", deleted_at=utcnow(), attachment_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not deleted:  # another delete got there first: it broadcast the tombstone
        db.session.rollback()
        return message_dict(db.session.get(Message, message.id))
    db.session.execute(delete(Reaction).where(Reaction.message_id == message.id))
    db.session.execute(delete(Mention).where(Mention.message_id == message.id))
    if attachment_id is not None:
        db.session.execute(delete(Attachment).where(Attachment.id == attachment_id))
    db.session.commit()
    return publish_update(message)
