"""Test layers: the app on a migrated temporary database (SQLite, and PostgreSQL when configured),
a real eventlet server in a subprocess, and a real Chromium driven by Playwright.

Services are found through the environment: TEST_POSTGRES_URL (an admin connection, e.g.
postgresql://postgres@127.0.0.1:5432/postgres), TEST_REDIS_URL and CHROMIUM_PATH (default
/usr/bin/chromium). Without them those tests skip with the reason; with
MESSANGER_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails instead.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.services import ServiceError, conversations, rooms, social
from app.transactions import transaction

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("MESSANGER_REQUIRE_SERVICES") == "1"
FAST_PASSWORD_HASH = "pbkdf2:sha256:1"
TEST_PASSWORD = "Corr3ct-Horse!"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it where every service is required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (MESSANGER_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


def app_config(database_url: str, **overrides) -> dict:
    """The settings every test app starts from."""
    return {
        "TESTING": True,
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
        "SESSION_TYPE": "sqlalchemy",
        # Expired sessions are otherwise swept on a random 1 in 1,000 requests, which would make
        # query counts vary from run to run.
        "SESSION_CLEANUP_N_REQUESTS": None,
        "REDIS_URL": None,
        # Tests sign in far more often than people do; tests/test_rate_limits.py turns limits on.
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Socket.IO test clients run no server to wait out a grace: going offline is announced at once.
        "PRESENCE_GRACE_SECONDS": 0,
        # Tests never reach the internet; tests/test_link_previews.py turns previews on.
        "LINK_PREVIEWS": False,
        **overrides,
    }


def unique_username(prefix: str = "user") -> str:
    """A username no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def extract_csrf(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1) or match.group(2)


def page_text(response) -> str:
    """A response's HTML with its CSRF tokens blanked: they carry a timestamp, so two pages differ."""
    return CSRF_INPUT.sub('name="csrf_token" value=""', response.get_data(as_text=True))


def migrate_to_head(url: str) -> None:
    """Bring the database at `url` to the newest schema through the migrations."""
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()


class SqliteDatabases:
    """Hands out copies of one SQLite file that was migrated once."""

    name = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder
        self.template = folder / "template.db"
        migrate_to_head(f"sqlite:///{self.template}")

    def create(self) -> str:
        path = self.folder / f"test_{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresDatabases:
    """Hands out databases created from a template that was migrated once."""

    name = "postgres"

    def __init__(self, admin_url: str):
        import psycopg2
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        self.prefix = f"messanger_test_{os.getpid()}"
        self.connection = psycopg2.connect(admin_url)
        self.connection.autocommit = True
        self.template = f"{self.prefix}_template"
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.template}"')
        migrate_to_head(self._url(self.template))

    def _execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)

    def _url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self._url(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.connection.close()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory):
    """Migrated SQLite databases, one per test."""
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases():
    """Migrated PostgreSQL databases, one per test; skipped without TEST_POSTGRES_URL."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    try:
        databases = PostgresDatabases(url)
    except Exception as error:  # noqa: BLE001 - any connection failure means "not available"
        skip_or_fail(f"PostgreSQL at TEST_POSTGRES_URL is not reachable: {error}")
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL (a Redis that tests may write to, under their own key prefixes)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        skip_or_fail("TEST_REDIS_URL is not set: Redis tests skipped")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        skip_or_fail(f"Redis at TEST_REDIS_URL is not reachable: {error}")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """A fresh, migrated database on each engine the product supports."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url, tmp_path):
    """The app on a fresh migrated database (never create_all: the migrations are under test)."""
    app = create_app(app_config(database_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """The app with a request context pushed, for calling services directly (the payloads they emit
    hold URLs, which need one)."""
    with app.test_request_context():
        yield app


@pytest.fixture
def make_user(ctx):
    """Create accounts through the accounts service: make_user("ana", first_name="Ana")."""
    from app.services import accounts

    def make(username: str | None = None, password: str = TEST_PASSWORD, **names):
        with transaction():
            user = accounts.register_user(username or unique_username(), password, **names)
        return user

    return make


@pytest.fixture
def client(app):
    """A test client with a cookie jar, like one browser."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def group_and_chat(make_user):
    """ana owns a group with her friends bob and cyd; dan is a stranger; ana and bob also have a
    direct chat. Returns (ana, bob, cyd, dan, group, chat)."""
    ana, bob, cyd, dan = (make_user(name) for name in ("ana", "bob", "cyd", "dan"))
    with transaction():
        for friend in (bob, cyd):
            social.send_request(ana, friend.username)
            social.accept_request(friend, "ana")
        group = conversations.create_group(ana, "Plans", [bob.id, cyd.id])
        chat = conversations.open_direct(ana, "bob")
    return ana, bob, cyd, dan, group, chat


@pytest.fixture
def emitted(monkeypatch):
    """The (event, payload, room) of everything the services emit from now on."""
    events = []
    original = rooms.emit

    def record(event, payload, room, **options):
        events.append((event, payload, room))
        return original(event, payload, room, **options)

    monkeypatch.setattr(rooms, "emit", record)
    return events


def door(call, *args, **kwargs):
    """Call one service as a door does: in a transaction of its own, committed (its events sent)
    when it returns, rolled back when it raises."""
    with transaction():
        return call(*args, **kwargs)


def refused(call, code: str):
    """The ServiceError that call() raises, asserting its code."""
    with pytest.raises(ServiceError) as error:
        call()
    assert error.value.code == code, error.value.message
    return error.value


def run_concurrently(database_url: str, calls: list, join_timeout: float = 120) -> list:
    """Run the calls at the same moment, each in its own thread with its own app, database
    connection and request context; return each call's result, or the exception it raised."""
    apps = [create_app(app_config(database_url)) for _ in calls]  # built first: only the calls race
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index: int) -> None:
        with apps[index].test_request_context():
            try:
                barrier.wait(timeout=30)
                with transaction():  # each call is a door of its own
                    outcomes[index] = calls[index]()
            except Exception as error:  # noqa: BLE001 - the outcome is what the caller checks
                outcomes[index] = error
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_timeout)
    return outcomes


