"""Remembered logins ("keep me signed in"): each one has a row while it lasts.

The login id Flask-Login keeps in the session and the remember-me cookie is `<user id>:<auth
version>`, and for a remembered login `<user id>:<auth version>:<token>`, where only the token's
SHA-256 is stored. Logging out deletes that login's row, so a copy of its cookie signs in nowhere
(and a session restored from such a copy ends too); other devices keep theirs. A password change
bumps the auth version (every login id of the user stops matching) and deletes all the rows.
"""

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from app.extensions import db
from app.models.base import utcnow
from app.models.session import RememberedLogin
from app.models.user import User
from app.services import parse_db_int

TOKEN_BYTES = 32


@dataclass(frozen=True)
class LoginId:
    """A parsed login id."""

    user_id: int
    auth_version: int
    token: str | None


def parse_login_id(login_id: str) -> LoginId | None:
    """The parts of a login id, or None when it is not one."""
    parts = (login_id or "").split(":")
    if len(parts) not in (2, 3):
        return None
    user_id, version = parse_db_int(parts[0], minimum=1), parse_db_int(parts[1])
    token = parts[2] if len(parts) == 3 else None
    if user_id is None or version is None or (token is not None and not 0 < len(token) <= 64):
        return None
    return LoginId(user_id, version, token)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def remember(user: User) -> str:
    """Start a remembered login of the user (in the caller's transaction); its login id, for the
    remember-me cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    # The user's expired rows go when a new one comes: the table holds only live logins, at no extra sweep.
    db.session.execute(
        delete(RememberedLogin).where(RememberedLogin.user_id == user.id, RememberedLogin.expires_at <= now)
    )
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"]
    db.session.add(RememberedLogin(user_id=user.id, token_hash=_hash(token), created_at=now, expires_at=now + lifetime))
    return f"{user.id}:{user.auth_version}:{token}"


def forget(*login_ids: str | None) -> None:
    """End the remembered logins these login ids name (in the caller's transaction); other ids are ignored."""
    hashes = [
        _hash(parsed.token)
        for parsed in map(parse_login_id, filter(None, login_ids))
        if parsed is not None and parsed.token
    ]
    if hashes:
        db.session.execute(delete(RememberedLogin).where(RememberedLogin.token_hash.in_(hashes)))


def forget_all(user_id: int) -> None:
    """End every remembered login of the user, in the caller's transaction."""
    db.session.execute(delete(RememberedLogin).where(RememberedLogin.user_id == user_id))


def load_user(login_id: str) -> User | None:
    """The user a login id signs in, if it is still valid: the auth version matches and, for a
    remembered login, its row exists and has not expired. One query either way."""
    parsed = parse_login_id(login_id)
    if parsed is None:
        return None
    if parsed.token is None:
        user = db.session.get(User, parsed.user_id)
    else:
        user = db.session.scalar(
            select(User)
            .join(RememberedLogin, RememberedLogin.user_id == User.id)
            .where(
                User.id == parsed.user_id,
                RememberedLogin.token_hash == _hash(parsed.token),
                RememberedLogin.expires_at > utcnow(),
            )
        )
    if user is None or user.auth_version != parsed.auth_version:
        return None
    return user
