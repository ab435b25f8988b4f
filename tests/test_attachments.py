"""Attachments: uploads checked by their bytes (real good and bad files), pictures re-encoded without
metadata and with a thumbnail, serving to members only, and sending an upload with a message."""

import io
import struct
import time
import uuid
import zipfile
from datetime import timedelta
from urllib.parse import quote

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select, update

from app import create_app
from app.extensions import db, socketio
from app.models.base import utcnow
from app.models.chat import Attachment
from app.services import accounts, attachments, conversations, social
from app.transactions import transaction
from tests import images
from tests.conftest import (
    TEST_PASSWORD,
    AuthActions,
    LiveServer,
    app_config,
    extract_csrf,
    page_text,
    run_concurrently,
    unique_username,
)

# --- real files ----------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(200)
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44) + b"\x80\x00\x00\x00" + bytes(64)
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
TEXT = "Grocery list:\n- café au lait\n- 🍞 bread\n".encode()


def zip_archive() -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return output.getvalue()


def empty_zip() -> bytes:
    output = io.BytesIO()
    zipfile.ZipFile(output, "w").close()
    return output.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    sequence = [Image.new("RGB", (40, 30), colours[index % 4]) for index in range(frames)]
    output = io.BytesIO()
    sequence[0].save(output, format="GIF", save_all=True, append_images=sequence[1:], duration=120, loop=0)
    return output.getvalue()


def photo_with_gps_and_orientation() -> bytes:
    """A 600x400 JPEG whose EXIF says "rotate 90°" and holds a camera name and a GPS position."""
    image = Image.new("RGB", (600, 400), (10, 120, 200))
    image.paste((250, 250, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPSInfo
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


# --- the people --------------------------------------------------------------------------------


class People:
    """ana and bob, friends with a direct chat; eve, a stranger; each signed in in their own client."""

    def __init__(self, app):
        self.app = app
        tag = uuid.uuid4().hex[:8]
        self.name = {person: f"{person}_{tag}" for person in ("ana", "bob", "eve")}
        with app.test_request_context(), transaction():
            users = {
                person: accounts.register_user(name, TEST_PASSWORD, first_name=person.title())
                for person, name in self.name.items()
            }
            self.id = {person: user.id for person, user in users.items()}
            social.send_request(users["ana"], self.name["bob"])
            social.accept_request(users["bob"], self.name["ana"])
            self.chat = conversations.open_direct(users["ana"], self.name["bob"]).id
        self.client, self.token = {}, {}
        for person, name in self.name.items():
            client = app.test_client()
            AuthActions(client).login(name)
            self.client[person] = client
            self.token[person] = extract_csrf(client.get("/").get_data(as_text=True))

    def upload(self, person: str, data: bytes, filename: str = "file.bin", conversation_id: int | None = None):
        """POST the file as the page's script does: multipart field `file`, CSRF in X-CSRFToken."""
        return self.client[person].post(
            f"/c/{conversation_id or self.chat}/attachments",
            data={"file": (io.BytesIO(data), filename)},
            headers={"X-CSRFToken": self.token[person]},
        )

    def uploaded(self, person: str, data: bytes, filename: str = "file.bin") -> dict:
        response = self.upload(person, data, filename)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["attachment"]

    def send(self, person: str, attachment: dict, body: str = "") -> dict:
        """Send the upload with a message over the person's socket; the ack's message."""
        sock = socketio.test_client(self.app, flask_test_client=self.client[person])
        send = {"conversation_id": self.chat, "body": body, "client_id": uuid.uuid4().hex}
        ack = sock.emit("send_message", {**send, "attachment_id": attachment["id"]}, callback=True)
        sock.disconnect()
        assert ack["ok"] is True, ack
        return ack["message"]

    def sent(self, person: str, data: bytes, filename: str = "file.bin") -> dict:
        """Upload the file and send it with a message: the attachment A."""
        attachment = self.uploaded(person, data, filename)
        self.send(person, attachment)
        return attachment


@pytest.fixture
def people(app):
    return People(app)


def stored_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Attachment))


