"""Socket.IO handlers: the same layer as the HTTP routes. Each checks who is asking and the payload's
shape, then calls one service function in one transaction and answers through the ack, after the
commit (the events the service queued go out with it).

Who is asking is read once, at connect (app/realtime/identities.py): an event reads neither the
session store nor the user's row, and a socket whose session ended has no identity any more."""

import contextlib
import functools

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_login.utils import decode_cookie
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError as ConnectionRefused  # not the built-in one
from sqlalchemy import select

from app import in_flight
from app.errors import MESSAGES, UNAVAILABLE_SECONDS, is_unavailable, rollback
from app.extensions import db, socketio
from app.group_commit import group_commit
from app.log import socket_event_failed
from app.models.chat import Membership
from app.rate_limits import RateLimited, check_socket_connect, check_typing_events, check_user_events
from app.realtime.codec import MAX_DEPTH, UNDECODABLE_EVENT
from app.realtime.identities import identities, login_signs_in, missing_sessions
from app.serializers import message_dicts
from app.services import (
    ServiceError,
    conversation_settings,
    editing,
    forwarding,
    messaging,
    presence,
    reactions,
    rooms,
)
from app.services.socket_registry import TooManySockets
from app.session_store import IDENTIFIED
from app.transactions import transaction


def invalid(message: str) -> dict:
    """The ack for a payload of the wrong shape."""
    return {"ok": False, "error": "invalid", "message": message}


def unavailable() -> dict:
    """The ack while the database or Redis is out of reach: try again after `retry_after` seconds."""
    return {"ok": False, "error": "unavailable", "message": MESSAGES[503], "retry_after": UNAVAILABLE_SECONDS}


class _SessionEnded(ServiceError):
    """The socket's session ended (or its account is gone) between the event's arrival and its work."""


def event(name: str, limit=check_user_events, grouped: bool = False):
    """Register a handler taking (user, payload: dict) and returning the ack's extra fields.

    The handler runs in one transaction, committed before the ack is returned (so an ack means
    stored, and the events queued in it are sent); any error rolls it back and sends nothing.
    `grouped`: the transaction is the worker's next group commit (app/group_commit.py), shared
    with the other sends waiting; a refusal there fails this event alone.
    Answers {"ok": false, ...} for a payload that is not an object or a ServiceError (the connection
    stays up); a socket whose session has ended gets "session_ended" and is closed. `limit(user_id)`
    counts the event (the user's event limit unless told otherwise) and raises RateLimited over it.
    """

    def decorator(handler):
        @socketio.on(name)
        @functools.wraps(handler)
        def wrapper(payload=None, *_ignored):
            known = identities(current_app)
            sid = request.sid
            user_id = known.user_id_of(sid)
            if user_id is None:
                return session_ended(name)
            if not isinstance(payload, dict):
                socket_event_failed(name, "invalid", user_id)
                return invalid(f"{name} takes an object.")

            def work():
                user = known.user_of(sid)
                if user is None:  # the session ended meanwhile, or the account is gone
                    raise _SessionEnded(rooms.SESSION_ENDED, code="unauthorized")
                return handler(user, payload) or {}

            try:
                with in_flight.tracked():
                    limit(user_id)
                    if grouped:
                        answer = group_commit(current_app).run(work, _order_key(payload))
                    else:
                        with transaction():
                            answer = work()
                    return {"ok": True, **answer}
            except _SessionEnded:
                return session_ended(name)
            except RateLimited as error:
                socket_event_failed(name, error.code, user_id)
                return {"ok": False, "error": error.code, "message": error.message, "retry_after": error.retry_after}
            except ServiceError as error:
                socket_event_failed(name, error.code, user_id)
                return {"ok": False, "error": error.code, "message": error.message}
            except Exception as error:  # noqa: BLE001 - answered, logged with its traceback
                rollback()
                if is_unavailable(error):
                    socket_event_failed(name, "unavailable", user_id, exc_info=error)
                    return unavailable()
                socket_event_failed(name, "internal", user_id, exc_info=error)
                return {"ok": False, "error": "internal", "message": "Something went wrong on our side."}

        return wrapper

    return decorator


def _order_key(payload: dict) -> int:
    """The conversation a grouped event writes in (0 when the payload names none usable): the
    writer's batches take conversations in one order."""
    conversation_id = payload.get("conversation_id")
    return conversation_id if type(conversation_id) is int else 0


