"""Group commit (app/group_commit.py): sends waiting together are written in one transaction by the
writer, each answered only after its batch committed; a refused send fails alone, an unexpected
error sends the batch one by one. On SQLite and PostgreSQL, with the writer in a thread of its own
and each caller in another, as the serving worker runs it with greenlets."""

import threading
import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.group_commit import group_commit
from app.models import Message, User
from app.services import ServiceError, messaging
from tests import test_transactions
from tests.test_transactions import committed, received

pair = test_transactions.pair  # ana and bob's chat, and bob's tab

WAIT = 10
GATE = -1  # the gate job's order key: no conversation's


class Writer:
    """The app's writer serving in a thread, held shut by a gate job so the next ones pile up."""

    def __init__(self, app, writers: int = 1):
        self.app = app
        self.writer = group_commit(app)
        self.threads = [threading.Thread(target=self.writer.serve, args=(app,), daemon=True) for _ in range(writers)]
        for thread in self.threads:
            thread.start()
        self.calls: list[threading.Thread] = []
        self.outcomes: dict[int, object] = {}
        self.gate = threading.Event()
        self.submit(lambda: self.gate.wait(WAIT) and {}, GATE)  # the first batch: it waits here
        self._wait_for(lambda: self.writer.waiting == 0)

    def submit(self, work, order_key: int = 0, then=None, stays_queued: bool = True) -> int:
        """Hand `work` to the writer from a thread of its own (which calls `then()` as soon as it is
        answered); return its number (arrival order). `stays_queued`: wait until it is queued
        (no writer is free to take it), so the next one arrives after it."""
        number = len(self.calls)
        queued = self.writer.waiting

        def call():
            try:
                self.outcomes[number] = self.writer.run(work, order_key)
                if then:
                    then()
            except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
                self.outcomes[number] = error

        thread = threading.Thread(target=call, daemon=True)
        self.calls.append(thread)
        thread.start()
        if number and stays_queued:
            self._wait_for(lambda: self.writer.waiting > queued)  # queued before the next one
        return number

    def release(self) -> dict[int, object]:
        """Open the gate; wait for every call's outcome."""
        self.gate.set()
        for thread in self.calls:
            thread.join(WAIT)
        return self.outcomes

    def stop(self) -> None:
        self.gate.set()
        self.writer.stop()
        for thread in self.threads:
            thread.join(WAIT)

    @staticmethod
    def _wait_for(condition) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            assert time.monotonic() < deadline, "the writer did not take the job"
            time.sleep(0.005)


@pytest.fixture
def writer(app):
    serving = Writer(app)
    yield serving
    serving.stop()


def send(user_id: int, chat: int, body: str, client_id: str):
    """A send as the socket handler hands it to the writer: run in the writer's own session."""
    return lambda: messaging.send_message(db.session.get(User, user_id), chat, body, client_id)[0]


def stored(app, chat: int) -> list[tuple[int, str, str]]:
    return [
        (row.seq, row.body, row.client_id)
        for row in committed_rows(app, select(Message).where(Message.conversation_id == chat).order_by(Message.seq))
    ]


def committed_rows(app, query):
    with app.app_context():
        return list(db.session.execute(query).scalars())


def test_sends_waiting_together_commit_as_one_batch_in_arrival_order(app, pair, writer):
    ana, bob, chat, tab = pair
    batches, jobs = writer.writer.batches, writer.writer.jobs
    for number in range(12):
        sender = ana if number % 3 else bob
        writer.submit(send(sender, chat, f"m{number}", f"c{number}"), chat)
    outcomes = writer.release()
    # The gate's batch, then one for the twelve.
    assert (writer.writer.batches - batches, writer.writer.jobs - jobs) == (2, 13)
    assert [outcomes[n]["seq"] for n in range(1, 13)] == list(range(1, 13))
    assert stored(app, chat) == [(n + 1, f"m{n}", f"c{n}") for n in range(12)]
    assert [m["client_id"] for m in received(tab, "message")] == [f"c{n}" for n in range(12)]


def test_each_send_is_answered_only_once_its_batch_is_committed(app, pair, writer):
    ana, _bob, chat, _tab = pair
    query = select(Message.client_id).where(Message.conversation_id == chat)
    seen_when_answered = []
    look = lambda: seen_when_answered.extend(committed(app, query))  # noqa: E731
    writer.submit(send(ana, chat, "looked", "c-look"), chat, then=look)
    assert committed(app, query) == []
    writer.release()
    assert seen_when_answered == ["c-look"]


def test_a_refused_send_fails_alone_and_leaves_no_hole(app, pair, writer):
    ana, _bob, chat, tab = pair
    writer.submit(send(ana, chat, "first", "c1"), chat)
    refused = writer.submit(send(ana, chat, "x" * 100_000, "c2"), chat)
    writer.submit(send(ana, chat, "third", "c3"), chat)
    outcomes = writer.release()
    assert isinstance(outcomes[refused], ServiceError) and outcomes[refused].code == "too_long"
    assert stored(app, chat) == [(1, "first", "c1"), (2, "third", "c3")]
    assert [m["client_id"] for m in received(tab, "message")] == ["c1", "c3"]


class Broken(Exception):
    """What a job raises after writing: not a refusal, so the batch is written again one by one."""


