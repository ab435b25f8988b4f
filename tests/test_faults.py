"""Faults on real servers (loopback only, every wait bounded): a worker killed with SIGKILL or stopped
with SIGTERM under load and started again on the same port, the Redis shared by two workers
restarted, and the connection to PostgreSQL cut and restored.

Many ResilientClients (tests/faults.py) send into direct chats and groups meanwhile, as
docs/protocol.md asks of a client: reconnect with jittered backoff, send unacknowledged messages
again with the same client_id, and `sync` from the last seq held. Afterwards the database is read
directly: every acknowledged message is stored exactly once, nothing is stored that no client sent,
and every client's view equals the database, seq by seq.

CI runs small counts; MESSANGER_FULL_FAULTS=1 runs the full ones (tests/reliability.py).
"""

import random
import shutil
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import redis
import requests
import socketio
from playwright.sync_api import expect
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import create_app
from app.config import normalize_database_url
from app.extensions import db
from app.services import accounts, conversations, social
from app.transactions import transaction
from tests.conftest import REALTIME, TEST_PASSWORD, HttpUser, app_config, skip_or_fail, unique_username, wait_connected
from tests.faults import PrivateRedis, ResilientClient, ServerProcess, TcpProxy, run_load
from tests.reliability import count, record

SECTION = "Faults"
GROUP_SIZE = 5
PAUSE = (0.05, 0.2)  # seconds each client waits between two sends
SETTLE_SECONDS = 30  # the longest any client may take to send what is left and catch up
REDIS_DOWN_SECONDS = 1.5


# --- a community of clients -----------------------------------------------------------------------


class Community:
    """Users, each in two direct chats (a ring) and one group of up to GROUP_SIZE friends, set up
    through the services on the server's database; each signs in over HTTP (to one of `urls`, in
    turn) and gets one ResilientClient when `connect()` is called."""

    def __init__(self, urls: list[str], database_url: str, size: int):
        self.database_url = database_url
        app = create_app(app_config(database_url))
        with app.test_request_context(), transaction():
            people = [accounts.register_user(unique_username("fault"), TEST_PASSWORD) for _ in range(size)]
            self.user_ids = {user.username: user.id for user in people}
            self.conversations = {user.username: set() for user in people}
            for index, user in enumerate(people):
                other = people[(index + 1) % size]
                chat = conversations.open_direct(user, other.username).id
                self.conversations[user.username].add(chat)
                self.conversations[other.username].add(chat)
            for start in range(0, size, GROUP_SIZE):
                owner, *others = people[start : start + GROUP_SIZE]
                for other in others:
                    social.send_request(owner, other.username)
                    social.accept_request(other, owner.username)
                group = conversations.create_group(owner, "Faults", [other.id for other in others]).id
                for member in (owner, *others):
                    self.conversations[member.username].add(group)
            usernames = [user.username for user in people]
            db.session.commit()  # as the door would, before the session goes
            db.session.remove()
            db.engine.dispose()
        with ThreadPoolExecutor(8) as pool:
            self.users = list(pool.map(sign_in, [urls[i % len(urls)] for i in range(size)], usernames))
        self.clients: list[ResilientClient] = []

    def connect(self, seed: int, **options) -> list[ResilientClient]:
        """One connected client per user (each with its own random seed)."""
        self.clients = [
            ResilientClient(
                user.base_url,
                user.cookie_header,
                self.conversations[user.username],
                name=f"c{index}",
                user_id=self.user_ids[user.username],
                seed=seed * 1000 + index,
                **options,
            )
            for index, user in enumerate(self.users)
        ]
        deadlines = [time.monotonic() + 30] * len(self.clients)
        with ThreadPoolExecutor(8) as pool:
            connected = list(pool.map(ResilientClient.ensure, self.clients, deadlines))
        assert all(connected), "some clients could not connect"
        return self.clients

    def settle(self) -> None:
        """Every client sends what is left and then catches up with `sync`, twice over: the second
        round picks up what others sent while the first was still under way."""
        for _round in range(2):
            deadlines = [time.monotonic() + SETTLE_SECONDS] * len(self.clients)
            with ThreadPoolExecutor(len(self.clients)) as pool:
                done = list(pool.map(ResilientClient.settle, self.clients, deadlines))
            assert all(done), [client.name for client, ok in zip(self.clients, done, strict=True) if not ok]

    def close(self) -> None:
        """Disconnect every client."""
        with ThreadPoolExecutor(max(len(self.clients), 1)) as pool:
            list(pool.map(ResilientClient.close, self.clients))


