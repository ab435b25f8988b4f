"""Starting and ending a signed-in browser session (the HTTP side of Flask-Login)."""

from flask import current_app, flash, request, session
from flask_login import current_user, login_user, logout_user
from flask_login.utils import decode_cookie

from app.auth import known_devices
from app.models.user import User
from app.services import remembered_logins, rooms


def start_session(user: User, remember: bool) -> None:
    """Sign the user in under a fresh session id, so an id planted before login is worthless; the
    browser becomes a known device of the account."""
    current_app.session_interface.regenerate(session)
    sign_in(user, remember)
    known_devices.add(user)


def sign_in(user: User, remember: bool) -> None:
    """Sign the user in in this session; with `remember`, as a new remembered login whose id the
    remember-me cookie carries (Flask-Login writes the cookie from the session's login id)."""
    login_user(user, remember=remember)
    if remember:
        session["_user_id"] = remembered_logins.remember(user)


def forget_remembered_login() -> None:
    """End the remembered login this session holds (or its remember-me cookie names), in the door's
    transaction, so a copy of the cookie is dead: the database half of signing out, committed before
    end_session()."""
    current_user.is_authenticated  # noqa: B018 - loads the user: a cookie-only visitor's login id is in the session now
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    remembered_logins.forget(session.get("_user_id"), decode_cookie(cookie) if cookie else None)


def end_session(farewell: str) -> None:
    """Sign out, once forget_remembered_login() is committed: the session's data and id are destroyed
    and its open sockets disconnected.

    `farewell` is flashed in the new, anonymous session that takes its place.
    """
    old_session_id = session.sid
    logout_user()
    # logout_user() leaves a note for Flask-Login to delete the remember-me cookie; keep only that.
    remember_note = session.get("_remember")
    session.clear()
    rooms.disconnect_session(old_session_id)
    if remember_note:
        session["_remember"] = remember_note
    flash(farewell, "info")
    # A new id for what is left (the farewell): the old one is deleted from the store.
    current_app.session_interface.regenerate(session)
