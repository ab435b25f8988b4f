"""Abuse: a hostile picture must not hold up anyone's sign-in, run without end, or be sent twice at once.

The picture is the costliest one we know of that fits the limits (tests/images.py hostile_png: 25
megapixels, 6.8 MB). Before pictures had a lane and a process of their own, re-encoding it with
optimize=True took half a minute to two minutes in the one slot password hashing also used.
"""

import io
import resource
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from markupsafe import escape
from PIL import Image
from sqlalchemy import func, select

from app import create_app
from app.config import STRONG_PASSWORD_HASH
from app.extensions import db
from app.models.avatar import UploadedPicture
from app.models.chat import Attachment
from app.models.user import User
from app.services import ServiceError, accounts, avatars, conversations, pictures
from app.transactions import transaction
from tests import images
from tests.abuse import PAUSE, Others, others_figures, within_ceiling
from tests.conftest import TEST_PASSWORD, AuthActions, HttpUser, LiveServer, app_config, extract_csrf
from tests.realtime import befriend, create_group, direct_chat
from tests.reliability import count, record

DEFAULT_CPU_SECONDS = 10  # PICTURE_CPU_SECONDS's default (app/config.py)
LOGINS = count(3, 7)


@pytest.fixture(scope="module")
def hostile() -> bytes:
    return images.hostile_png()


# --- a sign-in while the heaviest accepted picture is processed -------------------------------------


@pytest.fixture(params=["eventlet", "gevent"])
def picture_server(request, sqlite_databases, tmp_path):
    """A live server with the production password hash, so a sign-in does real work in its lane."""
    database_url = sqlite_databases.create()
    server = LiveServer(
        database_url, tmp_path / "server.log", ASYNC_MODE=request.param, PASSWORD_HASH_METHOD=STRONG_PASSWORD_HASH
    )
    yield server
    server.stop()
    print(server.log_tail(60))  # shown when the test failed
    sqlite_databases.drop(database_url)


