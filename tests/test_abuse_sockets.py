"""Abuse of the connection layer by a TCP client or someone with an account, against real servers:
silent connections are closed after CONNECTION_IDLE_TIMEOUT (and cannot lock everyone out of a
worker) while quiet websockets live on; a user holds at most SOCKETS_PER_USER sockets (across
workers with Redis) and an address at most SOCKETS_PER_ADDRESS; connects are rate-limited; and
cycling connections does not flood friends with presence nor write "last seen" each time."""

import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import REALTIME, HttpUser, LiveServer, two_workers, wait_connected
from tests.realtime import EVENT_TIMEOUT, GRACE, Socket, befriend, direct_chat, refusal
from tests.reliability import count, record

SECTION = "Abuse"
IDLE_TIMEOUT = 2  # seconds, for the servers of these tests (the default is 20)

# Whether the page's socket is connected (the realtime module's live binding).


def _server(databases, folder, **env) -> LiveServer:
    return LiveServer(databases.create(), folder / "server.log", **env)


@pytest.fixture(params=["eventlet", "gevent"])
def idle_server(request, sqlite_databases, tmp_path):
    """A server of this test's own that closes connections idle for IDLE_TIMEOUT seconds and serves
    at most 20 connections at once."""
    server = _server(
        sqlite_databases,
        tmp_path,
        ASYNC_MODE=request.param,
        CONNECTION_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
        MAX_CONNECTIONS="20",
    )
    yield server
    server.stop()
    print(f"server log:\n{server.log_tail(40)}")  # shown by pytest only on failure


def seconds_until_closed(sock: socket.socket, started: float, limit: float = 15) -> float | None:
    """Read (and discard) what the server sends until it closes the connection: the seconds from
    `started` until then, or None if it was still open after `limit` seconds."""
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset
            return time.monotonic() - started
    return None


def test_silent_connections_are_closed_and_cannot_lock_everyone_out(idle_server, open_socket):
    """Twenty TCP connections fill the worker (MAX_CONNECTIONS=20): one that never sends a byte, one
    that stops halfway through its headers, one idling after a keep-alive request, and more silent
    ones. Each is closed about IDLE_TIMEOUT seconds later, so a newcomer is served within seconds
    (before the fix it waited forever). A websocket quiet for longer than the timeout stays up:
    Engine.IO's pings keep it alive, not the idle timeout."""
    user = HttpUser(idle_server.url).register()
    tab = open_socket(user)
    quiet_since = time.monotonic()
    address = ("127.0.0.1", idle_server.port)
    started = time.monotonic()
    silent = [socket.create_connection(address, timeout=5) for _ in range(17)]
    half = socket.create_connection(address, timeout=5)
    half.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
    kept_alive = socket.create_connection(address, timeout=5)
    kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    connections = {"silent": silent[0], "half a request": half, "kept alive": kept_alive}
    try:
        newcomer_started = time.monotonic()
        newcomer = requests.get(idle_server.url + "/login", timeout=EVENT_TIMEOUT)
        newcomer_waited = time.monotonic() - newcomer_started
        with ThreadPoolExecutor(len(connections)) as pool:
            closed = dict(
                zip(
                    connections,
                    pool.map(lambda sock: seconds_until_closed(sock, started), connections.values()),
                    strict=True,
                )
            )
    finally:
        for sock in [*silent, half, kept_alive]:
            sock.close()
    assert newcomer.status_code == 200
    assert all(seconds is not None for seconds in closed.values()), f"still open after 15 s: {closed}"
    assert all(IDLE_TIMEOUT * 0.75 <= seconds <= IDLE_TIMEOUT + 8 for seconds in closed.values()), closed

    time.sleep(max(0.0, 2.5 * IDLE_TIMEOUT - (time.monotonic() - quiet_since)))
    assert tab.client.connected and not tab.disconnected.is_set(), "a quiet websocket was closed"
    assert tab.call("sync", {"after": {}})["ok"] is True
    # A traceback per timed-out client would be a way to flood the log (gevent printed one).
    assert "Traceback" not in idle_server.log_path.read_text(), idle_server.log_tail()
    mode = idle_server.environment["ASYNC_MODE"]
    record(
        SECTION,
        f"Idle connections ({mode})",
        {
            "idle timeout (s)": IDLE_TIMEOUT,
            "connections filling the worker": len(silent) + 3,
            **{f"closed after (s): {name}": round(seconds, 2) for name, seconds in closed.items()},
            "a newcomer waited (s)": round(newcomer_waited, 2),
            "quiet websocket still up after (s)": round(time.monotonic() - quiet_since, 1),
        },
        "A real run.py server with CONNECTION_IDLE_TIMEOUT=2 and MAX_CONNECTIONS=20, filled with raw TCP "
        "connections that send nothing, half a request, or idle after a keep-alive request.",
    )


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_the_21st_socket_of_a_user_is_refused(live_server, open_socket):
    """One user opens tabs until refused: the 21st (SOCKETS_PER_USER, default 20) gets
    "too_many_sockets" with words the page shows; closing a tab lets the next one in. Before the
    fix one user opened 1,500 sockets and each room message went out 1,500 times."""
    user = HttpUser(live_server.url).register()
    tabs = [open_socket(user) for _ in range(20)]
    refused = refusal(user)
    assert refused is not None and refused["message"] == "too_many_sockets", refused
    assert "tabs" in refused["data"]["message"]
    assert all(tab.client.connected for tab in tabs)
    assert tabs[0].call("sync", {"after": {}})["ok"] is True
    tabs.pop().close()
    assert refusal(user) is None
    record(
        SECTION,
        "Sockets per user",
        {"cap (SOCKETS_PER_USER)": 20, "sockets open": 20, "refused over the cap": 1, "let in after one closed": 1},
        "python-socketio clients of one user against a real server.",
    )


