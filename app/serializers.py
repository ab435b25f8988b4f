"""One dict shape per payload, shared by the JSON API, the socket events and the pages' data."""

import re

from flask import url_for

from app.models.chat import DIRECT, Message
from app.models.user import User

DELETED_USER_NAME = "Deleted user"


def iso(moment) -> str | None:
    """A timestamp as ISO 8601 in UTC."""
    return moment.isoformat() if moment is not None else None


def user_dict(user: User | None) -> dict:
    """{id, username, display_name, avatar_url}; a deleted account shows as "Deleted user"."""
    if user is None:
        return {
            "id": None,
            "username": None,
            "display_name": DELETED_USER_NAME,
            "avatar_url": url_for("static", filename="img/deleted-user.svg"),
        }
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "avatar_url": user.avatar_url}


def message_dict(message: Message) -> dict:
    """The message payload M of docs/protocol.md."""
    return message_payload(
        message.id,
        message.conversation_id,
        message.seq,
        user_dict(message.sender),
        message.body,
        message.client_id,
        message.created_at,
    )


def message_payload(
    message_id: int, conversation_id: int, seq: int, sender: dict, body: str, client_id: str | None, created_at
) -> dict:
    """M from its values, for the send path, which has them all without loading a Message."""
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "sender": sender,
        "body": body,
        "client_id": client_id,
        "created_at": iso(created_at),
    }


def _title_initials(title: str) -> str:
    letters = [word[0] for word in re.findall(r"\w+", title)][:2]
    return "".join(letters).upper() or "#"


def conversation_dict(summary) -> dict:
    """The conversation payload C: one row of a person's conversation list."""
    conversation, membership = summary.conversation, summary.membership
    if conversation.kind == DIRECT:
        other = summary.other
        title = other.display_name if other else DELETED_USER_NAME
        avatar_url = user_dict(other)["avatar_url"]
        url = (
            url_for("chat.direct", username=other.username)
            if other
            else url_for("chat.conversation", conversation_id=conversation.id)
        )
    else:
        title = conversation.title
        initials = _title_initials(title)
        avatar_url = (
            url_for("people.initials_avatar", initials=initials, colour=conversation.id)
            if initials.isalnum()
            else url_for("static", filename="img/deleted-user.svg")
        )
        url = url_for("chat.conversation", conversation_id=conversation.id)
    return {
        "id": conversation.id,
        "kind": conversation.kind,
        "title": title,
        "avatar_url": avatar_url,
        "url": url,
        "unread_count": summary.unread_count,
        "last_seq": conversation.last_seq,
        "last_read_seq": membership.last_read_seq,
        "last_message": message_dict(summary.last_message) if summary.last_message else None,
    }


def member_dict(membership, online: bool, presence_visible: bool = True) -> dict:
    """A conversation member P: the person, their role, presence (none across a block) and read position."""
    return {
        **user_dict(membership.user),
        "role": membership.role,
        "online": online and presence_visible,
        "last_seen": iso(membership.user.last_seen_at) if presence_visible else None,
        "last_read_seq": membership.last_read_seq,
    }