def sign_in(url: str, username: str) -> HttpUser:
    """A signed-in HttpUser (the login form, without following its redirect to the home page)."""
    user = HttpUser(url)
    user.username = username
    response = user.http.post(
        url + "/login",
        data={"username": username, "password": TEST_PASSWORD, "csrf_token": user.csrf("/login")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return user


def read(database_url: str, sql: str, **params) -> list[tuple]:
    """Rows of a query on the server's database, read directly (not through the server); a list or
    tuple parameter expands for `IN :name`."""
    statement = text(sql).bindparams(
        *(bindparam(name, expanding=True) for name, value in params.items() if isinstance(value, list | tuple))
    )
    engine = create_engine(normalize_database_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement, params)]
    finally:
        engine.dispose()


def check_against_database(community: Community) -> dict:
    """The promises of docs/protocol.md after faults, checked against the database itself; returns
    the figures (messages acknowledged, duplicates, lost, ...)."""
    clients = community.clients
    rows = read(
        community.database_url,
        "SELECT id, conversation_id, seq, sender_id, client_id, body FROM messages ORDER BY conversation_id, seq",
    )
    sent = {client_id: (client, entry) for client in clients for client_id, entry in client.sent.items()}
    acked = {client_id: message for client in clients for client_id, message in client.acked.items()}
    stored = Counter(row[4] for row in rows)

    # Every send was acknowledged in the end (none refused, none left over).
    assert [client.outbox for client in clients if client.outbox] == []
    assert [client.refused for client in clients if client.refused] == []
    assert set(acked) == set(sent)
    # Every acknowledged client_id is stored exactly once, as acknowledged.
    duplicates = sorted(client_id for client_id, times in stored.items() if times > 1)
    lost = sorted(set(acked) - set(stored))
    assert duplicates == [] and lost == []
    by_client_id = {row[4]: row for row in rows}
    for client_id, message in acked.items():
        assert by_client_id[client_id][:3] == (message["id"], message["conversation_id"], message["seq"])
    # Every stored message was sent by some client, by that sender, into that conversation, as written.
    for message_id, conversation_id, _seq, sender_id, client_id, body in rows:
        assert client_id in sent, f"message {message_id} ({client_id!r}) was sent by no client"
        client, (sent_to, sent_body) = sent[client_id]
        assert (sender_id, conversation_id, body) == (client.user_id, sent_to, sent_body)
    # Each conversation's seqs run 1, 2, 3, ... with no holes or repeats.
    in_conversation: dict[int, list[tuple]] = {}
    for row in rows:
        in_conversation.setdefault(row[1], []).append(row)
    for conversation_id, messages in in_conversation.items():
        assert [row[2] for row in messages] == list(range(1, len(messages) + 1)), conversation_id
    # No half-done send: each conversation's counter is exactly its number of messages.
    last_seqs = read(community.database_url, "SELECT id, last_seq FROM conversations WHERE last_seq > 0")
    assert dict(last_seqs) == {conversation_id: len(messages) for conversation_id, messages in in_conversation.items()}
    # Every client's view is exactly the database's messages of its conversations, in seq order.
    for client in clients:
        assert client.conflicts == [], client.name
        for conversation_id in client.view:
            expected = [(row[0], row[2]) for row in in_conversation.get(conversation_id, [])]
            held = [(message["id"], message["seq"]) for message in client.messages(conversation_id)]
            assert held == expected, (client.name, conversation_id)
    return {
        "clients": len(clients),
        "messages acknowledged": len(acked),
        "messages stored": len(rows),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "sends whose ack never came (sent again)": sum(client.lost_acks for client in clients),
        "reconnects": sum(len(client.connects) - 1 for client in clients),
    }


def back_after(clients: list[ResilientClient], since: float) -> float | None:
    """Seconds from `since` until the last of the clients had connected again; None while any is
    still away."""
    firsts = [next((moment for moment in client.connects if moment >= since), None) for client in clients]
    return None if None in firsts else max(firsts) - since


def wait_until(predicate, seconds: float, what: str) -> None:
    """Poll `predicate` until it is true, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def load(clients: list[ResilientClient], seed: int):
    """The clients' load (run_load) for the duration of the block, which gets the stop event (to
    wait on); the load is stopped and its threads joined on the way out."""
    stop = threading.Event()
    threads = run_load(clients, stop, pause=PAUSE, seed=seed)
    try:
        yield stop
    finally:
        stop.set()
        deadline = time.monotonic() + 30  # one connect attempt alone may take 10 s
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
    stuck = [client.name for client, thread in zip(clients, threads, strict=True) if thread.is_alive()]
    assert stuck == [], "client threads still running"


def wait_for_live_delivery(sender: ResilientClient, receiver: ResilientClient, conversation_id: int, seconds: float):
    """Send from `sender` every half second until one of those messages reaches `receiver` live
    (the receiver is not syncing meanwhile); fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = sender.acked.get(sender.send(conversation_id))
        arrived_by = time.monotonic() + 0.5
        while message and time.monotonic() < arrived_by:
            if message["seq"] in {held["seq"] for held in receiver.messages(conversation_id)}:
                return
            time.sleep(0.02)
        time.sleep(max(arrived_by - time.monotonic(), 0))
    raise AssertionError(f"no message reached {receiver.name} live within {seconds}s")


