"""The production server: the app on eventlet's (or gevent's) WSGI server, a heartbeat for the socket
registry, and a graceful stop on SIGTERM. Started by run.py, which monkey-patches first."""

import contextlib
import logging
import os
import signal
import socket
import sys
import time

from flask import Flask

from app import create_app
from app.concurrency import green_library
from app.config import ConfigError
from app.extensions import db, socketio
from app.realtime import in_flight
from app.services import presence, rooms
from app.services.socket_registry import HEARTBEAT_SECONDS, registry

log = logging.getLogger("messanger.server")


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (green once run.py has patched the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024)
    # A socket event and its ack are two small writes: without TCP_NODELAY (inherited by every
    # accepted connection), Nagle's algorithm holds the second back for the client's delayed ACK.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


class EventletServer:
    """eventlet.wsgi.server in a green thread, so it can be told to stop accepting."""

    def __init__(self, app: Flask, listener: socket.socket):
        import eventlet
        import eventlet.wsgi

        self.listener = listener
        self.thread = eventlet.spawn(
            eventlet.wsgi.server, listener, app, log=logging.getLogger("eventlet.wsgi"), log_output=False
        )

    def stop_accepting(self) -> None:
        """Close the door: the accept loop ends and new connections are refused."""
        # The server then waits, in its own green thread, for the connections it has (see finished).
        self.thread.kill()
        self.listener.close()

    def finish(self, timeout: float) -> None:
        """Wait for the open connections' requests to end, at most `timeout` seconds."""
        import eventlet
        from greenlet import GreenletExit

        with eventlet.Timeout(timeout, False), contextlib.suppress(GreenletExit):
            self.thread.wait()  # ends with the GreenletExit that stop_accepting() sent


class GeventServer:
    """gevent's pywsgi server (websockets through simple-websocket)."""

    def __init__(self, app: Flask, listener: socket.socket):
        from gevent.pywsgi import WSGIServer

        self.server = WSGIServer(listener, app, log=None, error_log=logging.getLogger("gevent.pywsgi"))
        self.server.start()

    def stop_accepting(self) -> None:
        """Close the door: new connections are refused."""
        self.server.close()

    def finish(self, timeout: float) -> None:
        """Wait for the open connections' requests to end, at most `timeout` seconds."""
        self.server.stop(timeout=timeout)


class Worker:
    """One serving process: the server, its heartbeat, and its graceful stop."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self.stop_requested = False
        self.stopping = False
        server_class = GeventServer if green_library() == "gevent" else EventletServer
        self.server = server_class(app, listen(host, port))
        socketio.start_background_task(self._heartbeat)

    def _heartbeat(self) -> None:
        """Keep this worker marked alive; mark offline the users of workers that died."""
        while not self.stopping:
            with self.app.app_context():
                try:
                    for user_id in registry().heartbeat():
                        presence.went_offline(user_id)
                except Exception:  # noqa: BLE001 - Redis or the database away: try again next beat
                    log.exception("heartbeat failed")
                finally:
                    db.session.remove()
            socketio.sleep(HEARTBEAT_SECONDS)

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
        """Stop taking connections, let in-flight events finish, then close the sockets."""
        self.stopping = True
        timeout = self.app.config["SHUTDOWN_TIMEOUT"]
        deadline = time.monotonic() + timeout
        log.info("stopping: no new connections; waiting for in-flight events")
        self.server.stop_accepting()
        if not in_flight.wait_until_idle(timeout):
            log.warning("stopping: events still in flight after %ss", timeout)
        # Clients reconnect (to another worker, or to this one restarted) and catch up with sync.
        with self.app.app_context():
            server = socketio.server
            for sid, _eio_sid in list(server.manager.get_participants(rooms.NAMESPACE, None)):
                server.disconnect(sid, namespace=rooms.NAMESPACE, ignore_queue=True)
            registry().retire()
            db.session.remove()
        self.server.finish(max(deadline - time.monotonic(), 1))
        log.info("stopped")


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
    shown = "localhost" if host == "127.0.0.1" else host
    log.info("Messanger serving on http://%s:%d (%s)", shown, port, app.config["ASYNC_MODE"])
    worker.serve_until_stopped()
