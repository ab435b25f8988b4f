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
from app.services import ServiceError, formatting, link_previews, mentions
from app.services.conversations import send_refusal
from app.services.messaging import check_body, publish_update, require_message


def _refuse(message: str) -> ServiceError:
    return ServiceError(message, "message_id", code="not_allowed")


def edit_message(user: User, message_id, body) -> dict:
    """Replace the text of one of the user's messages and tell every member ("message_updated").

    Only the sender, within MESSAGE_EDIT_WINDOW_SECONDS of sending, not on a deleted message or a
    forward (its words are someone else's) and not where they may no longer write (a block in a
    direct chat). The body follows send_message's rules
    (it may be empty only when a file carries the message). The same text changes nothing and is not
    broadcast. The mentions are those of the new text; it is rendered anew (body_html). Returns M.
    """
    message, _membership = require_message(user, message_id)
    if message.sender_id != user.id:
        raise _refuse("Only its sender can edit a message.")
    if message.deleted_at is not None:
        raise _refuse("That message was deleted.")
    if message.forwarded:
        raise _refuse("A forwarded message cannot be edited.")
    window = timedelta(seconds=current_app.config["MESSAGE_EDIT_WINDOW_SECONDS"])
    if utcnow() - message.created_at > window:
        raise _refuse("That message is too old to edit.")
    refusal = send_refusal(user, db.session.get(Conversation, message.conversation_id))
    if refusal:
        raise _refuse(refusal)
    body = check_body(body, may_be_empty=message.attachment_id is not None)
    if body == message.body:
        return message_dict(message)

    mentioned = mentions.named_members(message.conversation_id, user.id, body)
    edited = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.deleted_at.is_(None))
        .values(
            body=body,
            body_html=formatting.render_message(body, mentioned),
            edited_at=utcnow(),
            link_preview_id=_card_id(user, body),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not edited:  # deleted in the meantime
        raise _refuse("That message was deleted.")
    mentions.record(message.id, message.conversation_id, message.seq, user.id, body, members=mentioned)
    db.session.refresh(message)
    return publish_update(message)


def _card_id(user: User, body: str) -> int | None:
    preview = link_previews.card_for(user.id, body)
    return preview.id if preview else None


# Who keeps order, by kind of conversation: the roles that may delete other people's messages.
MODERATING_ROLES = {GROUP: (OWNER,), ROOM: (MODERATOR,)}


def moderating_roles(kind: str) -> tuple[str, ...]:
    """The roles that may delete anyone's message in a conversation of this kind (none in a direct
    chat). The chat page hands them to the browser, which shows Delete by the same rule."""
    return MODERATING_ROLES.get(kind, ())


def may_delete(user: User, message: Message, membership: Membership, conversation: Conversation) -> bool:
    """Whether the user may delete the message: its sender, or a member whose role keeps order in
    the conversation (moderating_roles: a group's owner, a community room's moderator)."""
    if message.sender_id is not None and message.sender_id == user.id:
        return True
    return membership.role in moderating_roles(conversation.kind)


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
        .values(body="", body_html="", deleted_at=utcnow(), attachment_id=None, link_preview_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not deleted:  # another delete got there first: it broadcast the tombstone
        db.session.refresh(message)
        return message_dict(message)
    db.session.execute(delete(Reaction).where(Reaction.message_id == message.id))
    db.session.execute(delete(Mention).where(Mention.message_id == message.id))
    if attachment_id is not None:
        db.session.execute(delete(Attachment).where(Attachment.id == attachment_id))
    db.session.refresh(message)
    return publish_update(message)