def healthz(url: str) -> tuple[int, dict]:
    """/healthz as a load balancer asks it (no cookie): (status, checks)."""
    response = requests.get(url + "/healthz", timeout=10)
    return response.status_code, response.json()["checks"]


# --- what the tests own ---------------------------------------------------------------------------


@pytest.fixture
def postgres_url(postgres_databases):
    """A fresh migrated PostgreSQL database."""
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


@pytest.fixture(params=["postgres", "sqlite"])
def engine_database(request):
    """A fresh migrated database on each engine: (engine, url)."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    url = databases.create()
    yield request.param, url
    databases.drop(url)


@pytest.fixture
def owned():
    """What the test starts (servers, communities, a Redis, a proxy), closed at teardown in reverse
    order: owned(thing) registers it and returns it. Server logs are printed (pytest shows them when
    the test fails)."""
    things = []

    def own(thing):
        things.append(thing)
        return thing

    yield own
    for thing in reversed(things):
        thing.close()
        if isinstance(thing, ServerProcess):
            print(f"{thing.url} log:\n{thing.log_tail(30)}")


# --- 8 and 9: the worker crashes, or stops gracefully, under load ---------------------------------


def restart_under_load(server: ServerProcess, community: Community, restarts: int, how: str, seed: int) -> dict:
    """Run the community's load and stop the server `restarts` times at random moments (`how`:
    "kill" or "terminate"), starting it again on the same port each time, then settle and check
    everything against the database; returns the figures."""
    rng = random.Random(seed)
    recoveries, exit_codes, unanswered = [], [], 0
    with load(community.clients, seed) as stop:
        for _ in range(restarts):
            stop.wait(rng.uniform(0.5, 1.5))
            stopped_at = time.monotonic()
            if how == "kill":
                server.kill()
            else:
                exit_codes.append(server.terminate())
            time.sleep(0.2)  # so that acks the server wrote before it stopped reach their clients
            unanswered += stored_but_unacknowledged(community)
            time.sleep(rng.uniform(0, 0.3))
            server.start()
            wait_until(lambda since=stopped_at: back_after(community.clients, since) is not None, 30, "reconnects")
            recoveries.append(back_after(community.clients, stopped_at))
        stop.wait(0.5)
    assert exit_codes == [0] * len(exit_codes), "a graceful stop did not exit cleanly"
    community.settle()
    errors = sum((client.error_acks for client in community.clients), Counter())
    return {
        "restarts": restarts,
        **check_against_database(community),
        "stored but unacknowledged when the worker stopped": unanswered,
        "error acks": sum(errors.values()),
        "error codes": ", ".join(sorted(errors)) or "none",
        "longest from stop to every client back (s)": round(max(recoveries), 2),
    }


def stored_but_unacknowledged(community: Community) -> int:
    """How many of the sends the clients still wait to have acknowledged are stored already (the
    server committed them but its ack never came); read while the server is down."""
    waiting = [client_id for client in community.clients for client_id in dict(client.outbox)]
    if not waiting:
        return 0
    rows = read(community.database_url, "SELECT client_id FROM messages WHERE client_id IN :ids", ids=tuple(waiting))
    return len(rows)


def test_sigkill_under_load_loses_and_duplicates_nothing(engine_database, owned, tmp_path):
    """A worker is killed with SIGKILL at random moments while clients send into direct chats and
    groups, and started again on the same port. Clients reconnect with jittered backoff, send what
    was not acknowledged again with the same client_id and resync: every acknowledged message is
    stored exactly once, nothing else is stored, and every client's view equals the database."""
    engine, database_url = engine_database
    server = owned(ServerProcess(database_url, tmp_path))
    server.start()
    community = owned(Community([server.url], database_url, count(20, 50)))
    community.connect(seed=8)

    figures = restart_under_load(server, community, count(2, 5), "kill", seed=8)

    assert figures["error acks"] == 0
    record(
        SECTION,
        f"SIGKILL under load ({engine})",
        figures,
        "One run.py worker; each client sends every 50–200 ms into one of its two direct chats or its group; "
        "the worker is SIGKILLed at random moments and restarted on the same port, then the database is read "
        "directly and compared with every ack and every client's synced view.",
    )


