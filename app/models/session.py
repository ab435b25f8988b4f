"""Server-side HTTP sessions (used when no Redis is configured) and remembered logins."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class ServerSession(Base):
    """One browser session: Flask-Session's serialized data under the id kept in the cookie."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_expiry", "expiry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(UTCDateTime)


class RememberedLogin(Base):
    """One "keep me signed in" login: its remember-me cookie works while this row exists.

    The cookie carries a random token; only its SHA-256 is stored. Logging out of that login deletes
    the row, a password change deletes all of the user's.
    """

    __tablename__ = "remembered_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
