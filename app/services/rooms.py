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


def conversation_room(conversation_id: int) -> str:
    """The room holding the sockets of every member of a conversation."""
    return f"conversation:{conversation_id}"


def _sids_in(room: str) -> list[str]:
    server = socketio.server
    if server is None:  # Socket.IO not initialised (e.g. a CLI command)
        return []
    return [sid for sid, _eio_sid in server.manager.get_participants(NAMESPACE, room)]


def join_user_sockets(user_id: int, room: str) -> None:
    """Put every open socket of the user (on this worker) into `room`, e.g. a new conversation's."""
    for sid in _sids_in(user_room(user_id)):
        socketio.server.enter_room(sid, room, namespace=NAMESPACE)


def leave_user_sockets(user_id: int, room: str) -> None:
    """Take every open socket of the user (on this worker) out of `room`."""
    for sid in _sids_in(user_room(user_id)):
        socketio.server.leave_room(sid, room, namespace=NAMESPACE)


def emit(event: str, payload: dict, room: str, skip_sid: str | None = None) -> None:
    """Send an event to everyone in a server-named room (call only after the commit)."""
    socketio.emit(event, payload, to=room, namespace=NAMESPACE, skip_sid=skip_sid)


def disconnect_room(room: str, keep_room: str | None = None) -> int:
    """Disconnect every socket of this worker in `room` (but not those also in `keep_room`).

    Returns how many were disconnected.
    """
    kept = set(_sids_in(keep_room)) if keep_room else set()
    sids = [sid for sid in _sids_in(room) if sid not in kept]
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    return len(sids)
