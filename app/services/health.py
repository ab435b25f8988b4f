"""Is the service able to work? The database, and Redis when one is configured."""

import logging

import redis
from flask import current_app
from sqlalchemy import text

from app.extensions import db

log = logging.getLogger(__name__)


def check() -> dict[str, bool]:
    """{"database": ok, "redis": ok} (redis only when REDIS_URL is set); failures are logged."""
    results = {"database": _database_ok()}
    if current_app.config.get("REDIS_URL"):
        results["redis"] = _redis_ok(current_app.config["REDIS_URL"])
    return results


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as error:  # noqa: BLE001 - any failure means "down"
        db.session.rollback()
        log.warning("health check: database unavailable: %s", type(error).__name__)
        return False


def _redis_ok(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            return bool(client.ping())
    except redis.RedisError as error:
        log.warning("health check: redis unavailable: %s", type(error).__name__)
        return False
