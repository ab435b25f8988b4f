"""User accounts."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

USERNAME_MAX_LENGTH = 30
NAME_MAX_LENGTH = 50


class User(UserMixin, Base):
    """A person with an account."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("username = lower(username)", name="username_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="")
    last_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    # Bumped on a password change: it is part of the login id, so every other session and
    # remember-me cookie of the user stops working.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and the remember-me cookie."""
        return f"{self.id}:{self.auth_version}"

    @property
    def display_name(self) -> str:
        """First and last name, or the username when neither is set."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.username

    def __repr__(self) -> str:
        return f"<User {self.username}>"