def stored(app, attachment_id: int) -> Attachment:
    with app.app_context():
        attachment = db.session.get(Attachment, attachment_id)
        attachment.data, attachment.thumbnail  # noqa: B018 - load the deferred bytes
        db.session.expunge(attachment)
        return attachment


# --- what is accepted ------------------------------------------------------------------------------


ACCEPTED = [
    (images.picture("PNG"), "cat.png", "image", "image/png", "cat.png"),
    (images.picture("JPEG"), "holiday photo.jpeg", "image", "image/jpeg", "holiday photo.jpeg"),
    (images.picture("WEBP"), "sticker", "image", "image/webp", "sticker.webp"),
    (images.GIF, "wave.gif", "image", "image/gif", "wave.gif"),
    (images.picture("PNG"), "named-wrong.jpg", "image", "image/png", "named-wrong.jpg"),  # a PNG all the same
    (images.PDF, "report.pdf", "file", "application/pdf", "report.pdf"),
    (TEXT, "list.txt", "file", "text/plain", "list.txt"),
    (TEXT, "page.html", "file", "text/plain", "page.html.txt"),  # text, kept from opening as a page
    (zip_archive(), "bundle.zip", "file", "application/zip", "bundle.zip"),
    (empty_zip(), "nothing", "file", "application/zip", "nothing.zip"),
    (images.PDF, "../../secret\u202egpj.pdf", "file", "application/pdf", "secretgpj.pdf"),
]


@pytest.mark.parametrize(
    ("data", "filename", "kind", "content_type", "stored_name"), ACCEPTED, ids=[row[4] for row in ACCEPTED]
)
def test_each_accepted_type_is_stored_with_its_kind_type_and_a_safe_name(
    people, app, data, filename, kind, content_type, stored_name
):
    attachment = people.uploaded("ana", data, filename)
    assert {key: attachment[key] for key in ("kind", "content_type", "filename")} == {
        "kind": kind,
        "content_type": content_type,
        "filename": stored_name,
    }
    row = stored(app, attachment["id"])
    assert row.uploader_id == people.id["ana"] and row.conversation_id == people.chat
    assert row.size == len(row.data) == attachment["size"]
    if kind == "file":
        assert row.data == data and row.thumbnail is None and attachment["thumbnail_url"] is None
        assert attachment["width"] is None and attachment["height"] is None
    else:
        assert attachment["thumbnail_url"] == f"/attachments/{attachment['id']}/thumbnail"
        assert Image.open(io.BytesIO(row.data)).format == content_type.split("/")[1].upper()
    assert attachment["url"] == f"/attachments/{attachment['id']}/{quote(stored_name)}"


def test_a_picture_is_reencoded_upright_without_exif_or_gps_and_gets_a_small_thumbnail(people, app):
    original = photo_with_gps_and_orientation()
    assert Image.open(io.BytesIO(original)).getexif().get(0x010F) == "SecretCam"
    attachment = people.uploaded("ana", original, "IMG_0001.JPG")
    row = stored(app, attachment["id"])
    picture = Image.open(io.BytesIO(row.data))
    assert picture.format == "JPEG"
    assert dict(picture.getexif()) == {} and "exif" not in picture.info
    assert b"SecretCam" not in row.data
    # The orientation was applied to the pixels: 600x400 turned on its side.
    assert (picture.width, picture.height) == (400, 600) == (attachment["width"], attachment["height"])
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(original)))
    assert picture.getpixel((picture.width - 20, 20))[0] > 200 and expected.getpixel((expected.width - 20, 20))[0] > 200
    thumbnail = Image.open(io.BytesIO(row.thumbnail))
    assert thumbnail.format == "WEBP" and max(thumbnail.size) <= 320 and thumbnail.size == (213, 320)
    assert len(row.thumbnail) < 20_000


def test_an_animated_gif_keeps_its_frames(people, app):
    attachment = people.uploaded("ana", animated_gif(4), "dance.gif")
    picture = Image.open(io.BytesIO(stored(app, attachment["id"]).data))
    assert picture.format == "GIF" and picture.n_frames == 4


# --- what is refused ---------------------------------------------------------------------------------


