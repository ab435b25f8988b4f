"""Conversations (direct, group, community room), who is in them, and their messages."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.user import User

DIRECT = "direct"
GROUP = "group"
ROOM = "room"
KINDS = (DIRECT, GROUP, ROOM)

MEMBER = "member"
OWNER = "owner"
MODERATOR = "moderator"
ROLES = (MEMBER, OWNER, MODERATOR)

TITLE_MAX_LENGTH = 80
BODY_MAX_LENGTH = 4000


class Conversation(Base):
    """A place people write in: a direct chat of two, a group, or a public community room.

    `last_seq` is the sequence number of the newest message; a sender bumps it with an UPDATE that
    locks this row, so the messages of one conversation get 1, 2, 3, ... without holes or ties.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(f"kind IN ('{DIRECT}', '{GROUP}', '{ROOM}')", name="known_kind"),
        CheckConstraint(f"(kind = '{DIRECT}') = (direct_key IS NOT NULL)", name="direct_key_for_direct"),
        Index("ix_conversations_kind_title", "kind", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH), default="")
    # "<low user id>:<high user id>" for direct chats: unique, so a pair has one conversation.
    direct_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A person in a conversation, with how far they have read."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"role IN ('{MEMBER}', '{OWNER}', '{MODERATOR}')", name="known_role"),
        CheckConstraint("last_read_seq >= 0", name="read_not_negative"),
        Index("ix_memberships_user_id", "user_id"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default=MEMBER)
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Message(Base):
    """One message. (conversation_id, seq) orders and pages it; (sender_id, client_id) makes a
    retried send return the original instead of storing a copy."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("sender_id", "client_id"),
        CheckConstraint("seq > 0", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    # NULL once the sender deleted their account: shown as "Deleted user".
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sender: Mapped[User | None] = relationship(lazy="joined")
