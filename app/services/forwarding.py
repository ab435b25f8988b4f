"""Forwarding: a copy of a message, sent by someone who can read it into a conversation they may write
in, that says whose words it carries ("Forwarded from ...").

A forward is a new message of its sender, stored and delivered by messaging.send_message (seq,
idempotency by client_id, the "message" event): its text as the original reads now, its file as a
new attachment of the target conversation, its mentions those of the target's members (so its
formatted text, body_html, is rendered anew for them); no reply relation. It keeps no link to the
original, so editing or deleting that one leaves it unchanged.
"""

from sqlalchemy import select

from app.extensions import db
from app.models.chat import Message
from app.models.user import User
from app.serializers import message_dict
from app.services import ServiceError, attachments
from app.services.conversations import require_member_target, send_refusal
from app.services.messaging import check_client_id, require_message, send_message


def forward_message(user: User, message_id, conversation_id, client_id) -> tuple[dict, bool]:
    """Forward a message the user can read into a conversation they may write in (the same one too).

    Returns (M, created) as send_message does; a retry with the same client_id returns the first
    forward and stores nothing. Refused with ServiceError, nothing stored: a message of a
    conversation the user is not in, or none (`not_found`, alike); a conversation they are not in
    (`not_found`); a deleted message (`not_allowed`); a target they may not write in (`not_allowed`,
    as send_message says); a file past their daily upload budget (`quota`, as an upload).
    """
    client_id = check_client_id(client_id)
    original, _membership = require_message(user, message_id)
    target = require_member_target(user, conversation_id)
    earlier = db.session.scalar(select(Message).where(Message.sender_id == user.id, Message.client_id == client_id))
    if earlier is not None:  # a retry: answered before anything is copied again
        if earlier.conversation_id != target.conversation_id:
            raise ServiceError("That client_id was already used for another message.", "client_id", code="duplicate")
        return message_dict(earlier), False
    if original.deleted_at is not None:
        raise ServiceError("That message was deleted.", "message_id", code="not_allowed")
    refusal = send_refusal(user, target)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    copy = attachments.copy_into(user, target.conversation_id, original.attachment) if original.attachment else None
    # A refused send raises: the door's rollback takes the copied file with it.
    return send_message(
        user,
        target.conversation_id,
        original.body,
        client_id,
        attachment_id=copy.id if copy else None,
        forward_of=original,
    )