BAD_FILES = [
    ("truncated PNG", images.truncated_png(), "cut.png", 422, "damaged"),
    ("text renamed .png", images.TEXT_AS_PNG, "notes.png", 422, "named like a picture"),
    ("ELF program named .png", ELF, "cute.png", 422, "named like a picture"),
    ("Windows program named .png", PE, "cute.png", 422, "named like a picture"),
    ("Windows program", PE, "setup.exe", 422, "cannot be sent"),
    ("SVG", images.SVG, "logo.svg", 422, "HTML, SVG and XML"),
    ("HTML", HTML, "page.html", 422, "HTML, SVG and XML"),
    ("HTML named .txt", HTML, "readme.txt", 422, "HTML, SVG and XML"),
    ("decompression bomb", images.png_claiming_size(30_000, 30_000), "bomb.png", 422, "too many pixels"),
    ("binary junk", bytes(range(256)) * 4, "data.bin", 422, "cannot be sent"),
    ("a zip signature without an archive", b"PK\x03\x04" + bytes(100), "broken.zip", 422, "cannot be sent"),
    ("empty", b"", "empty.txt", 422, "empty"),
]


@pytest.mark.parametrize(
    ("label", "data", "filename", "status", "message"), BAD_FILES, ids=[row[0] for row in BAD_FILES]
)
def test_bad_files_are_refused_with_the_reason_and_nothing_is_stored(
    people, app, label, data, filename, status, message
):
    response = people.upload("ana", data, filename)
    assert response.status_code == status, label
    body = response.get_json()
    assert body["ok"] is False and message in body["message"], (label, body)
    assert stored_count(app) == 0


def test_a_file_over_the_limit_is_refused_with_the_limit_in_words(people, app):
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    response = people.upload("ana", b"a" * 2049, "big.txt")
    assert response.status_code == 413
    assert response.get_json() == {"ok": False, "error": "too_large", "message": "Files can be at most 2 KB."}
    assert people.upload("ana", b"a" * 2048, "fits.txt").status_code == 201
    # A body beyond MAX_CONTENT_LENGTH is refused while it is read, in the same words.
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = people.upload("ana", b"a" * 8000, "huge.txt")
    assert response.status_code == 413 and response.get_json()["message"] == "Files can be at most 2 KB."
    assert stored_count(app) == 1


def test_sizes_in_words():
    assert attachments.human_size(10 * 1024 * 1024) == "10 MB"
    assert attachments.human_size(1536 * 1024) == "1.5 MB"
    assert attachments.human_size(1) == "1 byte" and attachments.human_size(900) == "900 bytes"


def test_a_request_without_a_file_says_so(people, app):
    response = people.client["ana"].post(
        f"/c/{people.chat}/attachments", data={}, headers={"X-CSRFToken": people.token["ana"]}
    )
    assert response.status_code == 422 and response.get_json()["message"] == "Choose a file to upload."


def test_outsiders_and_blocked_people_cannot_upload(people, app):
    # eve is not in the chat: the same answer as for a conversation nobody has.
    outsider = people.upload("eve", images.picture("PNG"), "x.png")
    nowhere = people.upload("eve", images.picture("PNG"), "x.png", conversation_id=people.chat + 1000)
    assert outsider.status_code == nowhere.status_code == 404
    assert (
        outsider.get_json()
        == nowhere.get_json()
        == {
            "ok": False,
            "error": "not_found",
            "message": "There is no such conversation.",
        }
    )
    with app.test_request_context(), transaction():
        social.block(db.session.get(accounts.User, people.id["bob"]), people.name["ana"])
    blocked = people.upload("ana", images.picture("PNG"), "x.png")
    assert blocked.status_code == 403 and blocked.get_json()["error"] == "not_allowed"
    assert stored_count(app) == 0


# --- serving -------------------------------------------------------------------------------------


