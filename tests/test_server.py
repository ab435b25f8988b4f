"""The server process itself, under both async modes: a query waiting on PostgreSQL stalls only its
own client, SIGTERM drains gracefully, and the logs are one structured line per request or failed
socket event with nothing private in them."""

import json
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from tests.conftest import TEST_PASSWORD, HttpUser, LiveServer
from tests.realtime import EVENT_TIMEOUT, direct_chat, history


@pytest.fixture(params=["eventlet", "gevent"])
def postgres_server(request, postgres_databases, tmp_path):
    """A server of this test's own, on a fresh PostgreSQL database, under one async mode."""
    database_url = postgres_databases.create()
    server = LiveServer(database_url, tmp_path / "server.log", ASYNC_MODE=request.param)
    server.database_url = database_url
    yield server
    server.stop()
    print(f"server log:\n{server.log_tail(60)}")  # shown by pytest only on failure
    postgres_databases.drop(database_url)


class RowLock:
    """A transaction of the test's that holds a conversation's row lock, so the server's next send
    into that conversation waits on PostgreSQL for as long as the test likes."""

    def __init__(self, database_url: str, conversation_id: int):
        self.connection = psycopg2.connect(database_url)
        self.database = self.connection.info.dbname
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM conversations WHERE id = %s FOR UPDATE", (conversation_id,))

    def wait_for_a_waiter(self) -> None:
        """Return once some other connection to the database is waiting for the lock (bounded)."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        while time.monotonic() < deadline:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    (self.database,),
                )
                if cursor.fetchone()[0]:
                    return
            time.sleep(0.05)
        raise AssertionError("the server never waited for the lock")

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def send_async(pool: ThreadPoolExecutor, tab, conversation_id: int, body: str):
    """Start a send_message call in the background; the future holds its ack."""
    return pool.submit(tab.call, "send_message", {"conversation_id": conversation_id, "body": body, "client_id": body})


def test_a_send_waiting_on_the_database_does_not_stall_other_clients(postgres_server, open_socket):
    """While A's send waits on PostgreSQL (a row lock held by the test), C's send in another chat is
    acknowledged and /healthz answers: the worker serves everyone else in the meantime."""
    a, b, c, d = (HttpUser(postgres_server.url).register() for _ in range(4))
    blocked_chat, free_chat = direct_chat(a, b), direct_chat(c, d)
    a_tab, c_tab = open_socket(a), open_socket(c)

    lock = RowLock(postgres_server.database_url, blocked_chat)
    with ThreadPoolExecutor(1) as pool:
        try:
            waiting = send_async(pool, a_tab, blocked_chat, "waits-for-the-lock")
            lock.wait_for_a_waiter()
            assert c_tab.send(free_chat, "goes through")["seq"] == 1
            assert c.http.get(postgres_server.url + "/healthz", timeout=EVENT_TIMEOUT).status_code == 200
            assert not waiting.done()
        finally:
            lock.release()
        ack = waiting.result(EVENT_TIMEOUT)
    assert ack["ok"] is True and ack["message"]["body"] == "waits-for-the-lock"


def test_sigterm_stops_new_connections_and_lets_an_in_flight_send_finish(postgres_server, open_socket):
    """SIGTERM while A's send is in flight: new connections are refused at once, the send completes
    and is acknowledged and stored, then the socket is closed and the process exits cleanly."""
    a, b = HttpUser(postgres_server.url).register(), HttpUser(postgres_server.url).register()
    chat = direct_chat(a, b)
    a_tab = open_socket(a)

    lock = RowLock(postgres_server.database_url, chat)
    with ThreadPoolExecutor(1) as pool:
        try:
            in_flight = send_async(pool, a_tab, chat, "sent-during-shutdown")
            lock.wait_for_a_waiter()
            postgres_server.process.send_signal(signal.SIGTERM)
            wait_until_refused(postgres_server.port)
            assert not in_flight.done()
        finally:
            lock.release()
        ack = in_flight.result(EVENT_TIMEOUT)
    assert ack["ok"] is True and ack["message"]["body"] == "sent-during-shutdown"
    assert a_tab.disconnected.wait(EVENT_TIMEOUT)
    assert postgres_server.process.wait(EVENT_TIMEOUT) == 0
    with psycopg2.connect(postgres_server.database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messages WHERE conversation_id = %s", (chat,))
        assert cursor.fetchall() == [("sent-during-shutdown",)]


def wait_until_refused(port: int) -> None:
    """Return once a new TCP connection to the port is refused (bounded)."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    raise AssertionError("the server still accepts connections")


