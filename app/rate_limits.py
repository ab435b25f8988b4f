"""Rate limits: how often one address or one account may try something.

HTTP routes are limited by Flask-Limiter (decorators below). Socket events never pass through Flask's
request dispatch, so Flask-Limiter does not see them: `check_user_events` applies the per-user event
limit with the same engine (the `limits` library) and the same storage. With REDIS_URL the counters
live in Redis, so a limit holds across workers; otherwise in the worker's memory.
"""

import functools
import logging
import math
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from app.extensions import limiter
from app.services import ServiceError

log = logging.getLogger(__name__)


def _configured(name: str):
    """The limit string under config key `name`, read per request so tests and operators can set it."""
    return lambda: current_app.config[name]


def _submitted_username() -> str:
    """The account a login attempt is aimed at, whether or not it exists."""
    return "account:" + (request.form.get("username") or "").strip().lower()[:64]


def _user_or_address() -> str:
    """The signed-in user's id, else the client's address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "address:" + get_remote_address()


def _failed_login(response) -> bool:
    # A successful login redirects; anything else (wrong password, unknown user) counts against the account.
    return response.status_code != 302


def limit_login(view):
    """Sign-in attempts: per address (all POSTs) and per account (failed POSTs only)."""
    view = limiter.limit(
        _configured("RATELIMIT_LOGIN_PER_ACCOUNT"),
        key_func=_submitted_username,
        methods=["POST"],
        deduct_when=_failed_login,
        scope="login-account",
    )(view)
    return limiter.limit(_configured("RATELIMIT_LOGIN_PER_ADDRESS"), methods=["POST"], scope="login-address")(view)


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

    def __init__(self, retry_after: int):
        super().__init__(f"You are sending too fast. Wait {retry_after} s and try again.", code="rate_limited")
        self.retry_after = retry_after


def check_user_events(user_id: int) -> None:
    """Count one real-time action (a socket event, a message sent over HTTP) of the user.

    The limit is a burst and a sustained rate (RATELIMIT_USER_EVENTS, e.g. "30/second;600/minute"):
    the two numbers of a token bucket. Over either one raises RateLimited; nothing else happens.
    """
    _hit("user-events", str(user_id), "RATELIMIT_USER_EVENTS")


def check_socket_connect(user_id: int, address: str) -> None:
    """Count one Socket.IO connection attempt of the user from the address (RATELIMIT_SOCKET_CONNECTS_
    PER_USER and _PER_ADDRESS, across workers with Redis); over either raises RateLimited."""
    _hit("socket-connects-user", str(user_id), "RATELIMIT_SOCKET_CONNECTS_PER_USER")
    _hit("socket-connects-address", address, "RATELIMIT_SOCKET_CONNECTS_PER_ADDRESS")


def _hit(scope: str, identity: str, setting: str) -> None:
    """One hit on each limit of config[setting] for (scope, identity); RateLimited when over one."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        return
    strategy = limiter.limiter
    key = (config["RATELIMIT_KEY_PREFIX"], scope, identity)
    for limit in _parsed(config[setting]):
        try:
            if strategy.hit(limit, *key):
                continue
            reset_at = strategy.get_window_stats(limit, *key).reset_time
        except Exception:  # noqa: BLE001 - like Flask-Limiter's swallow_errors: an outage lets events through
            log.warning("rate limit storage unavailable", exc_info=True)
            return
        raise RateLimited(max(1, math.ceil(reset_at - time.time())))


@functools.cache
def _parsed(limits: str) -> list:
    return parse_many(limits)
