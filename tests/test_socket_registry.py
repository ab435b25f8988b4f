"""The socket registry: open sockets by user and by session, in memory (one worker) or in Redis
(several workers), with the same answers from both; and the Redis heartbeat that clears away the
sockets of a worker that died."""

import threading
import uuid

import pytest
import redis

from app.services.socket_registry import DEAD_AFTER_SECONDS, MemoryRegistry, RedisRegistry, TooManySockets


@pytest.fixture
def redis_prefix(redis_url):
    """A key prefix of this test's own in the test Redis, deleted afterwards."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex[:12]}:sockets"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def registry(request):
    """A registry of each kind."""
    if request.param == "memory":
        return MemoryRegistry()
    client, prefix = request.getfixturevalue("redis_prefix")
    return RedisRegistry(client, prefix)


def test_the_first_socket_of_a_user_brings_them_online_and_the_last_takes_them_off(registry):
    assert registry.add("s1", 7, "session-a") is True
    assert registry.add("s2", 7, "session-b") is False
    assert registry.add("s3", 8, "session-c") is True
    assert registry.online([7, 8, 9]) == {7, 8}

    assert registry.remove("s1") == (7, False)
    assert registry.online([7]) == {7}
    assert registry.remove("s2") == (7, True)
    assert registry.online([7, 8]) == {8}


def test_sockets_are_found_by_user_and_by_session(registry):
    registry.add("s1", 7, "session-a")
    registry.add("s2", 7, "session-a")
    registry.add("s3", 7, "session-b")
    registry.add("s4", 8, "session-c")
    assert sorted(registry.user_sockets(7)) == ["s1", "s2", "s3"]
    assert sorted(registry.session_sockets("session-a")) == ["s1", "s2"]
    registry.remove("s2")
    assert sorted(registry.session_sockets("session-a")) == ["s1"]
    assert registry.user_sockets(9) == [] and registry.session_sockets("nobody") == []
    assert sorted(registry.users_sockets([7, 8, 9])) == ["s1", "s3", "s4"]
    assert registry.users_sockets([]) == [] and registry.users_sockets([9]) == []


def test_an_unknown_or_repeated_removal_changes_nothing(registry):
    registry.add("s1", 7, "session-a")
    assert registry.remove("never-added") == (None, False)
    assert registry.remove("s1") == (7, True)
    assert registry.remove("s1") == (None, False)
    assert registry.online([7]) == set()


def test_a_user_or_an_address_at_its_cap_gets_no_more_sockets(registry):
    """Over max_per_user or max_per_address nothing is recorded; a closed socket frees a place."""
    for index in range(3):
        registry.add(f"a{index}", 7, "session-a", "10.0.0.1", max_per_user=3, max_per_address=5)
    with pytest.raises(TooManySockets) as refused:
        registry.add("a3", 7, "session-a", "10.0.0.2", max_per_user=3, max_per_address=5)
    assert refused.value.kind == "user" and len(registry.user_sockets(7)) == 3
    registry.add("b0", 8, "session-b", "10.0.0.1", max_per_user=3, max_per_address=5)
    registry.add("b1", 8, "session-b", "10.0.0.1", max_per_user=3, max_per_address=5)
    with pytest.raises(TooManySockets) as refused:
        registry.add("c0", 9, "session-c", "10.0.0.1", max_per_user=3, max_per_address=5)
    assert refused.value.kind == "address" and registry.online([9]) == set()
    registry.remove("a0")
    assert registry.add("c0", 9, "session-c", "10.0.0.1", max_per_user=3, max_per_address=5) is True
    registry.add("a3", 7, "session-a", "10.0.0.1", max_per_user=3)  # no cap on the address: 0


def test_a_user_back_within_the_grace_never_left(registry):
    """The last socket closing with a grace marks the user as leaving: a socket opened meanwhile is
    not "came online", and finishing that leave then says they did not go. Without a socket by the
    end, finishing says they went, once."""
    assert registry.add("s1", 7, "session-a") is True
    user_id, last, token = registry.leave("s1", 30)
    assert (user_id, last) == (7, True) and token
    assert registry.online([7]) == {7}  # still online, as far as anyone is told, during the grace
    assert registry.add("s2", 7, "session-a") is False  # back within the grace: nothing to announce
    assert registry.finish_leaving(7, token) is False

    _user, _last, token = registry.leave("s2", 30)
    assert registry.finish_leaving(7, "an older leave's token") is False  # the pending leave decides
    assert registry.finish_leaving(7, token) is True
    assert registry.online([7]) == set()
    assert registry.add("s3", 7, "session-a") is True  # a later first socket comes online again
    assert registry.leave("s3", 0) == (7, True, None)  # no grace: no mark


def test_the_caps_hold_across_workers(redis_prefix):
    """Two workers adding sockets of one user at once never let more than the cap in."""
    client, prefix = redis_prefix
    workers = [RedisRegistry(client, prefix), RedisRegistry(client, prefix)]
    admitted = []

    def open_many(worker: RedisRegistry, name: str) -> None:
        for index in range(15):
            try:
                worker.add(f"{name}-{index}", 7, name, "10.0.0.1", max_per_user=20)
                admitted.append(name)
            except TooManySockets:
                pass

    threads = [threading.Thread(target=open_many, args=(worker, f"w{i}")) for i, worker in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(admitted) == 20 and len(workers[0].user_sockets(7)) == 20


def test_two_workers_adding_and_removing_at_once_keep_an_exact_count(redis_prefix):
    """Two registries (two workers) open and close sockets of one user concurrently: every time the
    user came online (a first socket) is matched by one time they went offline (a last socket), and
    they end offline."""
    client, prefix = redis_prefix
    workers = [RedisRegistry(client, prefix), RedisRegistry(client, prefix)]
    firsts, lasts = [], []

    def churn(worker: RedisRegistry, name: str) -> None:
        sids = [f"{name}-{i}" for i in range(50)]
        firsts.extend(worker.add(sid, 7, name) for sid in sids)
        lasts.extend(worker.remove(sid)[1] for sid in sids)

    threads = [threading.Thread(target=churn, args=(worker, f"w{i}")) for i, worker in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert len(firsts) == len(lasts) == 100
    assert workers[0].online([7]) == set() and workers[0].user_sockets(7) == []
    assert firsts.count(True) == lasts.count(True)
    assert firsts.count(True) >= 1


def test_the_sockets_of_a_dead_worker_are_swept_and_their_users_go_offline(redis_prefix):
    """Worker A stops beating; B's next heartbeat removes A's sockets and reports the users who are
    now offline everywhere (not those who still have a socket on B)."""
    client, prefix = redis_prefix
    a, b = RedisRegistry(client, prefix), RedisRegistry(client, prefix)
    a.heartbeat()
    b.heartbeat()
    a.add("a1", 5, "session-1")
    a.add("a2", 7, "session-2")
    b.add("b1", 5, "session-3")

    assert b.heartbeat() == []  # A is alive
    make_silent(client, prefix, a)
    assert b.heartbeat() == [7]
    assert b.online([5, 7]) == {5}
    assert b.user_sockets(5) == ["b1"]
    assert b.heartbeat() == []  # swept once


def test_a_worker_swept_after_a_stall_registers_its_sockets_again(redis_prefix):
    client, prefix = redis_prefix
    a, b = RedisRegistry(client, prefix), RedisRegistry(client, prefix)
    a.heartbeat()
    a.add("a1", 7, "session-1")
    make_silent(client, prefix, a)
    assert b.heartbeat() == [7]
    assert b.online([7]) == set()

    a.heartbeat()  # A wakes up: its socket is still open
    assert b.online([7]) == {7}
    assert a.remove("a1") == (7, True)


def make_silent(client: redis.Redis, prefix: str, worker: RedisRegistry) -> None:
    """Make the worker's last heartbeat look older than the dead-after limit."""
    seconds, _micro = client.time()
    client.zadd(f"{prefix}:workers", {worker.worker_id: seconds - DEAD_AFTER_SECONDS - 1})
