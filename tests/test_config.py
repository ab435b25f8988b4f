"""Configuration: environment parsing, production refusals, database settings."""

import re
import subprocess
import sys

import pytest
from sqlalchemy import text

from app import create_app
from app.config import (
    STRONG_PASSWORD_HASH,
    ConfigError,
    check_production_config,
    engine_options,
    load_config,
    normalize_database_url,
)
from app.extensions import db, socketio
from tests.conftest import ROOT, TEST_PASSWORD, app_config, extract_csrf


def test_postgres_scheme_from_heroku_and_render_is_accepted():
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg2://u:p@h:5432/d"
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert normalize_database_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_database_url_from_environment_is_normalized(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/app")
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db.example/app"


def test_default_database_is_sqlite_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'messenger.db'}"
    assert config["SESSION_TYPE"] == "sqlalchemy"


def test_redis_url_switches_sessions_to_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_config(str(tmp_path))["SESSION_TYPE"] == "redis"


def test_default_password_hash_is_scrypt_at_owasp_cost(monkeypatch, tmp_path):
    monkeypatch.delenv("PASSWORD_HASH_METHOD", raising=False)
    method = load_config(str(tmp_path))["PASSWORD_HASH_METHOD"]
    assert method == STRONG_PASSWORD_HASH
    n = int(re.fullmatch(r"scrypt:(\d+):8:1", method).group(1))
    assert n >= 2**17


def test_development_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    first = load_config(str(tmp_path))["SECRET_KEY"]
    assert len(first) >= 32
    assert load_config(str(tmp_path))["SECRET_KEY"] == first


@pytest.mark.parametrize("secret", ["", "change-me", "dev", "short-but-real"])
def test_production_refuses_missing_or_placeholder_secret(database_url, secret):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(
            app_config(database_url, APP_ENV="production", SECRET_KEY=secret, PASSWORD_HASH_METHOD=STRONG_PASSWORD_HASH)
        )


def test_production_refuses_a_weak_password_hash(database_url):
    with pytest.raises(ConfigError, match="PASSWORD_HASH_METHOD"):
        create_app(app_config(database_url, APP_ENV="production", SECRET_KEY="k" * 40))


def production_refusal(tmp_path, secret_key: str) -> list[str]:
    """What `python run.py` in production with this SECRET_KEY (and no proxy setting) prints before
    it exits non-zero: its stderr's non-blank lines."""
    env = {
        "PATH": "/usr/bin:/bin",
        "APP_ENV": "production",
        "SECRET_KEY": secret_key,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_run_py_explains_a_missing_secret_in_one_line(tmp_path):
    lines = production_refusal(tmp_path, "change-me")
    assert len(lines) == 1 and "SECRET_KEY" in lines[0], lines


def test_socketio_runs_on_eventlet_and_shares_the_http_session(app):
    assert socketio.async_mode == "eventlet"
    assert socketio.manage_session is False


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_databases):
    url = sqlite_databases.create()
    app = create_app(app_config(url))
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
    sqlite_databases.drop(url)


def _scheme_and_client(app, peer: str = "127.0.0.1"):
    @app.get("/whoami")
    def whoami():
        from flask import g, request

        return {
            "scheme": request.scheme,
            "remote": request.remote_addr,
            "host": request.host,
            "request_id": g.request_id,
        }

    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Host": "chat.example",
        "X-Request-ID": "router-given-id-1",
    }
    return app.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": peer}).get_json()


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_client_count(database_url):
    app = create_app(app_config(database_url, TRUSTED_PROXIES=1))
    assert _scheme_and_client(app) == {
        "scheme": "https",
        "remote": "203.0.113.9",
        "host": "chat.example",
        "request_id": "router-given-id-1",
    }


def test_without_trusted_proxies_forwarded_headers_are_ignored(database_url):
    app = create_app(app_config(database_url, TRUSTED_PROXIES=0))
    answer = _scheme_and_client(app)
    assert answer["scheme"] == "http" and answer["remote"] != "203.0.113.9" and answer["host"] != "chat.example"
    assert answer["request_id"] != "router-given-id-1"


