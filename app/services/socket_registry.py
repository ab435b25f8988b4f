"""Which Socket.IO connections are open, across every worker: whose they are and which browser
session opened them.

Presence counts a user's sockets here; logout and password changes find the sockets to close here;
a new conversation finds the sockets to put in its room here. One worker keeps this in memory; with
REDIS_URL set it lives in Redis, so every worker sees every socket. Each worker beats a heartbeat
into Redis; when one dies without closing its sockets, the others notice its silence and remove them.
"""

import threading
import uuid
from collections import defaultdict

import redis
from flask import Flask, current_app

# A worker that has not beaten for this long is dead; its sockets are removed by the next sweep.
HEARTBEAT_SECONDS = 10
DEAD_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS


class MemoryRegistry:
    """The sockets of the only worker, kept in its memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[int, str]] = {}
        self._by_user: dict[int, set[str]] = defaultdict(set)
        self._by_session: dict[str, set[str]] = defaultdict(set)

    def add(self, sid: str, user_id: int, session_key: str) -> bool:
        """Record an open socket; True when it is the user's only one (they just came online)."""
        with self._lock:
            self._sockets[sid] = (user_id, session_key)
            self._by_user[user_id].add(sid)
            self._by_session[session_key].add(sid)
            return len(self._by_user[user_id]) == 1

    def remove(self, sid: str) -> tuple[int | None, bool]:
        """Forget a closed socket: (its user, whether it was their last), or (None, False) if unknown."""
        with self._lock:
            entry = self._sockets.pop(sid, None)
            if entry is None:
                return None, False
            user_id, session_key = entry
            _discard(self._by_session, session_key, sid)
            return user_id, _discard(self._by_user, user_id, sid)

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
        """Which of these users have a socket open."""
        with self._lock:
            return {user_id for user_id in user_ids if self._by_user.get(user_id)}

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


# KEYS[1] = the prefix. ARGV: sid, user id, session key, worker id. Returns the user's socket count.
_ADD = """
local p = KEYS[1]
redis.call('HSET', p .. ':socket:' .. ARGV[1], 'user', ARGV[2], 'session', ARGV[3], 'worker', ARGV[4])
redis.call('SADD', p .. ':session:' .. ARGV[3], ARGV[1])
redis.call('SADD', p .. ':worker:' .. ARGV[4], ARGV[1])
redis.call('SADD', p .. ':user:' .. ARGV[2], ARGV[1])
return redis.call('SCARD', p .. ':user:' .. ARGV[2])
"""

# KEYS[1] = the prefix. ARGV[1] = sid. Returns {user id, sockets the user has left}, or {} if unknown.
_REMOVE = """
local p = KEYS[1]
local socket = p .. ':socket:' .. ARGV[1]
local entry = redis.call('HMGET', socket, 'user', 'session', 'worker')
if not entry[1] then return {} end
redis.call('DEL', socket)
redis.call('SREM', p .. ':session:' .. entry[2], ARGV[1])
redis.call('SREM', p .. ':worker:' .. entry[3], ARGV[1])
redis.call('SREM', p .. ':user:' .. entry[1], ARGV[1])
return {tonumber(entry[1]), redis.call('SCARD', p .. ':user:' .. entry[1])}
"""


class RedisRegistry:
    """The sockets of every worker, in Redis. Each change is one atomic script."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.redis = client
        self.prefix = prefix
        self.worker_id = uuid.uuid4().hex
        self._beaten = False
        # This worker's own sockets, to register again if a stall made the others sweep them away.
        self._local: dict[str, tuple[int, str]] = {}
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)

    def add(self, sid: str, user_id: int, session_key: str) -> bool:
        """Record an open socket; True when it is the user's only one in any worker."""
        self._local[sid] = (user_id, session_key)
        return self._add(keys=[self.prefix], args=[sid, user_id, session_key, self.worker_id]) == 1

    def remove(self, sid: str) -> tuple[int | None, bool]:
        """Forget a closed socket: (its user, whether it was their last anywhere)."""
        self._local.pop(sid, None)
        return self._forget(sid)

    def _forget(self, sid: str | bytes) -> tuple[int | None, bool]:
        result = self._remove(keys=[self.prefix], args=[sid])
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

    def online(self, user_ids: list[int]) -> set[int]:
        """Which of these users have a socket open on any worker (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.exists(f"{self.prefix}:user:{user_id}")
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
            for sid, (user_id, session_key) in list(self._local.items()):
                self._add(keys=[self.prefix], args=[sid, user_id, session_key, self.worker_id])
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