def test_sigterm_under_load_finishes_or_cleanly_fails_in_flight_sends(postgres_url, owned, tmp_path):
    """SIGTERM under load, several times: the worker drains and exits with 0, and is started again.
    Every send it started is answered before the sockets close: none is stored without its ack
    (read while the worker is down); sends arriving during the drain are refused ("unavailable")
    and sent again after the reconnect; clients resync, and nothing is lost or stored twice."""
    server = owned(ServerProcess(postgres_url, tmp_path, SHUTDOWN_TIMEOUT="5"))
    server.start()
    community = owned(Community([server.url], postgres_url, count(20, 50)))
    community.connect(seed=9)

    figures = restart_under_load(server, community, count(1, 5), "terminate", seed=9)

    # Events that arrive while the worker drains are refused, to be sent again after the reconnect.
    assert figures["error codes"] in ("none", "unavailable")
    assert figures["stored but unacknowledged when the worker stopped"] == 0
    assert "Traceback" not in server.log_path.read_text(errors="replace"), server.log_tail(80)
    record(
        SECTION,
        "SIGTERM under load (postgres)",
        figures,
        "As for SIGKILL, but each stop is a SIGTERM: the worker stops accepting, lets in-flight events finish "
        "and answer, disconnects its sockets and exits 0; clients reconnect to it restarted on the same port.",
    )


def test_a_browser_tab_comes_back_by_itself_after_a_restart_and_after_a_refused_reconnect(
    browser, postgres_url, owned, tmp_path
):
    """A conversation open in Chromium comes back by itself, and shows what was sent while it was
    away, after the two server-side closings Socket.IO does not recover from on its own: the worker
    stopping with SIGTERM (it closes the sockets itself), and a reconnect refused ("unavailable")
    because the worker cannot reach PostgreSQL at that moment."""
    address = make_url(postgres_url)
    proxy = owned(TcpProxy(address.host or "127.0.0.1", address.port or 5432))
    through_proxy = address.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server = owned(ServerProcess(through_proxy, tmp_path, SHUTDOWN_TIMEOUT="3"))
    server.start()
    community = owned(Community([server.url], postgres_url, 2))
    reader, writer = community.connect(seed=12)
    chat = min(set(reader.view) & set(writer.view))
    context = browser.new_context(base_url=server.url)
    cookies = community.users[0].http.cookies
    context.add_cookies([{"name": name, "value": value, "url": server.url} for name, value in cookies.items()])
    try:
        page = context.new_page()
        page.goto(f"/c/{chat}")
        wait_connected(page)
        page.evaluate(f"async () => ({REALTIME}).on('connect_error', (e) => {{ window.refusedWith = e.message }})")

        assert server.terminate() == 0
        wait_connected(page, connected=False)
        server.start()
        assert writer.ensure(time.monotonic() + 20)
        writer.send(chat, "sent while the worker restarted")
        expect(bubbles(page, "sent while the worker restarted")).to_have_count(1, timeout=20_000)
        wait_connected(page)

        proxy.cut()
        try:
            page.evaluate(f"async () => ({REALTIME}).socket.io.engine.close()")  # the network blinks
            page.wait_for_function("() => window.refusedWith === 'unavailable'")
        finally:
            proxy.restore()
        writer.send(chat, "sent while the database was away")
        assert writer.ensure(time.monotonic() + 20)
        expect(bubbles(page, "sent while the database was away")).to_have_count(1, timeout=20_000)
        wait_connected(page)
    finally:
        context.close()