@pytest.mark.parametrize(
    ("peer", "believed"),
    [
        ("10.20.30.40", True),
        ("::ffff:10.20.30.40", True),  # an IPv4 proxy as a dual-stack socket reports it
        ("fd00::7", True),
        ("192.0.2.1", False),
        ("127.0.0.1", False),  # loopback is only the default, not added to a configured list
        ("not-an-address", False),
    ],
)
def test_forwarded_headers_are_believed_only_from_the_configured_proxy_networks(database_url, peer, believed):
    """A client that reaches the worker directly cannot name its own address, scheme, host or
    request id: from outside FORWARDED_ALLOW_IPS the headers are dropped."""
    app = create_app(app_config(database_url, TRUSTED_PROXIES=1, FORWARDED_ALLOW_IPS="10.0.0.0/8, fd00::/8"))
    answer = _scheme_and_client(app, peer)
    forwarded = {"scheme": "https", "remote": "203.0.113.9", "host": "chat.example", "request_id": "router-given-id-1"}
    assert (answer == forwarded) is believed
    if not believed:
        assert answer["scheme"] == "http" and answer["remote"] == peer and answer["host"] == "localhost"
        assert answer["request_id"] != forwarded["request_id"]


def test_trusted_proxies_counts_x_forwarded_for_entries_from_the_proxy(database_url):
    """Two proxies (Render: Cloudflare, then Render's own) each append one address: the client is the
    second from the right, and what it wrote itself on the left is not believed."""
    app = create_app(app_config(database_url, TRUSTED_PROXIES=2, FORWARDED_ALLOW_IPS="10.0.0.0/8"))

    @app.get("/whoami")
    def whoami():
        from flask import request

        return {"remote": request.remote_addr, "scheme": request.scheme}

    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 172.70.1.1", "X-Forwarded-Proto": "https"}
    answer = app.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.1.1.1"}).get_json()
    assert answer == {"remote": "198.51.100.7", "scheme": "https"}


def test_production_trusts_one_proxy_by_default_but_only_once_told_which(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    production = load_config(str(tmp_path))
    assert production["TRUSTED_PROXIES"] == 1 and production["FORWARDED_ALLOW_IPS"] is None
    strong = {"SECRET_KEY": "k" * 40, "PASSWORD_HASH_METHOD": STRONG_PASSWORD_HASH}
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS is not set"):
        check_production_config({**production, **strong})
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    check_production_config({**load_config(str(tmp_path)), **strong})
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    monkeypatch.setenv("TRUSTED_PROXIES", "0")  # no proxy: clients connect straight to the app
    check_production_config({**load_config(str(tmp_path)), **strong})
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("TRUSTED_PROXIES")
    development = load_config(str(tmp_path))
    assert development["TRUSTED_PROXIES"] == 0 and development["FORWARDED_ALLOW_IPS"] == ["127.0.0.1/32", "::1/128"]


def test_run_py_in_production_refuses_to_guess_its_proxies(tmp_path):
    lines = production_refusal(tmp_path, "s" * 40)
    assert len(lines) == 1 and "FORWARDED_ALLOW_IPS" in lines[0] and "docs/deploy.md" in lines[0], lines


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ASYNC_MODE", "asyncio", "ASYNC_MODE must be eventlet or gevent"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be json or text"),
        ("SHUTDOWN_TIMEOUT", "soon", "SHUTDOWN_TIMEOUT must be a whole number"),
        ("RATELIMIT_LOGIN_PER_ADDRESS", "lots", "RATELIMIT_LOGIN_PER_ADDRESS must be limits like"),
        ("RATELIMIT_PASSWORD_MAX_DELAY", "a minute", "RATELIMIT_PASSWORD_MAX_DELAY must be a whole number"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.0/8, render", "FORWARDED_ALLOW_IPS must be IP addresses or networks"),
    ],
)
def test_unusable_server_settings_are_refused_with_a_clear_message(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_config(str(tmp_path))


def test_gevent_is_the_alternative_async_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("ASYNC_MODE", "GEVENT")
    assert load_config(str(tmp_path))["ASYNC_MODE"] == "gevent"
    monkeypatch.delenv("ASYNC_MODE")
    assert load_config(str(tmp_path))["ASYNC_MODE"] == "eventlet"


def test_logs_are_json_in_production_and_text_elsewhere(monkeypatch, tmp_path):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    assert load_config(str(tmp_path))["LOG_FORMAT"] == "json"
    monkeypatch.setenv("APP_ENV", "development")
    assert load_config(str(tmp_path))["LOG_FORMAT"] == "text"


def test_a_postgres_pool_is_sized_recycled_and_pre_pinged(monkeypatch):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "4")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "6")
    monkeypatch.delenv("DATABASE_POOL_RECYCLE", raising=False)
    assert engine_options("postgresql://u@h/d") == {
        "pool_size": 4,
        "max_overflow": 6,
        "pool_recycle": 1800,
        "pool_timeout": 10,
        "pool_pre_ping": True,
    }
    assert engine_options("sqlite:///x.db") == {}


