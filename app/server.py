"""The production server: the app on eventlet's (or gevent's) WSGI server, a heartbeat for the socket
registry, and a graceful stop on SIGTERM. Started by run.py, which monkey-patches first."""

import gc
import logging
import os
import random
import signal
import socket
import sys

from flask import Flask

from app import create_app, in_flight
from app.concurrency import green_library
from app.config import ConfigError
from app.event_budgets import budgets
from app.extensions import db, socketio
from app.group_commit import group_commit
from app.realtime.identities import identities
from app.services import attachments, presence, rooms
from app.services.send_checks import send_checks
from app.services.socket_registry import HEARTBEAT_SECONDS, registry
from app.transactions import transaction

log = logging.getLogger("messanger.server")

ACK_SETTLE_SECONDS = 0.25


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (green once run.py has patched the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024)
    # A socket event and its ack are two small writes: without TCP_NODELAY (inherited by every
    # accepted connection), Nagle's algorithm holds the second back for the client's delayed ACK.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def without_websocket_compression(wsgi_app):
    """Decline permessage-deflate, which browsers always offer: on chat-sized messages it saves
    little, and each compressed connection keeps about 90 KB of zlib state while it idles."""

    def app(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return app


class _HeldListener:
    """The listening socket as eventlet.wsgi.server sees it. Closing it would end the server's
    accept loop, and eventlet then shuts every websocket at once; held, the loop waits instead, and
    open connections live on while in-flight work finishes."""

    def __init__(self, listener: socket.socket):
        import eventlet.event

        self._listener = listener
        self._holding = False
        self._never = eventlet.event.Event()

    def accept(self):
        try:
            return self._listener.accept()
        except OSError:
            if not self._holding:
                raise
            self._never.wait()

    def hold(self) -> None:
        """Stop listening (new connections are refused) but keep the accept loop waiting. Shut down,
        not closed: a closed socket's descriptor goes to the next socket opened (say, a database
        connection during the drain) while eventlet's hub still has the accept loop waiting on it,
        and reading that new socket then fails ("Second simultaneous read on fileno")."""
        self._holding = True
        self._listener.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name):
        return getattr(self._listener, name)


class EventletServer:
    """eventlet.wsgi.server in a green thread, able to stop accepting while it serves on."""

    def __init__(self, app: Flask, listener: socket.socket):
        import eventlet
        import eventlet.wsgi

        self.listener = _HeldListener(listener)
        eventlet.spawn(
            eventlet.wsgi.server,
            self.listener,
            without_websocket_compression(app),
            log=logging.getLogger("eventlet.wsgi"),
            log_output=False,
            max_size=app.config["MAX_CONNECTIONS"],  # eventlet's default, 1,024, would cap the sockets
            # Each read and write on a connection, the request's headers included, waits this long at
            # most. A websocket is exempt: Engine.IO sets its own (ping interval + ping timeout).
            socket_timeout=app.config["CONNECTION_IDLE_TIMEOUT"] or None,
        )

    def stop_accepting(self) -> None:
        """Close the door: new connections are refused; open ones carry on."""
        self.listener.hold()


def _gevent_classes():
    """gevent's server and handler, made to close idle connections like eventlet's socket_timeout."""
    from gevent.pywsgi import WSGIHandler, WSGIServer

    class IdleClosingWSGIServer(WSGIServer):
        """Every read and write on a connection (its headers included) waits idle_timeout at most."""

        idle_timeout = None

        def handle(self, sock, address):
            sock.settimeout(self.idle_timeout)
            super().handle(sock, address)

    class WebsocketWithoutTimeoutHandler(WSGIHandler):
        """A websocket waits as long as it likes: Engine.IO's pings keep it alive or close it. Headers
        that time out close the connection without a traceback."""

        def run_application(self):
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.socket.settimeout(None)
            super().run_application()

        def _handle_client_error(self, ex):
            # gevent's hook for a bad request; it prints a traceback for anything but a ValueError.
            # Headers that stopped arriving: close quietly, as eventlet does (no log line per client).
            if isinstance(ex, TimeoutError):
                self.close_connection = True
                return None
            return super()._handle_client_error(ex)

    return IdleClosingWSGIServer, WebsocketWithoutTimeoutHandler


