"""Socket events being handled right now, so a stopping worker can let them finish first."""

import time
from contextlib import contextmanager

from app.extensions import socketio

_count = 0


@contextmanager
def tracked():
    """Count the enclosed handler as in flight (greenlets switch only at I/O, so += is safe)."""
    global _count
    _count += 1
    try:
        yield
    finally:
        _count -= 1


def wait_until_idle(timeout: float) -> bool:
    """Wait until no event is in flight, at most `timeout` seconds; True if none is left."""
    deadline = time.monotonic() + timeout
    while _count and time.monotonic() < deadline:
        socketio.sleep(0.05)
    return _count == 0