def timed_login(server: LiveServer, username: str) -> float:
    """Seconds one sign-in (POST /login, a fresh browser) takes to answer."""
    visitor = requests.Session()
    token = extract_csrf(visitor.get(server.url + "/login", timeout=30).text)
    started = time.monotonic()
    response = visitor.post(
        server.url + "/login",
        data={"username": username, "password": TEST_PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=180,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 302, response.text[:300]
    return elapsed


def post_file(user: HttpUser, conversation_id: int, data: bytes, filename: str) -> requests.Response:
    return user.http.post(
        f"{user.base_url}/c/{conversation_id}/attachments",
        files={"file": (filename, data)},
        headers={"X-CSRFToken": user.csrf("/")},
        timeout=180,
    )


def picture_workers(server: LiveServer) -> list[int]:
    """The pids of the server's picture subprocesses running now (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == server.process.pid and b"picture_worker" in command:
            found.append(int(entry.name))
    return found


def _environment(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "environ").read_bytes()
    except OSError:  # done already
        return b""


def test_a_sign_in_during_the_heaviest_accepted_picture_answers_within_twice_its_usual_time(picture_server, hostile):
    """Sign-ins keep their own lane while the picture is re-encoded in a subprocess (below the
    server's priority, without the server's secrets); a second picture of the same uploader meanwhile is
    refused (429 busy).

    The usual time is the median of sign-ins just before, on the same server and machine; the bound
    is twice that plus a quarter second for this machine's noise (before the fix, a sign-in waited
    for the whole re-encode: tens of seconds)."""
    server = picture_server
    uploader = HttpUser(server.url).register()
    group = create_group(uploader, [], title="Pictures")
    member = HttpUser(server.url).register()
    usual = [timed_login(server, member.username) for _ in range(LOGINS)]

    outcome = {}

    def upload(name: str, data: bytes) -> None:
        outcome[name] = post_file(uploader, group, data, f"{name}.png")
        outcome[f"{name} finished"] = time.monotonic()

    started = time.monotonic()
    thread = threading.Thread(target=upload, args=("hostile", hostile), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not picture_workers(server) and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = picture_workers(server)
    worker_environment = b"".join(_environment(pid) for pid in workers)
    second = threading.Thread(target=upload, args=("second", images.picture("PNG")), daemon=True)
    second.start()
    during = []  # sign-ins started while the picture is processed
    while len(during) < LOGINS and thread.is_alive():
        during.append(timed_login(server, member.username))
    thread.join(180)
    second.join(180)

    figures = {
        "async mode": server.environment["ASYNC_MODE"],
        "picture (PNG, RGBA, one noisy channel)": f"5000 x 5000, {len(hostile) / 1e6:.1f} MB",
        "picture accepted after (s)": round(outcome["hostile finished"] - started, 2),
        "sign-in, usual median (s)": round(statistics.median(usual), 3),
        "sign-in during the picture, median (s)": round(statistics.median(during or [0]), 3),
        "sign-in during the picture, slowest (s)": round(max(during or [0]), 3),
        "sign-ins during the picture": len(during),
        "ratio (median during / usual)": round(statistics.median(during or [0]) / statistics.median(usual), 2),
    }
    record(
        "Abuse",
        f"Sign-in during the heaviest accepted picture ({server.environment['ASYNC_MODE']})",
        figures,
        "A live run.py server hashing with production scrypt; the usual sign-in time is the median of "
        "sign-ins just before; then a 25-megapixel PNG is uploaded and sign-ins are timed until it is "
        "accepted. Before the fix one such sign-in took 107.6 s (the review).",
    )
    assert outcome["hostile"].status_code == 201, outcome["hostile"].text[:300]
    assert during, "the picture was done before a sign-in started: nothing measured"
    assert statistics.median(during) <= 2 * statistics.median(usual) + 0.25, figures
    assert outcome["second"].status_code == 429, outcome["second"].text[:300]
    assert outcome["second"].json()["error"] == "busy"
    assert workers, "no picture subprocess was seen while the upload was processed"
    assert b"SECRET_KEY" not in worker_environment and b"DATABASE_URL" not in worker_environment


# --- other people while one uploads the heaviest pictures in a loop --------------------------------

HOSTILE_UPLOAD_SECONDS = count(8, 30)


@pytest.mark.parametrize("picture_server", ["eventlet"], indirect=True)
def test_others_are_served_while_one_uploads_the_heaviest_pictures(picture_server, hostile):
    """One user posts the heaviest accepted picture again and again (one at a time: that is all they
    get); meanwhile Ana browses and sends over her socket. Her p99 stays near her quiet p99: the
    picture work is in its subprocess, below the server's priority, and never on the event loop."""
    server = picture_server
    uploader = HttpUser(server.url).register()
    group = create_group(uploader, [], title="Pictures")
    ana, bob = HttpUser(server.url).register(), HttpUser(server.url).register()
    befriend(ana, bob)
    others = Others(server.url, {"names": {"ana": ana.username}, "chat": direct_chat(ana, bob)})
    stop, uploads = threading.Event(), []

    def upload_in_a_loop() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            status = post_file(uploader, group, hostile, "hostile.png").status_code
            uploads.append((status, time.perf_counter() - began))

    try:
        others.start()
        quiet_http, quiet_acks = others.measure(2)
        thread = threading.Thread(target=upload_in_a_loop, daemon=True)
        thread.start()
        http, acks = others.measure(HOSTILE_UPLOAD_SECONDS)
        stop.set()
        thread.join(180)
    finally:
        others.stop()

    figures = {
        "async mode": server.environment["ASYNC_MODE"],
        "pictures accepted (201)": sum(1 for status, _ in uploads if status == 201),
        "upload p50 s": round(statistics.median(took for _, took in uploads), 2),
        **others_figures(http, acks, quiet_http, quiet_acks),
    }
    record(
        "Abuse",
        f"Other people during hostile picture uploads ({figures['async mode']})",
        figures,
        f"One run.py worker with production scrypt. For {HOSTILE_UPLOAD_SECONDS} s a user uploads the "
        "5000 x 5000 RGBA PNG with one noisy channel again and again (the heaviest accepted picture); "
        f"meanwhile another user fetches /healthz and a chat page in turn and sends messages over her "
        f"socket, each every {PAUSE * 1000:.0f} ms, timed by the client (quiet: the same load just before).",
    )
    assert figures["pictures accepted (201)"] >= 1, uploads
    assert all(status == 201 for status, _ in uploads), uploads
    assert not others.failures, others.failures[:5]
    assert within_ceiling(figures), figures


# --- a picture that takes too long ----------------------------------------------------------------


@pytest.fixture
def strict_app(sqlite_databases):
    """The app with a one-second CPU budget per picture, on SQLite."""
    database_url = sqlite_databases.create()
    app = create_app(app_config(database_url, PICTURE_CPU_SECONDS=1))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    sqlite_databases.drop(database_url)


def test_a_picture_that_takes_too_long_is_refused_with_the_reason_and_nothing_is_stored(strict_app, hostile):
    with strict_app.test_request_context(), transaction():
        user = accounts.register_user(f"ana_{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
        username, group = user.username, conversations.create_group(user, "Solo", []).id
    client = strict_app.test_client()
    AuthActions(client).login(username)
    token = extract_csrf(client.get("/").get_data(as_text=True))
    started = time.monotonic()
    response = client.post(
        f"/c/{group}/attachments",
        data={"file": (io.BytesIO(hostile), "hostile.png")},
        headers={"X-CSRFToken": token},
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.get_json()
    assert response.get_json() == {"ok": False, "error": "too_slow", "message": pictures.TOO_SLOW}
    with strict_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    # The budget is CPU time: on a busy machine the clock runs longer, up to the deadline.
    assert elapsed < pictures.wall_seconds(1) + 5
    # And the slot is free again: an ordinary picture goes through.
    response = client.post(
        f"/c/{group}/attachments",
        data={"file": (io.BytesIO(images.picture("PNG")), "cat.png")},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201, response.get_json()


def test_the_heaviest_picture_costs_seconds_of_cpu_not_minutes(hostile):
    """The subprocess's own CPU time on the hostile picture, well within the default budget; and what
    optimize=True (zlib level 9) costs against our level 3 on a tenth of it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    header, (encoded, thumbnail) = pictures._run("PNG", hostile, "file", 60, 600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert (header["width"], header["height"]) == (5000, 5000)
    assert Image.open(io.BytesIO(encoded)).size == (5000, 5000)
    assert thumbnail

    strip = Image.open(io.BytesIO(hostile)).crop((0, 0, 5000, 500))
    costs = {}
    for label, options in (("optimize=True", {"optimize": True}), ("compress_level=3", {"compress_level": 3})):
        started = time.process_time()
        strip.save(io.BytesIO(), format="PNG", **options)
        costs[label] = time.process_time() - started
    figures = {
        "re-encode with thumbnail, whole picture (CPU s)": round(cpu, 2),
        "PICTURE_CPU_SECONDS default": DEFAULT_CPU_SECONDS,
        "PNG encode of a tenth, optimize=True (CPU s)": round(costs["optimize=True"], 2),
        "PNG encode of a tenth, compress_level=3 (CPU s)": round(costs["compress_level=3"], 2),
        "stored size (MB)": round(len(encoded) / 1e6, 2),
    }
    record(
        "Abuse",
        "Re-encoding the heaviest picture",
        figures,
        "The picture subprocess's CPU time on the 5000 x 5000 RGBA PNG with one noisy channel (6.8 MB), "
        "and Pillow's PNG encoder on its first 500 rows with the old and the new settings.",
    )
    assert cpu < DEFAULT_CPU_SECONDS / 2, figures


# --- one picture at a time ------------------------------------------------------------------------


def test_one_picture_at_a_time_per_user_holds_across_workers_with_redis(sqlite_databases, redis_url):
    """Two apps (two workers) on one Redis: while one holds the user's picture slot, the other refuses
    that user's avatar (busy, nothing stored) and takes another user's; afterwards it takes theirs."""
    database_url = sqlite_databases.create()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    config = app_config(database_url, REDIS_URL=redis_url, REDIS_KEY_PREFIX=prefix)
    first, second = create_app(config), create_app(config)
    store = redis.Redis.from_url(redis_url)
    try:
        with second.test_request_context(), transaction():
            ana = accounts.register_user(f"ana_{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
            bob = accounts.register_user(f"bob_{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
            ana_id, bob_id = ana.id, bob.id
        with first.test_request_context(), pictures.one_at_a_time(ana_id, "picture", seconds=60):
            assert store.exists(f"{prefix}:picture-in-flight:{ana_id}")
            with second.test_request_context(), transaction():
                ana = db.session.get(User, ana_id)
                with pytest.raises(ServiceError) as refusal:
                    avatars.upload_avatar(ana, images.picture("PNG"))
                assert (refusal.value.code, refusal.value.message) == ("busy", pictures.STILL_BUSY)
                assert db.session.scalar(select(func.count()).select_from(UploadedPicture)) == 0
                avatars.upload_avatar(db.session.get(User, bob_id), images.picture("JPEG"))
        assert not store.exists(f"{prefix}:picture-in-flight:{ana_id}")
        with second.test_request_context(), transaction():
            ana = db.session.get(User, ana_id)
            avatars.upload_avatar(ana, images.picture("PNG"))
            assert ana.avatar_upload
    finally:
        for app in (first, second):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        for key in store.scan_iter(f"{prefix}:*"):
            store.delete(key)
        store.close()
        sqlite_databases.drop(database_url)


def test_without_redis_a_second_picture_of_the_same_user_is_refused_in_the_worker(strict_app):
    """The settings page answers 429 with the reason while the user's slot is held (here by hand, in
    the same worker), then takes the picture."""
    with strict_app.test_request_context(), transaction():
        user = accounts.register_user(f"ana_{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
        user_id, username = user.id, user.username
    client = strict_app.test_client()
    AuthActions(client).login(username)

    def upload_avatar():
        token = extract_csrf(client.get("/settings/avatar").get_data(as_text=True))
        return client.post(
            "/settings/avatar/upload",
            data={"picture": (io.BytesIO(images.picture("PNG")), "me.png"), "csrf_token": token},
            content_type="multipart/form-data",
        )

    with strict_app.test_request_context(), pictures.one_at_a_time(user_id, "picture", seconds=60):
        refused = upload_avatar()
    assert refused.status_code == 429
    assert escape(pictures.STILL_BUSY) in refused.get_data(as_text=True)
    with strict_app.app_context():
        assert db.session.get(User, user_id).avatar_upload is None
    assert upload_avatar().status_code == 302
    with strict_app.app_context():
        assert db.session.get(User, user_id).avatar_upload
