"""Starting and ending a signed-in browser session (the HTTP side of Flask-Login)."""

from flask import current_app, flash, session
from flask_login import login_user, logout_user

from app.models.user import User
from app.services import rooms


def start_session(user: User, remember: bool) -> None:
    """Sign the user in under a fresh session id, so an id planted before login is worthless."""
    current_app.session_interface.regenerate(session)
    login_user(user, remember=remember)


def end_session(farewell: str) -> None:
    """Sign out: the session's data and id are destroyed and its open sockets disconnected.

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
