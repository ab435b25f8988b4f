"""Server-side HTTP sessions, used when no Redis is configured."""

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class ServerSession(Base):
    """One browser session: Flask-Session's serialized data under the id kept in the cookie."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_expiry", "expiry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[datetime] = mapped_column(UTCDateTime)
