"""Attachments: uploads checked by their bytes (real good and bad files), pictures re-encoded without
metadata and with a thumbnail, serving to members only, and sending an upload with a message."""

import io
import struct
import uuid
import zipfile
from datetime import timedelta
from urllib.parse import quote

import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select

from app.extensions import db, socketio
from app.models.base import utcnow
from app.models.chat import Attachment
from app.services import accounts, attachments, conversations, social
from tests import images
from tests.conftest import TEST_PASSWORD, AuthActions, extract_csrf

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
        with app.test_request_context():
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
    with app.test_request_context():
        social.block(db.session.get(accounts.User, people.id["bob"]), people.name["ana"])
    blocked = people.upload("ana", images.picture("PNG"), "x.png")
    assert blocked.status_code == 403 and blocked.get_json()["error"] == "not_allowed"
    assert stored_count(app) == 0


# --- serving -------------------------------------------------------------------------------------


def test_members_get_the_file_with_safe_headers_and_others_get_404(people, app):
    picture = people.uploaded("ana", images.picture("PNG"), "cat.png")
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
        assert eve.get_data() == unknown.get_data()
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_files_download_as_attachments_text_as_utf8_with_an_rfc5987_name(people):
    text = people.uploaded("ana", TEXT, "Größe café.txt")
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


def test_uploads_never_sent_are_dropped_after_a_day_by_the_uploaders_next_upload(people, app):
    sent = people.uploaded("ana", images.PDF, "sent.pdf")
    ack = socket_of(app, people, "ana").emit(
        "send_message",
        {"conversation_id": people.chat, "body": "", "client_id": "sent-pdf", "attachment_id": sent["id"]},
        callback=True,
    )
    assert ack["ok"] is True
    forgotten = people.uploaded("ana", images.PDF, "forgotten.pdf")
    fresh = people.uploaded("ana", images.PDF, "fresh.pdf")
    bobs = people.uploaded("bob", images.PDF, "bobs.pdf")
    with app.app_context():
        day_ago = utcnow() - attachments.UNSENT_KEPT_FOR - timedelta(minutes=1)
        for attachment_id in (sent["id"], forgotten["id"], bobs["id"]):
            db.session.get(Attachment, attachment_id).created_at = day_ago
        db.session.commit()

    people.uploaded("ana", images.PDF, "next.pdf")
    with app.app_context():
        left = set(db.session.scalars(select(Attachment.id)))
    assert forgotten["id"] not in left  # old and never sent
    assert {sent["id"], fresh["id"], bobs["id"]} <= left  # sent, recent, or someone else's
