"""Socket.IO handlers: the same layer as the HTTP routes. Each checks who is asking and the payload's
shape, then calls one service function and answers through the ack."""

import functools

from flask import request, session
from flask_login import current_user
from flask_socketio import disconnect, join_room
from socketio.exceptions import ConnectionRefusedError as ConnectionRefused  # not the built-in one
from sqlalchemy import select

from app import in_flight
from app.extensions import db, socketio
from app.log import socket_event_failed
from app.models.chat import Membership
from app.serializers import message_dict
from app.services import ServiceError, messaging, presence, rooms


def invalid(message: str) -> dict:
    """The ack for a payload of the wrong shape."""
    return {"ok": False, "error": "invalid", "message": message}


def event(name: str):
    """Register a handler taking (user, payload: dict) and returning the ack's extra fields.

    Answers {"ok": false, ...} for a signed-out session (and drops the socket), a payload that is
    not an object, or a ServiceError; the connection stays up for the last two.
    """

    def decorator(handler):
        @socketio.on(name)
        @functools.wraps(handler)
        def wrapper(payload=None, *_ignored):
            if not current_user.is_authenticated:
                disconnect()
                socket_event_failed(name, "unauthorized", None)
                return {"ok": False, "error": "unauthorized", "message": "Your session has ended. Sign in again."}
            user = current_user._get_current_object()
            if not isinstance(payload, dict):
                socket_event_failed(name, "invalid", user.id)
                return invalid(f"{name} takes an object.")
            try:
                with in_flight.tracked():
                    return {"ok": True, **(handler(user, payload) or {})}
            except ServiceError as error:
                socket_event_failed(name, error.code, user.id)
                return {"ok": False, "error": error.code, "message": error.message}
            except Exception as error:  # noqa: BLE001 - answered, logged with its traceback
                db.session.rollback()
                socket_event_failed(name, "internal", user.id, exc_info=error)
                return {"ok": False, "error": "internal", "message": "Something went wrong on our side."}

        return wrapper

    return decorator


@socketio.on("connect")
def on_connect(auth=None):
    """Accept only signed-in users; join the rooms that reach this socket and its conversations."""
    if not current_user.is_authenticated:
        raise ConnectionRefused("unauthorized")
    user = current_user._get_current_object()
    join_room(rooms.user_room(user.id))
    # Registered before the memberships are read: a conversation made in between finds this socket.
    presence.connected(user, request.sid, session.sid)
    for conversation_id in db.session.scalars(select(Membership.conversation_id).where(Membership.user_id == user.id)):
        join_room(rooms.conversation_room(conversation_id))


@socketio.on("disconnect")
def on_disconnect(*_reason):
    """Count the user's tabs down; the last one closing makes them offline.

    Looks the socket up by its id: a logout may already have ended the session it came with.
    """
    presence.disconnected(request.sid)


@event("send_message")
def on_send_message(user, payload):
    """{conversation_id, body, client_id} → {"message": M}, only after the message is committed."""
    message, _created = messaging.send_message(
        user, payload.get("conversation_id"), payload.get("body"), payload.get("client_id")
    )
    return {"message": message}


@event("sync")
def on_sync(user, payload):
    """{after: {conversation_id: seq}} → the messages after those seqs, with has_more."""
    messages, has_more = messaging.sync(user, payload.get("after"))
    return {"messages": [message_dict(message) for message in messages], "has_more": has_more}


@event("mark_read")
def on_mark_read(user, payload):
    """{conversation_id, seq}: move the read position forward."""
    return {"seq": messaging.mark_read(user, payload.get("conversation_id"), payload.get("seq"))}


@event("typing")
def on_typing(user, payload):
    """{conversation_id}: tell the other members."""
    messaging.typing(user, payload.get("conversation_id"), skip_sid=request.sid)


@socketio.on_error_default
def on_error(error: Exception):
    """An unexpected error outside an event's own handling (connect, disconnect): log it, keep going."""
    db.session.rollback()
    event_name = (getattr(request, "event", None) or {}).get("message", "connect")
    socket_event_failed(event_name, "internal", None, exc_info=error)
    return {"ok": False, "error": "internal", "message": "Something went wrong on our side."}
