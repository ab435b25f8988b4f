"""Per-user event budgets (RATELIMIT_USER_EVENTS, RATELIMIT_TYPING_EVENTS): token buckets held in the
worker's memory, so counting an event costs a little arithmetic and no lock, timer or round trip.

A limit string such as "30/second;600/minute" is one bucket per part: "30/second" holds 30 tokens
and refills 30 a second (the burst), "600/minute" holds 600 and refills 10 a second (the sustained
rate). An event takes one token from each of its key's buckets, or is refused with the seconds until
it would get them.

Across workers (with Redis) each bucket has a twin in Redis: every RATELIMIT_SYNC_SECONDS a worker
pays into the twins what its users spent since the last sync and sets its own buckets to the twins'
levels, in one pipeline whatever the number of events, so each worker's bucket follows the whole
site's spending. The semantics: a user is held to each limit across all workers, except that what
other workers admitted shows up here one sync later; with W workers a user can exceed a limit by at
most what W - 1 workers admit in one sync interval (at most their burst plus their refill over the
interval), and only for that interval: after it the overdraft is a debt that every worker makes the
user wait out. With Redis away the workers keep counting on their own (each one's limit holds).
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import parse_many

log = logging.getLogger(__name__)

# A key's buckets are forgotten once unused for this long and full again (nothing owed).
IDLE_SECONDS = 120


@dataclass(slots=True)
class TokenBucket:
    """`capacity` tokens, refilled at `rate` a second; `tokens` may go below zero (a debt)."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        """Add what `now - stamp` seconds earned, up to the capacity."""
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self) -> float:
        """Seconds until a token is there (0 when one is there now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass(slots=True)
class _Entry:
    buckets: list[TokenBucket]
    last_used: float
    unsynced: int = 0  # events admitted here since the last sync


def parse(limits: str) -> list[tuple[float, float]]:
    """(capacity, rate per second) of each part of a limit string ("30/second;600/minute")."""
    return [(item.amount, item.amount / item.get_expiry()) for item in parse_many(limits)]


class EventBudgets:
    """The token buckets of one worker, keyed by (kind, key), e.g. ("user-events", "42")."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._parsed: dict[str, list[tuple[float, float]]] = {}
        self._sync_lock = threading.Lock()  # one sync at a time; taking never waits for it
        self._registered = None  # (client, its Script) of the Lua below

    def take(self, limits: str, kind: str, key: str) -> float:
        """Spend one token of each bucket of `limits` under (kind, key): 0.0 when admitted, otherwise
        the seconds until it would be (nothing is spent then)."""
        now = self._clock()
        entry_key = (kind, key, limits)
        entry = self._entries.get(entry_key)
        if entry is None:
            shape = self._parsed.get(limits)
            if shape is None:
                shape = self._parsed[limits] = parse(limits)
            entry = self._entries[entry_key] = _Entry([TokenBucket(c, r, c, now) for c, r in shape], now)
        wait = 0.0
        for bucket in entry.buckets:
            bucket.refill(now)
            wait = max(wait, bucket.wait())
        if wait:
            return wait
        for bucket in entry.buckets:
            bucket.tokens -= 1
        entry.unsynced += 1
        entry.last_used = now
        return 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def forget_idle(self) -> None:
        """Drop the keys unused for IDLE_SECONDS whose buckets are full again (nothing owed, nothing
        to sync): the memory held follows the users active lately."""
        now = self._clock()
        for entry_key, entry in list(self._entries.items()):
            if entry.unsynced or now - entry.last_used < IDLE_SECONDS:
                continue
            for bucket in entry.buckets:
                bucket.refill(now)
            if all(bucket.tokens >= bucket.capacity for bucket in entry.buckets):
                del self._entries[entry_key]

    def sync(self, client, prefix: str) -> None:
        """Share this worker's spending through Redis: each bucket has a twin there that every
        worker pays what it admitted into and refills by Redis's clock; the local bucket then takes
        the twin's level, which holds what the other workers spent. One pipeline for every key held,
        however many events they counted."""
        if not self._sync_lock.acquire(blocking=False):
            return
        try:
            entries = list(self._entries.items())
            if not entries:
                return
            script = self._script(client)
            pipe = client.pipeline(transaction=False)
            sent = []
            for (kind, key, limits), entry in entries:
                spent, entry.unsynced = entry.unsynced, 0
                sent.append((entry, spent))
                for index, bucket in enumerate(entry.buckets):
                    twin = f"{prefix}:budget:{kind}:{key}:{limits}:{index}"
                    script(keys=[twin], args=[bucket.capacity, bucket.rate, spent], client=pipe)
            try:
                levels = iter(pipe.execute())
            except Exception:  # noqa: BLE001 - Redis away: this worker keeps its own count meanwhile
                for entry, spent in sent:
                    entry.unsynced += spent
                log.warning("event budgets: sync failed", exc_info=True)
                return
            now = self._clock()
            for entry, _spent in sent:
                for bucket in entry.buckets:
                    # What was admitted here while the pipeline was out is paid at the next sync.
                    bucket.tokens = float(next(levels)) - entry.unsynced
                    bucket.stamp = now
        finally:
            self._sync_lock.release()

    def _script(self, client):
        if self._registered is None or self._registered[0] is not client:
            self._registered = (client, client.register_script(_PAY_AND_READ))
        return self._registered[1]


# KEYS[1]: a bucket's twin; ARGV: capacity, rate a second, tokens spent since the last sync. Refills
# by Redis's clock (the same for every worker), pays, and returns the level (a string: Lua numbers
# would come back as integers).
_PAY_AND_READ = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local capacity, rate, spent = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(held[1]), tonumber(held[2])
if tokens == nil then tokens, stamp = capacity, now end
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - spent
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((capacity - math.min(tokens, 0)) / rate) + 60)
return tostring(tokens)
"""


def budgets(app) -> EventBudgets:
    """The app's (this worker's) budgets."""
    found = app.extensions.get("event_budgets")
    if found is None:
        found = app.extensions["event_budgets"] = EventBudgets()
    return found


def retry_after(wait: float) -> int:
    """Whole seconds a client is told to wait for `wait`."""
    return max(1, math.ceil(wait))
