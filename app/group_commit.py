"""Group commit: sends that arrive together are written by one writer in one transaction.

A socket event that stores a message hands its work to this worker's writer (`run()`) and waits.
The writer takes every job waiting (at most BATCH_MAX), runs them in one transaction and commits
once; the events the jobs queued go out after that commit, and only then
is each job's caller woken to acknowledge it. So one commit (and one write lock of SQLite) serves
a whole burst, and an ack still means stored.

A job that raises a ServiceError (bad input, no permission) before it wrote anything is refused
alone and its neighbours go on: it needs no savepoint (the engine counts the statements that may
write, `count_writes`). A refusal after a write, and anything else (a database error, a failed
commit, a deadlock on PostgreSQL) rolls the whole batch back, and its jobs are run again one by one, each in its own
transaction, so a bad one fails alone. Jobs run in the order they arrived, sorted stably by their
`order_key` (the conversation): seq order within a conversation is arrival order, and batches of
several workers lock conversations in one order.

A worker runs GROUP_COMMIT_WRITERS writers (one on SQLite, whose writes take turns anyway).
Without a writer running (the Flask-SocketIO test client, a CLI command) `run()` does the same as
a batch of one, in the caller's context.
"""

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app

from app import events
from app.extensions import db
from app.services import ServiceError
from app.transactions import transaction

log = logging.getLogger(__name__)

BATCH_MAX = 64  # jobs per transaction: bounds how long one batch holds the write lock


@dataclass(slots=True)
class _Job:
    work: Callable[[], object]
    order_key: int
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class GroupCommit:
    """This worker's writers of grouped work, and the queue in front of them."""

    def __init__(self):
        self._waiting: deque[_Job] = deque()
        self._owned: set[int] = set()  # the order keys a writer is writing right now
        self._changed = threading.Condition()
        self._writers = 0
        self._stopping = False
        self.batches = 0  # counted for tests and the bench: batches committed, jobs they held
        self.jobs = 0

    def run(self, work: Callable[[], object], order_key: int = 0):
        """Run `work` (no arguments; it writes through db.session, never commits) in the next batch
        and return its result once that batch has committed; raise what it raised. Called in a
        socket event's handler, which holds no transaction of its own."""
        job = _Job(work, order_key)
        if not self._writers:
            self._write([job])
        else:
            with self._changed:
                self._waiting.append(job)
                self._changed.notify()
            job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def serve(self, app: Flask) -> None:
        """One writer's loop (a background task of the serving worker) until stop(). Several may
        run: a writer takes the jobs of conversations no other writer is writing, so a batch held
        up (a lock on PostgreSQL) holds up its own conversations only, and each conversation's jobs
        are written in the order they arrived."""
        with self._changed:
            self._writers += 1
            self._stopping = False
        try:
            while (taken := self._take()) is not None:
                batch, keys = taken
                try:
                    with app.app_context():
                        try:
                            self._write(batch)
                        finally:
                            db.session.remove()
                except BaseException as error:  # noqa: BLE001 - every waiter is answered, the loop goes on
                    log.exception("a batch of grouped writes failed")
                    for job in batch:
                        if job.result is None and job.error is None:
                            job.error = error
                finally:
                    with self._changed:
                        self._owned -= keys
                        self._changed.notify_all()
                    for job in batch:
                        job.done.set()
        finally:
            with self._changed:
                self._writers -= 1

    def _take(self) -> tuple[list[_Job], set[int]] | None:
        """The next batch: up to BATCH_MAX waiting jobs of keys no writer owns, in arrival order,
        and their keys (now owned); None once stopping with nothing left."""
        with self._changed:
            while True:
                batch, kept, keys = [], deque(), set()
                for job in self._waiting:
                    if len(batch) < BATCH_MAX and job.order_key not in self._owned:
                        batch.append(job)
                        keys.add(job.order_key)
                    else:
                        kept.append(job)
                if batch:
                    self._waiting = kept
                    self._owned |= keys
                    return batch, keys
                if self._stopping and not self._waiting:
                    return None
                self._changed.wait()

    def stop(self) -> None:
        """End the writers once the jobs waiting are written; later jobs run in their callers.
        Call it once no more jobs come."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    @property
    def waiting(self) -> int:
        """How many jobs wait for a writer."""
        return len(self._waiting)

    def _write(self, batch: list[_Job]) -> None:
        if len(batch) == 1:  # no neighbours to spare: no savepoint
            job = batch[0]
            job.result = job.error = None
            try:
                with transaction():
                    job.result = job.work()
            except Exception as error:  # noqa: BLE001 - the caller answers it, as it would its own
                job.result, job.error = None, error
                return
            self._count(1)
            return
        batch.sort(key=lambda job: job.order_key)  # stable: arrival order within a key
        try:
            with transaction():
                connection = db.session.connection()
                for job in batch:
                    before = _marks(connection)
                    try:
                        job.result = job.work()
                    except ServiceError as error:
                        if _marks(connection) != before:
                            raise _RefusedAfterWriting from error
                        job.result, job.error = None, error
        except Exception:  # noqa: BLE001 - one of them is bad, or the commit failed: each alone
            log.warning("a batch of %d grouped writes failed: writing them one by one", len(batch), exc_info=True)
            for job in batch:
                self._write([job])
            return
        self._count(len(batch))

    def _count(self, jobs: int) -> None:
        self.batches += 1
        self.jobs += jobs


class _RefusedAfterWriting(Exception):
    """A job refused after it wrote or queued something: only its own transaction can undo that."""


WRITES = "group_commit.writes"


def count_writes(connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    """The engine's before_cursor_execute listener: count the statements that may write."""
    if not statement.startswith(("SELECT", "SAVEPOINT", "RELEASE")):
        connection.info[WRITES] = connection.info.get(WRITES, 0) + 1


def _marks(connection) -> tuple[int, int]:
    return connection.info.get(WRITES, 0), events.pending_count()


def group_commit(app: Flask | None = None) -> GroupCommit:
    """The app's writer (app.extensions["group_commit"])."""
    return (app or current_app).extensions["group_commit"]
