"""Mentions: `@username` of a member in a message. Stored per message and member (with the
conversation and seq, so unread mentions count from one index); the sender never mentions themself,
and a name that is not a member's stays plain text."""

import re

from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models.chat import Membership, Mention
from app.models.user import USERNAME_MAX_LENGTH, User

# Not inside a word or an e-mail address ("ana@example.org"); a sentence's final dot is not the name's.
MENTION_PATTERN = re.compile(rf"(?<![\w@.])@([A-Za-z0-9._]{{1,{USERNAME_MAX_LENGTH}}})")


def mentioned_names(body: str) -> set[str]:
    """The lowercased usernames a text names with @."""
    names = {match.group(1).rstrip(".").lower() for match in MENTION_PATTERN.finditer(body or "")}
    names.discard("")
    return names


def record(
    message_id: int, conversation_id: int, seq: int, sender_id: int | None, body: str, *, replacing: bool = True
) -> list[dict]:
    """Store who the message mentions inside the caller's transaction, replacing what it mentioned
    before (an edit; `replacing=False` for a message just inserted, which has none). Returns
    [{id, username}] by username, as in M.mentions."""
    connection = db.session.connection()
    if replacing:
        connection.execute(delete(Mention).where(Mention.message_id == message_id))
    names = mentioned_names(body)
    if not names:
        return []
    members = connection.execute(
        select(User.id, User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.conversation_id == conversation_id, User.username.in_(names), User.id != sender_id)
        .order_by(User.username)
    ).all()
    if members:
        connection.execute(
            insert(Mention),
            [
                {"message_id": message_id, "user_id": user_id, "conversation_id": conversation_id, "seq": seq}
                for user_id, _username in members
            ],
        )
    return [{"id": user_id, "username": username} for user_id, username in members]