class GeventServer:
    """gevent's pywsgi server (websockets through simple-websocket)."""

    def __init__(self, app: Flask, listener: socket.socket):
        from gevent.pool import Pool

        server_class, handler_class = _gevent_classes()

        self.server = server_class(
            listener,
            without_websocket_compression(app),
            spawn=Pool(app.config["MAX_CONNECTIONS"]),
            log=None,
            error_log=logging.getLogger("gevent.pywsgi"),
            handler_class=handler_class,
        )
        self.server.idle_timeout = app.config["CONNECTION_IDLE_TIMEOUT"] or None
        self.server.start()

    def stop_accepting(self) -> None:
        """Close the door: new connections are refused; open ones carry on."""
        self.server.close()


class Worker:
    """One serving process: the server, its heartbeat, and its graceful stop."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self.stop_requested = False
        self.stopping = False
        server_class = GeventServer if green_library() == "gevent" else EventletServer
        self.server = server_class(app, listen(host, port))
        socketio.start_background_task(self._heartbeat)
        for _writer in range(max(app.config["GROUP_COMMIT_WRITERS"], 1)):
            socketio.start_background_task(group_commit(app).serve, app)
        if app.config["ATTACHMENT_PURGE_INTERVAL_SECONDS"]:
            socketio.start_background_task(self._purge_unsent_uploads)
        socketio.start_background_task(self._keep_event_budgets)
        socketio.start_background_task(self._end_stale_sockets)
        client = app.extensions.get("redis")
        if client is not None:  # several workers: identities ended and send checks dropped on every one
            sockets = app.extensions["socket_registry"]
            identities(app).listen(client, app.config["REDIS_KEY_PREFIX"], sockets, socketio.start_background_task)
            send_checks(app).listen(client, app.config["REDIS_KEY_PREFIX"], sockets, socketio.start_background_task)

    def _heartbeat(self) -> None:
        """Keep this worker marked alive; mark offline the users of workers that died."""
        while not self.stopping:
            with self.app.app_context():
                try:
                    for user_id in registry().heartbeat():
                        with transaction():
                            presence.went_offline(user_id)
                except Exception:  # noqa: BLE001 - Redis or the database away: try again next beat
                    log.exception("heartbeat failed")
                finally:
                    db.session.remove()
            socketio.sleep(HEARTBEAT_SECONDS)

    def _purge_unsent_uploads(self) -> None:
        """Every ATTACHMENT_PURGE_INTERVAL_SECONDS, delete the uploads never sent in time. Each worker
        runs it (safe at once); the first run comes at a random point of the first interval, so
        workers started together spread their runs."""
        interval = self.app.config["ATTACHMENT_PURGE_INTERVAL_SECONDS"]
        socketio.sleep(random.uniform(0, interval))
        while not self.stopping:
            with self.app.app_context():
                try:
                    purged = attachments.purge_unsent(end_batch=self._end_purge_batch)
                    if purged:
                        log.info("purged uploads never sent: %d", purged)
                except Exception:  # noqa: BLE001 - the database away: try again next time
                    log.exception("purging uploads never sent failed")
                finally:
                    db.session.remove()
            socketio.sleep(interval)

    def _keep_event_budgets(self) -> None:
        """Every RATELIMIT_SYNC_SECONDS: share this worker's event budgets through Redis (when the
        site has it) and forget the idle ones."""
        interval = self.app.config["RATELIMIT_SYNC_SECONDS"]
        client = self.app.extensions.get("redis")
        prefix = self.app.config["RATELIMIT_KEY_PREFIX"]
        held = budgets(self.app)
        while not self.stopping:
            socketio.sleep(interval)
            if client is not None:
                held.sync(client, prefix)
            held.forget_idle()

    def _end_stale_sockets(self) -> None:
        """Every SOCKET_SESSION_CHECK_SECONDS: close this worker's sockets whose session ended
        outside the app's doors (the doors end their sockets at once: app/realtime/identities.py)."""
        interval = self.app.config["SOCKET_SESSION_CHECK_SECONDS"]
        while not self.stopping:
            socketio.sleep(interval)
            with self.app.app_context():
                try:
                    stale = identities(self.app).stale(self.app)
                    if stale:
                        log.info("sockets of ended sessions closed: %d", len(stale))
                        rooms.end_sockets(stale)
                except Exception:  # noqa: BLE001 - the database away: check again next time
                    log.exception("checking the sockets' sessions failed")
                finally:
                    db.session.remove()

    @staticmethod
    def _end_purge_batch() -> None:
        db.session.commit()
        socketio.sleep(0)  # other clients' turn between batches

    def serve_until_stopped(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._request_stop)
        # The handler only raises a flag: a signal can arrive in the middle of any greenlet.
        while not self.stop_requested:
            socketio.sleep(0.2)
        self.stop()

    def _request_stop(self, *_args) -> None:
        self.stop_requested = True

    def stop(self) -> None:
        """Stop taking connections, let in-flight requests and events finish, then close the sockets."""
        self.stopping = True
        timeout = self.app.config["SHUTDOWN_TIMEOUT"]
        log.info("stopping: no new connections; waiting for in-flight requests and events")
        self.server.stop_accepting()
        # Events arriving from now on are refused ("unavailable"): one started after the wait below
        # would be cut off, stored perhaps but never answered.
        in_flight.refuse_new_events()
        if not in_flight.wait_until_idle(timeout):
            log.warning("stopping: work still in flight after %ss", timeout)
        # A finished handler's ack is queued a moment later, after its request teardown.
        socketio.sleep(ACK_SETTLE_SECONDS)
        # Clients reconnect (to another worker, or to this one restarted) and catch up with sync.
        with self.app.app_context():
            server = socketio.server
            for sid, _eio_sid in list(server.manager.get_participants(rooms.NAMESPACE, None)):
                server.disconnect(sid, namespace=rooms.NAMESPACE, ignore_queue=True)
            # Nobody waits for their grace here: this worker will not be there to announce them.
            presence.settle_pending(self.app)
            registry().retire()
            db.session.remove()
        # The disconnects are queued too: let them reach the clients before the process exits, or
        # the clients see their connection drop instead of being told.
        socketio.sleep(ACK_SETTLE_SECONDS)
        log.info("stopped")


