"""Configuration read from the environment (and a `.env` file, loaded by python-dotenv)."""

import ipaddress
import math
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse_many

# Werkzeug's scrypt spec "scrypt:N:r:p"; N = 2**17 is OWASP's minimum for scrypt.
STRONG_PASSWORD_HASH = "scrypt:131072:8:1"
MIN_SCRYPT_N = 2**17

ASYNC_MODES = ("eventlet", "gevent")
LOG_FORMATS = ("json", "text")

# Outside production, forwarded headers are believed from this machine only (a local nginx, tests).
LOOPBACK_PROXIES = "127.0.0.1,::1"

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development", "please-change-me"}


class ConfigError(RuntimeError):
    """The configuration is unusable; the message is one line meant for the operator."""


def normalize_database_url(url: str) -> str:
    """Accept the `postgres://` scheme that Heroku and Render hand out, and name the driver we install:
    SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


def _env(name: str, default: str = "") -> str:
    """An environment variable, where set-but-empty counts as unset."""
    return os.environ.get(name, "").strip() or default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def _development_secret_key(instance_path: Path) -> str:
    """A random key kept in instance/, so a dev server works without setup and survives restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    temporary = key_file.with_suffix(".tmp")
    temporary.write_text(key)
    temporary.chmod(0o600)
    temporary.replace(key_file)  # atomic: two processes starting at once never read half a key
    return key