def test_the_cap_on_sockets_per_user_holds_across_workers(postgres_databases, redis_url, tmp_path):
    """With Redis, two workers share the count: ten tabs on each, then the 21st is refused on either."""
    with two_workers(postgres_databases, redis_url, tmp_path) as (one, two):
        user = HttpUser(one.url).register()
        on_two = HttpUser(two.url)
        on_two.http.cookies.update(user.http.cookies)  # the same session (it lives in Redis)
        tabs = [Socket(user) for _ in range(10)] + [Socket(on_two) for _ in range(10)]
        try:
            assert refusal(user)["message"] == "too_many_sockets"
            assert refusal(on_two)["message"] == "too_many_sockets"
        finally:
            for tab in tabs:
                tab.client.disconnect()


def test_an_address_holds_at_most_its_share_of_sockets(sqlite_databases, tmp_path, open_socket):
    """SOCKETS_PER_ADDRESS counts the sockets of every user from one address (the one the app
    trusts: request.remote_addr): over it, "too_many_connections"; a closed one frees a place."""
    server = _server(sqlite_databases, tmp_path, SOCKETS_PER_ADDRESS="3")
    try:
        ana, bob = HttpUser(server.url).register(), HttpUser(server.url).register()
        ana_tabs = [open_socket(ana), open_socket(ana)]
        open_socket(bob)
        assert refusal(bob)["message"] == "too_many_connections"
        ana_tabs[0].close()
        assert refusal(bob) is None
    finally:
        server.stop()


def test_connects_are_rate_limited(sqlite_databases, tmp_path):
    """RATELIMIT_SOCKET_CONNECTS_PER_USER: past the limit a connect is refused "rate_limited" with
    retry_after, which the page waits out before trying again."""
    server = _server(
        sqlite_databases,
        tmp_path,
        RATELIMIT_ENABLED="1",
        RATELIMIT_SOCKET_CONNECTS_PER_USER="5/minute",
        RATELIMIT_REGISTER_PER_ADDRESS="100/minute",
    )
    try:
        user = HttpUser(server.url).register()
        outcomes = [refusal(user) for _ in range(8)]
        assert outcomes[:5] == [None] * 5, outcomes
        assert all(outcome["message"] == "rate_limited" for outcome in outcomes[5:]), outcomes
        assert 1 <= outcomes[-1]["data"]["retry_after"] <= 60
    finally:
        server.stop()