def settle_the_heap() -> None:
    """Move what start-up made (modules, templates, the app) out of the collector's sight: a full
    collection walks every tracked object, and with them it held the event loop 80-220 ms."""
    gc.collect()
    gc.freeze()


def main() -> None:
    """Build the app and serve it until SIGTERM or Ctrl-C."""
    try:
        app = create_app()
    except ConfigError as error:
        sys.exit(f"Messanger cannot start: {error}")
    if green_library() != app.config["ASYNC_MODE"]:
        sys.exit(f"Messanger cannot start: run it with `python run.py` (ASYNC_MODE={app.config['ASYNC_MODE']}).")
    production = app.config["APP_ENV"] == "production"
    host = os.environ.get("HOST", "").strip() or ("0.0.0.0" if production else "127.0.0.1")
    port = int(os.environ.get("PORT", "").strip() or 8000)
    worker = Worker(app, host, port)
    settle_the_heap()
    shown = "localhost" if host == "127.0.0.1" else host
    log.info("Messanger serving on http://%s:%d (%s)", shown, port, app.config["ASYNC_MODE"])
    worker.serve_until_stopped()
    # Everything is drained; skip the interpreter's teardown, where the server's leftover green
    # threads (the held accept loop, the Redis listener, Engine.IO's service task) would linger.
    logging.shutdown()
    os._exit(0)
