"""Server-side sessions: Flask-Session's protocol with our own migrated table as the store.

Flask-Session's own SQLAlchemy backend creates its table at startup (outside the migrations) and
commits the request's database session when it saves; this store keeps the table in migrations/
and writes through a short-lived ORM session of its own.
"""

from datetime import timedelta

from flask import Flask, Request
from flask.sessions import NullSession
from flask_session import Session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from app.models.base import utcnow
from app.models.session import ServerSession


class DatabaseSessionInterface(ServerSideSessionInterface):
    """Keeps each session's data in the `sessions` table, keyed by the cookie's session id."""

    ttl = False

    def __init__(self, app: Flask, **params):
        self._db = app.extensions["sqlalchemy"]
        super().__init__(app, **params)

    def _store(self) -> OrmSession:
        return OrmSession(self._db.engine)

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        # Every request and socket event reads its session: one Core SELECT, no ORM session around it.
        with self._db.engine.connect() as connection:
            data = connection.scalar(
                select(ServerSession.data).where(ServerSession.session_id == store_id, ServerSession.expiry > utcnow())
            )
        return self.serializer.decode(data) if data is not None else None

    def _delete_session(self, store_id: str) -> None:
        with self._store() as store, store.begin():
            store.execute(delete(ServerSession).where(ServerSession.session_id == store_id))

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        values = {"data": self.serializer.encode(session), "expiry": utcnow() + session_lifetime}
        for _ in range(2):
            try:
                with self._store() as store, store.begin():
                    updated = store.execute(
                        update(ServerSession).where(ServerSession.session_id == store_id).values(**values)
                    ).rowcount
                    if not updated:
                        store.add(ServerSession(session_id=store_id, **values))
                return
            except IntegrityError:
                # Two first requests of one new session raced to insert it: update the winner's row.
                continue

    def _delete_expired_sessions(self) -> None:
        with self._store() as store, store.begin():
            store.execute(delete(ServerSession).where(ServerSession.expiry <= utcnow()))


# Socket.IO events run in a request context made from their connection's handshake, at this path.
SOCKETIO_PATH = "/socket.io/"


class UnreadableSession(ServerSideSession):
    """The session of a Socket.IO event whose store (the database, or Redis) could not be read.

    Flask-SocketIO opens the session before any handler runs, where a failure has nobody to answer
    it: the event would get no ack at all. This stand-in defers the failure into the handler: the
    first use of the data raises the store's error there, where the handlers answer "unavailable"
    (an event) or refuse with "unavailable" (a connect).
    """

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    def _fail(self, *_args, **_kwargs):
        raise self.error

    # Every way of reading or writing the data.
    __getitem__ = __setitem__ = __delitem__ = __contains__ = __iter__ = __len__ = __bool__ = _fail
    get = setdefault = pop = popitem = update = clear = keys = values = items = copy = _fail


# Set in a socket's environ once it has connected: its events take the user from the connection
# (app/realtime/identities.py), so their request contexts need no session read from the store.
IDENTIFIED = "messanger.socket_identified"


class SocketTolerantSessions:
    """A session interface (wrapped) that lets Socket.IO events reach their handlers while the store
    is out of reach (see UnreadableSession), and gives the events of a connected socket no session
    at all (IDENTIFIED). HTTP requests are left as they are: a failure to open their session is
    answered by the app's error handlers (503)."""

    def __init__(self, interface):
        self.interface = interface

    def __getattr__(self, name):
        return getattr(self.interface, name)

    def open_session(self, app: Flask, http_request: Request):
        if http_request.environ.get(IDENTIFIED):
            return self.interface.make_null_session(app)
        try:
            return self.interface.open_session(app, http_request)
        except Exception as error:
            from app.errors import is_unavailable  # app.errors imports the extensions, which import us

            if not (is_unavailable(error) and http_request.path.startswith(SOCKETIO_PATH)):
                raise
            return UnreadableSession(error)

    def save_session(self, app: Flask, session, response) -> None:
        if not isinstance(session, UnreadableSession | NullSession):
            self.interface.save_session(app, session, response)


class ServerSideSessions(Session):
    """Flask-Session, with SESSION_TYPE "sqlalchemy" served by DatabaseSessionInterface, and every
    store's interface wrapped in SocketTolerantSessions."""

    def _get_interface(self, app: Flask):
        config = app.config
        if config.get("SESSION_TYPE", "").lower() != "sqlalchemy":
            return SocketTolerantSessions(super()._get_interface(app))
        return SocketTolerantSessions(
            DatabaseSessionInterface(
                app,
                key_prefix=config.get("SESSION_KEY_PREFIX", "session:"),
                permanent=config.get("SESSION_PERMANENT", True),
                sid_length=config.get("SESSION_ID_LENGTH", 32),
                cleanup_n_requests=config.get("SESSION_CLEANUP_N_REQUESTS"),
            )
        )
