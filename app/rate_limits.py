"""Rate limits: how often one address or one account may try something.

HTTP routes are limited by Flask-Limiter (decorators below). Socket events never pass through Flask's
request dispatch, so Flask-Limiter does not see them: `check_user_events` and `check_typing_events`
count them in the worker's token buckets (app/event_budgets.py: no round trip per event, shared
across workers by a sync every RATELIMIT_SYNC_SECONDS). Sign-ins per address (`check_login_address`)
and connects use the `limits` library on Flask-Limiter's storage, and wrong passwords slow down
further guesses (`password_attempt`) on the same storage. With REDIS_URL those counters live in
Redis, so a limit holds across workers; otherwise in the worker's memory.
"""

import contextlib
import functools
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from app.event_budgets import budgets
from app.event_budgets import retry_after as whole_seconds
from app.extensions import limiter
from app.services import ServiceError

log = logging.getLogger(__name__)


def _configured(name: str):
    """The limit string under config key `name`, read per request so tests and operators can set it."""
    return lambda: current_app.config[name]


def _user_or_address() -> str:
    """The signed-in user's id, else the client's address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "address:" + get_remote_address()


def limit_register(view):
    """New accounts per address."""
    return limiter.limit(_configured("RATELIMIT_REGISTER_PER_ADDRESS"), methods=["POST"], scope="register")(view)


def limit_search(view):
    """People searches: per account, and per address across the accounts behind it."""
    view = limiter.limit(_configured("RATELIMIT_SEARCH_PER_USER"), key_func=_user_or_address, scope="search-user")(view)
    return limiter.limit(_configured("RATELIMIT_SEARCH_PER_ADDRESS"), scope="search-address")(view)


def limit_upload(view):
    """Uploads: per account and per address."""
    view = limiter.limit(
        _configured("RATELIMIT_UPLOAD_PER_USER"), key_func=_user_or_address, methods=["POST"], scope="upload-user"
    )(view)
    return limiter.limit(_configured("RATELIMIT_UPLOAD_PER_ADDRESS"), methods=["POST"], scope="upload-address")(view)


class RateLimited(ServiceError):
    """Too many events from one user; `retry_after` says in how many seconds one is allowed again."""

    def __init__(self, retry_after: int, message: str = "You are sending too fast. Wait {} s and try again."):
        super().__init__(message.format(retry_after), code="rate_limited")
        self.retry_after = retry_after


def check_user_events(user_id: int) -> None:
    """Count one real-time action (a socket event, a message sent over HTTP) of the user.

    The limit is a burst and a sustained rate (RATELIMIT_USER_EVENTS, e.g. "30/second;600/minute"),
    each a token bucket (app/event_budgets.py). Over either one raises RateLimited; nothing else happens.
    """
    _take("RATELIMIT_USER_EVENTS", "user-events", user_id)


def check_typing_events(user_id: int) -> None:
    """Count one "typing" notice of the user against its own, cheaper limit (RATELIMIT_TYPING_EVENTS),
    apart from RATELIMIT_USER_EVENTS: a keyboard's notices never use up what messages need."""
    _take("RATELIMIT_TYPING_EVENTS", "typing-events", user_id)


def _take(setting: str, kind: str, user_id: int) -> None:
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        return
    wait = budgets(current_app).take(config[setting], kind, str(user_id))
    if wait:
        raise RateLimited(whole_seconds(wait))


def check_link_preview(user_id: int) -> None:
    """Count one link preview fetch started by the user's message (RATELIMIT_LINK_PREVIEWS_PER_USER);
    over it raises RateLimited (the message is sent, without a card)."""
    _hit(current_app.config["RATELIMIT_LINK_PREVIEWS_PER_USER"], "link-previews", str(user_id))


def check_login_address() -> None:
    """Count one sign-in attempt (any POST) from the client's address: a flood guard, whatever the
    outcome (RATELIMIT_LOGIN_PER_ADDRESS); over it raises RateLimited. Wrong passwords are slowed down
    apart (`password_attempt`). Counted here rather than by a Flask-Limiter decorator, whose headers
    would overwrite the sign-in's own, shorter Retry-After."""
    message = "Too many sign-in attempts from your address. Wait {} s and try again."
    _hit(current_app.config["RATELIMIT_LOGIN_PER_ADDRESS"], "login-address", get_remote_address(), message=message)


def check_socket_connect(user_id: int, address: str) -> None:
    """Count one Socket.IO connection attempt of the user from the address (RATELIMIT_SOCKET_CONNECTS_
    PER_USER and _PER_ADDRESS, across workers with Redis); over either raises RateLimited."""
    config = current_app.config
    _hit(config["RATELIMIT_SOCKET_CONNECTS_PER_USER"], "socket-connects-user", str(user_id))
    _hit(config["RATELIMIT_SOCKET_CONNECTS_PER_ADDRESS"], "socket-connects-address", address)


def _hit(limits: str, *key: str, message: str | None = None) -> None:
    """Count one hit against every limit of `limits` under `key`; RateLimited when over one."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        return
    strategy = limiter.limiter
    key = (config["RATELIMIT_KEY_PREFIX"], *key)
    for limit in _parsed(limits):
        try:
            if strategy.hit(limit, *key):
                continue
            reset_at = strategy.get_window_stats(limit, *key).reset_time
        except Exception:  # noqa: BLE001 - like Flask-Limiter's swallow_errors: an outage lets events through
            log.warning("rate limit storage unavailable", exc_info=True)
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(retry_after, message) if message else RateLimited(retry_after)


@functools.cache
def _parsed(limits: str) -> list:
    return parse_many(limits)


# --- wrong passwords: a growing delay instead of a lockout ----------------------------------------


class TooManyAttempts(RateLimited):
    """Too many wrong passwords against a key: this attempt was refused without checking the password."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after, "Too many wrong passwords. Wait {} s and try again.")


