"""The async server's concurrency: which green library runs this process, and running blocking,
CPU-heavy work without stalling that library's other clients."""

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def green_library() -> str | None:
    """ "eventlet" or "gevent" when run.py monkey-patched this process for it, else None (CLI, tests)."""
    if "gevent.monkey" in sys.modules and sys.modules["gevent.monkey"].is_module_patched("socket"):
        return "gevent"
    if "eventlet.patcher" in sys.modules and sys.modules["eventlet.patcher"].is_monkey_patched("socket"):
        return "eventlet"
    return None


def run_blocking(fn: Callable[..., T], *args, **kwargs) -> T:
    """Call fn in a real thread of the green library's pool when the server is green, else directly.

    Password hashing (scrypt at OWASP cost takes a few hundred milliseconds) releases the GIL, so in
    a real thread it leaves the event loop free to serve every other socket meanwhile.
    """
    library = green_library()
    if library == "eventlet":
        from eventlet import tpool

        return tpool.execute(fn, *args, **kwargs)
    if library == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)
