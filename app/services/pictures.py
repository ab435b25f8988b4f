"""Picture work: every uploaded picture (avatars, chat pictures) is decoded and re-encoded in a
subprocess of its own (app/picture_worker.py), never in the server's process.

The subprocess limits its own CPU time (PICTURE_CPU_SECONDS; the kernel ends it past that) and runs
below the server's priority; the server waits for it greenly, in the PICTURES lane (at most
PICTURE_WORKERS at once), which never takes password hashing's slots. A picture that would take too
long is refused with the reason and nothing is stored. Each user has one picture in flight at a
time: across workers with REDIS_URL, per worker without.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from flask import current_app

from app import picture_worker
from app.concurrency import PICTURES, lane
from app.services import ServiceError, release_db_connection

log = logging.getLogger(__name__)

WORKER = Path(picture_worker.__file__).resolve()
TOO_SLOW = "This picture takes too long to process; try a smaller one."
STILL_BUSY = "Your previous picture is still being processed. Wait until it is done, then try again."
SERVER_BUSY = "The server is busy with other pictures. Try again in a minute."
FAILED = "That picture could not be processed."
# All the worker gets of the server's environment: never its secrets (SECRET_KEY, DATABASE_URL, ...).
WORKER_ENVIRONMENT = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "TMPDIR")
# Killed for its CPU time (SIGXCPU at the soft limit, SIGKILL at the hard one) or by our deadline.
KILLED = {-signal.SIGXCPU, -signal.SIGKILL}
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


def avatar(user_id: int, data: bytes, field: str) -> bytes:
    """The picture as a square WebP avatar without metadata (see picture_worker.avatar)."""
    _, (encoded,) = process(user_id, "avatar", data, field)
    return encoded


def attachment(user_id: int, data: bytes, picture_format: str, field: str) -> tuple[bytes, int, int, bytes]:
    """A chat picture re-encoded in its format without metadata: (bytes, width, height, thumbnail)."""
    header, (encoded, thumbnail) = process(user_id, picture_format, data, field)
    return encoded, header["width"], header["height"], thumbnail


def link_preview(data: bytes) -> tuple[bytes, int, int]:
    """A link preview's fetched image as a WebP without metadata, at most 600 px a side: (bytes,
    width, height). In the PICTURES lane like every picture, but not in anyone's one-at-a-time slot
    (the fetch runs after the send, for no request); ServiceError as process() raises it."""
    cpu_seconds = current_app.config["PICTURE_CPU_SECONDS"]
    deadline = wall_seconds(cpu_seconds)
    slots = lane(PICTURES, current_app.config["PICTURE_WORKERS"])
    if not slots.acquire(timeout=deadline):
        raise ServiceError(SERVER_BUSY, "image", code="unavailable")
    try:
        header, (encoded,) = _run("preview", data, "image", cpu_seconds, deadline)
    finally:
        slots.release()
    return encoded, header["width"], header["height"]


def wall_seconds(cpu_seconds: int) -> int:
    """How long a job may take by the clock: its CPU time, with room for a busy machine (the worker
    runs below the server's priority, so it gets the cores last)."""
    return 4 * cpu_seconds + 10


def process(user_id: int, job: str, data: bytes, field: str) -> tuple[dict, list[bytes]]:
    """Run picture_worker job `job` on `data` for user `user_id`: (header, parts).

    Refused with ServiceError on `field`, nothing done: `busy` while the user has another picture in
    flight, `unavailable` when no worker frees up in time, `too_slow` when the job exceeds its CPU
    time or deadline, `invalid` for a picture the worker refuses (with its reason) or fails on.
    """
    cpu_seconds = current_app.config["PICTURE_CPU_SECONDS"]
    deadline = wall_seconds(cpu_seconds)
    with one_at_a_time(user_id, field, seconds=2 * deadline + 10):
        release_db_connection()  # a job may take seconds: hand the pooled connection back meanwhile
        slots = lane(PICTURES, current_app.config["PICTURE_WORKERS"])
        if not slots.acquire(timeout=deadline):
            raise ServiceError(SERVER_BUSY, field, code="unavailable")
        try:
            return _run(job, data, field, cpu_seconds, deadline)
        finally:
            slots.release()


def _run(job: str, data: bytes, field: str, cpu_seconds: int, deadline: int) -> tuple[dict, list[bytes]]:
    # Under eventlet and gevent the subprocess and threading modules are the green ones: waiting
    # here is green. (A timer rather than communicate's timeout: eventlet raises its own copy of
    # TimeoutExpired.)
    try:
        worker = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), job, str(cpu_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={name: os.environ[name] for name in WORKER_ENVIRONMENT if name in os.environ},
        )
    except OSError:  # no process to be had (out of memory or process slots): like a full lane
        log.exception("picture job %s could not start", job)
        raise ServiceError(SERVER_BUSY, field, code="unavailable") from None
    watchdog = threading.Timer(deadline, worker.kill)
    watchdog.start()
    try:
        output, errors = worker.communicate(data)
    finally:
        watchdog.cancel()
    if worker.returncode in KILLED:
        log.warning("picture job %s passed its %s s of CPU time or %s s deadline", job, cpu_seconds, deadline)
        raise ServiceError(TOO_SLOW, field, code="too_slow")
    line, _, rest = output.partition(b"\n")
    try:
        header = json.loads(line)
        sizes = header.get("sizes", []) if header["ok"] else []
    except (ValueError, KeyError, AttributeError):
        header, sizes = None, []
    if worker.returncode != 0 or header is None or sum(sizes) != len(rest):
        reason = errors[-2000:].decode(errors="replace")
        log.error("picture job %s failed (exit %s): %s", job, worker.returncode, reason)
        raise ServiceError(FAILED, field)
    if not header["ok"]:
        raise ServiceError(header["message"], field)
    parts, start = [], 0
    for size in sizes:
        parts.append(rest[start : start + size])
        start += size
    return header, parts


@contextmanager
def one_at_a_time(user_id: int, field: str, seconds: int) -> Iterator[None]:
    """Hold the user's one picture slot for the block; ServiceError `busy` when another request of
    theirs holds it. In Redis (with REDIS_URL, for `seconds` at most) it holds across workers; in the
    worker's memory otherwise, or while Redis is unreachable."""
    release = _take_in_redis(user_id, seconds)
    if release is False:
        release = _take_locally(user_id)
    if release is None:
        raise ServiceError(STILL_BUSY, field, code="busy")
    try:
        yield
    finally:
        release()


def _take_in_redis(user_id: int, seconds: int) -> Callable[[], None] | None | bool:
    """A release function when the slot was taken in Redis, None when it is taken already, False
    without Redis (or when it is unreachable)."""
    store = current_app.extensions.get("redis")
    if store is None:
        return False
    key = f"{current_app.config['REDIS_KEY_PREFIX']}:picture-in-flight:{user_id}"
    token = uuid.uuid4().hex
    try:
        if not store.set(key, token, nx=True, ex=seconds):
            return None
    except redis.RedisError:
        log.warning("Redis unavailable: one picture at a time is kept per worker", exc_info=True)
        return False

    def release() -> None:
        try:
            store.eval(_RELEASE, 1, key, token)
        except redis.RedisError:
            log.warning("Redis unavailable: the picture slot expires on its own", exc_info=True)

    return release


def _take_locally(user_id: int) -> Callable[[], None] | None:
    """A release function when the slot was taken in this worker, None when it is taken already."""
    with _in_flight_lock:
        if user_id in _in_flight:
            return None
        _in_flight.add(user_id)
    return lambda: _in_flight.discard(user_id)
