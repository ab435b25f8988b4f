"""Sockets' identities (app/realtime/identities.py). Across workers, on a real Redis: ending a
socket held by another worker returns only once that worker has ended it, even when its listener
is slow; a changed user's copy is dropped on every worker. In one worker: which changes drop it."""

import threading
import time
import uuid

import pytest
import redis

from app import create_app
from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.realtime.identities import Identities
from app.services import accounts
from app.services.socket_registry import RedisRegistry
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, app_config, unique_username


@pytest.fixture
def workers(redis_url):
    """Two workers' Identities and registries over one Redis, under a prefix of their own."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-identities-{uuid.uuid4().hex[:12]}"
    pairs = []
    for _ in range(2):
        known, sockets = Identities(), RedisRegistry(client, prefix + ":sockets")
        pairs.append((known, sockets))
    yield client, prefix, pairs
    for known, _sockets in pairs:
        known.stop()
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def listen(known: Identities, client, prefix: str, sockets, delay: float) -> None:
    """Start `known`'s listener in a thread, handling each message `delay` seconds late (a busy worker)."""
    ready = threading.Event()

    def spawn(loop):
        def run():
            original = known._on_message

            def late(message):
                time.sleep(delay)
                original(message)

            known._on_message = late
            ready.set()
            loop()

        threading.Thread(target=run, daemon=True).start()

    known.listen(client, prefix, sockets, spawn)
    ready.wait(5)


def ana(user_id: int = 7) -> User:
    return User(id=user_id, username="ana", first_name="Ana", last_name="Lima", auth_version=1, password_hash="x")


def test_ending_a_socket_on_another_worker_returns_once_that_worker_has_ended_it(workers):
    client, prefix, [(first, first_sockets), (second, second_sockets)] = workers
    for known, sockets in ((first, first_sockets), (second, second_sockets)):
        listen(known, client, prefix, sockets, delay=0.3)
    second.remember("sid-on-second", ana(), "session-1")
    second_sockets.add("sid-on-second", 7, "session-key")
    first.remember("sid-on-first", ana(), "session-1")
    first_sockets.add("sid-on-first", 7, "session-key")

    started = time.monotonic()
    first.end(["sid-on-first", "sid-on-second"])
    assert time.monotonic() - started >= 0.3  # it waited for the slow worker's answer
    assert first.user_id_of("sid-on-first") is None
    assert second.user_id_of("sid-on-second") is None  # ended there before end() returned


def test_a_worker_that_does_not_answer_holds_the_end_up_for_a_bounded_time(workers, monkeypatch):
    client, prefix, [(first, first_sockets), (_second, second_sockets)] = workers
    monkeypatch.setattr("app.realtime.identities.END_WAIT_SECONDS", 0.5)
    listen(first, client, prefix, first_sockets, delay=0)
    second_sockets.add("sid-of-a-dead-worker", 7, "session-key")  # registered, but nobody listens
    started = time.monotonic()
    first.end(["sid-of-a-dead-worker"])
    assert 0.4 <= time.monotonic() - started < 3


def test_a_changed_user_is_loaded_again_on_every_worker(workers):
    client, prefix, [(first, first_sockets), (second, second_sockets)] = workers
    for known, sockets in ((first, first_sockets), (second, second_sockets)):
        listen(known, client, prefix, sockets, delay=0)
    second.remember("sid", ana(), "session-1")
    assert second._by_sid["sid"].user is not None
    first.user_changed([7])
    deadline = time.monotonic() + 5
    while second._by_sid["sid"].user is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert second._by_sid["sid"].user is None  # the next event loads the row again
    assert second.user_id_of("sid") == 7  # the socket itself goes on


def test_a_profile_change_drops_the_copy_a_last_seen_time_does_not(sqlite_databases):
    """The copy follows the columns events read: a new name loads the row again at the next event;
    the last-seen time every connect and disconnect writes keeps the copy."""
    url = sqlite_databases.create()
    app = create_app(app_config(url))
    known = app.extensions["socket_identities"]
    with app.test_request_context():
        with transaction():
            user = accounts.register_user(unique_username("ana"), TEST_PASSWORD)
        known.remember("sid", user, "session-1")
        with transaction():
            user.last_seen_at = utcnow()
        assert known._by_sid["sid"].user is not None
        with transaction():
            user.first_name = "Anna"
        assert known._by_sid["sid"].user is None
        with transaction():
            assert known.user_of("sid").first_name == "Anna"
        assert known._by_sid["sid"].user is not None  # copied again
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    sqlite_databases.drop(url)
