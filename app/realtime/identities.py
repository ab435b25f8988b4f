"""Who each socket of this worker is: taken once, when it connects, so that an event reads neither the
session store nor the user's row (app/realtime/handlers.py).

A socket's identity holds its user (a copy of their row, put into each event's session without a
query) and the browser session it came with. It ends when that session ends: `end()` is called with
the sockets of a signed-out session, of a user whose password changed, of a deleted account. Ending
is exact across workers: this worker marks its own sockets at once; the others are told through
Redis and `end()` returns only once each worker holding one of them has marked it (or after
END_WAIT_SECONDS for a worker that does not answer: it died, and its sockets with it). An event
that reaches any worker after `end()` returned finds no identity and is refused, even if the
socket's disconnect has not arrived yet.

A user's copy is dropped on every worker when their row changes (a new name, picture or password):
the next event loads it once again; a deleted user's sockets lose their identities. Sessions ended
outside the app's doors (the operator's shell, an expiry) are found by `stale()`, which the worker
runs every SOCKET_SESSION_CHECK_SECONDS.
"""

import contextlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import events
from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.models.session import ServerSession
from app.services.accounts import load_user

log = logging.getLogger(__name__)

END_WAIT_SECONDS = 2.0


@dataclass(slots=True)
class Identity:
    """A socket's user and session. `user` is a detached copy (None: to be loaded again); `stored`:
    the session is in the store (not one made for this socket from a remember-me cookie)."""

    user_id: int
    session_id: str
    user: User | None
    auth_version: int
    stored: bool = True


