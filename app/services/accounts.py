"""Accounts: the username and password rules, registration, sign-in and password changes."""

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.concurrency import HASHING, run_blocking
from app.extensions import db
from app.models.user import NAME_MAX_LENGTH, USERNAME_MAX_LENGTH, User
from app.names import skeleton_key
from app.rate_limits import KnownDevice, current_password_keys, password_attempt, sign_in_keys
from app.services import ServiceError, names, release_db_connection, remembered_logins

USERNAME_MIN_LENGTH = 3
USERNAME_PATTERN = re.compile(rf"[a-z0-9._]{{{USERNAME_MIN_LENGTH},{USERNAME_MAX_LENGTH}}}")
USERNAME_CHARACTERS = re.compile(rf"[a-z0-9._]{{1,{USERNAME_MAX_LENGTH}}}")
USERNAME_HELP = "3–30 characters: lowercase letters, digits, dots and underscores."
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


@dataclass(frozen=True)
class PasswordRule:
    """One requirement of a password; `pattern` is a regex valid in Python and in JavaScript."""

    key: str
    label: str
    pattern: str

    def is_met(self, password: str) -> bool:
        """Whether the password satisfies this rule."""
        return re.search(self.pattern, password) is not None


# Shown as live hints on the forms (see password-hints.js) and enforced by check_password().
PASSWORD_RULES = (
    PasswordRule("length", f"At least {PASSWORD_MIN_LENGTH} characters", rf"^[\s\S]{{{PASSWORD_MIN_LENGTH},}}$"),
    PasswordRule("upper", "An upper-case letter (A–Z)", "[A-Z]"),
    PasswordRule("lower", "A lower-case letter (a–z)", "[a-z]"),
    PasswordRule("digit", "A digit (0–9)", "[0-9]"),
    PasswordRule("special", "A special character, such as ! ? # @ or a space", "[^A-Za-z0-9]"),
)


def normalize_username(raw: str) -> str:
    """Usernames are unique case-insensitively, so they are kept in lower case."""
    return (raw or "").strip().lower()


def check_username(username: str) -> str:
    """Return the normalized username, or raise ServiceError saying which rule it breaks."""
    username = normalize_username(username)
    if not USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH:
        raise ServiceError(f"Username must be {USERNAME_MIN_LENGTH}–{USERNAME_MAX_LENGTH} characters long.", "username")
    if not USERNAME_PATTERN.fullmatch(username):
        raise ServiceError("Username may only contain letters a–z, digits 0–9, dots and underscores.", "username")
    if username.startswith(".") or username.endswith("."):
        raise ServiceError("Username cannot start or end with a dot.", "username")
    if ".." in username:
        raise ServiceError("Username cannot contain two dots in a row.", "username")
    return username


def check_password(password: str, field: str = "password") -> str:
    """Return the password unchanged, or raise ServiceError listing the rules it misses."""
    password = password or ""
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ServiceError(f"Password must be at most {PASSWORD_MAX_LENGTH} characters long.", field)
    missing = [rule.label[0].lower() + rule.label[1:] for rule in PASSWORD_RULES if not rule.is_met(password)]
    if missing:
        raise ServiceError("Password needs " + ", ".join(missing) + ".", field)
    return password


def check_name(value: str, field: str) -> str:
    """Return a cleaned first or last name (no invisible characters: app.names), or raise
    ServiceError if it is too long or shows nothing."""
    what = "Your first name" if field == "first_name" else "Your last name"
    return names.clean_name(value, field, NAME_MAX_LENGTH, what=what)


LOOKALIKES_SHOWN = 3


def lookalikes(display_name: str, exclude_id: int | None = None) -> list[User]:
    """Up to LOOKALIKES_SHOWN other people whose display name or username looks like display_name
    (the same skeleton: an exact copy, another case, a Cyrillic А for a Latin A), found by index."""
    key = skeleton_key(display_name)
    query = select(User).where(or_(User.name_skeleton == key, User.username_skeleton == key))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return list(db.session.scalars(query.order_by(User.id).limit(LOOKALIKES_SHOWN)))


