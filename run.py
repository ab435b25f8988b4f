"""Serve Messanger with the eventlet server: `python run.py` (PORT, default 8000)."""

import eventlet

# Patch the standard library before anything else is imported, so sockets, threads and the
# database drivers cooperate with the event loop.
eventlet.monkey_patch()

import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ConfigError  # noqa: E402


def serve(app, host: str, port: int, log_output: bool) -> None:
    """Serve the app (wrapped by Flask-SocketIO) with eventlet's WSGI server."""
    listener = eventlet.listen((host, port), backlog=1024)
    # A socket event and its ack are two small writes: without TCP_NODELAY (inherited by every
    # accepted connection), Nagle's algorithm holds the second back for the client's delayed ACK.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    eventlet.wsgi.server(listener, app, log_output=log_output)


def main() -> None:
    """Build the app and serve it until interrupted."""
    try:
        app = create_app()
    except ConfigError as error:
        sys.exit(f"Messanger cannot start: {error}")
    production = app.config["APP_ENV"] == "production"
    host = os.environ.get("HOST", "").strip() or ("0.0.0.0" if production else "127.0.0.1")
    port = int(os.environ.get("PORT", "").strip() or 8000)
    app.logger.info("Messanger serving on http://%s:%d", "localhost" if host == "127.0.0.1" else host, port)
    serve(app, host, port, log_output=not production)


if __name__ == "__main__":
    main()
