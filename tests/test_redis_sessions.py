"""With REDIS_URL set, sessions live in Redis (so several workers share them)."""

import uuid

import pytest
import redis
from socketio import RedisManager

from app import create_app
from app.extensions import db, socketio
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


def test_an_app_without_redis_made_after_one_with_it_has_no_message_queue(redis_app, sqlite_databases):
    """The SocketIO object is shared by every app of a process: an app made without REDIS_URL after
    one with it must not inherit its Redis message queue (its test clients would refuse to run)."""
    assert isinstance(socketio.server.manager, RedisManager)
    url = sqlite_databases.create()
    app = create_app(app_config(url))
    try:
        assert not isinstance(socketio.server.manager, RedisManager)
        client = socketio.test_client(app, flask_test_client=app.test_client())
        assert not client.is_connected()  # anonymous: refused by our connect handler, not by the queue
    finally:
        with app.app_context():
            db.engine.dispose()
        sqlite_databases.drop(url)
