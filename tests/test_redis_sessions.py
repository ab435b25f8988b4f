"""With REDIS_URL set, sessions live in Redis (so several workers share them)."""

import uuid

import pytest
import redis

from app import create_app
from app.extensions import db
from tests.conftest import AuthActions, app_config


@pytest.fixture
def redis_app(redis_url, sqlite_databases):
    key_prefix = f"test-{uuid.uuid4().hex}"
    prefix = f"{key_prefix}:session:"
    url = sqlite_databases.create()
    app = create_app(app_config(url, SESSION_TYPE="redis", REDIS_URL=redis_url, REDIS_KEY_PREFIX=key_prefix))
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