@pytest.fixture(params=["eventlet", "gevent"])
def json_logging_server(request, sqlite_databases, tmp_path):
    """A server logging as in production (JSON lines)."""
    database_url = sqlite_databases.create()
    server = LiveServer(
        database_url,
        tmp_path / "server.log",
        ASYNC_MODE=request.param,
        LOG_FORMAT="json",
    )
    yield server
    server.stop()
    sqlite_databases.drop(database_url)


def test_logs_are_one_json_line_per_request_and_failed_event_without_private_data(json_logging_server, open_socket):
    """Every line is a JSON object; each request has one with method, path, status, duration and
    user; a refused socket event has one with its name and error code; no password, message body,
    search term or cookie appears anywhere."""
    server = json_logging_server
    a, b = HttpUser(server.url).register(), HttpUser(server.url).register()
    chat = direct_chat(a, b)
    tab = open_socket(a)
    tab.send(chat, "private-body-7f3a")
    assert tab.call("send_message", {"conversation_id": 999999, "body": "x", "client_id": "y"})["ok"] is False
    assert a.http.get(server.url + "/search", params={"q": "private-query-91c2"}, timeout=10).ok
    assert [m["body"] for m in history(a, chat)] == ["private-body-7f3a"]
    assert requests.get(server.url + FORGING_PATH, timeout=10).status_code == 404
    cookies = [value for user in (a, b) for value in user.http.cookies.values()]
    tab.close()
    server.stop()

    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    requests_logged = [r for r in records if r.get("message") == "request"]
    register = [r for r in requests_logged if r["method"] == "POST" and r["path"] == "/register"]
    assert len(register) == 2 and all(r["status"] == 302 for r in register)
    search = [r for r in requests_logged if r["path"] == "/search"]
    assert len(search) == 1 and search[0]["status"] == 200 and isinstance(search[0]["user_id"], int)
    assert all({"duration_ms", "request_id", "time", "level"} <= r.keys() for r in requests_logged)
    failed = [r for r in records if r.get("message") == "socket event failed"]
    assert [(r["event"], r["error"]) for r in failed] == [("send_message", "not_found")]
    assert [r["path"] for r in requests_logged if "FORGED" in r["path"]] == [FORGING_PATH_DECODED]
    assert all(line.isascii() and line.isprintable() for line in lines)
    text = "\n".join(lines)
    for private in ("private-body-7f3a", "private-query-91c2", TEST_PASSWORD, *cookies):
        assert private not in text


# A path that, written out raw, would end its log line and add one of the attacker's own (with a
# carriage return, a colour escape, NEL and U+2028 for good measure).
FORGED_LINE = "2026-01-01 00:00:00,000 INFO messanger.request: request method=POST path=/login status=302 FORGED"
FORGING_PATH = "/nothing%0A" + FORGED_LINE.replace(" ", "%20") + "%0D%1B[31m%C2%85%E2%80%A8end"
FORGING_PATH_DECODED = "/nothing\n" + FORGED_LINE + "\r\x1b[31m\x85\u2028end"


def test_a_path_with_control_characters_cannot_forge_a_text_log_line(sqlite_databases, tmp_path):
    """In the text format (the default outside production) the request line writes the path's
    control characters as escapes: the line stays one line and no forged record appears."""
    database_url = sqlite_databases.create()
    server = LiveServer(database_url, tmp_path / "server.log", LOG_FORMAT="text")
    try:
        assert requests.get(server.url + FORGING_PATH, timeout=10).status_code == 404
    finally:
        server.stop()
        sqlite_databases.drop(database_url)
    lines = server.log_path.read_text().splitlines()
    assert not [line for line in lines if line.startswith(FORGED_LINE[:23])]
    forged = [line for line in lines if "FORGED" in line]
    assert len(forged) == 1
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO messanger.request: request method=GET ", forged[0])
    assert "path=/nothing\\n2026-01-01 " in forged[0] and "FORGED\\r\\x1b[31m\\x85\\u2028end status=404" in forged[0]
    raw = server.log_path.read_text()
    assert not any(char in raw for char in "\r\x1b\x85\u2028")


def test_websocket_compression_is_declined(live_server):
    """Browsers offer permessage-deflate; the server answers without it (memory per idle socket)."""
    import websocket

    ws = websocket.create_connection(
        live_server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
        header=["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"],
        timeout=EVENT_TIMEOUT,
    )
    try:
        assert ws.recv().startswith("0{")  # the Engine.IO open packet: the upgrade happened
        assert "sec-websocket-extensions" not in {name.lower() for name in ws.getheaders()}
    finally:
        ws.close()


def test_what_start_up_made_is_kept_out_of_the_collectors_walks():
    import gc
    import weakref

    from app.server import settle_the_heap

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle
    gone = weakref.ref(cycle)
    del cycle
    try:
        settle_the_heap()
        assert gone() is None, "garbage is collected before the freeze, not kept forever"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