class AuthActions:
    """Register, log in and log out through the real forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        return extract_csrf(self.client.get(path).get_data(as_text=True))

    def register(self, username: str | None = None, password: str = TEST_PASSWORD, **fields):
        username = username or unique_username()
        data = {
            "username": username,
            "first_name": fields.pop("first_name", "Ana"),
            "last_name": fields.pop("last_name", "Lima"),
            "password": password,
            "confirm_password": fields.pop("confirm_password", password),
            "csrf_token": self.csrf("/register"),
            **fields,
        }
        response = self.client.post("/register", data=data)
        self.username = username
        return response

    def login(self, username: str, password: str = TEST_PASSWORD, remember: bool = False, next_url: str = ""):
        data = {"username": username, "password": password, "csrf_token": self.csrf("/login")}
        if remember:
            data["remember"] = "y"
        path = f"/login?next={next_url}" if next_url else "/login"
        return self.client.post(path, data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture
def auth(client):
    """Account actions through the HTTP forms."""
    return AuthActions(client)


@pytest.fixture
def logged_in_client(client, auth):
    """A client signed in as a freshly registered user (auth.username)."""
    response = auth.register()
    assert response.status_code == 302
    return client


# --- a real server -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`python run.py` (eventlet, or gevent with ASYNC_MODE=gevent) in a subprocess, with its own
    database, on a port that stays the same when a test kills or stops it and starts it again."""

    def __init__(self, database_url: str, log_path: Path, port: int | None = None, start: bool = True, **env):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.log_path = log_path
        self.environment = {
            **os.environ,
            "APP_ENV": "development",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
            "SECRET_KEY": "live-server-secret-key-0123456789abcdef",
            "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
            "RATELIMIT_ENABLED": "0",
            # Tests watch people go offline; the default grace (5 s) would only slow them down.
            "PRESENCE_GRACE_SECONDS": "1",
            # Sessions ended behind the app's back (tests/test_session_end.py) close their sockets soon.
            "SOCKET_SESSION_CHECK_SECONDS": "0.5",
            # No fetches of the links tests send (tests/test_link_previews.py runs its own server).
            "LINK_PREVIEWS": "0",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        if start:
            self.start()

    def start(self, seconds: float = 30) -> None:
        """Start the server and return once it answers HTTP (bounded); its output goes to the log."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=self.environment, stdout=log, stderr=log
            )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                requests.get(self.url + "/login", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # a loaded machine may answer late
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not come up in {seconds}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-whatever it was doing."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def terminate(self, seconds: float = 30) -> int:
        """SIGTERM (the graceful stop), killing it after `seconds`; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log (all its runs)."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop it, gracefully if it stops within 10 s."""
        if self.process:
            self.terminate(10)


@contextmanager
def two_workers(postgres_databases, redis_url: str, folder: Path, **env):
    """Two live workers of one site: one new PostgreSQL database, one Redis under a key prefix of
    their own (removed afterwards)."""
    database_url = postgres_databases.create()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    environment = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix, **env}
    workers = [LiveServer(database_url, folder / f"worker-{index}.log", **environment) for index in (1, 2)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        postgres_databases.drop(database_url)
        store = redis.Redis.from_url(redis_url)
        for key in store.scan_iter(f"{prefix}:*"):
            store.delete(key)
        store.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres", "postgres-gevent"])
def live_server(request, tmp_path_factory):
    """A real server per database engine (eventlet), and one under the alternative async mode
    (gevent, on PostgreSQL), each shared by the session; tests use unique usernames."""
    engine, _, async_mode = request.param.partition("-")
    databases = request.getfixturevalue(f"{engine}_databases")
    folder = tmp_path_factory.mktemp("server")
    server = LiveServer(
        databases.create(),
        folder / "server.log",
        ASYNC_MODE=async_mode or "eventlet",
    )
    yield server
    server.stop()


class HttpUser:
    """A person using the live server over HTTP with their own cookie jar."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.username = None

    def csrf(self, path: str) -> str:
        return extract_csrf(self.http.get(self.base_url + path, timeout=10).text)

    def post_form(self, path: str, data: dict, csrf_from: str | None = None) -> requests.Response:
        token = self.csrf(csrf_from or path)
        return self.http.post(self.base_url + path, data={**data, "csrf_token": token}, timeout=30)

    def register(
        self,
        username: str | None = None,
        password: str = TEST_PASSWORD,
        first_name: str = "Test",
        last_name: str = "User",
    ) -> "HttpUser":
        self.username = username or unique_username()
        response = self.post_form(
            "/register",
            {
                "username": self.username,
                "password": password,
                "confirm_password": password,
                "first_name": first_name,
                "last_name": last_name,
            },
        )
        assert response.ok and "/register" not in response.url, response.text[:500]
        return self

    def login(self, username: str, password: str = TEST_PASSWORD) -> requests.Response:
        self.username = username
        return self.post_form("/login", {"username": username, "password": password})

    def logout(self) -> requests.Response:
        return self.post_form("/logout", {}, csrf_from="/")

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())


@pytest.fixture
def http_user(live_server):
    """Make HttpUser objects for the live server."""
    return lambda: HttpUser(live_server.url)


@pytest.fixture
def open_socket():
    """Open Socket tabs for HttpUsers (on whatever server they use); all are closed after the test."""
    from tests.realtime import Socket  # it builds on this module's HttpUser

    opened = []

    def open_(user: HttpUser) -> Socket:
        tab = Socket(user)
        opened.append(tab)
        return tab

    yield open_
    # In parallel: a client waits up to 3 s for the server's websocket close frame (gevent answers
    # late). disconnect() is a no-op for a socket already closed or dropped by the server.
    with ThreadPoolExecutor(max(len(opened), 1)) as pool:
        list(pool.map(lambda tab: tab.client.disconnect(), opened))


# --- a real browser ------------------------------------------------------------------------------

# The page's realtime module (the one instance its scripts import), reached from the harness.
REALTIME = "await import('/static/js/realtime/index.js')"


def wait_connected(page, connected: bool = True) -> None:
    """Wait until the page is ready to use: its modules have run (they run before the load event)
    and its socket is connected (or, with connected=False, down). Playwright's wait_for_function
    does not await a promise (an async predicate is truthy at once), so the realtime module is
    fetched first and its live binding read synchronously. The socket alone says too little: this
    import() evaluates the realtime module early, so the socket can connect while the page's other
    modules are still being fetched."""
    page.evaluate(f"async () => {{ window.__realtime = {REALTIME} }}")
    page.wait_for_function(
        "(wanted) => document.readyState === 'complete' && window.__realtime.connected === wanted", arg=connected
    )


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; skipped where either is missing."""
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        skip_or_fail(f"no Chromium at {executable} (apt-get install -y chromium): browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed: browser tests skipped")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh browser contexts (separate cookies: separate people), each failing the
    test on any page error: new_page(viewport={"width": 360, "height": 740})."""
    contexts, errors = [], []

    def on_console(message):
        # A refused form answers 422 on purpose, and Chromium logs every 4xx document as an error.
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(message.text)

    def open_page(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", on_console)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"browser errors: {errors}"


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context, failing the test on any page error."""
    return new_page()


def register_in_browser(page, username: str, first_name: str = "Ana", last_name: str = "Lima") -> None:
    """Fill and submit the sign-up form."""
    page.goto("/register")
    page.fill("#username", username)
    page.fill("#first_name", first_name)
    page.fill("#last_name", last_name)
    page.fill("#password", TEST_PASSWORD)
    page.fill("#confirm_password", TEST_PASSWORD)
    page.locator("form button[type=submit]").click()
