"""The per-user event budgets (app/event_budgets.py): token buckets in the worker's memory, shared
across workers through Redis by a periodic sync whose cost follows the keys held, not the events."""

import uuid

import pytest
import redis

from app.event_budgets import IDLE_SECONDS, EventBudgets, parse


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def admitted(budgets: EventBudgets, limits: str, key: str, count: int) -> int:
    """How many of `count` events in a row are admitted."""
    return sum(budgets.take(limits, "user-events", key) == 0 for _ in range(count))


def test_a_limit_string_is_one_bucket_per_part():
    assert parse("30/second;600/minute") == [(30, 30.0), (600, 10.0)]
    assert parse("5/minute") == [(5, 5 / 60)]


def test_a_burst_is_admitted_then_refused_with_the_wait_and_refilled_with_time(clock):
    budgets = EventBudgets(clock)
    assert admitted(budgets, "5/minute", "ana", 5) == 5
    wait = budgets.take("5/minute", "user-events", "ana")
    assert wait == pytest.approx(12.0)  # one token in 60 / 5 seconds
    clock.now += 11.9
    assert budgets.take("5/minute", "user-events", "ana") > 0  # a refusal spends nothing
    clock.now += 0.2
    assert budgets.take("5/minute", "user-events", "ana") == 0
    assert budgets.take("5/minute", "user-events", "bob") == 0  # another user's budget is their own


def test_the_burst_and_the_sustained_rate_both_hold(clock):
    """'3/second;6/minute': three at once, three more a second later, then one per 10 s."""
    budgets = EventBudgets(clock)
    limits = "3/second;6/minute"
    assert admitted(budgets, limits, "ana", 10) == 3
    clock.now += 1
    assert admitted(budgets, limits, "ana", 10) == 3
    clock.now += 1
    assert admitted(budgets, limits, "ana", 10) == 0  # six spent: the minute's bucket is empty
    clock.now += 8
    assert admitted(budgets, limits, "ana", 10) == 1  # it refills 6 a minute


def test_keys_unused_for_a_while_with_full_buckets_are_forgotten(clock):
    budgets = EventBudgets(clock)
    budgets.take("5/minute", "user-events", "ana")
    budgets.take("5/minute", "user-events", "bob")
    clock.now += IDLE_SECONDS
    budgets.take("5/minute", "user-events", "bob")
    budgets.forget_idle()
    assert len(budgets) == 2  # ana's spending was never synced: it stays
    budgets._entries[("user-events", "ana", "5/minute")].unsynced = 0
    budgets.forget_idle()
    assert len(budgets) == 1  # ana's bucket is full again and unused: gone; bob's was just used


def twin_level(client, prefix: str, key: str) -> float:
    """The tokens of the Redis twin of the "5/minute" bucket of `key`."""
    return float(client.hget(f"{prefix}:budget:user-events:{key}:5/minute:0", "tokens"))


@pytest.fixture
def shared(redis_url):
    """(client, prefix): a Redis and a key prefix of this test's own, removed afterwards."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-budgets-{uuid.uuid4().hex[:12]}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_workers_share_the_budget_after_one_sync_and_the_overdraft_is_waited_out(shared, clock):
    """Two workers, 5 a minute: between two syncs each admits from its own copy of the bucket (the
    documented overdraft); after a sync each holds what the other admitted, so the user waits out
    the debt on both."""
    client, prefix = shared
    first, second = EventBudgets(clock), EventBudgets(clock)
    for budgets in (first, second):
        budgets.take("5/minute", "user-events", "ana")
        budgets.sync(client, prefix)  # each reads the shared counter once
    assert admitted(first, "5/minute", "ana", 3) == 3
    assert admitted(second, "5/minute", "ana", 3) == 3  # 8 in all: over by what the other one admitted
    first.sync(client, prefix)
    second.sync(client, prefix)
    first.sync(client, prefix)
    for budgets in (first, second):
        assert budgets.take("5/minute", "user-events", "ana") > 0
    clock.now += 12 * 3  # the debt (3 tokens, at one per 12 s) is paid; the next token comes after it
    assert first.take("5/minute", "user-events", "ana") > 0
    clock.now += 12
    assert admitted(first, "5/minute", "ana", 2) == 1
    assert twin_level(client, prefix, "ana") == pytest.approx(-3, abs=0.1)  # the last one is paid next sync


def test_a_sync_costs_one_round_trip_however_many_events(shared, clock, monkeypatch):
    client, prefix = shared
    budgets = EventBudgets(clock)
    for user in range(20):
        admitted(budgets, "600/minute", str(user), 50)
    calls = []
    original = redis.client.Pipeline.execute
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: calls.append(1) or original(self))
    budgets.sync(client, prefix)
    assert calls == [1]


def test_with_redis_away_each_worker_keeps_its_own_count_and_syncs_it_later(shared, clock):
    client, prefix = shared
    budgets = EventBudgets(clock)
    assert admitted(budgets, "5/minute", "ana", 2) == 2
    budgets.sync(redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2), prefix)
    assert admitted(budgets, "5/minute", "ana", 5) == 3  # the local limit held meanwhile
    budgets.sync(client, prefix)
    assert twin_level(client, prefix, "ana") == pytest.approx(0, abs=0.1)  # all five paid: nothing lost
