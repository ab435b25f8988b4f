"""User accounts."""

import hashlib
from datetime import datetime

from flask import url_for
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.avatar import INITIALS_PALETTE, Avatar
from app.models.base import Base, UTCDateTime, search_key, utcnow
from app.names import SKELETON_KEY_LENGTH, skeleton_key

USERNAME_MAX_LENGTH = 30
NAME_MAX_LENGTH = 50
BIO_MAX_LENGTH = 280
MESSAGE_POLICIES = ("everyone", "friends")


def name_key(name: str) -> str:
    """The form of a name that prefix search compares: case-folded, trimmed."""
    return (name or "").strip().casefold()[:NAME_MAX_LENGTH]


def display_name_of(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """First and last name, or the username when neither is set."""
    return " ".join(part for part in (first_name, last_name) if part) or (username or "")


def _initial(text: str) -> str:
    """The first letter or digit of text, in capitals where that stays one character ("ß" does not)."""
    letter = next((char for char in text if char.isalnum()), "")
    capital = letter.upper()
    return capital if len(capital) == 1 else letter


class User(UserMixin, Base):
    """A person with an account."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("username = lower(username)", name="username_lowercase"),
        CheckConstraint("message_policy IN ('everyone', 'friends')", name="known_message_policy"),
        # Ids are never reused after a deletion (SQLite would otherwise hand out max(id) + 1 again),
        # so a stale session or remember-me cookie can never match a newer account.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(search_key(USERNAME_MAX_LENGTH), unique=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="")
    last_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="")
    # Case-folded copies of the names, kept in step by the validators below, for indexed prefix search.
    first_name_key: Mapped[str] = mapped_column(search_key(NAME_MAX_LENGTH), default="", index=True)
    last_name_key: Mapped[str] = mapped_column(search_key(NAME_MAX_LENGTH), default="", index=True)
    # Keys of what the display name and the username look like (app.names.skeleton_key),
    # kept in step by the validator below, so a new name is checked against lookalikes by index.
    name_skeleton: Mapped[str] = mapped_column(String(SKELETON_KEY_LENGTH), default="", index=True)
    username_skeleton: Mapped[str] = mapped_column(String(SKELETON_KEY_LENGTH), default="", index=True)
    bio: Mapped[str] = mapped_column(String(BIO_MAX_LENGTH), default="")
    avatar_id: Mapped[int | None] = mapped_column(ForeignKey("avatars.id", ondelete="SET NULL"))
    # The uploaded picture (named by its content hash), if any.
    avatar_upload: Mapped[str | None] = mapped_column(ForeignKey("uploaded_pictures.name", ondelete="SET NULL"))
    message_policy: Mapped[str] = mapped_column(String(16), default="everyone")
    # When the user's last tab closed; shown as "last seen" while they are offline.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Bumped on a password change: it is part of the login id, so every other session and
    # remember-me cookie of the user stops working.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    avatar: Mapped[Avatar | None] = relationship(lazy="joined")

    @validates("first_name", "last_name", "username")
    def _keep_name_keys(self, key: str, value: str) -> str:
        if key == "username":
            self.username_skeleton = skeleton_key(value or "")
        else:
            setattr(self, f"{key}_key", name_key(value))
        names = {"first_name": self.first_name, "last_name": self.last_name, "username": self.username, key: value}
        self.name_skeleton = skeleton_key(display_name_of(**names))
        return value

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and the remember-me cookie."""
        return f"{self.id}:{self.auth_version}"

    @property
    def display_name(self) -> str:
        """First and last name, or the username when neither is set."""
        return display_name_of(self.first_name, self.last_name, self.username)

    @property
    def initials(self) -> str:
        """One or two letters or digits for the default avatar: of the names, else of the username;
        "" when there are none (a name of only symbols or emoji, a username like "___")."""
        letters = [_initial(name) for name in (self.first_name, self.last_name) if name]
        return "".join(letters) or "".join(_initial(char) for char in self.username)[:2]

    @property
    def initials_colour(self) -> int:
        """Index into INITIALS_PALETTE, derived from the username so it is stable and varied."""
        return int(hashlib.sha256(self.username.encode()).hexdigest(), 16) % len(INITIALS_PALETTE)

    @property
    def has_uploaded_avatar(self) -> bool:
        """Whether the user's picture is one they uploaded."""
        return bool(self.avatar_upload)

    @property
    def avatar_url(self) -> str:
        """The picture to show: the uploaded one, else the chosen preset, else initials."""
        if self.avatar_upload:
            return url_for("people.uploaded_avatar", filename=self.avatar_upload)
        if self.avatar is not None:
            return self.avatar.url
        if not self.initials:
            return url_for("static", filename="img/deleted-user.svg")  # a plain silhouette
        return url_for("people.initials_avatar", initials=self.initials, colour=self.initials_colour)

    def __repr__(self) -> str:
        return f"<User {self.username}>"
