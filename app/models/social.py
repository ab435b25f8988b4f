"""Relationships between people: friendships (and the requests that lead to them) and blocks."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

PENDING = "pending"
ACCEPTED = "accepted"


class Friendship(Base):
    """A friend request (pending) or a friendship (accepted) between two people.

    The pair is stored in order (user_low_id < user_high_id) under a unique constraint, so two
    people have at most one row between them, whoever asked first and however fast they click.
    """

    __tablename__ = "friendships"
    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id"),
        CheckConstraint("user_low_id < user_high_id", name="ordered_pair"),
        CheckConstraint(f"status IN ('{PENDING}', '{ACCEPTED}')", name="known_status"),
        CheckConstraint("requester_id = user_low_id OR requester_id = user_high_id", name="requester_in_pair"),
        Index("ix_friendships_user_high_id", "user_high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_low_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_high_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def other_id(self, user_id: int) -> int:
        """The id of the person on the other side from user_id."""
        return self.user_high_id if user_id == self.user_low_id else self.user_low_id


class Block(Base):
    """blocker_id blocked blocked_id: neither finds, requests nor messages the other."""

    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_blocks_blocked_id", "blocked_id"),
    )

    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