def test_an_unexpected_error_sends_the_batch_one_by_one_and_fails_only_its_job(app, pair, writer):
    ana, _bob, chat, tab = pair
    batches = writer.writer.batches

    def writes_then_breaks():
        send(ana, chat, "broken", "c-broken")()
        raise Broken

    writer.submit(send(ana, chat, "first", "c1"), chat)
    broken = writer.submit(writes_then_breaks, chat)
    writer.submit(send(ana, chat, "third", "c3"), chat)
    outcomes = writer.release()
    assert isinstance(outcomes[broken], Broken)
    assert [outcomes[n]["seq"] for n in (1, 3)] == [1, 2]
    assert stored(app, chat) == [(1, "first", "c1"), (2, "third", "c3")]
    # The failed batch sent nothing; each of the good ones went out once, after its own commit.
    assert [m["client_id"] for m in received(tab, "message")] == ["c1", "c3"]
    assert writer.writer.batches - batches == 3  # the gate, then the two good ones alone


def test_a_client_id_sent_twice_in_one_batch_is_stored_once(app, pair, writer):
    ana, _bob, chat, tab = pair
    first = writer.submit(send(ana, chat, "once", "same"), chat)
    again = writer.submit(send(ana, chat, "once", "same"), chat)
    after = writer.submit(send(ana, chat, "next", "other"), chat)
    outcomes = writer.release()
    assert outcomes[first]["id"] == outcomes[again]["id"]
    assert outcomes[after]["seq"] == 2  # the copy gave its seq back
    assert stored(app, chat) == [(1, "once", "same"), (2, "next", "other")]
    assert [m["client_id"] for m in received(tab, "message")] == ["same", "other"]


def test_a_refusal_after_a_write_sends_the_batch_one_by_one(app, pair, writer):
    """No savepoint guards a job: one refused after it wrote is undone by its own transaction."""
    ana, _bob, chat, tab = pair
    batches = writer.writer.batches

    def writes_then_refuses():
        send(ana, chat, "undone", "c-undone")()
        raise ServiceError("Refused after writing.", code="not_allowed")

    writer.submit(send(ana, chat, "first", "c1"), chat)
    refused = writer.submit(writes_then_refuses, chat)
    writer.submit(send(ana, chat, "third", "c3"), chat)
    outcomes = writer.release()
    assert outcomes[refused].code == "not_allowed"
    assert stored(app, chat) == [(1, "first", "c1"), (2, "third", "c3")]
    assert [m["client_id"] for m in received(tab, "message")] == ["c1", "c3"]
    assert writer.writer.batches - batches == 3  # the gate, then the two good ones alone


def test_batches_take_conversations_in_one_order_keeping_arrival_order_within_each(app, pair, writer):
    ana, _bob, chat, _tab = pair
    other = messaging_group(app, ana)
    for number, conversation in enumerate((other, chat, other, chat)):
        writer.submit(send(ana, conversation, f"m{number}", f"c{number}"), conversation)
    outcomes = writer.release()
    first, second = sorted((chat, other))
    ids = [outcomes[n]["id"] for n in range(1, 5)]
    by_id = sorted(range(1, 5), key=lambda n: ids[n - 1])
    assert [outcomes[n]["conversation_id"] for n in by_id] == [first, first, second, second]
    assert [m[1] for m in stored(app, other)] == ["m0", "m2"]
    assert [m[1] for m in stored(app, chat)] == ["m1", "m3"]


def messaging_group(app, owner_id: int) -> int:
    """A group of the owner alone."""
    from app.services import conversations
    from app.transactions import transaction

    with app.test_request_context(), transaction():
        return conversations.create_group(db.session.get(User, owner_id), "Solo", []).id


def test_without_a_writer_a_send_runs_as_a_batch_of_one_in_the_caller(app, pair):
    ana, _bob, chat, tab = pair
    writer = group_commit(app)
    with app.test_request_context():
        message = writer.run(send(ana, chat, "inline", "c-inline"), chat)
        with pytest.raises(ServiceError):
            writer.run(send(ana, chat, "", "c-empty"), chat)
    assert message["seq"] == 1
    assert stored(app, chat) == [(1, "inline", "c-inline")]
    assert [m["client_id"] for m in received(tab, "message")] == ["c-inline"]


def test_a_batch_held_up_holds_up_its_own_conversations_only(app, pair):
    """With two writers: while one is held inside a job of the chat, a send to another conversation
    is written by the other writer; the chat's next send waits for the first, in order."""
    ana, _bob, chat, _tab = pair
    other = messaging_group(app, ana)
    serving = Writer(app, writers=2)
    serving.gate.set()  # both writers free
    try:
        started, held = threading.Event(), threading.Event()

        def held_send():
            started.set()
            held.wait(WAIT)
            return send(ana, chat, "first", "c-first")()

        first = serving.submit(held_send, chat, stays_queued=False)
        assert started.wait(WAIT)  # the second writer took it
        after = serving.submit(send(ana, chat, "second", "c-second"), chat)
        elsewhere = serving.submit(send(ana, other, "elsewhere", "c-else"), other, stays_queued=False)
        serving.calls[elsewhere].join(WAIT)
        assert serving.outcomes[elsewhere]["seq"] == 1  # written while the chat's batch is held
        assert after not in serving.outcomes and first not in serving.outcomes
        held.set()
        outcomes = serving.release()
        assert [outcomes[first]["seq"], outcomes[after]["seq"]] == [1, 2]
    finally:
        serving.stop()
