"""Abuse limits: sign-in, sign-up, search and uploads per address and per account (Flask-Limiter),
wrong passwords slowed down by a growing delay (strangers' guesses never keep the owner's browser
out; re-entered passwords in the settings limited too), socket events and messages per user,
counters shared by workers through Redis, and a sign-in that answers an unknown name exactly like a
wrong password."""

import io
import json
import re
import statistics
import threading
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
from app.models.user import User
from app.services import ServiceError, accounts
from app.transactions import transaction
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
    "RATELIMIT_PASSWORD_FREE_FAILURES": 3,
    "RATELIMIT_PASSWORD_ADDRESS_FREE_FAILURES": 5,
    "RATELIMIT_PASSWORD_ACCOUNT_FREE_FAILURES": 4,
    "RATELIMIT_PASSWORD_MAX_DELAY": 2,
    "RATELIMIT_PASSWORD_FAILURE_WINDOW": 60,
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


def _guess_until_refused(client, username: str, addresses, most: int = 12) -> list:
    """Wrong passwords for `username`, one from each address in turn, until one is refused (429);
    the responses."""
    responses = []
    for _ in range(most):
        responses.append(_login(client, username, "wrong password!", next(addresses)))
        if responses[-1].status_code == 429:
            break
    return responses


def _logout(client) -> None:
    token = extract_csrf(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def _addresses(prefix: str):
    return (f"{prefix}.{index}" for index in range(1, 255))


def test_strangers_wrong_passwords_never_keep_the_owners_browser_out(limited_app):
    """Wrong passwords for one account from many addresses slow the guessers down (429 with a short
    Retry-After), but the owner's browser, which signed in before, gets in with the right password at
    once: from its usual address and from a new one. Other accounts are untouched."""
    owner, victim = _signed_in(limited_app, "10.9.9.9")
    _logout(owner)
    _other_client, bystander = _signed_in(limited_app, "10.9.9.8")
    attacker = limited_app.test_client()
    guesses = _guess_until_refused(attacker, victim, _addresses("10.0.1"))
    assert _login(owner, victim, TEST_PASSWORD, "10.9.9.9").status_code == 302
    refused = guesses[-1]
    assert refused.status_code == 429 and b"Too many wrong passwords" in refused.data
    assert 0 < int(refused.headers["Retry-After"]) <= LIMITS["RATELIMIT_PASSWORD_MAX_DELAY"]
    _logout(owner)
    assert _login(owner, victim, TEST_PASSWORD, "10.7.7.7").status_code == 302
    assert _login(limited_app.test_client(), bystander, TEST_PASSWORD, "10.0.1.251").status_code == 302
    record(
        "Abuse",
        "Sign-in under attack: the owner's browser is let through",
        {
            "wrong passwords checked before strangers had to wait": len(guesses) - 1,
            "Retry-After, s": int(refused.headers["Retry-After"]),
            "owner's right password (known browser) answered": 302,
        },
        "Wrong passwords for one account, each from a new address, until one is refused (limits: "
        f"{LIMITS['RATELIMIT_PASSWORD_ACCOUNT_FREE_FAILURES']} free failures per account, the delay doubling "
        f"from 1 s up to {LIMITS['RATELIMIT_PASSWORD_MAX_DELAY']} s); then the owner signs in from a browser "
        "that signed in before (its known-device cookie), from its old and from a new address.",
    )


def test_strangers_are_slowed_down_not_locked_out(limited_app):
    """A browser the account does not know waits out a short, growing delay after the free failures,
    never a long lockout: after Retry-After the right password gets in."""
    _client, victim = _signed_in(limited_app, "10.0.2.200")
    attacker = limited_app.test_client()
    waits = []
    addresses = _addresses("10.0.2")
    for _ in range(3):
        refused = _guess_until_refused(attacker, victim, addresses)[-1]
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
    assert all(0 < wait <= LIMITS["RATELIMIT_PASSWORD_MAX_DELAY"] for wait in waits), waits
    time.sleep(waits[-1])
    assert _login(limited_app.test_client(), victim, TEST_PASSWORD, "10.0.2.250").status_code == 302
    record(
        "Abuse",
        "Sign-in from an unknown browser: slowed down, not locked out",
        {"Retry-After of three refusals in a row, s": waits, "right password after waiting": 302},
        "Wrong passwords from ever new addresses until refused, three times; then the right password from a new "
        f"browser after the Retry-After (delay doubling from 1 s up to {LIMITS['RATELIMIT_PASSWORD_MAX_DELAY']} s).",
    )


def test_a_known_browser_guessing_wrong_is_slowed_down_too(limited_app):
    """A known-device cookie is no licence to guess: its own wrong passwords slow it down."""
    owner, victim = _signed_in(limited_app, "10.0.3.200")
    _logout(owner)
    guesses = _guess_until_refused(owner, victim, _addresses("10.0.3"))
    assert guesses[-1].status_code == 429
    assert len(guesses) - 1 <= LIMITS["RATELIMIT_PASSWORD_FREE_FAILURES"] + 4


def test_an_unknown_account_is_limited_exactly_like_a_real_one(limited_app):
    """The limits are keyed by the name typed, so they cannot tell an attacker which accounts exist."""
    _client, real = _signed_in(limited_app, "10.0.4.200")
    statuses = {}
    for name, prefix in ((real, "10.0.5"), ("ghost-" + uuid.uuid4().hex[:8], "10.0.6")):
        statuses[name] = [
            response.status_code
            for response in _guess_until_refused(limited_app.test_client(), name, _addresses(prefix))
        ]
    assert statuses[real] == statuses[next(name for name in statuses if name != real)]
    assert statuses[real][-1] == 429


@pytest.mark.parametrize(
    ("path", "field", "extra"),
    [
        (
            "/settings/password",
            "current_password",
            {"new_password": "N3w-Passw0rd!", "confirm_password": "N3w-Passw0rd!"},
        ),
        ("/settings/delete", "password", {}),
    ],
)
def test_re_entered_passwords_in_the_settings_are_limited_too(limited_app, monkeypatch, path, field, extra):
    """25 rapid wrong guesses at the current password (password change, account deletion): only the
    free failures and one per delay are checked, the rest refused with 429 and Retry-After, nothing
    changes, and the right password waits its turn like a wrong one."""
    client, username = _signed_in(limited_app, "10.0.7.1")
    checked = []
    real = accounts._verify_password
    monkeypatch.setattr(accounts, "_verify_password", lambda *args: checked.append(1) or real(*args))

    def guess(password):
        token = extract_csrf(
            client.get("/settings/password" if "password" in path else "/settings").get_data(as_text=True)
        )
        return client.post(path, data={field: password, "csrf_token": token, **extra}, **_from("10.0.7.1"))

    started = time.monotonic()
    statuses = [guess(f"wrong guess {index}").status_code for index in range(25)]
    seconds = time.monotonic() - started
    refused = guess(TEST_PASSWORD)
    assert set(statuses) == {422, 429}
    # The free failures, then one per delay (1 s, 2 s, ...): a generous ceiling for a slow machine.
    assert len(checked) <= LIMITS["RATELIMIT_PASSWORD_FREE_FAILURES"] + 1 + int(seconds), (len(checked), seconds)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    with limited_app.app_context():
        user = accounts.find_user(username)
        assert user is not None and accounts.verify_password(user, TEST_PASSWORD)
    record(
        "Abuse",
        f"Re-entered password guesses ({path})",
        {"guesses": 25, "checked": len(checked), "refused with 429": statuses.count(429), "seconds": seconds},
        f"25 wrong current passwords posted as fast as the test client goes; limits: "
        f"{LIMITS['RATELIMIT_PASSWORD_FREE_FAILURES']} free failures, then one check per delay doubling from 1 s.",
    )


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


def test_parallel_wrong_passwords_cannot_all_pass_as_free(limited_app):
    """Twelve guesses at once against one account: each is counted before its (slow) check, so only
    the free failures and one delay slot are checked; the rest are refused without hashing."""
    limited_app.config["PASSWORD_HASH_METHOD"] = MEASURED_HASH  # slow enough for the checks to overlap
    with limited_app.test_request_context(), transaction():
        user_id = accounts.register_user(unique_username(), TEST_PASSWORD).id
    guesses = 12
    barrier = threading.Barrier(guesses)
    outcomes = [None] * guesses

    def guess(index: int) -> None:
        with limited_app.test_request_context():
            user = db.session.get(User, user_id)
            barrier.wait(timeout=30)
            try:
                accounts.check_current_password(user, f"wrong {index}", "password", "wrong")
            except ServiceError as error:
                outcomes[index] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    checked = outcomes.count("wrong_password")
    assert checked + outcomes.count("rate_limited") == guesses, outcomes
    # The free ones and one slot; one more if a thread started after the first slot's second passed.
    assert checked <= LIMITS["RATELIMIT_PASSWORD_FREE_FAILURES"] + 2, outcomes


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
    with app.test_request_context(), transaction():
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


SYNC_SECONDS = 0.2


@pytest.fixture(scope="module")
def limited_workers(postgres_databases, redis_url, tmp_path_factory):
    """Two workers of one site with small limits, counting in one Redis."""
    environment = {
        **{name: str(value) for name, value in LIMITS.items() if name != "RATELIMIT_ENABLED"},
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_LOGIN_PER_ADDRESS": "100/minute",
        "RATELIMIT_REGISTER_PER_ADDRESS": "100/minute",
        "RATELIMIT_SYNC_SECONDS": str(SYNC_SECONDS),
    }
    with two_workers(postgres_databases, redis_url, tmp_path_factory.mktemp("limited-workers"), **environment) as pair:
        yield pair


def test_failed_sign_ins_are_counted_across_workers(limited_workers):
    """Wrong passwords spread over two workers add up: strangers are soon refused on either, while
    the owner's browser (it signed up here) still gets in, on either worker."""
    first, second = limited_workers
    victim = HttpUser(first.url).register()
    statuses = []
    for index in range(12):
        statuses.append(HttpUser((first, second)[index % 2].url).login(victim.username, "wrong password!").status_code)
        if statuses[-1] == 429:
            break
    free = LIMITS["RATELIMIT_PASSWORD_FREE_FAILURES"]
    assert statuses[:free] == [422] * free and statuses[-1] == 429 and len(statuses) <= free + 3, statuses
    assert victim.logout().ok
    owner_on_second = HttpUser(second.url)
    owner_on_second.http.cookies.update(victim.http.cookies)
    for owner in (owner_on_second, victim):
        response = owner.login(victim.username, TEST_PASSWORD)
        assert response.ok and "/login" not in response.url, response.status_code
        assert owner.logout().ok


def test_socket_events_over_the_limit_get_a_clear_error_and_the_socket_stays(limited_workers, open_socket):
    """Five events a minute per user, whichever worker the tabs are on: once the workers have
    synced their budgets (RATELIMIT_SYNC_SECONDS), the sixth is refused on either with retry_after,
    nothing is stored, the connection stays, typing goes on, and another user is unaffected."""
    first, second = limited_workers
    ana = HttpUser(first.url).register()
    bob = HttpUser(first.url).register()
    chat = direct_chat(ana, bob)
    ana_on_second = HttpUser(second.url)
    ana_on_second.http.cookies.update(ana.http.cookies)
    tab_one, tab_two, bob_tab = open_socket(ana), open_socket(ana_on_second), open_socket(bob)

    def send(tab, index):
        payload = {"conversation_id": chat, "body": f"burst {index}", "client_id": uuid.uuid4().hex}
        return tab.call("send_message", payload)

    acks = [send(tab_one if index % 2 == 0 else tab_two, index) for index in range(5)]
    assert [ack["ok"] for ack in acks] == [True] * 5
    time.sleep(SYNC_SECONDS * 5)  # each worker has taken what the other admitted
    for tab in (tab_one, tab_two):
        refused = send(tab, "over")
        assert refused["ok"] is False and refused["error"] == "rate_limited" and refused["retry_after"] > 0
        assert "too fast" in refused["message"]
    assert tab_one.client.connected and tab_two.client.connected
    # Typing notices have a budget of their own: the spent message budget does not silence them.
    assert tab_two.call("typing", {"conversation_id": chat})["ok"] is True
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
