"""Which Socket.IO connections are open, across every worker: whose they are and which browser
session opened them.

Presence counts a user's sockets here; logout and password changes find the sockets to close here;
a new conversation finds the sockets to put in its room here. One worker keeps this in memory; with
REDIS_URL set it lives in Redis, so every worker sees every socket. Each worker beats a heartbeat
into Redis; when one dies without closing its sockets, the others notice its silence and remove them.
"""

import threading
import time
import uuid
from collections import defaultdict

import redis
from flask import Flask, current_app

# A worker that has not beaten for this long is dead; its sockets are removed by the next sweep.
HEARTBEAT_SECONDS = 10
DEAD_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
# A "leaving" mark outlives its grace by this much, so one whose worker died does not stay long.
LEAVING_SLACK_SECONDS = 10


class TooManySockets(Exception):
    """A socket was not registered: its user (`kind` "user") or its address ("address") already holds
    the most sockets allowed."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class MemoryRegistry:
    """The sockets of the only worker, kept in its memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[int, str, str]] = {}
        self._by_user: dict[int, set[str]] = defaultdict(set)
        self._by_session: dict[str, set[str]] = defaultdict(set)
        self._by_address: dict[str, set[str]] = defaultdict(set)
        self._leaving: dict[int, tuple[str, float]] = {}  # user id -> (token, expires at)

    def add(
        self, sid: str, user_id: int, session_key: str, address: str = "", max_per_user=0, max_per_address=0
    ) -> bool:
        """Record an open socket; True when it is the user's only one and they were not leaving (they
        just came online). Raises TooManySockets, recording nothing, when the user or the address
        already holds max_per_user or max_per_address sockets (0: no cap)."""
        with self._lock:
            if max_per_user and len(self._by_user.get(user_id, ())) >= max_per_user:
                raise TooManySockets("user")
            if address and max_per_address and len(self._by_address.get(address, ())) >= max_per_address:
                raise TooManySockets("address")
            self._sockets[sid] = (user_id, session_key, address)
            self._by_user[user_id].add(sid)
            self._by_session[session_key].add(sid)
            if address:
                self._by_address[address].add(sid)
            if len(self._by_user[user_id]) > 1:
                return False
            leaving = self._leaving.pop(user_id, None)
            return leaving is None or leaving[1] < time.monotonic()

    def remove(self, sid: str) -> tuple[int | None, bool]:
        """Forget a closed socket: (its user, whether it was their last), or (None, False) if unknown."""
        user_id, last, _token = self.leave(sid, 0)
        return user_id, last

    def leave(self, sid: str, grace: float) -> tuple[int | None, bool, str | None]:
        """Forget a closed socket: (its user, whether it was their last, a token). When it was the
        last and grace > 0, the user is marked as leaving for `grace` seconds: a socket of theirs
        opened meanwhile does not count as coming online, and finish_leaving(user, token) tells
        afterwards whether they really went."""
        with self._lock:
            entry = self._sockets.pop(sid, None)
            if entry is None:
                return None, False, None
            user_id, session_key, address = entry
            _discard(self._by_session, session_key, sid)
            if address:
                _discard(self._by_address, address, sid)
            last = _discard(self._by_user, user_id, sid)
            token = None
            if last and grace > 0:
                token = uuid.uuid4().hex
                self._leaving[user_id] = (token, time.monotonic() + grace + LEAVING_SLACK_SECONDS)
            return user_id, last, token

    def finish_leaving(self, user_id: int, token: str) -> bool:
        """After the grace: True when the user is still gone: no socket, and no other leave pending
        (the mark is this token's, or gone because a late timer let it expire). Removes this mark."""
        with self._lock:
            holder = self._leaving.get(user_id)
            if holder is not None and holder[0] != token:
                return False
            self._leaving.pop(user_id, None)
            return not self._by_user.get(user_id)

    def user_sockets(self, user_id: int) -> list[str]:
        """The open sockets of a user, in every session."""
        with self._lock:
            return list(self._by_user.get(user_id, ()))

    def users_sockets(self, user_ids: list[int]) -> list[str]:
        """The open sockets of several users, in every session."""
        with self._lock:
            return [sid for user_id in user_ids for sid in self._by_user.get(user_id, ())]

    def session_sockets(self, session_key: str) -> list[str]:
        """The open sockets of one browser session."""
        with self._lock:
            return list(self._by_session.get(session_key, ()))

    def online(self, user_ids: list[int]) -> set[int]:
        """Which of these users have a socket open, or are within the grace of leaving."""
        with self._lock:
            now = time.monotonic()
            return {
                user_id
                for user_id in user_ids
                if self._by_user.get(user_id) or self._leaving.get(user_id, ("", 0))[1] > now
            }

    def heartbeat(self) -> list[int]:
        """Nothing to do with one worker: its sockets die with it."""
        return []

    def retire(self) -> None:
        """Nothing to do with one worker."""