def test_the_app_uses_its_pool_settings_on_postgres(postgres_databases):
    url = postgres_databases.create()
    app = create_app(app_config(url))
    with app.app_context():
        assert db.engine.pool.size() == 10 and db.engine.pool._recycle == 1800
        db.engine.dispose()
    postgres_databases.drop(url)


def test_redis_tls_certificate_checks_can_be_turned_off_for_heroku(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "rediss://:pw@redis.example:6380")
    monkeypatch.delenv("REDIS_TLS_VERIFY", raising=False)
    assert load_config(str(tmp_path))["REDIS_URL"] == "rediss://:pw@redis.example:6380"
    monkeypatch.setenv("REDIS_TLS_VERIFY", "0")
    assert load_config(str(tmp_path))["REDIS_URL"] == "rediss://:pw@redis.example:6380?ssl_cert_reqs=none"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_config(str(tmp_path))["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_production_cookies_are_secure_httponly_lax_and_hsts_is_sent(database_url):
    """In production the session cookie goes over HTTPS only, out of scripts' reach, not on
    cross-site posts, and browsers are told to keep to HTTPS."""
    app = create_app(
        app_config(
            database_url,
            APP_ENV="production",
            SECRET_KEY="p" * 40,
            PASSWORD_HASH_METHOD=STRONG_PASSWORD_HASH,
            SESSION_COOKIE_SECURE=True,
            REMEMBER_COOKIE_SECURE=True,
        )
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client = app.test_client()
    response = client.get("/login", base_url="https://chat.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with app.app_context():
        db.engine.dispose()


def test_production_defaults_turn_secure_cookies_on(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = load_config(str(tmp_path), secret_key="p" * 40)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_cookies_carry_the_host_prefix_and_remember_me_is_as_strict(database_url, monkeypatch):
    """Configured from the environment alone, production names every cookie __Host- (the browser
    then refuses them unless Secure, host-only and for path /), and the remember-me and known-device
    cookies are as strict as the session's: Secure, HttpOnly, SameSite=Lax."""
    for name, value in {
        "APP_ENV": "production",
        "SECRET_KEY": "p" * 40,
        "DATABASE_URL": database_url,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SESSION_COOKIE_SECURE", "REDIS_URL", "PASSWORD_HASH_METHOD"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    # Flask-WTF checks the Referer of HTTPS posts: a browser sends it for same-origin forms.
    https = {"base_url": "https://chat.example", "headers": {"Referer": "https://chat.example/"}}
    token = extract_csrf(client.get("/register", **https).get_data(as_text=True))
    password = TEST_PASSWORD
    fields = {"first_name": "Ana", "last_name": "Lima", "password": password, "confirm_password": password}
    assert (
        client.post("/register", data={"username": "hostcookie", **fields, "csrf_token": token}, **https).status_code
        == 302
    )
    token = extract_csrf(client.get("/", **https).get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}, **https).status_code == 302
    token = extract_csrf(client.get("/login", **https).get_data(as_text=True))
    signed_in = client.post(
        "/login", data={"username": "hostcookie", "password": password, "remember": "y", "csrf_token": token}, **https
    )
    assert signed_in.status_code == 302, signed_in.status_code
    cookies = {header.split("=", 1)[0]: header for header in signed_in.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"__Host-session", "__Host-remember_token", "__Host-known_device"}
    for header in cookies.values():
        attributes = {part.strip().split("=", 1)[0].lower() for part in header.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes, header
        assert "SameSite=Lax" in header and "Path=/;" in header + ";", header
    assert client.get("/settings", **https).status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_every_app_gets_the_socket_handlers(sqlite_databases):
    """Each app built in a process (tests build many) serves every socket event, not just the first."""
    urls = [sqlite_databases.create() for _ in range(2)]
    apps = [create_app(app_config(url)) for url in urls]
    handlers = [set(app.extensions["socketio"].server.handlers["/"]) for app in apps]
    assert handlers[0] == handlers[1] >= {"connect", "disconnect", "send_message", "sync", "mark_read", "typing"}
    for url in urls:
        sqlite_databases.drop(url)
