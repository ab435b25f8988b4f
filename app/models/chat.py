"""Conversations (direct, group, community room), who is in them, and their messages."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
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
EMOJI_MAX_LENGTH = 32
FILENAME_MAX_LENGTH = 255

IMAGE = "image"
FILE = "file"
ATTACHMENT_KINDS = (IMAGE, FILE)

# The full-text index lives outside the models (an FTS5 table and its triggers on SQLite, a generated
# tsvector column with a GIN index on PostgreSQL): made by migration 0006, read by services/search.py.
SEARCH_INDEX_TABLE = "messages_fts"
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_messages_search_vector"


def outside_the_models(name, type_, parent_names) -> bool:
    """Alembic's include_name: False for the search index's objects, which no model describes."""
    if type_ == "table":
        return not (name or "").startswith(SEARCH_INDEX_TABLE)
    if type_ == "column":
        return name != SEARCH_VECTOR_COLUMN
    if type_ == "index":
        return name != SEARCH_VECTOR_INDEX
    return True


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
    # The member's own settings: no notifications (mentions still notify), top of the list, hidden away.
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class Attachment(Base):
    """An uploaded image or file. Uploaded into a conversation first, then sent with one message
    (message.attachment_id); served only to the conversation's members once sent (to its uploader
    alone before), purged when never sent in time. Images are stored re-encoded,
    with a thumbnail; the bytes are deferred so listing messages never loads them."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(f"kind IN ('{IMAGE}', '{FILE}')", name="known_kind"),
        CheckConstraint("size >= 0", name="size_not_negative"),
        Index("ix_attachments_conversation_id", "conversation_id"),
        # An uploader's recent uploads (the daily budget), the uploads past their time (the purge).
        Index("ix_attachments_uploader_id_created_at", "uploader_id", "created_at"),
        Index("ix_attachments_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX_LENGTH))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


PREVIEW_PENDING = "pending"
PREVIEW_READY = "ready"
PREVIEW_FAILED = "failed"
PREVIEW_STATUSES = (PREVIEW_PENDING, PREVIEW_READY, PREVIEW_FAILED)
PREVIEW_URL_MAX_LENGTH = 2048
PREVIEW_TITLE_MAX_LENGTH = 200
PREVIEW_DESCRIPTION_MAX_LENGTH = 300
PREVIEW_SITE_MAX_LENGTH = 100


class LinkPreview(Base):
    """The card of one URL (the first link of messages): title, description, site name and picture,
    fetched by the server in the background (app.services.link_previews), one row per URL shared by
    every message that links it. `url_hash` (SHA-256 of the URL) is the unique key, so a long URL
    needs no long index. `claimed_at`: when a fetch began (one fetch at a time, across workers);
    `fetched_at`: when the last one ended. The picture is re-encoded WebP, deferred like an
    attachment's bytes."""

    __tablename__ = "link_previews"
    __table_args__ = (
        CheckConstraint(f"status IN ('{PREVIEW_PENDING}', '{PREVIEW_READY}', '{PREVIEW_FAILED}')", name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(PREVIEW_URL_MAX_LENGTH))
    status: Mapped[str] = mapped_column(String(16), default=PREVIEW_PENDING)
    title: Mapped[str] = mapped_column(String(PREVIEW_TITLE_MAX_LENGTH), default="")
    description: Mapped[str] = mapped_column(String(PREVIEW_DESCRIPTION_MAX_LENGTH), default="")
    site_name: Mapped[str] = mapped_column(String(PREVIEW_SITE_MAX_LENGTH), default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    image_hash: Mapped[str | None] = mapped_column(String(32))
    image_width: Mapped[int | None] = mapped_column(Integer)
    image_height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """One message. (conversation_id, seq) orders and pages it; (sender_id, client_id) makes a
    retried send return the original instead of storing a copy. A deleted message stays as a
    tombstone (deleted_at set, body emptied, attachment dropped) so the thread and replies still read.

    A forward is a copy made by its sender: `forwarded` says so, `forwarded_from_user_id` names whose
    words it carries (NULL once that account is deleted: "Deleted user"). It keeps no link to the
    original, so editing or deleting that one leaves the copy as it was."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("sender_id", "client_id"),
        UniqueConstraint("attachment_id"),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("forwarded OR forwarded_from_user_id IS NULL", name="forwarded_from_a_forward"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    # NULL once the sender deleted their account: shown as "Deleted user".
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # The body as its fragment shows it (app.services.formatting.render_message), made when it is
    # stored or edited; NULL only for a row written past the services (rendered on read then).
    body_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # No index: only deleting an account looks messages up by it (as reactions.user_id).
    forwarded_from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The card of the text's first link (app.services.link_previews), shown once it is fetched.
    link_preview_id: Mapped[int | None] = mapped_column(ForeignKey("link_previews.id", ondelete="SET NULL"), index=True)

    sender: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[sender_id])
    forwarded_from: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[forwarded_from_user_id])
    reply_to: Mapped["Message | None"] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    attachment: Mapped[Attachment | None] = relationship(lazy="joined")
    link_preview: Mapped[LinkPreview | None] = relationship(lazy="joined")

    @property
    def author_id(self) -> int | None:
        """Whose words these are: a forward's original author, else the sender (None: deleted)."""
        return self.forwarded_from_user_id if self.forwarded else self.sender_id

    @property
    def author(self) -> User | None:
        """The User of author_id (loaded with the message)."""
        return self.forwarded_from if self.forwarded else self.sender


class Reaction(Base):
    """One person's emoji on one message; the primary key allows each emoji once per person."""

    __tablename__ = "reactions"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(EMOJI_MAX_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    """A member named as @username in a message. Carries the conversation and seq so a member's
    unread mentions count from one index: (user_id, conversation_id, seq)."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_user_id_conversation_id_seq", "user_id", "conversation_id", "seq"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
