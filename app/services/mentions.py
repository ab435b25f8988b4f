"""Mentions: `@username` of a member in a message. Stored per message and member (with the
conversation and seq, so unread mentions count from one index); the sender never mentions themself,
and a name that is not a member's stays plain text. What counts as a mention is the formatter's rule
(app.services.formatting.mentioned_names): a name in code or in a link is none."""

from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models.chat import Membership, Mention
from app.models.user import User
from app.services.formatting import mentioned_names


def named_members(conversation_id: int, sender_id: int | None, body: str) -> list[dict]:
    """[{id, username}] by username, as in M.mentions: the members of the conversation the body
    mentions, never the sender."""
    names = mentioned_names(body)
    if not names:
        return []
    members = db.session.execute(
        select(User.id, User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.conversation_id == conversation_id, User.username.in_(names), User.id != sender_id)
        .order_by(User.username)
    ).all()
    return [{"id": user_id, "username": username} for user_id, username in members]


def record(
    message_id: int,
    conversation_id: int,
    seq: int,
    sender_id: int | None,
    body: str,
    *,
    replacing: bool = True,
    members: list[dict] | None = None,
) -> list[dict]:
    """Store who the message mentions inside the caller's transaction, replacing what it mentioned
    before (an edit; `replacing=False` for a message just inserted, which has none). `members`:
    named_members(...) when the caller has it already. Returns them ([{id, username}])."""
    connection = db.session.connection()
    if replacing:
        connection.execute(delete(Mention).where(Mention.message_id == message_id))
    if members is None:
        members = named_members(conversation_id, sender_id, body)
    if members:
        connection.execute(
            insert(Mention),
            [
                {"message_id": message_id, "user_id": person["id"], "conversation_id": conversation_id, "seq": seq}
                for person in members
            ],
        )
    return members
