"""Socket.IO room names (chosen by the server, never taken from a payload) and room-wide actions."""

import hashlib

from app.extensions import socketio

NAMESPACE = "/"


def session_room(session_id: str) -> str:
    """The room holding every socket opened under one browser session."""
    return "session:" + hashlib.sha256(session_id.encode()).hexdigest()[:32]


def user_room(user_id: int) -> str:
    """The room holding every socket of one user, in all their sessions."""
    return f"user:{user_id}"


def disconnect_room(room: str, keep_room: str | None = None) -> int:
    """Disconnect every socket of this worker in `room` (but not those also in `keep_room`).

    Returns how many were disconnected.
    """
    server = socketio.server
    if server is None:  # Socket.IO not initialised (e.g. a CLI command)
        return 0
    kept = set()
    if keep_room:
        kept = {sid for sid, _eio_sid in server.manager.get_participants(NAMESPACE, keep_room)}
    sids = [sid for sid, _eio_sid in server.manager.get_participants(NAMESPACE, room) if sid not in kept]
    for sid in sids:
        server.disconnect(sid, namespace=NAMESPACE)
    return len(sids)
