"""Attachments: images and files uploaded into a conversation, then sent with one message, and
served only to that conversation's members (until it is sent, to its uploader alone). Uploads never
sent are purged on a schedule; each user has a rolling daily upload budget."""

import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from PIL import Image
from sqlalchemy import and_, bindparam, delete, exists, insert, not_, or_, select
from sqlalchemy.orm import undefer

from app.concurrency import FILES, run_blocking
from app.extensions import db
from app.models.base import utcnow
from app.models.chat import FILE, FILENAME_MAX_LENGTH, IMAGE, Attachment, Membership, Message
from app.models.user import User
from app.picture_worker import TOO_MANY_PIXELS
from app.services import ServiceError, is_db_int, pictures
from app.services.conversations import require_member_target, send_refusal

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
PDF_TYPE = "application/pdf"
ZIP_TYPE = "application/zip"
TEXT_TYPE = "text/plain"
THUMBNAIL_TYPE = "image/webp"
# An upload not sent within ATTACHMENT_UNSENT_TTL_SECONDS can no longer be sent; the purge deletes it
# this much later, so a send that took it just in time never races the delete.
PURGE_GRACE = timedelta(minutes=10)
# Rows one purge statement deletes: each is a short write, even on SQLite with 10 MB files.
PURGE_BATCH = 20
# The upload budget (ATTACHMENT_DAILY_QUOTA_BYTES) counts what was uploaded within this window.
QUOTA_WINDOW = timedelta(days=1)

