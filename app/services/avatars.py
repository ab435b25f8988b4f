"""Avatars: the bundled set, uploaded pictures (checked and re-encoded) and initials pictures."""

import hashlib
from xml.sax.saxutils import escape

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.avatar import INITIALS_PALETTE, Avatar, UploadedPicture
from app.models.user import User
from app.picture_worker import AVATAR_SIZE  # noqa: F401 - the size of every avatar
from app.services import ServiceError, is_db_int, pictures

UPLOAD_MAX_BYTES = 2 * 1024 * 1024


def list_avatars() -> list[Avatar]:
    """The bundled avatars, in the order the migration listed them."""
    return list(db.session.scalars(select(Avatar).order_by(Avatar.id)))


def uploaded_picture(name: str) -> UploadedPicture | None:
    """An uploaded picture by its name, or None."""
    return db.session.get(UploadedPicture, name)


def choose_avatar(user: User, avatar_id: int | None) -> None:
    """Use a bundled avatar (dropping an uploaded picture)."""
    avatar = db.session.get(Avatar, avatar_id) if is_db_int(avatar_id, minimum=1) else None
    if avatar is None:
        raise ServiceError("That avatar does not exist.", "avatar_id")
    _replace_picture(user, avatar=avatar, upload=None)


def use_initials(user: User) -> None:
    """Go back to the default picture drawn from the user's initials."""
    _replace_picture(user, avatar=None, upload=None)


def _replace_picture(user: User, avatar: Avatar | None, upload: str | None) -> None:
    previous = user.avatar_upload
    user.avatar = avatar
    user.avatar_upload = upload
    db.session.flush()
    if previous and previous != upload:
        forget_upload(previous)


def forget_upload(name: str) -> None:
    """Delete an uploaded picture once no account uses it any more."""
    in_use = db.session.scalar(select(func.count()).select_from(User).where(User.avatar_upload == name))
    if not in_use:
        db.session.execute(delete(UploadedPicture).where(UploadedPicture.name == name))


def upload_avatar(user: User, data: bytes) -> None:
    """Check an uploaded picture, re-encode it as a square WebP and make it the user's avatar.

    Raises ServiceError (and stores nothing) for anything but a PNG, JPEG or WebP image of at
    most 2 MB and 25 megapixels, and as app.services.pictures.process does (one picture at a time,
    within its CPU time).
    """
    if not data:
        raise ServiceError("Choose a picture to upload.", "picture")
    if len(data) > UPLOAD_MAX_BYTES:
        raise ServiceError("That picture is larger than 2 MB.", "picture")
    encoded = pictures.avatar(user.id, data, "picture")
    name = hashlib.sha256(encoded).hexdigest()[:32] + ".webp"
    if uploaded_picture(name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(UploadedPicture(name=name, data=encoded))
        except IntegrityError:  # someone uploaded the same picture a moment ago: theirs is ours
            pass
    _replace_picture(user, avatar=None, upload=name)


def initials_svg(initials: str, colour: int) -> str:
    """An SVG picture of one or two letters on a colour from INITIALS_PALETTE."""
    background, foreground = INITIALS_PALETTE[colour % len(INITIALS_PALETTE)]
    text = escape(initials[:2])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128" role="img">'
        f'<rect width="128" height="128" fill="{background}"/>'
        f'<text x="64" y="64" dy="0.35em" text-anchor="middle" fill="{foreground}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="52" '
        f'font-weight="600">{text}</text></svg>'
    )
