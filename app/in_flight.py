"""HTTP requests and socket events being handled right now, so a stopping worker lets them finish."""

import time
from contextlib import contextmanager

from app.extensions import socketio
from app.services import ServiceError

RESTARTING = "The server is restarting. Try again in a moment."

_count = 0
_refusing = False


@contextmanager
def _counted():
    global _count
    _count += 1  # greenlets switch only at I/O, so += is safe
    try:
        yield
    finally:
        _count -= 1


@contextmanager
def tracked():
    """Count the enclosed socket event as in flight. Once the worker is stopping, a new event is
    refused instead (ServiceError "unavailable", nothing done): everything the worker started is
    answered before it closes the sockets, and the client sends again after reconnecting."""
    if _refusing:
        raise ServiceError(RESTARTING, code="unavailable")
    with _counted():
        yield


def refuse_new_events() -> None:
    """From now on, tracked() refuses new socket events (the worker is stopping)."""
    global _refusing
    _refusing = True


def counting(wsgi_app):
    """Wrap the Flask app so each HTTP request it serves is counted (Engine.IO's long polls, which
    Flask-SocketIO answers before Flask, are not: their events are counted by their handlers)."""

    def counted(environ, start_response):
        with _counted():
            return wsgi_app(environ, start_response)

    return counted


def wait_until_idle(timeout: float) -> bool:
    """Wait until nothing is in flight, at most `timeout` seconds; True if none is left."""
    deadline = time.monotonic() + timeout
    while _count and time.monotonic() < deadline:
        socketio.sleep(0.05)
    return _count == 0