class Identities:
    """The identities of this worker's sockets, and the channel that ends them on every worker."""

    def __init__(self):
        self._by_sid: dict[str, Identity] = {}
        self._lock = threading.Lock()  # the channel's listener runs beside the event handlers
        self._client = None
        self._registry = None  # set by listen(): one worker of several
        self._worker = ""
        self._channel = ""
        self._pubsub = None

    # --- this worker ----------------------------------------------------------------------------

    def remember(self, sid: str, user: User, session_id: str, stored: bool = True) -> None:
        """Socket `sid` connected as `user` under browser session `session_id` (`stored`: one the
        store holds, rather than one made for this socket from a remember-me cookie)."""
        self._by_sid[sid] = Identity(user.id, session_id, _detached_copy(user), user.auth_version, stored)

    def forget(self, sid: str) -> None:
        """Socket `sid` disconnected."""
        self._by_sid.pop(sid, None)

    def user_id_of(self, sid: str) -> int | None:
        """The user id of socket `sid`; None when it has no identity (its session ended)."""
        identity = self._by_sid.get(sid)
        return None if identity is None else identity.user_id

    def user_of(self, sid: str) -> User | None:
        """The user of socket `sid`, in the current session (no query, unless their row changed
        since the last event); None when the socket has no identity (its session ended)."""
        identity = self._by_sid.get(sid)
        if identity is None:
            return None
        copy = identity.user
        if copy is None:
            user = db.session.get(User, identity.user_id)
            if user is None:
                self._by_sid.pop(sid, None)
                return None
            identity.user = _detached_copy(user)
            return user
        return db.session.merge(copy, load=False)

    def _end_here(self, sids) -> None:
        with self._lock:
            for sid in sids:
                self._by_sid.pop(sid, None)

    def _drop_copies_here(self, user_ids, deleted=()) -> None:
        wanted, gone = set(user_ids), set(deleted)
        for sid, identity in list(self._by_sid.items()):
            if identity.user_id in gone:
                self._by_sid.pop(sid, None)
            elif identity.user_id in wanted:
                identity.user = None

    def stale(self, app: Flask) -> list[str]:
        """The sockets of this worker whose session ended outside the app's own doors (the operator's
        shell or `flask users reset-password`, an expired or deleted session, a deleted account):
        a few bulk queries for all of them, run every SOCKET_SESSION_CHECK_SECONDS."""
        held = list(self._by_sid.items())
        if not held:
            return []
        gone_sessions = missing_sessions(app, {identity.session_id for _sid, identity in held if identity.stored})
        versions = dict(
            db.session.execute(
                select(User.id, User.auth_version).where(User.id.in_({i.user_id for _sid, i in held}))
            ).all()
        )
        stale, checked = [], {}
        for sid, identity in held:
            if identity.session_id in gone_sessions or identity.user_id not in versions:
                stale.append(sid)
            elif versions[identity.user_id] != identity.auth_version:
                # Signed in again with a new password (this session was kept), or signed out by it.
                key = identity.session_id
                if key not in checked:
                    checked[key] = _signs_in(app, key, identity.user_id)
                if checked[key]:
                    identity.auth_version = versions[identity.user_id]
                else:
                    stale.append(sid)
        return stale

    # --- every worker ---------------------------------------------------------------------------

    def end(self, sids: list[str]) -> None:
        """End the identities of `sids` on every worker; returns once each was ended (see above)."""
        self._end_here(sids)
        if self._registry is None or not sids:
            return
        try:
            others = {worker: held for worker, held in self._registry.owners(sids).items() if worker != self._worker}
            if not others:
                return
            reply = f"{self._channel}:ended:{uuid.uuid4().hex}"
            self._client.publish(self._channel, json.dumps({"end": others, "reply": reply}))
            for _ in others:
                if self._client.blpop([reply], timeout=END_WAIT_SECONDS) is None:
                    log.warning("identities: a worker did not confirm ending sockets in %ss", END_WAIT_SECONDS)
                    break
            self._client.delete(reply)
        except Exception:  # noqa: BLE001 - Redis away: the disconnects still go out through the queue
            log.warning("identities: could not end sockets on the other workers", exc_info=True)

    def user_changed(self, user_ids, deleted=()) -> None:
        """Drop the copies of these users' rows on every worker, and end the identities of the
        `deleted` ones (call after the commit)."""
        user_ids, deleted = sorted(set(user_ids)), sorted(set(deleted))
        self._drop_copies_here(user_ids, deleted)
        if self._client is not None:
            try:
                self._client.publish(self._channel, json.dumps({"changed": user_ids, "deleted": deleted}))
            except Exception:  # noqa: BLE001 - Redis away: the other workers keep a stale name a while
                log.warning("identities: could not tell the other workers of a changed user", exc_info=True)

    def listen(self, client, prefix: str, registry, spawn) -> None:
        """End and refresh identities across workers through Redis: `registry` (a RedisRegistry)
        tells which worker holds a socket, `spawn(fn)` starts the channel's listener."""
        self._client = client
        self._registry = registry
        self._worker = registry.worker_id
        self._channel = f"{prefix}:identities"
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self._channel)
        spawn(self._listen)

    def stop(self) -> None:
        """Stop listening (the worker stops)."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    def _listen(self) -> None:
        while self._pubsub is not None:
            try:
                for message in self._pubsub.listen():
                    self._on_message(message)
            except Exception:  # noqa: BLE001 - Redis away: subscribe again once it is back
                if self._pubsub is None:
                    return
                log.warning("identities: channel lost, listening again", exc_info=True)
                time.sleep(1)  # green under the server's eventlet or gevent
                with contextlib.suppress(Exception):
                    self._pubsub.subscribe(self._channel)

    def _on_message(self, message) -> None:
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if "changed" in data:
            self._drop_copies_here(data["changed"], data.get("deleted", ()))
        elif "end" in data and self._worker in data["end"]:
            self._end_here(data["end"][self._worker])
            self._client.rpush(data["reply"], 1)
            self._client.expire(data["reply"], 60)


def _store_ids(app: Flask, session_ids) -> dict[str, str]:
    interface = app.session_interface.interface  # Flask-Session's, under SocketTolerantSessions
    return {interface.key_prefix + session_id: session_id for session_id in session_ids}


def missing_sessions(app: Flask, session_ids: set[str]) -> set[str]:
    """Which of these browser sessions are no longer in the session store (or have expired)."""
    store_ids = _store_ids(app, session_ids)
    interface = app.session_interface.interface
    if hasattr(interface, "client"):  # Redis: one round trip
        pipe = interface.client.pipeline(transaction=False)
        for store_id in store_ids:
            pipe.exists(store_id)
        alive = {store_id for store_id, exists in zip(store_ids, pipe.execute(), strict=True) if exists}
    else:
        alive = set(
            db.session.scalars(
                select(ServerSession.session_id).where(
                    ServerSession.session_id.in_(store_ids), ServerSession.expiry > utcnow()
                )
            )
        )
    return {session_id for store_id, session_id in store_ids.items() if store_id not in alive}


def _signs_in(app: Flask, session_id: str, user_id: int) -> bool:
    """Whether the stored browser session `session_id` still signs in the user."""
    (store_id,) = _store_ids(app, [session_id])
    data = app.session_interface.interface._retrieve_session_data(store_id)
    return login_signs_in((data or {}).get("_user_id"), user_id)


def login_signs_in(login_id: str | None, user_id: int) -> bool:
    """Whether the login id (as Flask-Login keeps it) still signs in user `user_id`."""
    user = load_user(login_id) if login_id else None
    return user is not None and user.id == user_id


def _detached_copy(user: User) -> User:
    """A copy of `user`'s loaded columns that belongs to no session (merged into each event's)."""
    mapper = User.__mapper__
    copy = mapper.class_manager.new_instance()  # no __init__, no validators: the values are stored ones
    for column in mapper.column_attrs:
        set_committed_value(copy, column.key, getattr(user, column.key))
    make_transient_to_detached(copy)
    return copy


def identities(app: Flask) -> Identities:
    """The app's (this worker's) identities."""
    return app.extensions["socket_identities"]


# Written on every connect and disconnect, read by no event: a change to it keeps the copies.
_NOT_COPIED = frozenset({"last_seen_at"})


def _copied_columns_changed(user: User) -> bool:
    state = inspect(user)
    return any(
        state.attrs[column.key].history.has_changes()
        for column in User.__mapper__.column_attrs
        if column.key not in _NOT_COPIED
    )


def _note_user_changes(session: Session, _flush_context) -> None:
    """A flush that changed or deleted users: drop their copies once the transaction commits (a
    rollback drops nothing: events.after_commit)."""
    changed = sorted({obj.id for obj in session.dirty if isinstance(obj, User) and _copied_columns_changed(obj)})
    deleted = sorted({obj.id for obj in session.deleted if isinstance(obj, User)})
    if changed or deleted:
        events.after_commit(lambda: identities(current_app).user_changed(changed, deleted))


# db.session's factory makes sessions of their own subclass: this reaches this app's sessions only.
if not event.contains(db.session, "after_flush", _note_user_changes):
    event.listen(db.session, "after_flush", _note_user_changes)
