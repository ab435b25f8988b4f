"""Abuse limits: sign-in, sign-up, search and uploads per address and per account (Flask-Limiter),
socket events and messages per user, counters shared by workers through Redis, and a sign-in that
answers an unknown name exactly like a wrong password."""

import io
import json
import re
import statistics
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from app import create_app
from app.config import STRONG_PASSWORD_HASH
from app.extensions import db
from app.models.avatar import UploadedPicture
from app.models.chat import Message
from app.services import accounts
from tests.conftest import (
    TEST_PASSWORD,
    AuthActions,
    HttpUser,
    LiveServer,
    app_config,
    extract_csrf,
    two_workers,
    unique_username,
)
from tests.images import picture
from tests.realtime import direct_chat
from tests.reliability import count, record

# scrypt at N = 2^14: a tenth of production's cost, enough for hashing to dominate a sign-in.
MEASURED_HASH = "scrypt:16384:8:1"
LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_LOGIN_PER_ADDRESS": "6/minute",
    "RATELIMIT_LOGIN_PER_ACCOUNT": "3/minute",
    "RATELIMIT_REGISTER_PER_ADDRESS": "2/minute",
    "RATELIMIT_SEARCH_PER_USER": "4/minute",
    "RATELIMIT_SEARCH_PER_ADDRESS": "6/minute",
    "RATELIMIT_UPLOAD_PER_USER": "2/minute",
    "RATELIMIT_UPLOAD_PER_ADDRESS": "3/minute",
    "RATELIMIT_USER_EVENTS": "5/minute",
}


@pytest.fixture
def limited_app(sqlite_databases):
    """The app with small limits switched on, counting in memory."""
    url = sqlite_databases.create()
    app = create_app(app_config(url, **LIMITS))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    sqlite_databases.drop(url)


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _login(client, username: str, password: str, address: str = "10.0.0.1"):
    token = extract_csrf(client.get("/login", **_from(address)).get_data(as_text=True))
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, **_from(address))


def _register(limited_app, address: str = "10.0.0.1"):
    client = limited_app.test_client()
    token = extract_csrf(client.get("/register", **_from(address)).get_data(as_text=True))
    username = unique_username()
    data = {
        "username": username,
        "first_name": "Ana",
        "last_name": "Lima",
        "password": TEST_PASSWORD,
        "confirm_password": TEST_PASSWORD,
        "csrf_token": token,
    }
    return client.post("/register", data=data, **_from(address)), client, username


def _signed_in(limited_app, address: str = "10.0.0.1"):
    response, client, username = _register(limited_app, address)
    assert response.status_code == 302
    return client, username


def test_failed_sign_ins_against_one_account_are_limited_from_any_address(limited_app):
    """Three wrong passwords lock the account for a while, whichever addresses they came from; the
    answer is the 429 page with Retry-After, and other accounts are untouched."""
    _client, victim = _signed_in(limited_app, "10.9.9.9")
    _other_client, bystander = _signed_in(limited_app, "10.9.9.8")
    attacker = limited_app.test_client()
    for index in range(3):
        assert _login(attacker, victim, "wrong password!", f"10.0.1.{index}").status_code == 422
    refused = _login(attacker, victim, TEST_PASSWORD, "10.0.1.99")
    assert refused.status_code == 429
    assert b"Too many attempts" in refused.data
    assert int(refused.headers["Retry-After"]) > 0
    assert _login(limited_app.test_client(), bystander, TEST_PASSWORD, "10.0.1.98").status_code == 302