def test_cycling_connections_neither_floods_friends_nor_writes_last_seen_each_time(sqlite_databases, tmp_path):
    """100 connect/disconnect cycles in a few seconds (rate limits off, so only the debounce is
    tested). Before the fix a friend got 200 presence events and "last seen" was written 100 times;
    now the friend hears at most "online" once and "offline" once, after PRESENCE_GRACE_SECONDS, and
    "last seen" is written once (counted by a trigger in the server's SQLite database)."""
    grace = 2
    database_url = sqlite_databases.create()
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        connection.executescript(
            "CREATE TABLE last_seen_writes (at TEXT);"
            "CREATE TRIGGER count_last_seen AFTER UPDATE OF last_seen_at ON users"
            " BEGIN INSERT INTO last_seen_writes VALUES (datetime('now')); END;"
        )
    server = LiveServer(database_url, tmp_path / "server.log", PRESENCE_GRACE_SECONDS=str(grace))
    try:
        me, friend = HttpUser(server.url).register(), HttpUser(server.url).register()
        befriend(me, friend)
        friends_tab = Socket(friend)
        (my_id,) = friends_tab.presence()
        cycles = count(100, 100)
        started = time.monotonic()
        for _ in range(cycles):
            Socket(me).close()
        cycling_seconds = time.monotonic() - started
        about_me = friends_tab.wait_for("presence", lambda event: event["user_id"] == my_id and not event["online"])
        time.sleep(GRACE)
        events = friends_tab.received("presence", lambda event: event["user_id"] == my_id)
        friends_tab.client.disconnect()
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            (writes,) = connection.execute("SELECT count(*) FROM last_seen_writes").fetchone()
    finally:
        server.stop()
    assert about_me, "the friend never heard that I went offline"
    assert [event["online"] for event in events] == [True, False], events
    assert events[-1]["last_seen"] is not None
    assert writes == 1, f"last_seen written {writes} times"
    record(
        SECTION,
        "Connection cycling and presence",
        {
            "connect/disconnect cycles": cycles,
            "seconds they took": round(cycling_seconds, 2),
            "presence events the friend got": len(events),
            "last_seen writes": writes,
            "grace (PRESENCE_GRACE_SECONDS)": grace,
        },
        "One user's python-socketio client connecting and disconnecting in a loop against a real server, "
        "watched by a friend's client; writes counted by an SQLite trigger.",
    )


def test_a_tab_over_the_cap_says_so_and_does_not_hammer(browser, sqlite_databases, tmp_path):
    """In Chromium, with SOCKETS_PER_USER=1: the second tab of the chat is refused, says "Too many
    open tabs" where the page shows its connection, and waits 15-45 s before trying again instead of
    reconnecting in a loop."""
    server = _server(sqlite_databases, tmp_path, SOCKETS_PER_USER="1")
    context = browser.new_context(base_url=server.url)
    try:
        ana, bob = HttpUser(server.url).register(), HttpUser(server.url).register()
        chat = direct_chat(ana, bob)
        context.add_cookies([{"name": k, "value": v, "url": server.url} for k, v in ana.http.cookies.items()])
        first = context.new_page()
        first.goto(f"/c/{chat}")
        wait_connected(first)
        second = context.new_page()
        attempts = []
        second.on("websocket", lambda ws: attempts.append(ws.url))
        second.goto(f"/c/{chat}")
        status = second.locator("[data-connection-status]")
        status.filter(has_text="Too many open tabs").wait_for(timeout=EVENT_TIMEOUT * 1000)
        second.wait_for_timeout(4000)
        assert len(attempts) == 1, attempts
        assert second.evaluate(f"async () => ({REALTIME}).connected") is False
        assert first.evaluate(f"async () => ({REALTIME}).connected") is True
    finally:
        context.close()
        server.stop()
