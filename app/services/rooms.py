"""Socket.IO room names (chosen by the server, never taken from a payload) and room-wide actions."""

import contextlib
import hashlib

from flask import current_app

from app.extensions import socketio
from app.services.socket_registry import registry

NAMESPACE = "/"
SESSION_ENDED = "Your session has ended. Sign in again."


def session_key(session_id: str) -> str:
    """A name for a browser session that does not reveal its id (which is its cookie's value)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


def user_room(user_id: int) -> str:
    """The room holding every socket of one user, in all their sessions."""
    return f"user:{user_id}"


def conversation_room(conversation_id: int) -> str:
    """The room holding the sockets of every member of a conversation."""
    return f"conversation:{conversation_id}"


def join_user_sockets(user_id: int, room: str) -> None:
    """Put every open socket of the user, on any worker, into `room` (e.g. a new conversation's)."""
    for sid in registry().user_sockets(user_id):
        with contextlib.suppress(KeyError, ValueError):  # it closed a moment ago
            socketio.server.enter_room(sid, room, namespace=NAMESPACE)


def leave_user_sockets(user_id: int, room: str) -> None:
    """Take every open socket of the user, on any worker, out of `room`."""
    for sid in registry().user_sockets(user_id):
        socketio.server.leave_room(sid, room, namespace=NAMESPACE)


def emit(event: str, payload: dict, room: str, skip_sid: str | list[str] | None = None) -> None:
    """Send an event to everyone in a server-named room (call only after the commit)."""
    socketio.emit(event, payload, to=room, namespace=NAMESPACE, skip_sid=skip_sid)


def emit_activity(
    event: str, payload: dict, conversation_id: int, hidden: set[int], skip_sid: str | None = None
) -> None:
    """Send a member's activity (typing, a read receipt) to a conversation's room, except to every
    socket of the `hidden` users (social.activity_hidden: those on either side of a block) and to
    skip_sid. One room-wide emit with a short list of sockets to skip, not one emit per member: rooms
    can be large, blocks among their members are few. A socket is registered before it joins its
    conversations' rooms, so every socket of a hidden user in the room is in the registry."""
    skip = registry().users_sockets(sorted(hidden)) if hidden else []
    if skip_sid is not None:
        skip.append(skip_sid)
    emit(event, payload, conversation_room(conversation_id), skip_sid=skip or None)


def disconnect_session(session_id: str) -> None:
    """Close every socket opened under a browser session (signed out), on any worker."""
    end_sockets(registry().session_sockets(session_key(session_id)))


def disconnect_user(user_id: int, except_session_id: str | None = None) -> None:
    """Close every socket of the user on any worker, except those of one session (the one in use)."""
    kept = set(registry().session_sockets(session_key(except_session_id))) if except_session_id else set()
    end_sockets([sid for sid in registry().user_sockets(user_id) if sid not in kept])


def end_sockets(sids: list[str]) -> None:
    """End the sockets' identities on every worker (app/realtime/identities.py: from then on their
    events are refused), tell each its session has ended (the page then goes to sign-in), and
    close it."""
    if socketio.server is None:  # Socket.IO not initialised (e.g. a CLI command)
        return
    current_app.extensions["socket_identities"].end(sids)
    for sid in sids:
        socketio.emit("session_ended", {"message": SESSION_ENDED}, to=sid, namespace=NAMESPACE)
        socketio.server.disconnect(sid, namespace=NAMESPACE)