def session_ended(name: str) -> dict:
    """The ack of an event from a socket whose session ended: the socket is closed, and told first."""
    socket_event_failed(name, "unauthorized", None)
    rooms.end_sockets([request.sid])
    return {"ok": False, "error": "unauthorized", "message": rooms.SESSION_ENDED}


# The refusal of a socket over SOCKETS_PER_USER or SOCKETS_PER_ADDRESS: (code, data for the client).
TOO_MANY = {
    "user": ("too_many_sockets", {"message": "Too many open tabs: close some and this one reconnects."}),
    "address": ("too_many_connections", {"message": "Too many connections from your network."}),
}


@socketio.on("connect")
def on_connect(auth=None):
    """Accept only signed-in users; join the rooms that reach this socket and its conversations.

    Any failure refuses the connection ("unavailable" while the database or Redis is out of reach):
    python-socketio would accept a socket whose connect handler failed otherwise, and it would sit
    in no conversation's room, silently missing every message.
    """
    if _named_by_the_client():
        return None
    try:
        if not current_user.is_authenticated:
            raise ConnectionRefused("unauthorized")
        user = current_user._get_current_object()
        user_id = user.id
        address = get_remote_address()  # the client's address as the app trusts it (as Flask-Limiter)
        check_socket_connect(user_id, address)
        known = identities(current_app)
        # Known before it is registered: a sign-out that finds it in the registry ends it here too.
        known.remember(request.sid, user, session.sid, stored=_stored_session())
        with transaction():  # its "presence" news go out with the commit
            # Registered before the memberships are read: a conversation made in between finds this socket.
            presence.connected(user, request.sid, session.sid, address)
            join_room(rooms.user_room(user.id))
            memberships = select(Membership.conversation_id).where(Membership.user_id == user.id)
            for conversation_id in db.session.scalars(memberships):
                join_room(rooms.conversation_room(conversation_id))
            # A sign-out between reading the session above and registering the socket missed it:
            # look again, now that any later sign-out finds the socket.
            signed_in = _still_signed_in(user_id)
        if not signed_in:
            known.forget(request.sid)
            with contextlib.suppress(Exception), transaction():
                presence.disconnected(request.sid)
            raise ConnectionRefused("unauthorized")
        request.environ[IDENTIFIED] = True  # the socket's environ: its events open no session
    except ConnectionRefused:
        raise
    except RateLimited as error:
        socket_event_failed("connect", error.code, user_id)
        raise ConnectionRefused(
            error.code, {"message": "Too many connections: wait a moment.", "retry_after": error.retry_after}
        ) from None
    except TooManySockets as error:
        socket_event_failed("connect", TOO_MANY[error.kind][0], user_id)
        raise ConnectionRefused(*TOO_MANY[error.kind]) from None
    except Exception as error:  # noqa: BLE001 - refused below, logged with its traceback
        rollback()
        identities(current_app).forget(request.sid)
        with contextlib.suppress(Exception), transaction():
            presence.disconnected(request.sid)  # a refused socket gets no disconnect handler call
        code = "unavailable" if is_unavailable(error) else "internal"
        socket_event_failed("connect", code, None, exc_info=error)
        raise ConnectionRefused(code) from error


@socketio.on("disconnect")
def on_disconnect(*_reason):
    """Count the user's tabs down; the last one closing makes them offline.

    Looks the socket up by its id: a logout may already have ended the session it came with.
    """
    if _named_by_the_client():
        return
    try:
        with transaction():
            presence.disconnected(request.sid)
    finally:
        identities(current_app).forget(request.sid)


def _stored_session() -> bool:
    """Whether this socket came with a stored session (its cookie names it), not only with a
    remember-me cookie (a session made for it then, never saved)."""
    return request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]) == session.sid


def _still_signed_in(user_id: int) -> bool:
    """Whether this socket's sign-in still holds: its stored session is still there (a sign-out
    deletes it) and its login id (from the session, or from the remember-me cookie that made it)
    still signs the user in (a password change ends it). Through the request's own database
    session: no second pooled connection."""
    if _stored_session() and missing_sessions(current_app, {session.sid}):
        return False
    login_id = session.get("_user_id")
    if not login_id:
        cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        login_id = decode_cookie(cookie) if cookie else None
    return login_signs_in(login_id, user_id)


def _named_by_the_client() -> bool:
    """Whether this "connect" or "disconnect" is an event a connected client sent under that name
    (python-socketio dispatches it to the same handler), not the connection's own: while a socket
    connects or disconnects, the manager does not count it as connected."""
    return socketio.server.manager.is_connected(request.sid, rooms.NAMESPACE)


