"""Socket.IO handlers. Connections are tied to the signed-in HTTP session they came from."""

import logging

from flask import session
from flask_login import current_user
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError as ConnectionRefused  # not the built-in one

from app.extensions import socketio
from app.services import rooms

log = logging.getLogger(__name__)


@socketio.on("connect")
def on_connect(auth=None):
    """Accept only signed-in users; join the rooms that let us reach this socket later."""
    if not current_user.is_authenticated:
        raise ConnectionRefused("unauthorized")
    join_room(rooms.session_room(session.sid))
    join_room(rooms.user_room(current_user.id))


@socketio.on_error_default
def on_error(error: Exception):
    """An unexpected error in a handler: log it and answer the ack, keeping the connection up."""
    log.error("socket event failed", exc_info=error)
    return {"ok": False, "error": "internal", "message": "Something went wrong on our side."}