def bubbles(page, text: str):
    """The message bubbles of the open conversation that hold `text`."""
    return page.locator("li[data-message]", has_text=text)


# --- 10: Redis restarted under two workers; PostgreSQL cut off and back -----------------------------


def test_a_redis_restart_under_two_workers_is_reported_and_resync_recovers_everything(postgres_url, owned, tmp_path):
    """Two workers share PostgreSQL and a private Redis, which is stopped for a while under load and
    started again. /healthz says 503 naming Redis on both workers during the outage and 200 after;
    live delivery may pause and sends may be refused meanwhile, but it resumes across workers without
    a restart, clients retry and resync, and in the end every acknowledged message is stored once and
    every client's view equals the database."""
    if not shutil.which("redis-server"):
        skip_or_fail("redis-server is not installed: the Redis restart test is skipped")
    private = owned(PrivateRedis(tmp_path))
    private.start()
    environment = {"REDIS_URL": private.url, "REDIS_KEY_PREFIX": f"faults-{uuid.uuid4().hex[:8]}"}
    workers = [owned(ServerProcess(postgres_url, tmp_path, **environment)) for _ in range(2)]
    for worker in workers:
        worker.start()
    community = owned(Community([worker.url for worker in workers], postgres_url, count(10, 30)))
    clients = community.connect(seed=10, call_timeout=2)
    assert [healthz(worker.url) for worker in workers] == [(200, {"database": True, "redis": True})] * 2

    with load(clients, seed=10) as stop:
        stop.wait(1)
        private.stop()
        down_at = time.monotonic()
        assert [healthz(worker.url) for worker in workers] == [(503, {"database": True, "redis": False})] * 2
        stop.wait(REDIS_DOWN_SECONDS)
        private.start()
        for worker in workers:
            wait_until(lambda url=worker.url: healthz(url) == (200, {"database": True, "redis": True}), 20, "health")
        healthy_after = time.monotonic() - down_at
        stop.wait(1.5)
    sender, receiver = clients[0], clients[1]  # on different workers, sharing their direct chat
    wait_for_live_delivery(sender, receiver, min(set(sender.view) & set(receiver.view)), seconds=20)
    live_after = time.monotonic() - down_at
    community.settle()
    figures = check_against_database(community)

    assert set(sum((client.error_acks for client in clients), Counter())) <= {"unavailable"}
    record(
        SECTION,
        "Redis restarted under two workers",
        {
            **figures,
            "Redis down (s)": REDIS_DOWN_SECONDS,
            "from Redis stopping to both workers healthy (s)": round(healthy_after, 2),
            "from Redis stopping to live delivery across workers again (s)": round(live_after, 2),
            "sends refused (unavailable) and retried": sum(client.error_acks["unavailable"] for client in clients),
            "messages first held through sync (missed live)": sum(client.learned["sync"] for client in clients),
        },
        "Two run.py workers (PostgreSQL, a private redis-server that saves on shutdown); clients split between "
        "them send every 50–200 ms; Redis is stopped for a while and started again; then every client settles "
        "and the database is compared with every ack and every client's view.",
    )