@dataclass(frozen=True)
class KnownDevice:
    """A browser that signed in successfully before (app.auth.known_devices reads its cookie)."""

    nonce: str
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class AttemptKey:
    """One thing wrong passwords are counted against, with the failures it is allowed before each
    further attempt waits, and whether a right password wipes its count."""

    name: str
    free_failures: int
    cleared_by_success: bool


def sign_in_keys(username: str, user_id: int | None, address: str, device: KnownDevice | None) -> list[AttemptKey]:
    """What a sign-in attempt counts against.

    From a browser that signed in to this account before (its known-device cookie), only that
    browser's own failures count: an attacker's guesses from elsewhere never slow the owner down.
    Anyone else counts against the account from this address, the address (whatever account), and
    the account (whatever address), keyed by the name typed so an unknown name behaves the same.
    """
    config = current_app.config
    free = config["RATELIMIT_PASSWORD_FREE_FAILURES"]
    account = (username or "").strip().lower()[:64]
    if device is not None and user_id is not None and user_id in device.user_ids:
        return [AttemptKey(f"device:{user_id}:{device.nonce}", free, True)]
    return [
        AttemptKey(f"account-address:{account}:{address}", free, True),
        AttemptKey(f"address:{address}", config["RATELIMIT_PASSWORD_ADDRESS_FREE_FAILURES"], False),
        AttemptKey(f"account:{account}", config["RATELIMIT_PASSWORD_ACCOUNT_FREE_FAILURES"], False),
    ]


def current_password_keys(user_id: int) -> list[AttemptKey]:
    """What a signed-in user's re-entered password (password change, account deletion) counts against."""
    return [AttemptKey(f"current-password:{user_id}", current_app.config["RATELIMIT_PASSWORD_FREE_FAILURES"], True)]


class PasswordAttempt:
    """One admitted password check; the caller calls `succeeded()` when the password was right."""

    def __init__(self, keys: list[AttemptKey]):
        self.keys = keys
        self.success = False

    def succeeded(self) -> None:
        """The password was right."""
        self.success = True


@contextlib.contextmanager
def password_attempt(keys: list[AttemptKey]):
    """Admit one password check against `keys`, or raise TooManyAttempts without checking it.

    Each key has a count of wrong passwords (forgotten RATELIMIT_PASSWORD_FAILURE_WINDOW seconds
    after the first). Up to its free failures, attempts go straight through; after that, one attempt
    per delay, the delay doubling from 1 s with each further failure up to
    RATELIMIT_PASSWORD_MAX_DELAY; the others are refused at once (429 with Retry-After) without
    hashing anything, so a burst costs no CPU and holds nothing. The attempt is counted before the
    check (atomically: parallel guesses cannot all pass as "free") and taken back when the password
    was right or the check did not happen.
    """
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        yield PasswordAttempt(keys)
        return
    try:
        counted = _admit(keys)
    except TooManyAttempts:
        raise
    except Exception:  # noqa: BLE001 - like Flask-Limiter's swallow_errors: an outage lets sign-ins through
        log.warning("rate limit storage unavailable", exc_info=True)
        yield PasswordAttempt(keys)
        return
    attempt = PasswordAttempt(keys)
    try:
        yield attempt
    except BaseException:
        _settle(counted, "not checked")
        raise
    _settle(counted, "right" if attempt.success else "wrong")


def _storage_key(kind: str, key: AttemptKey) -> str:
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}/password/{kind}/{key.name}"


def _admit(keys: list[AttemptKey]) -> list[AttemptKey]:
    """Count the attempt against each key in turn; refuse (taking the counts back) at the first key
    whose delay has not passed. Returns the keys counted."""
    config = current_app.config
    storage = limiter.limiter.storage
    window, max_delay = config["RATELIMIT_PASSWORD_FAILURE_WINDOW"], config["RATELIMIT_PASSWORD_MAX_DELAY"]
    counted: list[AttemptKey] = []
    for key in keys:
        earlier_failures = storage.incr(_storage_key("failures", key), window) - 1
        counted.append(key)
        beyond = earlier_failures - key.free_failures
        if beyond < 0:
            continue
        delay = int(min(max_delay, 2 ** min(beyond, 30)))
        slot = _storage_key("slot", key)
        if storage.incr(slot, delay) == 1:
            continue  # this attempt takes the slot; the next waits out the delay
        retry_after = max(1, math.ceil(storage.get_expiry(slot) - time.time()))
        _settle(counted, "not checked")
        raise TooManyAttempts(retry_after)
    return counted


def _settle(counted: list[AttemptKey], outcome: str) -> None:
    """After the check: a "wrong" password stays counted; one "not checked" is taken back; a "right"
    one is taken back too and wipes the counts of the keys it clears."""
    if outcome == "wrong":
        return
    storage = limiter.limiter.storage
    window = current_app.config["RATELIMIT_PASSWORD_FAILURE_WINDOW"]
    try:
        for key in counted:
            if outcome == "right" and key.cleared_by_success:
                storage.clear(_storage_key("failures", key))
                storage.clear(_storage_key("slot", key))
            else:
                storage.incr(_storage_key("failures", key), window, amount=-1)
    except Exception:  # noqa: BLE001 - an outage leaves a count behind, nothing worse
        log.warning("rate limit storage unavailable", exc_info=True)
