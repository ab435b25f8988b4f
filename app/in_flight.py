"""HTTP requests and socket events being handled right now, so a stopping worker lets them finish."""

import time
from contextlib import contextmanager

from app.extensions import socketio

_count = 0


@contextmanager
def tracked():
    """Count the enclosed work as in flight (greenlets switch only at I/O, so += is safe)."""
    global _count
    _count += 1
    try:
        yield
    finally:
        _count -= 1


def counting(wsgi_app):
    """Wrap the Flask app so each HTTP request it serves is counted (Engine.IO's long polls, which
    Flask-SocketIO answers before Flask, are not: their events are counted by their handlers)."""

    def counted(environ, start_response):
        with tracked():
            return wsgi_app(environ, start_response)

    return counted


def wait_until_idle(timeout: float) -> bool:
    """Wait until nothing is in flight, at most `timeout` seconds; True if none is left."""
    deadline = time.monotonic() + timeout
    while _count and time.monotonic() < deadline:
        socketio.sleep(0.05)
    return _count == 0
