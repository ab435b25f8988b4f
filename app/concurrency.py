"""Running blocking, CPU-heavy work without stalling the async server's other clients."""

from collections.abc import Callable
from typing import TypeVar

from eventlet import patcher, tpool

T = TypeVar("T")


def run_blocking(fn: Callable[..., T], *args, **kwargs) -> T:
    """Call fn in eventlet's thread pool when the server is green, else call it directly.

    Password hashing (scrypt at OWASP cost takes a few hundred milliseconds) releases the GIL, so in
    a real thread it leaves the event loop free to serve every other socket meanwhile.
    """
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)