@event("send_message", grouped=True)
def on_send_message(user, payload):
    """{conversation_id, body, client_id, reply_to_id?, attachment_id?} → {"message": M}, only after
    the message is committed."""
    message, _created = messaging.send_message(
        user,
        payload.get("conversation_id"),
        payload.get("body"),
        payload.get("client_id"),
        reply_to_id=payload.get("reply_to_id"),
        attachment_id=payload.get("attachment_id"),
    )
    return {"message": message}


@event("forward_message", grouped=True)
def on_forward_message(user, payload):
    """{message_id, conversation_id, client_id} → {"message": M}, the forward, only after it is
    committed; the target's members receive it as any "message"."""
    message, _created = forwarding.forward_message(
        user, payload.get("message_id"), payload.get("conversation_id"), payload.get("client_id")
    )
    return {"message": message}


@event("sync")
def on_sync(user, payload):
    """{after: {conversation_id: seq}} → the messages after those seqs, with has_more."""
    messages, has_more = messaging.sync(user, payload.get("after"))
    return {"messages": message_dicts(messages), "has_more": has_more}


@event("mark_read")
def on_mark_read(user, payload):
    """{conversation_id, seq}: move the read position forward."""
    return {"seq": messaging.mark_read(user, payload.get("conversation_id"), payload.get("seq"))}


@event("typing", limit=check_typing_events)
def on_typing(user, payload):
    """{conversation_id}: tell the other members (counted against the typing limit, not the user's
    event limit)."""
    messaging.typing(user, payload.get("conversation_id"), skip_sid=request.sid)


@event("presence_snapshot")
def on_presence_snapshot(user, _payload):
    """{} → {"people": [{user_id, online, last_seen}]}: everyone whose presence the user sees, as they
    are now. Pages ask on every (re)connect: news from before the socket connected never reached it."""
    return {"people": presence.snapshot(user)}


@event("edit_message")
def on_edit_message(user, payload):
    """{message_id, body} → {"message": M}, the edited message (the sender, within the edit window)."""
    return {"message": editing.edit_message(user, payload.get("message_id"), payload.get("body"))}


@event("delete_message")
def on_delete_message(user, payload):
    """{message_id} → {"message": M}, the tombstone (the sender, a group's owner, a room's moderator)."""
    return {"message": editing.delete_message(user, payload.get("message_id"))}


@event("react")
def on_react(user, payload):
    """{message_id, emoji, on} → {"message": M} with the reactions as they are now."""
    return {"message": reactions.react(user, payload.get("message_id"), payload.get("emoji"), payload.get("on"))}


@event("set_conversation_settings")
def on_set_conversation_settings(user, payload):
    """{conversation_id, muted?, pinned?, archived?} (booleans) → {"conversation": C}; the user's
    other sockets receive "conversation_settings"."""
    conversation = conversation_settings.set_settings(
        user,
        payload.get("conversation_id"),
        muted=payload.get("muted"),
        pinned=payload.get("pinned"),
        archived=payload.get("archived"),
        skip_sid=request.sid,
    )
    return {"conversation": conversation}


@socketio.on(UNDECODABLE_EVENT)
def on_undecodable(*_args):
    """A packet the codec could not read (already logged there, rate-limited): `invalid`, counted
    against the sender's event limit like any event, the connection kept."""
    user_id = identities(current_app).user_id_of(request.sid)
    if user_id is None:  # as event() does: the ended session's socket is closed
        return session_ended(UNDECODABLE_EVENT)
    try:
        check_user_events(user_id)
    except RateLimited as error:
        return {"ok": False, "error": error.code, "message": error.message, "retry_after": error.retry_after}
    return invalid(f"The packet could not be read: it must be JSON nested at most {MAX_DEPTH} deep.")


@socketio.on_error_default
def on_error(error: Exception):
    """An unexpected error outside an event's own handling (connect, disconnect, reading the session
    or the user before the event): log it, keep going."""
    rollback()
    event_name = (getattr(request, "event", None) or {}).get("message", "connect")
    if is_unavailable(error):
        socket_event_failed(event_name, "unavailable", None, exc_info=error)
        return unavailable()
    socket_event_failed(event_name, "internal", None, exc_info=error)
    return {"ok": False, "error": "internal", "message": "Something went wrong on our side."}