def load_config(instance_path: str, secret_key: str | None = None) -> dict:
    """Build the settings dict for APP_ENV (development, production or testing).

    `secret_key`, when the caller already has one, spares generating the development key.
    """
    instance = Path(instance_path)
    env = _env("APP_ENV", "development").lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"APP_ENV must be development, production or testing, not {env!r}.")
    production = env == "production"

    secret_key = secret_key or _env("SECRET_KEY")
    if not secret_key and not production:
        secret_key = _development_secret_key(instance)

    database_url = normalize_database_url(_env("DATABASE_URL", f"sqlite:///{instance / 'messenger.db'}"))
    redis_url = _redis_url(_env("REDIS_URL"), verify_tls=_env_bool("REDIS_TLS_VERIFY", True)) or None
    async_mode = _env("ASYNC_MODE", "eventlet").lower()
    if async_mode not in ASYNC_MODES:
        raise ConfigError(f"ASYNC_MODE must be eventlet or gevent, not {async_mode!r}.")
    log_format = _env("LOG_FORMAT", "json" if production else "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be json or text, not {log_format!r}.")

    origins = _split(_env("SOCKETIO_ALLOWED_ORIGINS"))
    if any("*" in origin for origin in origins):
        raise ConfigError("SOCKETIO_ALLOWED_ORIGINS must list exact origins (https://chat.example), never '*'.")
    attachment_max_bytes = _env_number("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    # Unset in production stays None, which check_production_config refuses: see there.
    proxy_addresses = _env("FORWARDED_ALLOW_IPS", "" if production else LOOPBACK_PROXIES)

    config = {
        "APP_ENV": env,
        "SECRET_KEY": secret_key,
        # CSRF tokens live as long as the session instead of expiring after an hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        # Prefix of every Redis key and of the Socket.IO channel, so several sites can share a Redis.
        "REDIS_KEY_PREFIX": _env("REDIS_KEY_PREFIX", "messanger"),
        # Redis connections each worker keeps (sessions, the socket registry).
        "REDIS_MAX_CONNECTIONS": _env_number("REDIS_MAX_CONNECTIONS", 50),
        "ASYNC_MODE": async_mode,
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO").upper(),
        # Open connections (sockets and requests) one worker serves at once.
        "MAX_CONNECTIONS": _env_number("MAX_CONNECTIONS", 10000),
        # A connection that sends nothing for this long (before or between its requests) is closed.
        # Websockets are exempt: Engine.IO's pings keep a live one open and close a dead one.
        "CONNECTION_IDLE_TIMEOUT": _env_number("CONNECTION_IDLE_TIMEOUT", 20),
        # Socket.IO connections one user may hold open (over all tabs and workers), and one address.
        "SOCKETS_PER_USER": _env_number("SOCKETS_PER_USER", 20),
        "SOCKETS_PER_ADDRESS": _env_number("SOCKETS_PER_ADDRESS", 500),
        # How long a user whose last socket closed stays "online": a reload or a reconnect within it
        # announces nothing and writes no "last seen".
        "PRESENCE_GRACE_SECONDS": _env_number("PRESENCE_GRACE_SECONDS", 5),
        # A socket's identity is read once, at connect: sessions ended outside the app's doors (the
        # operator's shell, an expiry) close their sockets within this many seconds.
        "SOCKET_SESSION_CHECK_SECONDS": _env_seconds("SOCKET_SESSION_CHECK_SECONDS", 5.0),
        # Writers of grouped sends (app/group_commit.py): one on SQLite, whose writes take turns; on
        # PostgreSQL several, so a send held up by a lock holds up its own conversation only.
        "GROUP_COMMIT_WRITERS": _env_number("GROUP_COMMIT_WRITERS", 4 if database_url.startswith("postgresql") else 1),
        # On SIGTERM: how long in-flight socket events and requests get before the worker closes.
        "SHUTDOWN_TIMEOUT": _env_number("SHUTDOWN_TIMEOUT", 20),
        "PASSWORD_HASH_METHOD": _env("PASSWORD_HASH_METHOD", STRONG_PASSWORD_HASH),
        "SESSION_TYPE": "redis" if redis_url else "sqlalchemy",
        "SESSION_PERMANENT": True,
        "SESSION_REFRESH_EACH_REQUEST": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        "SESSION_CLEANUP_N_REQUESTS": 1000,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        # Responses compressed by the app (app/compression.py); off where a proxy compresses instead.
        "COMPRESS_ENABLED": _env_bool("COMPRESS_ENABLED", True),
        # Rendered message fragments each worker keeps (app/fragment_cache.py; about 6 KB each);
        # 0 renders every message afresh, as debug mode does so that template edits show.
        "MESSAGE_FRAGMENT_CACHE_SIZE": _env_number("MESSAGE_FRAGMENT_CACHE_SIZE", 10_000),
        # How long after sending a message its sender may still edit it.
        "MESSAGE_EDIT_WINDOW_SECONDS": _env_number("MESSAGE_EDIT_WINDOW_SECONDS", 15 * 60),
        # The largest image or file a message may carry.
        "ATTACHMENT_MAX_BYTES": attachment_max_bytes,
        # Each uploaded picture is re-encoded in a subprocess ended after this many seconds of CPU
        # time (the upload is refused as too slow to process), at most PICTURE_WORKERS at once.
        "PICTURE_CPU_SECONDS": max(1, _env_number("PICTURE_CPU_SECONDS", 10)),
        "PICTURE_WORKERS": max(1, _env_number("PICTURE_WORKERS", 1)),
        # Room for the largest attachment and its form; larger bodies get the 413 page.
        "MAX_CONTENT_LENGTH": attachment_max_bytes + 1024 * 1024,
        # An upload must be sent within this long; a purge deletes it a few minutes later if it was not.
        "ATTACHMENT_UNSENT_TTL_SECONDS": _env_number("ATTACHMENT_UNSENT_TTL_SECONDS", 24 * 60 * 60),
        # How often each worker purges the uploads never sent; 0: never (run `flask attachments purge`).
        "ATTACHMENT_PURGE_INTERVAL_SECONDS": _env_number("ATTACHMENT_PURGE_INTERVAL_SECONDS", 5 * 60),
        # Bytes one user may upload in any 24 hours (sent or not, as long as it is stored); 0: no limit.
        "ATTACHMENT_DAILY_QUOTA_BYTES": _env_number("ATTACHMENT_DAILY_QUOTA_BYTES", 250 * 1024 * 1024),
        # Link previews (app.services.link_previews): the first link of a message gets a card the
        # server fetches in the background. Off: no fetch and no card.
        "LINK_PREVIEWS": _env_bool("LINK_PREVIEWS", True),
        # A fetch (page or picture, redirects included) ends after this many seconds, a page's body
        # is read up to LINK_PREVIEW_MAX_BYTES, a picture's up to LINK_PREVIEW_IMAGE_MAX_BYTES.
        "LINK_PREVIEW_TIMEOUT_SECONDS": max(1, _env_number("LINK_PREVIEW_TIMEOUT_SECONDS", 5)),
        "LINK_PREVIEW_MAX_BYTES": _env_number("LINK_PREVIEW_MAX_BYTES", 1024 * 1024),
        "LINK_PREVIEW_IMAGE_MAX_BYTES": _env_number("LINK_PREVIEW_IMAGE_MAX_BYTES", 3 * 1024 * 1024),
        # A fetched card is reused for this long before the URL is fetched again.
        "LINK_PREVIEW_TTL_SECONDS": _env_number("LINK_PREVIEW_TTL_SECONDS", 24 * 60 * 60),
        # Fetches one worker runs at once, and how many more may wait (beyond: no card).
        "LINK_PREVIEW_WORKERS": max(1, _env_number("LINK_PREVIEW_WORKERS", 4)),
        "LINK_PREVIEW_QUEUE": _env_number("LINK_PREVIEW_QUEUE", 100),
        # For tests only: "host:port" pairs (as the URL writes them: 127.0.0.1:8123) the fetcher may
        # reach although they are not public addresses. Refused in production.
        "LINK_PREVIEW_ALLOWED_HOSTS": _split(_env("LINK_PREVIEW_ALLOWED_HOSTS")),
        # How many proxies in front of the app append to X-Forwarded-For (Heroku, nginx: 1). 0 trusts none.
        "TRUSTED_PROXIES": _env_number("TRUSTED_PROXIES", 1 if production else 0),
        # The addresses (networks, or "*" for any) whose X-Forwarded-* and X-Request-ID are believed:
        # the proxy directly in front. A request from anywhere else has those headers removed.
        "FORWARDED_ALLOW_IPS": proxy_networks(proxy_addresses) if proxy_addresses else None,
        # Extra origins whose pages may open sockets; empty means the site's own origin only.
        "SOCKETIO_CORS_ALLOWED_ORIGINS": origins,
        **_rate_limits(redis_url),
    }
    if config["SESSION_COOKIE_SECURE"]:
        # The __Host- prefix makes the browser refuse the cookie unless it is Secure, for this host
        # only and for every path: a sibling subdomain or a plain-HTTP page cannot plant or shadow it.
        config["SESSION_COOKIE_NAME"] = "__Host-session"
        config["REMEMBER_COOKIE_NAME"] = "__Host-remember_token"
        config["REMEMBER_COOKIE_PATH"] = "/"
    csrf_key = _env("WTF_CSRF_SECRET_KEY")
    if csrf_key:  # otherwise Flask-WTF signs CSRF tokens with SECRET_KEY
        config["WTF_CSRF_SECRET_KEY"] = csrf_key
    return config


def _rate_limits(redis_url: str | None) -> dict:
    """Flask-Limiter's settings and the limits the routes and socket events apply (RATELIMIT_*).

    Each limit is "N/period" items joined by ";", all of which must hold, e.g. "10/minute;100/hour".
    """
    limits = {
        # Sign-in attempts from one address (all of them: a flood guard; wrong passwords: see below).
        "RATELIMIT_LOGIN_PER_ADDRESS": "20/minute;200/hour",
        "RATELIMIT_REGISTER_PER_ADDRESS": "5/minute;30/hour",
        "RATELIMIT_SEARCH_PER_USER": "60/minute",
        "RATELIMIT_SEARCH_PER_ADDRESS": "300/minute",
        "RATELIMIT_UPLOAD_PER_USER": "10/minute;60/hour",
        "RATELIMIT_UPLOAD_PER_ADDRESS": "30/minute",
        # Link preview fetches a user's messages may start (beyond: those messages get no card).
        "RATELIMIT_LINK_PREVIEWS_PER_USER": "10/minute;100/hour",
        # Socket events and messages sent over HTTP, per user: a burst and a sustained rate.
        "RATELIMIT_USER_EVENTS": "30/second;600/minute",
        # "typing" notices, counted apart so that they never spend the budget messages need.
        "RATELIMIT_TYPING_EVENTS": "5/second;120/minute",
        # Socket.IO connection attempts (each page view opens one): per user and per address.
        "RATELIMIT_SOCKET_CONNECTS_PER_USER": "30/10 seconds;200/minute",
        "RATELIMIT_SOCKET_CONNECTS_PER_ADDRESS": "300/10 seconds;2000/minute",
    }
    for name, default in limits.items():
        value = _env(name, default)
        try:
            parse_many(value)
        except ValueError:
            raise ConfigError(f'{name} must be limits like "10/minute;100/hour", not {value!r}.') from None
        limits[name] = value
    return {
        # Wrong passwords (app.rate_limits.password_attempt): how many each key allows before every
        # further attempt waits a delay that doubles from 1 s up to RATELIMIT_PASSWORD_MAX_DELAY. Keys:
        # the account from one address, a browser that signed in to the account before, and a
        # signed-in user's re-entered password (FREE_FAILURES); one address, whatever account; one
        # account, from every browser it does not know.
        "RATELIMIT_PASSWORD_FREE_FAILURES": _env_number("RATELIMIT_PASSWORD_FREE_FAILURES", 5),
        "RATELIMIT_PASSWORD_ADDRESS_FREE_FAILURES": _env_number("RATELIMIT_PASSWORD_ADDRESS_FREE_FAILURES", 20),
        "RATELIMIT_PASSWORD_ACCOUNT_FREE_FAILURES": _env_number("RATELIMIT_PASSWORD_ACCOUNT_FREE_FAILURES", 10),
        "RATELIMIT_PASSWORD_MAX_DELAY": max(1, _env_number("RATELIMIT_PASSWORD_MAX_DELAY", 300)),
        # Failures are forgotten this many seconds after the first one of a key.
        "RATELIMIT_PASSWORD_FAILURE_WINDOW": max(1, _env_number("RATELIMIT_PASSWORD_FAILURE_WINDOW", 3600)),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        # Seconds between two syncs of a worker's event budgets through Redis (app/event_budgets.py):
        # across W workers a user can exceed an event limit by what W - 1 of them admit in this time.
        "RATELIMIT_SYNC_SECONDS": _env_seconds("RATELIMIT_SYNC_SECONDS", 1.0),
        # Counters in Redis hold across workers; in memory they are per worker.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": _env("REDIS_KEY_PREFIX", "messanger") + ":limits",
        "RATELIMIT_STRATEGY": "sliding-window-counter",
        "RATELIMIT_HEADERS_ENABLED": True,
        # A Redis outage lets requests through (and is logged) rather than failing every sign-in.
        "RATELIMIT_SWALLOW_ERRORS": True,
        **limits,
    }


def _redis_url(url: str, verify_tls: bool) -> str:
    """REDIS_URL, told not to check the server's certificate when REDIS_TLS_VERIFY is off (Heroku's
    Key-Value Store serves TLS with a self-signed one). Every Redis client here reads it from the URL."""
    if url.startswith("rediss://") and not verify_tls and "ssl_cert_reqs=" not in url:
        return url + ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
    return url


def _env_number(name: str, default: int) -> int:
    value = _env(name, str(default))
    if not (value.isascii() and value.isdigit()):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    return int(value)


def _env_seconds(name: str, default: float) -> float:
    value = _env(name, str(default))
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0.05 <= seconds <= 3600:
        raise ConfigError(f"{name} must be a number of seconds from 0.05 to 3600, not {value!r}.")
    return seconds


def engine_options(database_url: str) -> dict:
    """Connection pool settings. SQLite needs none; a PostgreSQL pool is sized for one worker.

    Each worker serves many sockets from one process, but a greenlet holds a connection only for the
    few milliseconds of its transaction, so a small pool per worker goes a long way; when all are busy
    the next request waits up to pool_timeout for one. Recycling and pre-ping replace connections the
    server or a proxy has closed in the meantime.
    """
    if not database_url.startswith("postgresql"):
        return {}
    return {
        "pool_size": _env_number("DATABASE_POOL_SIZE", 10),
        "max_overflow": _env_number("DATABASE_MAX_OVERFLOW", 10),
        "pool_recycle": _env_number("DATABASE_POOL_RECYCLE", 1800),
        "pool_timeout": 10,
        "pool_pre_ping": True,
    }


def proxy_networks(value: str) -> list[str]:
    """FORWARDED_ALLOW_IPS ("10.0.0.0/8, 127.0.0.1", or "*"): the networks in normal form."""
    entries = _split(value)
    if entries == ["*"]:
        return entries
    networks = []
    for entry in entries:
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ConfigError(
                f"FORWARDED_ALLOW_IPS must be IP addresses or networks (10.0.0.0/8), or *, not {entry!r}."
            ) from None
    return networks


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def check_production_config(config: dict) -> None:
    """Refuse to run in production with settings that would make the deployment unsafe."""
    key = config.get("SECRET_KEY") or ""
    if key.lower() in PLACEHOLDER_SECRETS or len(key) < 32:
        raise ConfigError(
            "SECRET_KEY is missing or a placeholder: set it to a random value of at least 32 characters "
            '(python -c "import secrets; print(secrets.token_hex(32))").'
        )
    match = re.fullmatch(r"scrypt:(\d+):(\d+):(\d+)", config.get("PASSWORD_HASH_METHOD", ""))
    if not match or int(match.group(1)) < MIN_SCRYPT_N:
        raise ConfigError(f"PASSWORD_HASH_METHOD must be scrypt with N >= {MIN_SCRYPT_N} in production.")
    if config.get("LINK_PREVIEW_ALLOWED_HOSTS"):
        raise ConfigError(
            "LINK_PREVIEW_ALLOWED_HOSTS lets link previews reach private addresses: it is for tests only."
        )
    if config.get("TRUSTED_PROXIES") and config.get("FORWARDED_ALLOW_IPS") is None:
        # Trusting no one would key every rate limit on the proxy's address (the whole site shares
        # one sign-in allowance); trusting anyone lets a client pick its address. The operator knows.
        raise ConfigError(
            "FORWARDED_ALLOW_IPS is not set: name the proxy whose X-Forwarded-For to believe "
            "(127.0.0.1 for nginx on this machine, * on Heroku, 10.0.0.0/8 on Render; docs/deploy.md), "
            "or set TRUSTED_PROXIES=0 if clients reach the app directly."
        )