def _discard(index: dict, key, sid: str) -> bool:
    """Remove sid from index[key]; True when that emptied it (and the key is gone)."""
    members = index.get(key)
    if members is None:
        return False
    members.discard(sid)
    if members:
        return False
    del index[key]
    return True


# KEYS[1] = the prefix. ARGV: sid, user id, session key, worker id, address, max per user, max per
# address (0: no cap). Returns -1 (the user is at the cap), -2 (the address is), 0 (a first socket
# while the user was leaving: nothing to announce) or the user's socket count.
_ADD = """
local p = KEYS[1]
local user = p .. ':user:' .. ARGV[2]
local address = p .. ':address:' .. ARGV[5]
local max_user, max_address = tonumber(ARGV[6]), tonumber(ARGV[7])
if max_user > 0 and redis.call('SCARD', user) >= max_user then return -1 end
if ARGV[5] ~= '' and max_address > 0 and redis.call('SCARD', address) >= max_address then return -2 end
redis.call('HSET', p .. ':socket:' .. ARGV[1], 'user', ARGV[2], 'session', ARGV[3], 'worker', ARGV[4],
    'address', ARGV[5])
redis.call('SADD', p .. ':session:' .. ARGV[3], ARGV[1])
redis.call('SADD', p .. ':worker:' .. ARGV[4], ARGV[1])
redis.call('SADD', user, ARGV[1])
if ARGV[5] ~= '' then redis.call('SADD', address, ARGV[1]) end
local count = redis.call('SCARD', user)
if count == 1 and redis.call('DEL', p .. ':leaving:' .. ARGV[2]) == 1 then return 0 end
return count
"""

# KEYS[1] = the prefix. ARGV: sid, a leaving token (or ''), its lifetime in ms. Returns {user id,
# sockets the user has left}, or {} if unknown. The last socket gone marks the user as leaving.
_REMOVE = """
local p = KEYS[1]
local socket = p .. ':socket:' .. ARGV[1]
local entry = redis.call('HMGET', socket, 'user', 'session', 'worker', 'address')
if not entry[1] then return {} end
redis.call('DEL', socket)
redis.call('SREM', p .. ':session:' .. entry[2], ARGV[1])
redis.call('SREM', p .. ':worker:' .. entry[3], ARGV[1])
redis.call('SREM', p .. ':user:' .. entry[1], ARGV[1])
if entry[4] and entry[4] ~= '' then redis.call('SREM', p .. ':address:' .. entry[4], ARGV[1]) end
local left = redis.call('SCARD', p .. ':user:' .. entry[1])
if left == 0 and ARGV[2] ~= '' then
    redis.call('SET', p .. ':leaving:' .. entry[1], ARGV[2], 'PX', ARGV[3])
end
return {tonumber(entry[1]), left}
"""

# KEYS[1] = the prefix. ARGV: user id, token. 1 when the user has no socket and no other leave is
# pending (the mark is this token's, or expired); the mark is removed when it is this token's.
_FINISH_LEAVING = """
local p = KEYS[1]
local mark = p .. ':leaving:' .. ARGV[1]
local holder = redis.call('GET', mark)
if holder and holder ~= ARGV[2] then return 0 end
if holder then redis.call('DEL', mark) end
if redis.call('SCARD', p .. ':user:' .. ARGV[1]) > 0 then return 0 end
return 1
"""