# The extension each type is stored with when the name has none (or one of another kind), and the
# extensions a name may keep.
EXTENSIONS = {
    "image/png": ("png", {"png", "jpg", "jpeg", "webp", "gif"}),
    "image/jpeg": ("jpg", {"png", "jpg", "jpeg", "jpe", "jfif", "webp", "gif"}),
    "image/webp": ("webp", {"png", "jpg", "jpeg", "webp", "gif"}),
    "image/gif": ("gif", {"png", "jpg", "jpeg", "webp", "gif"}),
    PDF_TYPE: ("pdf", {"pdf"}),
    ZIP_TYPE: ("zip", {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"}),
    TEXT_TYPE: (
        "txt",
        {
            "txt",
            "text",
            "md",
            "markdown",
            "rst",
            "csv",
            "tsv",
            "log",
            "json",
            "yaml",
            "yml",
            "toml",
            "ini",
            "cfg",
            "conf",
            "py",
            "c",
            "h",
            "cpp",
            "java",
            "go",
            "rs",
            "rb",
            "sql",
            "diff",
            "patch",
        },
    ),
}
# Names that claim a picture: a file so named must be one (a renamed text file or program is refused).
PICTURE_EXTENSIONS = {"png", "jpg", "jpeg", "jpe", "jfif", "webp", "gif", "bmp", "tif", "tiff", "avif", "heic", "ico"}
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# The start of a document a browser would run as a page: HTML, SVG, XML. Never stored as text.
MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|\?xml|iframe|object|embed|meta|link|style)\b", re.I)
# Control characters a text file does not hold (tab, newline, form feed and carriage return aside).
BINARY_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
NOT_ACCEPTED = "Only pictures (PNG, JPEG, WebP, GIF), PDF, plain text and zip files can be sent."


def human_size(size: int) -> str:
    """A byte count in words: "10 MB", "1.5 MB", "200 KB", "12 bytes"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = f"{size / scale:.1f}".removesuffix(".0")
            return f"{value} {unit}"
    return f"{size} byte{'' if size == 1 else 's'}"


def too_large_message() -> str:
    """What a refused oversize upload is told: "Files can be at most 10 MB."."""
    return f"Files can be at most {human_size(current_app.config['ATTACHMENT_MAX_BYTES'])}."


class QuotaExceeded(ServiceError):
    """An upload past the user's daily budget; `retry_after`: seconds until it would fit."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, "file", code="quota")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Inspected:
    """What an upload turned out to be, and the bytes to store for it."""

    kind: str
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


def upload(user: User, conversation_id, filename, data: bytes) -> Attachment:
    """Store a file the user uploads into a conversation (not yet sent: send_message takes its id).

    Refused with ServiceError, nothing stored: a conversation the user is not in
    (ConversationNotFound), one they may not write in (`not_allowed`), no file (data None) or an
    empty one (`empty`), one
    over ATTACHMENT_MAX_BYTES (`too_large`) and anything that is not, by its bytes, a PNG, JPEG,
    WebP or GIF picture, a PDF, a zip archive or UTF-8 plain text (`invalid`); QuotaExceeded when it
    would take the user past ATTACHMENT_DAILY_QUOTA_BYTES. Pictures are decoded and re-encoded
    without their metadata, with a WebP thumbnail, by app.services.pictures (refused as it says: one
    at a time per user, within PICTURE_CPU_SECONDS).
    """
    target = require_member_target(user, conversation_id)
    refusal = send_refusal(user, target)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    if data is None:  # checked after membership: outsiders learn nothing, not even "no file"
        raise ServiceError("Choose a file to upload.", "file", code="empty")
    if not isinstance(data, bytes) or not data:
        raise ServiceError("That file is empty.", "file", code="empty")
    if len(data) > current_app.config["ATTACHMENT_MAX_BYTES"]:
        raise ServiceError(too_large_message(), "file", code="too_large")
    _check_quota(user, len(data))  # before decoding: a user out of budget costs no work
    name = filename if isinstance(filename, str) else ""
    inspected = inspect(data, user.id, claims_picture=_extension(name) in PICTURE_EXTENSIONS)
    attachment = Attachment(
        conversation_id=target.conversation_id,
        uploader_id=user.id,
        kind=inspected.kind,
        content_type=inspected.content_type,
        filename=safe_filename(name, inspected.content_type),
        size=len(inspected.data),
        width=inspected.width,
        height=inspected.height,
        data=inspected.data,
        thumbnail=inspected.thumbnail,
    )
    db.session.add(attachment)
    db.session.flush()
    _check_quota(user, attachment.size, stored=True)  # as stored, concurrent uploads counted
    return attachment


# What a copy keeps of the original: everything it is, none of where or by whom it was uploaded.
_COPIED = ("kind", "content_type", "filename", "size", "width", "height", "data", "thumbnail")


def copy_into(user: User, conversation_id: int, original: Attachment) -> Attachment:
    """A copy of a stored attachment uploaded by `user` into a conversation they may write in (the
    caller checked), not sent yet: how a forwarded file reaches its new conversation. The bytes are
    copied inside the database (INSERT ... SELECT: never read into the worker); they count against
    the user's daily budget as an upload would (QuotaExceeded, nothing stored). The copy stands on
    its own: deleting the original's message removes the original only."""
    _check_quota(user, original.size)
    columns = [getattr(Attachment, name) for name in _COPIED]
    copied = (
        insert(Attachment)
        .from_select(
            ["conversation_id", "uploader_id", "created_at", *_COPIED],
            select(
                bindparam("cid", conversation_id),
                bindparam("uid", user.id),
                bindparam("now", utcnow(), type_=Attachment.created_at.type),
                *columns,
            ).where(Attachment.id == original.id),
        )
        .returning(Attachment.id)
    )
    attachment_id = db.session.execute(copied).scalar_one()
    _check_quota(user, original.size, stored=True)  # as stored, concurrent uploads counted (the door rolls back)
    return db.session.get(Attachment, attachment_id)


def _check_quota(user: User, size: int, stored: bool = False) -> None:
    """Raise QuotaExceeded when the bytes the user uploaded within QUOTA_WINDOW (those still stored:
    sent or not, but not deleted or purged) and this upload of `size` bytes exceed
    ATTACHMENT_DAILY_QUOTA_BYTES (0: no budget). `stored`: called after the upload's INSERT, in its
    transaction, so the sum holds it; the user's row is locked first (PostgreSQL) so that concurrent
    uploads of one user are counted one after another (on SQLite the INSERT holds the write lock)."""
    budget = current_app.config["ATTACHMENT_DAILY_QUOTA_BYTES"]
    if not budget:
        return
    if stored and db.engine.dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    now = utcnow()
    uploads = db.session.execute(
        select(Attachment.created_at, Attachment.size)
        .where(Attachment.uploader_id == user.id, Attachment.created_at >= now - QUOTA_WINDOW)
        .order_by(Attachment.created_at)
    ).all()
    total = sum(row.size for row in uploads) + (0 if stored else size)
    if total <= budget:
        return
    # When enough of the window's uploads have aged out of it for this one to fit.
    excess, retry_after = total - budget, QUOTA_WINDOW.total_seconds()
    for row in uploads:
        excess -= row.size
        if excess <= 0:
            retry_after = (row.created_at + QUOTA_WINDOW - now).total_seconds()
            break
    retry_after = max(60, int(retry_after) + 1)
    left = max(0, budget - (total - size))
    raise QuotaExceeded(
        f"You can upload at most {human_size(budget)} of files a day and have {human_size(left)} left "
        f"for now. Try again in {_in_words(retry_after)}, or send a smaller file.",
        retry_after,
    )


def _in_words(seconds: int) -> str:
    """A wait in words, rounded up: "1 minute", "25 minutes", "3 hours"."""
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours = -(-minutes // 60)
    return f"{hours} hour{'' if hours == 1 else 's'}"


def unsent_cutoff():
    """Uploads made before this moment and not sent can no longer be sent (ATTACHMENT_UNSENT_TTL_SECONDS)."""
    return utcnow() - timedelta(seconds=current_app.config["ATTACHMENT_UNSENT_TTL_SECONDS"])


def purge_unsent(end_batch) -> int:
    """Delete the uploads never sent whose time to be sent ran out (PURGE_GRACE ago): a file chosen
    and then removed from the composer, or a tab closed before sending. Returns how many.

    Safe to run on several workers at once: each batch is one DELETE whose condition every row is
    checked against, so a row another worker deleted meanwhile is simply not there (PostgreSQL waits
    for that worker's row lock, then skips it). Batches of PURGE_BATCH keep each write short:
    `end_batch()` is called after each one, where the caller commits it (and may yield to others).
    """
    cutoff = unsent_cutoff() - PURGE_GRACE
    sent = exists().where(Message.attachment_id == Attachment.id)
    expired = select(Attachment.id).where(Attachment.created_at < cutoff, not_(sent)).limit(PURGE_BATCH)
    purged = 0
    while True:
        deleted = db.session.execute(
            delete(Attachment)
            .where(Attachment.id.in_(expired.scalar_subquery()))
            .execution_options(synchronize_session=False)
        ).rowcount
        end_batch()
        purged += deleted
        if deleted < PURGE_BATCH:
            return purged


def inspect(data: bytes, uploader_id: int, claims_picture: bool = False) -> Inspected:
    """Tell what `data` is from its bytes (never its name) and prepare it for storing: pictures
    re-encoded with a thumbnail (in a subprocess, app.services.pictures), PDF, zip and text as they
    are (checked off the event loop). ServiceError for anything else; a file whose name claims a
    picture must be one."""
    picture = _sniff_picture(data)
    if picture is not None:
        encoded, width, height, thumbnail = pictures.attachment(uploader_id, data, picture, "file")
        return Inspected(IMAGE, IMAGE_TYPES[picture], encoded, width, height, thumbnail)
    return run_blocking(_inspect_file, data, claims_picture, lane_name=FILES)


def _inspect_file(data: bytes, claims_picture: bool) -> Inspected:
    if claims_picture:
        raise ServiceError("That file is named like a picture but is not a PNG, JPEG, WebP or GIF.", "file")
    if data.startswith(b"%PDF-"):
        return Inspected(FILE, PDF_TYPE, data)
    if data.startswith(ZIP_SIGNATURES) and zipfile.is_zipfile(io.BytesIO(data)):
        return Inspected(FILE, ZIP_TYPE, data)
    if _is_plain_text(data):
        return Inspected(FILE, TEXT_TYPE, data)
    if MARKUP.search(data[:2048].lstrip(b"\xef\xbb\xbf")):
        raise ServiceError("HTML, SVG and XML files cannot be sent. " + NOT_ACCEPTED, "file")
    raise ServiceError("That kind of file cannot be sent. " + NOT_ACCEPTED, "file")


def _sniff_picture(data: bytes) -> str | None:
    """The image format Pillow finds in the header ("PNG", ...), None when it is none of ours.
    A header claiming a canvas far beyond what we decode is refused here already."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked_image decides
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                return image.format
    except Image.DecompressionBombError:
        raise ServiceError(TOO_MANY_PIXELS, "file") from None
    except Exception:  # noqa: BLE001 - any failure to read a header means "not a picture" here
        return None


def _is_plain_text(data: bytes) -> bool:
    """UTF-8 text without binary control characters, and not markup a browser would run."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not BINARY_CONTROLS.search(text) and not MARKUP.search(data[:2048].lstrip(b"\xef\xbb\xbf"))


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem.strip() else ""


def safe_filename(name: str, content_type: str) -> str:
    """The name to store and serve: its last path part, without control or formatting characters
    (no right-to-left overrides) or leading dots, ending in an extension that fits the content
    (added when missing or of another kind), at most FILENAME_MAX_LENGTH characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = " ".join(name.split()).strip(" .")
    default, allowed = EXTENSIONS[content_type]
    if _extension(name) not in allowed:
        name = f"{name or ('image' if content_type.startswith('image/') else 'file')}.{default}"
    if len(name) > FILENAME_MAX_LENGTH:
        stem, _, extension = name.rpartition(".")
        name = stem[: FILENAME_MAX_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
    return name


@dataclass(frozen=True)
class Served:
    """An attachment's bytes as served: what they are and what to call them."""

    data: bytes
    content_type: str
    filename: str
    kind: str


def _membership_checked(user: User, attachment_id, column) -> Attachment:
    """The attachment if the user is a member of its conversation and it was sent, or they uploaded it."""
    attachment = None
    if is_db_int(attachment_id, minimum=1):
        sent = exists().where(Message.attachment_id == Attachment.id)
        attachment = db.session.scalar(
            select(Attachment)
            .join(
                Membership,
                and_(Membership.conversation_id == Attachment.conversation_id, Membership.user_id == user.id),
            )
            .where(Attachment.id == attachment_id, or_(Attachment.uploader_id == user.id, sent))
            .options(undefer(column))
        )
    if attachment is None:
        raise ServiceError("There is no such file.", "attachment_id", code="not_found")
    return attachment


def download(user: User, attachment_id) -> Served:
    """The stored file, for a member of its conversation once a message carries it (before that, for
    its uploader alone); ServiceError not_found for anyone else, exactly as for an id nobody has."""
    attachment = _membership_checked(user, attachment_id, Attachment.data)
    return Served(attachment.data, attachment.content_type, attachment.filename, attachment.kind)


def thumbnail(user: User, attachment_id) -> Served:
    """A picture's WebP thumbnail, for whoever may download the picture (not_found otherwise, and for
    a file, which has none)."""
    attachment = _membership_checked(user, attachment_id, Attachment.thumbnail)
    if attachment.thumbnail is None:
        raise ServiceError("There is no such file.", "attachment_id", code="not_found")
    stem = attachment.filename.rpartition(".")[0] or attachment.filename
    return Served(attachment.thumbnail, THUMBNAIL_TYPE, f"{stem}.thumbnail.webp", IMAGE)


def unsent(sender: User, conversation_id: int, attachment_id, client_id: str) -> Attachment | None:
    """The attachment a send carries: uploaded by the sender into this conversation and not sent
    with another message (a retry of the same send may name it again), nor uploaded longer than
    ATTACHMENT_UNSENT_TTL_SECONDS ago. None when there is none."""
    if attachment_id is None:
        return None
    attachment = None
    if is_db_int(attachment_id, minimum=1):
        sent_otherwise = exists().where(
            Message.attachment_id == Attachment.id,
            not_(and_(Message.sender_id == sender.id, Message.client_id == client_id)),
        )
        attachment = db.session.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id,
                Attachment.uploader_id == sender.id,
                Attachment.conversation_id == conversation_id,
                or_(Attachment.created_at >= unsent_cutoff(), exists().where(Message.attachment_id == Attachment.id)),
                not_(sent_otherwise),
            )
        )
    if attachment is None:
        raise ServiceError("There is no such file to send.", "attachment_id", code="not_found")
    return attachment
