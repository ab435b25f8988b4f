"""The data model. Importing this package registers every table on the metadata."""

from app.models.avatar import Avatar, UploadedPicture
from app.models.chat import Attachment, Conversation, LinkPreview, Membership, Mention, Message, Reaction
from app.models.session import RememberedLogin, ServerSession
from app.models.social import Block, Friendship
from app.models.user import User

__all__ = [
    "Attachment",
    "Avatar",
    "Block",
    "Conversation",
    "Friendship",
    "LinkPreview",
    "Membership",
    "Mention",
    "Message",
    "Reaction",
    "RememberedLogin",
    "ServerSession",
    "UploadedPicture",
    "User",
]