def test_members_get_the_file_with_safe_headers_and_others_get_404(people, app):
    picture = people.sent("ana", images.picture("PNG"), "cat.png")
    for url in (picture["url"], picture["thumbnail_url"]):
        response = people.client["bob"].get(url)
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"].startswith("private")
        assert response.headers["Content-Disposition"].startswith("inline")
    full = people.client["bob"].get(picture["url"])
    assert full.mimetype == "image/png" and full.data == stored(app, picture["id"]).data
    assert full.headers["Content-Disposition"] == "inline; filename=cat.png"
    assert people.client["bob"].get(picture["thumbnail_url"]).mimetype == "image/webp"

    missing = picture["id"] + 1000
    for path in (picture["url"], picture["thumbnail_url"]):
        eve = people.client["eve"].get(path)
        unknown = people.client["eve"].get(path.replace(f"/{picture['id']}/", f"/{missing}/"))
        assert eve.status_code == unknown.status_code == 404
        assert page_text(eve) == page_text(unknown)
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_files_download_as_attachments_text_as_utf8_with_an_rfc5987_name(people):
    text = people.sent("ana", TEXT, "Größe café.txt")
    response = people.client["bob"].get(text["url"])
    assert response.status_code == 200 and response.data == TEXT
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Gr%C3%B6%C3%9Fe%20caf%C3%A9.txt" in disposition
    assert "sandbox" in response.headers["Content-Security-Policy"]
    pdf = people.client["ana"].get(people.uploaded("ana", images.PDF, "report.pdf")["url"])
    assert pdf.mimetype == "application/pdf" and pdf.headers["Content-Disposition"].startswith("attachment")
    # A file has no thumbnail.
    assert people.client["ana"].get(f"/attachments/{text['id']}/thumbnail").status_code == 404


def test_safe_filenames():
    assert attachments.safe_filename("../../etc/passwd", "text/plain") == "passwd.txt"
    assert attachments.safe_filename("C:\\Users\\ana\\report.pdf", "application/pdf") == "report.pdf"
    assert attachments.safe_filename("  .hidden  ", "text/plain") == "hidden.txt"
    assert attachments.safe_filename("a\x00b\nc.pdf", "application/pdf") == "abc.pdf"
    assert attachments.safe_filename("", "image/png") == "image.png"
    long = attachments.safe_filename("x" * 400 + ".pdf", "application/pdf")
    assert len(long) == 255 and long.endswith(".pdf")


# --- sending -------------------------------------------------------------------------------------


def socket_of(app, people, person):
    return socketio.test_client(app, flask_test_client=people.client[person])


def test_an_upload_is_sent_once_with_a_message(people, app):
    attachment = people.uploaded("ana", images.picture("PNG"), "cat.png")
    ana, bob = socket_of(app, people, "ana"), socket_of(app, people, "bob")
    send = {"conversation_id": people.chat, "body": "", "client_id": "with-cat", "attachment_id": attachment["id"]}
    ack = ana.emit("send_message", send, callback=True)
    assert ack["ok"] is True and ack["message"]["attachment"] == attachment and ack["message"]["body"] == ""
    delivered = [item["args"] for item in bob.get_received() if item["name"] == "message"]
    assert delivered and delivered[0]["attachment"]["id"] == attachment["id"]

    # A retry of the same send returns the original; another send cannot take the file again.
    assert ana.emit("send_message", send, callback=True) == ack
    again = ana.emit("send_message", {**send, "client_id": "cat-again", "body": "again"}, callback=True)
    assert again["ok"] is False and again["error"] == "not_found"
    # Someone else's upload, or an id nobody has, cannot be sent either.
    bobs = people.uploaded("bob", images.PDF, "bob.pdf")
    for attachment_id in (bobs["id"], bobs["id"] + 1000, "1", True, -1):
        ack = ana.emit(
            "send_message", {**send, "client_id": uuid.uuid4().hex, "attachment_id": attachment_id}, callback=True
        )
        assert ack["ok"] is False and ack["error"] == "not_found", attachment_id
    # The history carries it, and bob can still download it.
    page = people.client["bob"].get(f"/api/conversations/{people.chat}/messages").get_json()
    assert page["messages"][-1]["attachment"]["id"] == attachment["id"]
    assert people.client["bob"].get(attachment["url"]).status_code == 200


# --- before it is sent: the uploader's alone --------------------------------------------------------