@pytest.fixture(
    params=[
        "database sessions",
        "redis sessions",
    ]
)
def session_store(request):
    """Where the worker keeps sessions: in PostgreSQL itself (one machine) or in Redis (several)."""
    if request.param == "database sessions":
        yield {}
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    yield {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix}
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter(f"{prefix}:*"):
        store.delete(key)


def test_a_cut_database_connection_refuses_cleanly_and_recovers_without_restart(
    postgres_url, session_store, owned, tmp_path
):
    """The worker reaches PostgreSQL through a TCP proxy, which is cut under load (every connection
    closed, new ones refused) and later restored. While cut: a send is answered at once with ok
    false and "unavailable", nothing of it is stored, and the socket stays connected; a new socket
    is refused (not accepted without its rooms); /healthz says 503 naming the database. Once
    restored, the same sends succeed without restarting the worker, and nothing is lost or stored
    twice (the sends in flight when the cut came included)."""
    address = make_url(postgres_url)
    proxy = owned(TcpProxy(address.host or "127.0.0.1", address.port or 5432))
    through_proxy = address.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server = owned(ServerProcess(through_proxy, tmp_path, **session_store))
    server.start()
    community = owned(Community([server.url], postgres_url, count(6, 20)))
    probe, *others = community.connect(seed=11, call_timeout=3)
    probe_chat = min(probe.view)
    checks = {"database": False, "redis": True} if session_store else {"database": False}

    with load(others, seed=11) as stop:
        stop.wait(1)
        proxy.cut()
        try:
            outage_ids = [probe.send(probe_chat, "in the outage") for _ in range(count(3, 10))]
            late_connect = try_to_connect(server.url, probe.cookie_header)
            outage_health = healthz(server.url)
            stored = read(postgres_url, "SELECT count(*) FROM messages WHERE client_id LIKE :p", p=f"{probe.name}-%")
            stop.wait(1)
        finally:
            proxy.restore()
        restored_at = time.monotonic()
        first_answers = [probe.answers[client_id][0] for client_id in outage_ids]
        for answer in first_answers:
            assert answer is not None and answer["ok"] is False, answer
            assert answer["error"] == "unavailable" and answer["message"] and answer["retry_after"] >= 1, answer
        assert stored == [(0,)]  # nothing of the refused sends was stored
        assert probe.connected and sorted(probe.outbox) == sorted(outage_ids)
        assert late_connect == "refused: unavailable"
        assert outage_health == (503, checks)

        assert probe.ensure(time.monotonic() + 20)  # the same client_ids again
        recovered_in = time.monotonic() - restored_at
        assert set(outage_ids) <= set(probe.acked)
        assert healthz(server.url)[0] == 200
        stop.wait(1)
    community.settle()
    figures = check_against_database(community)

    assert [client.name for client in community.clients if len(client.connects) != 1] == []
    record(
        SECTION,
        f"PostgreSQL connection cut and restored (sessions in {'Redis' if session_store else 'PostgreSQL'})",
        {
            **figures,
            "sends refused during the outage (probe)": len(first_answers),
            "error code": ", ".join(sorted({answer["error"] for answer in first_answers})),
            "connections reset by the cut proxy": proxy.refused,
            "from restore to the probe's sends accepted (s)": round(recovered_in, 2),
        },
        "One run.py worker reaching PostgreSQL through a TCP proxy in the test; clients send every 50–200 ms; "
        "the proxy is cut (connections closed, new ones reset) for about a second, during which a probe client "
        "sends and a new socket tries to connect; then the proxy is restored, the probe's sends are retried and "
        "the database is compared with every ack.",
    )


def try_to_connect(url: str, cookie_header: str) -> str:
    """Open a new socket: "connected" (closed again at once) or "refused: <reason>"."""
    sio = socketio.Client(reconnection=False)
    reasons = []
    sio.on("connect_error", lambda data=None: reasons.append((data or {}).get("message")))
    try:
        sio.connect(url, headers={"Cookie": cookie_header}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return f"refused: {reasons[0] if reasons else None}"
    sio.disconnect()
    return "connected"
