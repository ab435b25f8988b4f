"""The send path's checks held in memory: is this user a member of that conversation (and of which
kind is it), and may this sender message that person. Each worker keeps the answers it found, so a
send runs neither query again; every change that could alter an answer drops it.

What drops what (queued by the service that changes it, carried out after the commit):
- a membership removed (leave, removal by the owner): that (conversation, user);
- a friendship made or ended, a block or unblock: both directions of that pair;
- a user's name or message policy changed, or the account deleted (any flush of the row, the
  operator's shell too): every answer about that user.
A membership added needs nothing: only members' answers are held.

Across workers the drop goes through Redis pub/sub, and `dropped()` returns only once every other
live worker has confirmed it (or after CONFIRM_WAIT_SECONDS, for a worker that died): the door
answers after that, so the next send anywhere obeys the change. An answer read from the database
while a drop arrives is not kept (a generation count), so a stale read cannot outlive its drop.
"""

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app import events
from app.extensions import db
from app.models.user import User

log = logging.getLogger(__name__)

CONFIRM_WAIT_SECONDS = 2.0
HELD_MAX = 100_000  # answers per kind; past it the worker starts again from empty
_ABSENT = object()

# A User column that an answer depends on: the recipient's name (in a refusal's text) and policy.
_USER_COLUMNS = ("username", "message_policy")


class SendChecks:
    """This worker's answers, and the channel that drops them on every worker."""

    def __init__(self):
        self._members: dict[tuple[int, int], object] = {}  # (conversation, user) -> MemberTarget
        self._refusals: dict[tuple[int, int], str | None] = {}  # (sender, recipient) -> refusal
        self._generation = 0
        self._client = None
        self._registry = None
        self._channel = ""
        self._pubsub = None

    def member_target(self, conversation_id: int, user_id: int, load: Callable[[], object]):
        """The user's MemberTarget in the conversation: held, or `load()`ed (which raises for a
        non-member: that is not held)."""
        key = (conversation_id, user_id)
        found = self._members.get(key)
        if found is None:
            generation = self._generation
            found = load()
            self._keep(self._members, key, found, generation)
        return found

    def refusal(self, sender_id: int, recipient_id: int, load: Callable[[], str | None]) -> str | None:
        """Why the sender may not message the recipient (None: they may): held, or `load()`ed."""
        key = (sender_id, recipient_id)
        found = self._refusals.get(key, _ABSENT)
        if found is _ABSENT:
            generation = self._generation
            found = load()
            self._keep(self._refusals, key, found, generation)
        return found

    def _keep(self, held: dict, key, value, generation: int) -> None:
        if generation != self._generation:  # a drop came in while it was read: it may be stale
            return
        if len(held) >= HELD_MAX:
            held.clear()
        held[key] = value

    # --- dropping -------------------------------------------------------------------------------

    def dropped(self, members=(), pairs=(), users=()) -> None:
        """Drop these answers here and on every other worker; returns once each confirmed.
        `members`: (conversation, user) keys; `pairs`: (a, b) of people; `users`: user ids."""
        drop = {"members": [list(k) for k in members], "pairs": [list(p) for p in pairs], "users": list(users)}
        self._drop_here(drop)
        if self._registry is None:
            return
        try:
            others = [worker for worker in self._registry.live_workers() if worker != self._registry.worker_id]
            if not others:
                return
            reply = f"{self._channel}:dropped:{uuid.uuid4().hex}"
            self._client.publish(self._channel, json.dumps({**drop, "from": self._registry.worker_id, "reply": reply}))
            for _ in others:
                if self._client.blpop([reply], timeout=CONFIRM_WAIT_SECONDS) is None:
                    log.warning("send checks: a worker did not confirm a drop in %ss", CONFIRM_WAIT_SECONDS)
                    break
            self._client.delete(reply)
        except Exception:  # noqa: BLE001 - Redis away: the others hold old answers a while
            log.warning("send checks: could not tell the other workers", exc_info=True)

    def _drop_here(self, drop: dict) -> None:
        self._generation += 1
        for conversation_id, user_id in drop.get("members", ()):
            self._members.pop((conversation_id, user_id), None)
        for a, b in drop.get("pairs", ()):
            self._refusals.pop((a, b), None)
            self._refusals.pop((b, a), None)
        users = set(drop.get("users", ()))
        if users:
            for key in [key for key in self._members if key[1] in users]:
                del self._members[key]
            for key in [key for key in self._refusals if key[0] in users or key[1] in users]:
                del self._refusals[key]

    def clear(self) -> None:
        """Drop every answer of this worker (its Redis channel was lost: drops may have been missed)."""
        self._generation += 1
        self._members.clear()
        self._refusals.clear()

    # --- the channel ----------------------------------------------------------------------------

    def listen(self, client, prefix: str, registry, spawn) -> None:
        """Take the other workers' drops through Redis: `registry` (a RedisRegistry) names this
        worker and the live ones, `spawn(fn)` starts the listener."""
        self._client = client
        self._registry = registry
        self._channel = f"{prefix}:send-checks"
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self._channel)
        spawn(self._listen)

    def stop(self) -> None:
        """Stop listening (the worker stops)."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    def _listen(self) -> None:
        while self._pubsub is not None:
            try:
                for message in self._pubsub.listen():
                    self._on_message(message)
            except Exception:  # noqa: BLE001 - Redis away: start from empty, subscribe again
                if self._pubsub is None:
                    return
                log.warning("send checks: channel lost, listening again", exc_info=True)
                self.clear()
                time.sleep(1)  # green under the server's eventlet or gevent
                with contextlib.suppress(Exception):
                    self._pubsub.subscribe(self._channel)

    def _on_message(self, message) -> None:
        try:
            drop = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if not isinstance(drop, dict) or drop.get("from") == self._registry.worker_id:
            return
        self._drop_here(drop)
        self._client.rpush(drop["reply"], 1)
        self._client.expire(drop["reply"], 60)


def send_checks(app: Flask | None = None) -> SendChecks:
    """The app's (this worker's) send checks."""
    return (app or current_app).extensions["send_checks"]


def drop_on_commit(members=(), pairs=(), users=()) -> None:
    """Drop these answers everywhere once the current transaction commits (see SendChecks.dropped)."""
    members, pairs, users = list(members), list(pairs), list(users)
    app = current_app._get_current_object()
    events.after_commit(lambda: send_checks(app).dropped(members, pairs, users))


def _note_user_changes(session: Session, _flush_context) -> None:
    """A flush that renamed a user, changed their message policy or deleted them."""
    users = {obj.id for obj in session.deleted if isinstance(obj, User)}
    for obj in session.dirty:
        if isinstance(obj, User):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _USER_COLUMNS):
                users.add(obj.id)
    if users:
        drop_on_commit(users=sorted(users))


# db.session's factory makes sessions of their own subclass: this reaches this app's sessions only.
if not event.contains(db.session, "after_flush", _note_user_changes):
    event.listen(db.session, "after_flush", _note_user_changes)
