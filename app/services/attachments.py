"""Attachments: images and files uploaded into a conversation, then sent with one message, and
served only to that conversation's members."""

from sqlalchemy import and_, exists, not_, select

from app.extensions import db
from app.models.chat import Attachment, Message
from app.models.user import User
from app.services import ServiceError, is_db_int


def unsent(sender: User, conversation_id: int, attachment_id, client_id: str) -> Attachment | None:
    """The attachment a send carries: uploaded by the sender into this conversation and not sent
    with another message (a retry of the same send may name it again). None when there is none."""
    if attachment_id is None:
        return None
    attachment = None
    if is_db_int(attachment_id, minimum=1):
        sent_otherwise = exists().where(
            Message.attachment_id == Attachment.id,
            not_(and_(Message.sender_id == sender.id, Message.client_id == client_id)),
        )
        attachment = db.session.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id,
                Attachment.uploader_id == sender.id,
                Attachment.conversation_id == conversation_id,
                not_(sent_otherwise),
            )
        )
    if attachment is None:
        raise ServiceError("There is no such file to send.", "attachment_id", code="not_found")
    return attachment
