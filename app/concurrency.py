"""The async server's concurrency: which green library runs this process, and running blocking,
CPU-heavy work without stalling that library's other clients."""

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_slots: threading.BoundedSemaphore | None = None


def green_library() -> str | None:
    """The green library run.py patched this process for ("eventlet" or "gevent"), else None."""
    if "gevent.monkey" in sys.modules and sys.modules["gevent.monkey"].is_module_patched("socket"):
        return "gevent"
    if "eventlet.patcher" in sys.modules and sys.modules["eventlet.patcher"].is_monkey_patched("socket"):
        return "eventlet"
    return None


def _job_slots() -> threading.BoundedSemaphore:
    """How many blocking jobs may run at once: every core but one, which stays with the event loop.
    Made on first use, after run.py's patching, so that waiting for a slot is green."""
    global _slots
    if _slots is None:
        _slots = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) - 1))
    return _slots


def run_blocking(fn: Callable[..., T], *args, **kwargs) -> T:
    """Call fn in a real thread of the green library's pool when the server is green, else directly.

    Password hashing (scrypt at OWASP cost takes a few hundred milliseconds of CPU) releases the GIL,
    so in a real thread it leaves the event loop free to serve every other socket meanwhile. Jobs
    beyond the free cores wait their turn: a burst of logins queues instead of starving the loop.
    """
    library = green_library()
    if library is None:
        return fn(*args, **kwargs)
    with _job_slots():
        if library == "eventlet":
            from eventlet import tpool

            return tpool.execute(fn, *args, **kwargs)
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args, kwargs)


def cooperate() -> None:
    """Let the green loop serve its other clients before going on (a no-op when the server is not
    green). For long CPU work in steps: between two steps, nothing else can run otherwise."""
    library = green_library()
    if library == "eventlet":
        import eventlet

        eventlet.sleep(0)
    elif library == "gevent":
        import gevent

        gevent.sleep(0)
