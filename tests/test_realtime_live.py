"""Socket.IO against the real eventlet server: sockets belong to the signed-in HTTP session they came from."""

import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import socketio

from tests.conftest import TEST_PASSWORD, HttpUser, LiveServer

EVENT_TIMEOUT = 5
GRACE = 0.5
NEW_PASSWORD = "N3w-Password!"
SLOW_PASSWORD_HASH = "scrypt:262144:8:1"


class Socket:
    """One python-socketio client and an event set when the server drops it."""

    def __init__(self):
        self.client = socketio.Client(reconnection=False)
        self.disconnected = threading.Event()
        self.client.on("disconnect", lambda *_reason: self.disconnected.set())

    def connect(self, url: str, cookie_header: str = "", transport: str = "websocket") -> "Socket":
        headers = {"Cookie": cookie_header} if cookie_header else {}
        self.client.connect(url, headers=headers, transports=[transport], wait_timeout=5)
        return self

    @property
    def connected(self) -> bool:
        return self.client.connected


@pytest.fixture
def open_socket(live_server):
    """Open sockets to the live server (optionally with a user's cookies); all are closed after the test."""
    sockets = []

    def open_(cookie_header: str = "", transport: str = "websocket") -> Socket:
        socket = Socket()
        sockets.append(socket)
        return socket.connect(live_server.url, cookie_header, transport)

    yield open_
    for socket in sockets:
        socket.client.disconnect()  # a no-op for a socket that was refused or dropped by the server


@pytest.fixture
def signed_in(http_user):
    """Register a fresh user and return their first signed-in HttpUser."""
    return http_user().register()


def change_password(user: HttpUser, new_password: str) -> requests.Response:
    """POST the change-password form as `user`, without following the redirect."""
    token = user.csrf("/settings/password")
    return user.http.post(
        user.base_url + "/settings/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": new_password,
            "confirm_password": new_password,
            "csrf_token": token,
        },
        allow_redirects=False,
        timeout=30,
    )


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_anonymous_socket_is_refused(open_socket, transport):
    """A connection without a signed-in session cookie is refused on both transports."""
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(transport=transport)


def test_signed_in_socket_connects(open_socket, signed_in):
    """A signed-in user's session cookie lets the socket connect."""
    socket = open_socket(signed_in.cookie_header)
    assert socket.connected


def test_logout_disconnects_the_sessions_socket_and_its_cookie_is_refused(open_socket, signed_in):
    """Logging out over HTTP drops that session's socket, and the old cookie cannot open a new one."""
    old_cookie = signed_in.cookie_header
    socket = open_socket(old_cookie)
    assert socket.connected

    response = signed_in.logout()
    assert response.ok

    assert socket.disconnected.wait(EVENT_TIMEOUT), "the socket was not disconnected after logout"
    assert not socket.connected
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(old_cookie)


def test_logout_only_disconnects_that_session(open_socket, http_user, signed_in):
    """A user signed in twice who logs out in one session keeps the other session's socket."""
    second = http_user()
    assert second.login(signed_in.username).ok
    assert second.cookie_header != signed_in.cookie_header

    first_socket = open_socket(signed_in.cookie_header)
    second_socket = open_socket(second.cookie_header)

    assert signed_in.logout().ok

    assert first_socket.disconnected.wait(EVENT_TIMEOUT), "the logged-out session's socket stayed connected"
    time.sleep(GRACE)
    assert not second_socket.disconnected.is_set()
    assert second_socket.connected


def test_password_change_signs_out_other_sessions_only(open_socket, http_user, signed_in):
    """Changing the password drops the other session's socket and HTTP login, and keeps this session's."""
    other = http_user()
    assert other.login(signed_in.username).ok
    this_socket = open_socket(signed_in.cookie_header)
    other_socket = open_socket(other.cookie_header)

    response = change_password(signed_in, NEW_PASSWORD)
    assert response.status_code == 302, response.text[:500]

    assert other_socket.disconnected.wait(EVENT_TIMEOUT), "the other session's socket stayed connected"
    time.sleep(GRACE)
    assert not this_socket.disconnected.is_set()
    assert this_socket.connected

    other_page = other.http.get(other.base_url + "/settings/password", allow_redirects=False, timeout=10)
    assert other_page.status_code == 302
    assert urlsplit(other_page.headers["Location"]).path == "/login"
    this_page = signed_in.http.get(signed_in.base_url + "/settings/password", allow_redirects=False, timeout=10)
    assert this_page.status_code == 200


@pytest.fixture
def slow_hash_server(sqlite_databases, tmp_path):
    """A second live server whose password hashing takes about a second per hash."""
    database_url = sqlite_databases.create()
    server = LiveServer(database_url, tmp_path / "slow-hash-server.log", PASSWORD_HASH_METHOD=SLOW_PASSWORD_HASH)
    yield server
    exit_code = server.process.poll()
    server.stop()
    # Shown by pytest only when the test failed.
    print(f"slow-hash server exit code before stop: {exit_code}\n{server.log_tail(80)}")
    sqlite_databases.drop(database_url)


def test_password_hashing_does_not_block_the_event_loop(slow_hash_server):
    """Pages are served while a slow login hashes, because hashing runs in eventlet's thread pool.

    The server runs one eventlet hub in one OS thread. With scrypt at N=2**18 a login costs one to two
    seconds of hashing (the first login also makes the dummy hash for unknown usernames). Were the hash
    computed on the hub, every other request would queue behind it and each GET below would finish
    only after the login; because run_blocking() hands it to tpool (and scrypt releases the GIL), the
    GETs are answered while the login thread is still waiting for its response.
    """
    username = HttpUser(slow_hash_server.url).register().username
    visitor = HttpUser(slow_hash_server.url)  # not signed in, so POST /login really checks the password
    token = visitor.csrf("/login")
    login_done = threading.Event()
    login_result = {}

    def log_in():
        try:
            login_result["response"] = visitor.http.post(
                slow_hash_server.url + "/login",
                data={"username": username, "password": TEST_PASSWORD, "csrf_token": token},
                allow_redirects=False,
                timeout=60,
            )
        except requests.RequestException as error:
            login_result["error"] = error
        finally:
            login_done.set()

    thread = threading.Thread(target=log_in, daemon=True)
    thread.start()
    time.sleep(0.2)
    finished_during_get = []
    for _ in range(3):
        page = requests.get(slow_hash_server.url + "/login", timeout=30)
        assert page.status_code == 200
        finished_during_get.append(login_done.is_set())
    thread.join(60)

    server_log = slow_hash_server.log_tail()
    assert login_done.is_set(), f"the login request did not finish\n{server_log}"
    assert "error" not in login_result, f"{login_result.get('error')!r}\n{server_log}"
    assert finished_during_get == [False, False, False], f"GET /login waited for the password hash\n{server_log}"
    response = login_result["response"]
    assert response.status_code == 302, response.text[:500]
    assert urlsplit(response.headers["Location"]).path == "/"
