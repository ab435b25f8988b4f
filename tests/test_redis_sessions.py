"""With REDIS_URL set, sessions live in Redis (so several workers share them)."""

import os
import uuid

import pytest
import redis

from app import create_app
from app.extensions import db
from tests.conftest import AuthActions, app_config, skip_or_fail


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        skip_or_fail("TEST_REDIS_URL is not set: Redis tests skipped")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        skip_or_fail(f"Redis at TEST_REDIS_URL is not reachable: {error}")
    return url


@pytest.fixture
def redis_app(redis_url, sqlite_databases):
    prefix = f"test-{uuid.uuid4().hex}:session:"
    url = sqlite_databases.create()
    app = create_app(app_config(url, SESSION_TYPE="redis", REDIS_URL=redis_url, SESSION_KEY_PREFIX=prefix))
    yield app, redis.Redis.from_url(redis_url), prefix
    with app.app_context():
        db.engine.dispose()
    sqlite_databases.drop(url)


def test_login_and_logout_write_and_delete_the_session_in_redis(redis_app):
    app, store, prefix = redis_app
    client = app.test_client()
    auth = AuthActions(client)
    auth.register(username="ana")
    sid = client.get_cookie("session").value
    assert store.exists(prefix + sid)
    assert 0 < store.ttl(prefix + sid) <= app.permanent_session_lifetime.total_seconds()
    assert b"Hi, " in client.get("/").data

    auth.logout()
    assert not store.exists(prefix + sid)
    assert b"Sign up" in client.get("/").data