def test_an_upload_not_yet_sent_is_its_uploaders_alone_and_the_members_once_sent(people, app):
    picture = people.uploaded("ana", images.picture("PNG"), "cat.png")
    missing = picture["id"] + 1000
    for path in (picture["url"], picture["thumbnail_url"]):
        assert people.client["ana"].get(path).status_code == 200
        # bob is in the chat, eve is not: both find nothing, exactly as for an id nobody has.
        for person in ("bob", "eve"):
            forbidden = people.client[person].get(path)
            unknown = people.client[person].get(path.replace(f"/{picture['id']}/", f"/{missing}/"))
            assert forbidden.status_code == unknown.status_code == 404, (person, path)
            assert page_text(forbidden) == page_text(unknown)
    # bob cannot send it as his own either.
    bob = socket_of(app, people, "bob")
    send = {"conversation_id": people.chat, "body": "mine now", "client_id": "bobs-cat", "attachment_id": picture["id"]}
    ack = bob.emit("send_message", send, callback=True)
    assert ack["ok"] is False and ack["error"] == "not_found"

    people.send("ana", picture, body="look")
    for path in (picture["url"], picture["thumbnail_url"]):
        assert people.client["bob"].get(path).status_code == 200
        assert people.client["eve"].get(path).status_code == 404


# --- the purge of uploads never sent ---------------------------------------------------------------

TTL = timedelta(seconds=24 * 60 * 60)  # ATTACHMENT_UNSENT_TTL_SECONDS's default
PURGEABLE = TTL + timedelta(minutes=15)  # and past the purge's grace of 10 minutes


def age(app, attachment_ids, by: timedelta) -> None:
    """Make the uploads look `by` older."""
    with app.app_context():
        db.session.execute(update(Attachment).where(Attachment.id.in_(attachment_ids)).values(created_at=utcnow() - by))
        db.session.commit()


def stored_ids(app) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(Attachment.id)))


def test_uploads_never_sent_in_time_are_purged_without_anyone_uploading_again(people, app):
    sent = people.uploaded("ana", images.PDF, "sent.pdf")
    message = people.send("ana", sent)
    forgotten = people.uploaded("ana", images.PDF, "forgotten.pdf")
    bobs = people.uploaded("bob", images.PDF, "bobs.pdf")
    late = people.uploaded("ana", images.PDF, "late.pdf")
    fresh = people.uploaded("ana", images.PDF, "fresh.pdf")
    age(app, [sent["id"], forgotten["id"], bobs["id"]], PURGEABLE)
    age(app, [late["id"]], TTL + timedelta(minutes=1))  # too late to send, not yet purged

    ana = socket_of(app, people, "ana")
    send = {"conversation_id": people.chat, "body": "", "client_id": "late-one", "attachment_id": late["id"]}
    assert ana.emit("send_message", send, callback=True)["error"] == "not_found"
    # A retry of the send that took `sent` still answers with the original, however late.
    retry = {**send, "client_id": message["client_id"], "attachment_id": sent["id"]}
    assert ana.emit("send_message", retry, callback=True) == {"ok": True, "message": message}

    with app.app_context():
        assert attachments.purge_unsent(end_batch=db.session.commit) == 2
        assert attachments.purge_unsent(end_batch=db.session.commit) == 0
    left = stored_ids(app)
    assert forgotten["id"] not in left and bobs["id"] not in left  # old and never sent, whoever's
    assert {sent["id"], late["id"], fresh["id"]} <= left  # sent, within the grace, or recent
    assert people.client["bob"].get(sent["url"]).status_code == 200


def purge_committing_each_batch() -> int:
    """attachments.purge_unsent as the worker's job runs it: each batch committed."""
    return attachments.purge_unsent(end_batch=db.session.commit)


def test_the_purge_takes_every_batch_and_is_safe_on_two_workers_at_once(people, app, database_url):
    uploads = [
        people.uploaded("ana", TEXT, f"note {number}.txt")["id"] for number in range(2 * attachments.PURGE_BATCH + 5)
    ]
    age(app, uploads, PURGEABLE)
    outcomes = run_concurrently(database_url, [purge_committing_each_batch] * 2)
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    with app.app_context():
        leftover = purge_committing_each_batch()  # one run may stop early when the other took its batch
    assert sum(outcomes) + leftover == len(uploads)  # each deleted exactly once
    assert stored_count(app) == 0


