"""Messanger: a self-hosted real-time messenger. `create_app()` builds the Flask app."""

from pathlib import Path

import redis
from dotenv import load_dotenv
from flask import Flask, has_request_context
from jinja2 import StrictUndefined
from socketio import RedisManager
from sqlalchemy import event

from app import compression, in_flight
from app.cli import register_commands
from app.config import check_production_config, engine_options, load_config, normalize_database_url, proxy_networks
from app.extensions import csrf, db, limiter, login_manager, migrate, sessions, socketio
from app.fragment_cache import FragmentCache
from app.log import configure_logging
from app.proxies import TrustedProxies
from app.static_assets import register_static_versions
from app.templating import register_template_filters

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Messanger(Flask):
    """Flask, building URLs outside a request too (a CLI command, a background job, an event's
    payload): without SERVER_NAME they are paths, the same paths a request would build."""

    def create_url_adapter(self, request):
        """The request's adapter; outside one without SERVER_NAME, the url map bound to a neutral
        host, which only paths come from (url_for below never makes those URLs external)."""
        adapter = super().create_url_adapter(request)
        if adapter is None and request is None:
            adapter = self.url_map.bind(
                "localhost",
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return adapter

    def url_for(self, endpoint, *, _anchor=None, _method=None, _scheme=None, _external=None, **values):
        """Flask's url_for; outside a request without SERVER_NAME, a path (Flask would make it
        external by default) and an error for an external URL, whose host is unknown there."""
        if not has_request_context() and not self.config["SERVER_NAME"]:
            if _external or _scheme is not None:
                raise RuntimeError("An external URL outside a request needs SERVER_NAME.")
            _external = False
        return super().url_for(
            endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external, **values
        )


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment (and `.env`), with `config` overriding both."""
    config = config or {}
    if not config.get("TESTING"):
        load_dotenv(PROJECT_ROOT / ".env")
    app = Messanger(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(load_config(app.instance_path, secret_key=config.get("SECRET_KEY")))
    app.config.update(config)
    if app.config["APP_ENV"] == "production":
        check_production_config(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["APP_ENV"] != "production":
        # A template naming a variable the view did not pass is a bug: fail loudly outside production.
        app.jinja_env.undefined = StrictUndefined

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_static_versions(app)
    register_template_filters(app)
    register_commands(app)
    trust_proxies(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind the platform's proxy, take the client's address, scheme and host from X-Forwarded-*,
    when the connection comes from that proxy (FORWARDED_ALLOW_IPS); ignore them from anyone else."""
    networks = app.config["FORWARDED_ALLOW_IPS"]
    if isinstance(networks, str):  # given as a string by a caller's config
        networks = proxy_networks(networks)
    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"], networks or [])


def _sqlite_begin_before_savepoint(connection, _name) -> None:
    """pysqlite begins a transaction only before its first INSERT/UPDATE/DELETE: a SAVEPOINT before
    that would begin it instead, and releasing that savepoint would commit the whole transaction.
    Begin it first, so a savepoint is always nested in the transaction it belongs to."""
    dbapi_connection = connection.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def register_extensions(app: Flask) -> None:
    """Bind every extension of app.extensions to this app."""
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    compression.init_app(app)  # first: its hook runs after every other one
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", _sqlite_begin_before_savepoint)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)

    from app.group_commit import GroupCommit, count_writes

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count_writes)
    from app.realtime.identities import Identities
    from app.services import socket_registry
    from app.services.accounts import load_user
    from app.services.send_checks import SendChecks

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)

    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["REDIS_URL"]:
        # Greenlets wait for a free connection (up to 10 s) rather than fail when all are in use.
        pool = redis.BlockingConnectionPool.from_url(
            app.config["REDIS_URL"],
            max_connections=app.config["REDIS_MAX_CONNECTIONS"],
            timeout=10,
            health_check_interval=30,
        )
        app.extensions["redis"] = redis.Redis(connection_pool=pool)
    if app.config["SESSION_TYPE"] == "redis":
        app.config.setdefault("SESSION_REDIS", app.extensions["redis"])
        app.config.setdefault("SESSION_KEY_PREFIX", app.config["REDIS_KEY_PREFIX"] + ":session:")
    sessions.init_app(app)
    socket_registry.init_app(app)
    app.extensions["socket_identities"] = Identities()
    app.extensions["group_commit"] = GroupCommit()
    app.extensions["send_checks"] = SendChecks()
    reloading = app.debug or app.config.get("TEMPLATES_AUTO_RELOAD")
    app.extensions["message_fragments"] = FragmentCache(0 if reloading else app.config["MESSAGE_FRAGMENT_CACHE_SIZE"])
    app.wsgi_app = in_flight.counting(app.wsgi_app)  # inside Socket.IO's middleware, see counting()
    # Named even when None: Flask-SocketIO keeps the options of an earlier init_app (another app in
    # the same process), so an app without Redis would inherit that app's message queue.
    options = {"client_manager": None}
    if app.config["REDIS_URL"]:
        # Every worker publishes its emits to Redis and relays the others' to its clients. Emits from
        # many greenlets at once each hold a connection for a moment: room beyond redis-py's 100.
        options["client_manager"] = RedisManager(
            app.config["REDIS_URL"],
            channel=app.config["REDIS_KEY_PREFIX"] + ":socketio",
            redis_options={"max_connections": 1000},
        )
    register_socket_handlers()  # before init_app, which gives each app's server the registered handlers
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        cors_allowed_origins=app.config["SOCKETIO_CORS_ALLOWED_ORIGINS"] or None,
        **options,
    )


def _unauthorized():
    """Visitors go to the login page; the JSON API answers 401 instead of redirecting."""
    from flask import jsonify, redirect, request, url_for

    from app.errors import wants_json

    if wants_json():
        return jsonify({"ok": False, "error": "unauthorized", "message": "Sign in first."}), 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def register_blueprints(app: Flask) -> None:
    """Mount the HTTP entry points."""
    from app.api import bp as api_bp
    from app.attachments import bp as attachments_bp
    from app.auth import bp as auth_bp
    from app.chat import bp as chat_bp
    from app.main import bp as main_bp
    from app.people import bp as people_bp
    from app.search import bp as search_bp
    from app.settings import bp as settings_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(search_bp)


def register_error_handlers(app: Flask) -> None:
    """Styled error pages for every HTTP error."""
    from app.errors import register_error_handlers as register

    register(app)


def register_socket_handlers() -> None:
    """Import the Socket.IO handlers, which register themselves on the shared SocketIO object.

    Imported before the first init_app, their decorators file them with the SocketIO object, which
    gives them to every app's server; imported after, they would reach only the first app's."""
    import app.realtime.handlers  # noqa: F401


def register_security_headers(app: Flask) -> None:
    """CSP, nosniff and friends on every response."""
    from app.security import register_security_headers as register

    register(app)