def lookalike_warning(user: User) -> str | None:
    """What to tell the user when their display name looks like other people's names, else None.

    A warning, not a refusal: people share names, and the @username shown beside a name wherever it
    could be mistaken tells them apart."""
    people = lookalikes(user.display_name, exclude_id=user.id)
    if not people:
        return None
    who = ", ".join(f"{person.display_name} (@{person.username})" for person in people)
    return (
        f"Your name “{user.display_name}” looks like the name of {who}. Others see your @username "
        "beside it; if you did not mean to look like them, change your name in Settings."
    )


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt at OWASP cost), off the event loop."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    return _hash_off_the_pool(generate_password_hash, password, method=method)


def _verify_password(password_hash: str, password: str) -> bool:
    return _hash_off_the_pool(check_password_hash, password_hash, password)


def _hash_off_the_pool(fn, *args, **kwargs):
    """Run a hash off the event loop, in hashing's own lane, without holding a pooled database
    connection meanwhile."""
    release_db_connection()
    return run_blocking(fn, *args, lane_name=HASHING, **kwargs)


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of the configured cost to check against when the username is unknown."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = hash_password("not a real password")
    return _dummy_hashes[method]


def find_user(username: str) -> User | None:
    """The user with this username (any case), or None. Text no username could be is not looked up."""
    username = normalize_username(username)
    if not USERNAME_CHARACTERS.fullmatch(username):
        return None
    return db.session.scalar(select(User).where(User.username == username))


def register_user(username: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create an account; raise ServiceError when a rule is broken or the username is taken."""
    username = check_username(username)
    check_password(password)
    first_name = check_name(first_name, "first_name")
    last_name = check_name(last_name, "last_name")
    if find_user(username) is not None:
        raise ServiceError("That username is taken.", "username", code="username_taken")
    user = User(username=username, first_name=first_name, last_name=last_name, password_hash=hash_password(password))
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        # Someone registered the same name between our check and now.
        raise ServiceError("That username is taken.", "username", code="username_taken") from None
    return user


def authenticate(
    username: str, password: str, address: str | None = None, device: KnownDevice | None = None
) -> User | None:
    """The user when the username and password match, else None.

    An unknown username is checked against a dummy hash of the same cost, so it takes as long and
    answers the same as a wrong password. With the client's `address` (and its known-device cookie,
    if any) the attempt counts against the sign-in limits (app.rate_limits.sign_in_keys), which may
    raise TooManyAttempts before any hash is checked.
    """
    dummy = _dummy_hash()
    user = find_user(username)
    password = (password or "")[: PASSWORD_MAX_LENGTH + 1]
    keys = sign_in_keys(username, user.id if user else None, address, device) if address is not None else []
    with password_attempt(keys) as attempt:
        if not _verify_password(user.password_hash if user else dummy, password) or user is None:
            return None
        attempt.succeeded()
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if not user.password_hash.startswith(method + "$"):
        # The configured cost changed since this hash was made: upgrade it while we know the password.
        user.password_hash = hash_password(password)
    return user


def verify_password(user: User, password: str) -> bool:
    """Whether password is the user's password (unlimited: see check_current_password)."""
    return _verify_password(user.password_hash, (password or "")[: PASSWORD_MAX_LENGTH + 1])


def check_current_password(user: User, password: str, field: str, message: str) -> None:
    """A signed-in user re-entering their password: ServiceError `message` on `field` when wrong.
    Wrong ones count against the same limit as sign-ins (per account); over it, TooManyAttempts is
    raised without checking."""
    with password_attempt(current_password_keys(user.id)) as attempt:
        right = verify_password(user, password)
        if right:
            attempt.succeeded()
    if not right:
        raise ServiceError(message, field, code="wrong_password")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""
    check_current_password(user, current_password, "current_password", "That is not your current password.")
    set_password(user, new_password, field="new_password")


def set_password(user: User, new_password: str, field: str = "password") -> None:
    """Give the user a new password (rules checked); every existing session and remembered login of
    theirs stops working."""
    check_password(new_password, field)
    user.password_hash = hash_password(new_password)
    user.auth_version += 1
    remembered_logins.forget_all(user.id)
    db.session.flush()


def load_user(login_id: str) -> User | None:
    """Resolve the id Flask-Login stored ("<user id>:<auth version>[:<remembered login token>]") to
    a user, if still valid (app.services.remembered_logins)."""
    return remembered_logins.load_user(login_id)
