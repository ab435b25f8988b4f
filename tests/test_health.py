"""/healthz: 200 when the database (and Redis, when configured) answer; 503 when one does not."""

import shutil

import requests

from app import create_app
from app.extensions import db
from tests.conftest import LiveServer, app_config, skip_or_fail
from tests.faults import PrivateRedis


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": True}}
    assert "no-store" in response.headers["Cache-Control"]


def test_an_unreachable_database_answers_503(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path}/missing/dir/db.sqlite"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": False}
    with app.app_context():
        db.engine.dispose()


def test_a_stopped_redis_is_reported(sqlite_databases):
    """A Redis that does not answer (nothing listens on port 1) makes the service unhealthy."""
    url = sqlite_databases.create()
    app = create_app(app_config(url, REDIS_URL="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": True, "redis": False}
    with app.app_context():
        db.engine.dispose()
    sqlite_databases.drop(url)


def test_a_running_redis_is_reported(sqlite_databases, redis_url):
    url = sqlite_databases.create()
    app = create_app(app_config(url, REDIS_URL=redis_url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": True, "redis": True}
    with app.app_context():
        db.engine.dispose()
    sqlite_databases.drop(url)


def test_a_live_server_reports_its_redis_stopping_and_coming_back(sqlite_databases, tmp_path):
    """A real server with its own Redis: healthy, then 503 naming Redis once that Redis is stopped,
    then healthy again when it is back."""
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed: the live Redis outage test is skipped")
    private = PrivateRedis(tmp_path)
    private.start()
    database_url = sqlite_databases.create()
    server = LiveServer(database_url, tmp_path / "server.log", REDIS_URL=private.url)
    try:
        assert requests.get(server.url + "/healthz", timeout=10).json()["checks"] == {"database": True, "redis": True}
        private.stop()
        response = requests.get(server.url + "/healthz", timeout=10)
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": True, "redis": False}
        private.start()
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
        private.stop()
        sqlite_databases.drop(database_url)