def test_an_unknown_account_is_limited_exactly_like_a_real_one(limited_app):
    """The per-account limit is keyed by the name typed, so it cannot tell an attacker which exist."""
    attacker = limited_app.test_client()
    name = "ghost-" + uuid.uuid4().hex[:8]
    statuses = [_login(attacker, name, "wrong password!", f"10.0.2.{index}").status_code for index in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_successful_sign_ins_do_not_use_up_the_account_limit(limited_app):
    """A person signing in and out on several devices is not locked out by their own successes."""
    _client, username = _signed_in(limited_app, "10.0.3.1")
    for index in range(4):
        assert _login(limited_app.test_client(), username, TEST_PASSWORD, f"10.0.3.{index + 2}").status_code == 302


def test_sign_in_attempts_from_one_address_are_limited(limited_app):
    """Guessing many accounts from one address hits the address limit; another address still works."""
    attacker = limited_app.test_client()
    statuses = [_login(attacker, unique_username(), "wrong password!", "10.0.4.1").status_code for _ in range(7)]
    assert statuses == [422] * 6 + [429]
    assert _login(attacker, unique_username(), "wrong password!", "10.0.4.2").status_code == 422


def test_sign_ups_from_one_address_are_limited_and_the_refused_one_stores_nothing(limited_app):
    """The third account from one address within a minute is refused with 429 and not created."""
    assert _register(limited_app, "10.0.5.1")[0].status_code == 302
    assert _register(limited_app, "10.0.5.1")[0].status_code == 302
    refused, _client, username = _register(limited_app, "10.0.5.1")
    assert refused.status_code == 429
    with limited_app.app_context():
        assert accounts.find_user(username) is None
    assert _register(limited_app, "10.0.5.2")[0].status_code == 302


def test_search_is_limited_per_account_and_per_address(limited_app):
    """Four searches a minute per account, six per address across the accounts behind it."""
    first, _ = _signed_in(limited_app, "10.0.6.1")
    second, _ = _signed_in(limited_app, "10.0.6.2")
    statuses = [first.get("/search?q=an", **_from("10.0.6.1")).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    assert second.get("/search?q=an&partial=1", **_from("10.0.6.1")).status_code == 200
    assert second.get("/search?q=an&partial=1", **_from("10.0.6.1")).status_code == 200
    # Six from 10.0.6.1 so far (four counted before the fifth was refused, two more).
    assert second.get("/search?q=an", **_from("10.0.6.1")).status_code == 429
    assert second.get("/search?q=an", **_from("10.0.6.3")).status_code == 200


def test_uploads_are_limited_per_account(limited_app):
    """Two picture uploads a minute per account; the third is refused and changes nothing."""
    client, username = _signed_in(limited_app, "10.0.7.1")

    def upload(colour):
        token = extract_csrf(client.get("/settings/avatar", **_from("10.0.7.1")).get_data(as_text=True))
        data = {"picture": (io.BytesIO(picture(colour=colour)), "me.png"), "csrf_token": token}
        return client.post(
            "/settings/avatar/upload", data=data, content_type="multipart/form-data", **_from("10.0.7.1")
        )

    assert [upload((index * 50, 0, 0)).status_code for index in range(2)] == [302, 302]
    with limited_app.app_context():
        before = accounts.find_user(username).avatar_upload
    assert upload((0, 0, 250)).status_code == 429
    with limited_app.app_context():
        assert accounts.find_user(username).avatar_upload == before
        assert db.session.query(UploadedPicture).count() == 1


def test_messages_sent_without_javascript_count_against_the_users_event_limit(limited_app):
    """The form fallback for sending shares the per-user limit of socket events: the sixth message in
    a minute is refused with a clear error and not stored."""
    sender, sender_name = _signed_in(limited_app, "10.0.8.1")
    _other, other_name = _signed_in(limited_app, "10.0.8.2")
    page = sender.get(f"/chat/{other_name}", **_from("10.0.8.1"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = extract_csrf(html)
    action = re.search(r'action="(/c/\d+/messages)"', html).group(1)
    statuses = []
    for index in range(6):
        data = {"body": f"message {index}", "client_id": uuid.uuid4().hex, "csrf_token": token}
        statuses.append(sender.post(action, data=data, **_from("10.0.8.1")).status_code)
    assert statuses[:5] == [302] * 5 and statuses[5] != 302
    refused = sender.post(
        action, data={"body": "over", "client_id": uuid.uuid4().hex, "csrf_token": token}, **_from("10.0.8.1")
    )
    assert b"sending too fast" in refused.data
    with limited_app.app_context():
        assert db.session.query(Message).filter(Message.body.like("message %")).count() == 5


def test_a_dead_rate_limit_store_lets_people_in_rather_than_failing(sqlite_databases):
    """With the counters' Redis unreachable, sign-in and sending still work (the outage is logged)."""
    url = sqlite_databases.create()
    app = create_app(app_config(url, **LIMITS, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0"))
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.register().status_code == 302
    assert client.get("/search?q=a").status_code == 200
    assert auth.logout().status_code == 302
    assert auth.login(auth.username).status_code == 302
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_unknown_name_costs_one_hash_check_like_a_wrong_password(app, monkeypatch):
    """The sign-in does the same work whether or not the name exists: one look-up and one
    verification against a hash of the configured cost. The figures for docs/reliability.md are
    measured (at a tenth of production's scrypt cost, to keep the suite quick), not asserted."""
    app.config["PASSWORD_HASH_METHOD"] = MEASURED_HASH
    calls = []
    real = accounts._verify_password

    def counting(stored_hash, password):
        calls.append(stored_hash.split("$", 1)[0])
        return real(stored_hash, password)

    monkeypatch.setattr(accounts, "_verify_password", counting)
    with app.test_request_context():
        user = accounts.register_user(unique_username(), TEST_PASSWORD)
        accounts.authenticate("nobody_warm_up", "x")  # the dummy hash is made once per cost
        timings = {"unknown name": [], "wrong password": []}
        for _ in range(8):
            for label, name in (("unknown name", unique_username("nobody")), ("wrong password", user.username)):
                calls.clear()
                started = time.perf_counter()
                assert accounts.authenticate(name, "not the password") is None
                timings[label].append((time.perf_counter() - started) * 1000)
                assert calls == [MEASURED_HASH], (label, calls)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        medians = {label: statistics.median(values) for label, values in timings.items()}
        record(
            "Abuse",
            "Sign-in timing: unknown name vs wrong password",
            {
                **{f"median ms, {label}": value for label, value in medians.items()},
                "difference, % of the wrong-password time": 100
                * abs(medians["unknown name"] - medians["wrong password"])
                / medians["wrong password"],
            },
            f"8 sign-ins each through accounts.authenticate on SQLite with {MEASURED_HASH}; both paths look the "
            "name up and verify exactly one hash of that cost (asserted); the times are only reported.",
        )


# --- live: limits across workers and on sockets ---------------------------------------------------


@pytest.fixture(scope="module")
def limited_workers(postgres_databases, redis_url, tmp_path_factory):
    """Two workers of one site with small limits, counting in one Redis."""
    environment = {
        **{name: str(value) for name, value in LIMITS.items() if name != "RATELIMIT_ENABLED"},
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_LOGIN_PER_ADDRESS": "100/minute",
        "RATELIMIT_REGISTER_PER_ADDRESS": "100/minute",
    }
    with two_workers(postgres_databases, redis_url, tmp_path_factory.mktemp("limited-workers"), **environment) as pair:
        yield pair


def test_failed_sign_ins_are_counted_across_workers(limited_workers):
    """Wrong passwords spread over two workers add up: the fourth attempt is refused on either."""
    first, second = limited_workers
    victim = HttpUser(first.url).register()
    attempts = [HttpUser(server.url).login(victim.username, "wrong password!") for server in (first, second, first)]
    assert [response.status_code for response in attempts] == [422, 422, 422]
    assert HttpUser(second.url).login(victim.username, TEST_PASSWORD).status_code == 429
    assert HttpUser(first.url).login(victim.username, TEST_PASSWORD).status_code == 429


def test_socket_events_over_the_limit_get_a_clear_error_and_the_socket_stays(limited_workers, open_socket):
    """Five events a minute per user, whichever worker the tabs are on: the sixth is refused with
    retry_after, nothing is stored, the connection stays, and another user is unaffected."""
    first, second = limited_workers
    ana = HttpUser(first.url).register()
    bob = HttpUser(first.url).register()
    chat = direct_chat(ana, bob)
    ana_on_second = HttpUser(second.url)
    ana_on_second.http.cookies.update(ana.http.cookies)
    tab_one, tab_two, bob_tab = open_socket(ana), open_socket(ana_on_second), open_socket(bob)

    acks = []
    for index in range(6):
        tab = tab_one if index % 2 == 0 else tab_two
        payload = {"conversation_id": chat, "body": f"burst {index}", "client_id": uuid.uuid4().hex}
        acks.append(tab.call("send_message", payload))
    assert [ack["ok"] for ack in acks] == [True] * 5 + [False]
    assert acks[5]["error"] == "rate_limited" and acks[5]["retry_after"] > 0
    assert "too fast" in acks[5]["message"]
    assert tab_one.client.connected and tab_two.client.connected
    assert tab_two.call("typing", {"conversation_id": chat})["error"] == "rate_limited"
    assert bob_tab.send(chat, "bob is fine")["body"] == "bob is fine"
    history = bob.http.get(f"{first.url}/api/conversations/{chat}/messages", timeout=10).json()["messages"]
    assert [message["body"] for message in history] == [f"burst {index}" for index in range(5)] + ["bob is fine"]


class _ConnectFrom(HTTPAdapter):
    """Connections from a chosen local address: 127.0.0.2 is this machine, yet not the proxy."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _peer(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _ConnectFrom(address))
    return session


def _sign_in_through(session: requests.Session, url: str, forwarded_for: str, request_id: str) -> int:
    """One failed sign-in (an unknown name) claiming to come from `forwarded_for`; its status."""
    headers = {"X-Forwarded-For": forwarded_for, "X-Request-ID": request_id}
    token = extract_csrf(session.get(url + "/login", headers=headers, timeout=30).text)
    data = {"username": unique_username(), "password": "wrong password!", "csrf_token": token}
    return session.post(url + "/login", data=data, headers=headers, timeout=60).status_code


@pytest.fixture
def production_server(sqlite_databases, tmp_path):
    """run.py as in production (its password hash, limits and JSON logs), behind a proxy at 127.0.0.1."""
    url = sqlite_databases.create()
    server = LiveServer(
        url,
        tmp_path / "server.log",
        APP_ENV="production",
        PASSWORD_HASH_METHOD=STRONG_PASSWORD_HASH,
        RATELIMIT_ENABLED="1",
        RATELIMIT_LOGIN_PER_ADDRESS="2/minute",
        TRUSTED_PROXIES="1",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        LOG_FORMAT="",
        # The test speaks plain HTTP, where a browser (and requests) would not send a Secure cookie.
        SESSION_COOKIE_SECURE="0",
    )
    yield server
    server.stop()
    sqlite_databases.drop(url)


def test_forwarded_headers_count_only_from_the_trusted_proxy(production_server):
    """A client reaching the worker directly (from 127.0.0.2, not the proxy at 127.0.0.1) cannot
    pick its address with X-Forwarded-For: rotating it, it still gets 2 sign-ins a minute, and the
    request id it sends is not logged. Through the proxy, each forwarded client has its own limit,
    and the proxy's request id is logged when it is [A-Za-z0-9-]{1,64}."""
    server = production_server
    attempts = count(8, 30)
    direct = _peer("127.0.0.2")
    statuses = [
        _sign_in_through(direct, server.url, f"198.51.100.{index}", f"forged-{index}-{uuid.uuid4().hex[:8]}")
        for index in range(attempts)
    ]
    assert statuses == [422] * 2 + [429] * (attempts - 2)

    proxy = _peer("127.0.0.1")
    through_proxy = [
        _sign_in_through(proxy, server.url, f"203.0.113.{index}", f"proxy-id-{index}") for index in range(3)
    ]
    assert through_proxy == [422] * 3
    malformed = {"x" * 65, "id with spaces", "id;drop"}
    for request_id in malformed:
        assert proxy.get(server.url + "/healthz", headers={"X-Request-ID": request_id}, timeout=30).ok
    server.stop()

    records = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    request_ids = [r["request_id"] for r in records if r.get("message") == "request"]
    forged_logged = [rid for rid in request_ids if rid.startswith("forged-") or rid in malformed]
    assert forged_logged == []
    assert {f"proxy-id-{index}" for index in range(3)} <= set(request_ids)
    assert all(re.fullmatch(r"[A-Za-z0-9-]{1,64}", rid) for rid in request_ids)
    record(
        "Abuse",
        "Forwarded headers from an untrusted peer",
        {
            "sign-in attempts from a non-proxy peer, X-Forwarded-For rotated": attempts,
            "passed (limit 2/minute)": statuses.count(422),
            "refused with 429": statuses.count(429),
            "attempts through the trusted proxy, one forwarded client each": len(through_proxy),
            "passed through the proxy": through_proxy.count(422),
            "forged or malformed request ids logged": len(forged_logged),
        },
        "run.py with APP_ENV=production (scrypt at full cost, JSON logs), TRUSTED_PROXIES=1, "
        "FORWARDED_ALLOW_IPS=127.0.0.1; failed sign-ins (unknown names, wrong password) sent from 127.0.0.2 "
        "with a new X-Forwarded-For and X-Request-ID each, then from 127.0.0.1 (the proxy).",
    )