class RedisRegistry:
    """The sockets of every worker, in Redis. Each change is one atomic script."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.redis = client
        self.prefix = prefix
        self.worker_id = uuid.uuid4().hex
        self._beaten = False
        # This worker's own sockets, to register again if a stall made the others sweep them away.
        self._local: dict[str, tuple[int, str, str]] = {}
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._finish_leaving = client.register_script(_FINISH_LEAVING)

    def add(
        self, sid: str, user_id: int, session_key: str, address: str = "", max_per_user=0, max_per_address=0
    ) -> bool:
        """Record an open socket; True when it is the user's only one in any worker and they were not
        leaving. Raises TooManySockets, recording nothing, when the user or the address already holds
        max_per_user or max_per_address sockets on all workers together (0: no cap)."""
        args = [sid, user_id, session_key, self.worker_id, address, max_per_user or 0, max_per_address or 0]
        result = self._add(keys=[self.prefix], args=args)
        if result < 0:
            raise TooManySockets("user" if result == -1 else "address")
        self._local[sid] = (user_id, session_key, address)
        return result == 1

    def remove(self, sid: str) -> tuple[int | None, bool]:
        """Forget a closed socket: (its user, whether it was their last anywhere)."""
        user_id, last, _token = self.leave(sid, 0)
        return user_id, last

    def leave(self, sid: str, grace: float) -> tuple[int | None, bool, str | None]:
        """Forget a closed socket: (its user, whether it was their last anywhere, a token); see
        MemoryRegistry.leave."""
        self._local.pop(sid, None)
        token = uuid.uuid4().hex if grace > 0 else ""
        user_id, last = self._forget(sid, token, grace)
        return user_id, last, (token if last and token else None)

    def finish_leaving(self, user_id: int, token: str) -> bool:
        """After the grace: True when the user is still gone on every worker; see MemoryRegistry."""
        return self._finish_leaving(keys=[self.prefix], args=[user_id, token]) == 1

    def _forget(self, sid: str | bytes, token: str = "", grace: float = 0) -> tuple[int | None, bool]:
        lifetime_ms = int((grace + LEAVING_SLACK_SECONDS) * 1000)
        result = self._remove(keys=[self.prefix], args=[sid, token, lifetime_ms])
        if not result:
            return None, False
        return int(result[0]), result[1] == 0

    def user_sockets(self, user_id: int) -> list[str]:
        """The open sockets of a user, on every worker."""
        return [sid.decode() for sid in self.redis.smembers(f"{self.prefix}:user:{user_id}")]

    def users_sockets(self, user_ids: list[int]) -> list[str]:
        """The open sockets of several users, on every worker (one round trip)."""
        if not user_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.smembers(f"{self.prefix}:user:{user_id}")
        return [sid.decode() for sids in pipe.execute() for sid in sids]

    def session_sockets(self, session_key: str) -> list[str]:
        """The open sockets of one browser session, on every worker."""
        return [sid.decode() for sid in self.redis.smembers(f"{self.prefix}:session:{session_key}")]

    def owners(self, sids: list[str]) -> dict[str, list[str]]:
        """{worker id: its sockets} for these sockets (those still registered; one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hget(f"{self.prefix}:socket:{sid}", "worker")
        found: dict[str, list[str]] = {}
        for sid, worker in zip(sids, pipe.execute(), strict=True):
            if worker is not None:
                found.setdefault(worker.decode(), []).append(sid)
        return found

    def online(self, user_ids: list[int]) -> set[int]:
        """Which of these users have a socket open on any worker, or are within the grace of leaving
        (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.exists(f"{self.prefix}:user:{user_id}", f"{self.prefix}:leaving:{user_id}")
        return {user_id for user_id, exists in zip(user_ids, pipe.execute(), strict=True) if exists}

    def heartbeat(self) -> list[int]:
        """Mark this worker alive and sweep away the sockets of dead ones.

        Returns the users who went offline with them. Workers sweeping at once is safe: removing a
        socket is atomic and only the call that removed it reports it.
        """
        workers = f"{self.prefix}:workers"
        seconds, _micro = self.redis.time()
        if self.redis.zadd(workers, {self.worker_id: seconds}) and self._beaten:
            # Swept after a stall: this worker's sockets are still open, so register them again.
            for sid, (user_id, session_key, address) in list(self._local.items()):
                self._add(keys=[self.prefix], args=[sid, user_id, session_key, self.worker_id, address, 0, 0])
        self._beaten = True
        offline = []
        for dead in self.redis.zrangebyscore(workers, "-inf", seconds - DEAD_AFTER_SECONDS):
            dead = dead.decode()
            for sid in self.redis.smembers(f"{self.prefix}:worker:{dead}"):
                user_id, last = self._forget(sid)
                if last:
                    offline.append(user_id)
            self.redis.zrem(workers, dead)
        return offline

    def live_workers(self) -> list[str]:
        """The ids of the workers whose heartbeat is recent (this one included)."""
        seconds, _micro = self.redis.time()
        workers = self.redis.zrangebyscore(f"{self.prefix}:workers", seconds - DEAD_AFTER_SECONDS, "+inf")
        return [worker.decode() for worker in workers]

    def retire(self) -> None:
        """Leave the heartbeat list (at a clean shutdown, once this worker's sockets are closed)."""
        self.redis.zrem(f"{self.prefix}:workers", self.worker_id)


def init_app(app: Flask) -> None:
    """Give the app its registry: in Redis when REDIS_URL is set, else in memory."""
    client = app.extensions.get("redis")
    if client is not None:
        app.extensions["socket_registry"] = RedisRegistry(client, app.config["REDIS_KEY_PREFIX"] + ":sockets")
    else:
        app.extensions["socket_registry"] = MemoryRegistry()


def registry() -> MemoryRegistry | RedisRegistry:
    """The current app's registry."""
    return current_app.extensions["socket_registry"]
