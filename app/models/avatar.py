"""Pictures: the bundled set of avatars people can pick from, and the pictures they upload."""

from datetime import datetime

from flask import url_for
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

# Background and text colours of the initials avatars drawn for people without a picture; each
# pair keeps at least 4.5:1 contrast.
INITIALS_PALETTE = (
    ("#4f46e5", "#ffffff"),
    ("#0f766e", "#ffffff"),
    ("#b91c1c", "#ffffff"),
    ("#a16207", "#ffffff"),
    ("#15803d", "#ffffff"),
    ("#7e22ce", "#ffffff"),
    ("#be185d", "#ffffff"),
    ("#1d4ed8", "#ffffff"),
    ("#c2410c", "#ffffff"),
    ("#334155", "#ffffff"),
)


class Avatar(Base):
    """One bundled picture: app/static/avatars/<slug>.svg, listed by a migration."""

    __tablename__ = "avatars"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))

    @property
    def static_path(self) -> str:
        """The file's path below app/static."""
        return f"avatars/{self.slug}.svg"

    @property
    def url(self) -> str:
        """Where the browser loads the picture."""
        return url_for("static", filename=self.static_path)


class UploadedPicture(Base):
    """A picture someone uploaded, re-encoded as WebP. Kept in the database, so every worker on
    every host serves it and a database backup holds it; named by its content's hash, so identical
    uploads share one row and its address can be cached forever."""

    __tablename__ = "uploaded_pictures"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