def test_flask_attachments_purge(people, app):
    forgotten = people.uploaded("ana", images.PDF, "forgotten.pdf")
    kept = people.uploaded("ana", images.PDF, "kept.pdf")
    age(app, [forgotten["id"]], PURGEABLE)
    result = app.test_cli_runner().invoke(args=["attachments", "purge"])
    assert result.exit_code == 0 and result.output == "Purged 1 upload never sent.\n"
    assert stored_ids(app) == {kept["id"]}


def test_a_live_worker_purges_on_its_schedule(sqlite_databases, tmp_path):
    """A real run.py server with a one-second interval deletes an expired upload while nobody does
    anything at all."""
    url = sqlite_databases.create()
    app = create_app(app_config(url))
    with app.test_request_context(), transaction():
        ana, bob = (accounts.register_user(unique_username(name), TEST_PASSWORD) for name in ("ana", "bob"))
        social.send_request(ana, bob.username)
        social.accept_request(bob, ana.username)
        chat = conversations.open_direct(ana, bob.username).id
        forgotten = attachments.upload(ana, chat, "forgotten.pdf", images.PDF).id
        kept = attachments.upload(ana, chat, "kept.pdf", images.PDF).id
    age(app, [forgotten], PURGEABLE)
    server = LiveServer(url, tmp_path / "server.log", ATTACHMENT_PURGE_INTERVAL_SECONDS="1")
    try:
        deadline = time.monotonic() + 30
        # The log line follows the commit: wait for both.
        while forgotten in stored_ids(app) or "purged uploads never sent: 1" not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.2)
        assert stored_ids(app) == {kept}
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
        sqlite_databases.drop(url)


# --- the daily budget ------------------------------------------------------------------------------


def test_an_upload_past_the_daily_budget_is_refused_with_when_it_fits_and_nothing_is_stored(people, app):
    size = len(images.PDF)
    app.config["ATTACHMENT_DAILY_QUOTA_BYTES"] = 3 * size
    first = people.uploaded("ana", images.PDF, "1.pdf")
    people.sent("ana", images.PDF, "2.pdf")  # sent or not, an upload counts
    people.uploaded("ana", images.PDF, "3.pdf")
    before = stored_ids(app)

    refused = people.upload("ana", images.PDF, "4.pdf")
    assert refused.status_code == 429
    assert refused.get_json() == {
        "ok": False,
        "error": "quota",
        "message": f"You can upload at most {attachments.human_size(3 * size)} of files a day and have 0 bytes "
        "left for now. Try again in 24 hours, or send a smaller file.",
    }
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600 + 1
    assert stored_ids(app) == before
    # Everyone has a budget of their own.
    people.uploaded("bob", images.PDF, "bobs.pdf")

    # The first upload leaves the 24 hours in an hour: then one more fits.
    age(app, [first["id"]], timedelta(hours=23))
    refused = people.upload("ana", images.PDF, "4.pdf")
    assert refused.status_code == 429 and "Try again in 1 hour," in refused.get_json()["message"]
    assert 3500 < int(refused.headers["Retry-After"]) <= 3601
    age(app, [first["id"]], timedelta(hours=24, minutes=1))
    people.uploaded("ana", images.PDF, "4.pdf")
    # 0 turns the budget off.
    app.config["ATTACHMENT_DAILY_QUOTA_BYTES"] = 0
    people.uploaded("ana", images.PDF, "5.pdf")


def test_concurrent_uploads_cannot_overrun_the_budget(people, app, database_url, monkeypatch):
    monkeypatch.setenv("ATTACHMENT_DAILY_QUOTA_BYTES", str(2 * len(images.PDF)))

    def upload():
        ana = db.session.get(accounts.User, people.id["ana"])
        return attachments.upload(ana, people.chat, "same time.pdf", images.PDF).id

    outcomes = run_concurrently(database_url, [upload] * 4)
    refused = [outcome for outcome in outcomes if isinstance(outcome, attachments.QuotaExceeded)]
    assert len(refused) == 2 and all(isinstance(outcome, int) for outcome in outcomes if outcome not in refused), (
        outcomes
    )
    assert stored_count(app) == 2
