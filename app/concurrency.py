"""The async server's concurrency: which green library runs this process, and running blocking,
CPU-heavy work without stalling that library's other clients.

Work runs in lanes, each with slots of its own, so one kind of work can never take another's:
password hashing (HASHING) keeps every core but one whatever else is going on; checking uploaded
files (FILES) has a slot of its own; pictures are decoded in subprocesses (app.services.pictures),
at most PICTURE_WORKERS at once, in the PICTURES lane.
"""

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

HASHING = "hashing"
FILES = "files"
PICTURES = "pictures"

_lanes: dict[str, threading.BoundedSemaphore] = {}


def green_library() -> str | None:
    """The green library run.py patched this process for ("eventlet" or "gevent"), else None."""
    if "gevent.monkey" in sys.modules and sys.modules["gevent.monkey"].is_module_patched("socket"):
        return "gevent"
    if "eventlet.patcher" in sys.modules and sys.modules["eventlet.patcher"].is_monkey_patched("socket"):
        return "eventlet"
    return None


def lane(name: str, slots: int | None = None) -> threading.BoundedSemaphore:
    """The slots of lane `name`: HASHING gets every core but one (which stays with the event loop),
    FILES one, any other lane `slots` (given on first use). Made on first use, after run.py's
    patching, so that waiting for a slot is green."""
    if name not in _lanes:
        size = {HASHING: max(1, (os.cpu_count() or 2) - 1), FILES: 1}.get(name, slots)
        _lanes[name] = threading.BoundedSemaphore(max(1, size or 1))
    return _lanes[name]


def run_blocking(fn: Callable[..., T], *args, lane_name: str = HASHING, **kwargs) -> T:
    """Call fn in a real thread of the green library's pool when the server is green, else directly.

    Password hashing (scrypt at OWASP cost takes a few hundred milliseconds of CPU) releases the GIL,
    so in a real thread it leaves the event loop free to serve every other socket meanwhile. Jobs
    beyond their lane's slots wait their turn: a burst of logins queues instead of starving the loop,
    and a burst of uploads (lane_name=FILES) queues behind its own slot, never behind a login's.
    """
    library = green_library()
    if library is None:
        return fn(*args, **kwargs)
    with lane(lane_name):
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
