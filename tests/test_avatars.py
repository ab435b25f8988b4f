"""Avatars: the bundled set, uploads (real good and bad files) and initials pictures."""

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Avatar, UploadedPicture, User
from app.services import ServiceError, avatars
from tests import images
from tests.conftest import extract_csrf

STATIC = Path(__file__).resolve().parent.parent / "app" / "static"


def test_the_migration_lists_at_least_16_bundled_avatars_and_each_file_exists(ctx):
    listed = avatars.list_avatars()
    assert len(listed) >= 16
    for avatar in listed:
        path = STATIC / avatar.static_path
        assert path.is_file(), path
        svg = path.read_text()
        assert (
            svg.lstrip().startswith("<svg")
            and "<script" not in svg
            and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
        )


def test_the_default_picture_shows_initials_on_a_colour_from_the_username(make_user, app):
    ana = make_user("ana.lima", first_name="Ana", last_name="Lima")
    nameless = make_user("zed_99")
    assert ana.initials == "AL" and nameless.initials == "ZE"
    with app.test_request_context():
        assert ana.avatar_url.startswith(f"/avatars/initials/{ana.initials_colour}/AL.svg")
    other = make_user("ana.limb", first_name="Ana", last_name="Lima")
    assert {ana.initials_colour, other.initials_colour} <= set(range(10))


@pytest.mark.parametrize(
    ("username", "first", "last", "initials"),
    [
        ("emoji_ana", "😀 Ana", "(Lima)", "AL"),
        ("strasse", "ßtraße", "", "ß"),
        ("_underscore", "", "", "UN"),
        ("___", "", "", ""),
        ("sym", "***", "", "SY"),
    ],
)
def test_initials_are_letters_or_digits_and_every_default_picture_loads(
    make_user, client, username, first, last, initials
):
    """Names starting with symbols, emoji or a letter that capitalises to two still get a picture
    the initials route serves; with no letter or digit at all, the plain silhouette."""
    person = make_user(username, first_name=first, last_name=last)
    assert person.initials == initials
    url = person.avatar_url
    assert (url.endswith("deleted-user.svg")) == (initials == "")
    assert client.get(url).status_code == 200, url


def test_choosing_a_bundled_avatar(make_user, app):
    ana = make_user("ana")
    fox = db.session.scalar(select(Avatar).where(Avatar.slug == "fox"))
    avatars.choose_avatar(ana, fox.id)
    assert db.session.get(User, ana.id).avatar == fox
    with app.test_request_context():
        assert ana.avatar_url == "/static/avatars/fox.svg"
    with pytest.raises(ServiceError, match="does not exist"):
        avatars.choose_avatar(ana, 99999)
    avatars.use_initials(ana)
    assert ana.avatar is None


def test_an_upload_is_cropped_square_resized_and_stripped_of_metadata(make_user, app):
    ana = make_user("ana")
    avatars.upload_avatar(ana, images.picture("JPEG", size=(900, 500), exif=True))
    stored = avatars.uploaded_picture(ana.avatar_upload).data
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP"
        assert image.size == (avatars.AVATAR_SIZE, avatars.AVATAR_SIZE)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"SecretCam" not in stored
    with app.test_request_context():
        assert ana.avatar_url == f"/media/avatars/{ana.avatar_upload}"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_png_jpeg_and_webp_are_accepted(make_user, fmt):
    ana = make_user("ana")
    avatars.upload_avatar(ana, images.picture(fmt))
    assert ana.has_uploaded_avatar


REFUSED = [
    ("gif", images.GIF, "not a PNG, JPEG or WebP"),
    ("text renamed .png", images.TEXT_AS_PNG, "not a PNG, JPEG or WebP"),
    ("pdf", images.PDF, "not a PNG, JPEG or WebP"),
    ("svg", images.SVG, "not a PNG, JPEG or WebP"),
    ("decompression bomb", images.png_claiming_size(40_000, 40_000), "too many pixels"),
    ("just over the pixel limit", images.png_claiming_size(5001, 5000), "too many pixels"),
    ("truncated", images.truncated_png(), "damaged"),
    ("empty", b"", "Choose a picture"),
]


@pytest.mark.parametrize("label, data, message", REFUSED, ids=[case[0] for case in REFUSED])
def test_bad_files_are_refused_and_nothing_is_stored(make_user, label, data, message):
    ana = make_user("ana")
    fox = db.session.scalar(select(Avatar).where(Avatar.slug == "fox"))
    avatars.choose_avatar(ana, fox.id)
    with pytest.raises(ServiceError, match=message):
        avatars.upload_avatar(ana, data)
    assert stored_pictures() == []
    db.session.expire_all()
    assert db.session.get(User, ana.id).avatar_upload is None
    assert db.session.get(User, ana.id).avatar == fox


def test_files_over_2_mb_are_refused(make_user):
    ana = make_user("ana")
    data = images.noise_png(900)
    assert len(data) > avatars.UPLOAD_MAX_BYTES
    with pytest.raises(ServiceError, match="larger than 2 MB"):
        avatars.upload_avatar(ana, data)
    assert stored_pictures() == []


def stored_pictures() -> list[str]:
    """The names of the uploaded pictures in the database."""
    return list(db.session.scalars(select(UploadedPicture.name).order_by(UploadedPicture.name)))


def test_replacing_a_picture_deletes_the_old_one_unless_someone_else_uses_it(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    first = images.picture("PNG", colour=(1, 2, 3))
    avatars.upload_avatar(ana, first)
    avatars.upload_avatar(bob, first)  # the same picture: one row, two users
    shared = ana.avatar_upload
    assert bob.avatar_upload == shared
    assert stored_pictures() == [shared]
    avatars.upload_avatar(ana, images.picture("PNG", colour=(9, 9, 9)))
    assert shared in stored_pictures()  # bob still uses it
    avatars.use_initials(bob)
    assert stored_pictures() == [ana.avatar_upload]


def test_initials_svg_escapes_its_text():
    svg = avatars.initials_svg("<&", 3)
    assert "<&" not in svg and "&lt;&amp;" in svg


# --- over HTTP ------------------------------------------------------------------------------------


def upload(client, data: bytes, filename: str = "me.png"):
    token = extract_csrf(client.get("/settings/avatar").get_data(as_text=True))
    return client.post(
        "/settings/avatar/upload",
        data={"picture": (io.BytesIO(data), filename), "csrf_token": token},
        content_type="multipart/form-data",
    )


def test_upload_page_refuses_a_renamed_text_file_with_a_clear_message(logged_in_client, ctx):
    response = upload(logged_in_client, images.TEXT_AS_PNG, "holiday.png")
    assert response.status_code == 422
    assert "not a PNG, JPEG or WebP picture" in response.get_data(as_text=True)
    assert stored_pictures() == []


def test_upload_between_2_and_3_mb_gets_a_field_error(logged_in_client):
    response = upload(logged_in_client, images.noise_png(900))
    assert response.status_code == 422
    assert "larger than 2 MB" in response.get_data(as_text=True)


def test_upload_far_over_the_limit_gets_the_413_page(logged_in_client):
    response = upload(logged_in_client, images.noise_png(2000))  # about 12 MB: over MAX_CONTENT_LENGTH
    assert response.status_code == 413


def test_upload_without_a_file_says_so(logged_in_client):
    token = extract_csrf(logged_in_client.get("/settings/avatar").get_data(as_text=True))
    response = logged_in_client.post("/settings/avatar/upload", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose a picture to upload." in response.get_data(as_text=True)


def test_uploaded_picture_is_served_with_long_caching_to_signed_in_users_only(app, logged_in_client):
    assert upload(logged_in_client, images.picture("PNG")).status_code == 302
    html = logged_in_client.get("/settings/avatar").get_data(as_text=True)
    url = html.split('src="/media/avatars/')[1].split('"')[0]
    response = logged_in_client.get(f"/media/avatars/{url}")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    assert "immutable" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client().get(f"/media/avatars/{url}").status_code == 302  # to the login page


@pytest.mark.parametrize("name", ["../secret_key", "x.webp", "..%2Fsecret_key", "0" * 32 + ".png"])
def test_only_uploaded_picture_names_are_served(logged_in_client, name):
    assert logged_in_client.get(f"/media/avatars/{name}").status_code == 404


def test_initials_pictures_are_cacheable_svgs(client):
    response = client.get("/avatars/initials/3/AL.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b">AL</text>" in response.data
    assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.parametrize("initials", ["ABC", "%3Cs", "a b"])
def test_initials_pictures_take_only_one_or_two_letters(client, initials):
    assert client.get(f"/avatars/initials/1/{initials}.svg").status_code == 404


def test_choosing_an_avatar_over_http(logged_in_client, app):
    with app.app_context():
        fox_id = db.session.scalar(select(Avatar.id).where(Avatar.slug == "fox"))
    page = logged_in_client.get("/settings/avatar").get_data(as_text=True)
    with app.app_context():
        for slug in db.session.scalars(select(Avatar.slug)):
            assert f'src="/static/avatars/{slug}.svg"' in page
    token = extract_csrf(page)
    response = logged_in_client.post("/settings/avatar/choose", data={"avatar_id": fox_id, "csrf_token": token})
    assert response.status_code == 302
    assert "/static/avatars/fox.svg" in logged_in_client.get("/settings/avatar").get_data(as_text=True)
    bad = logged_in_client.post("/settings/avatar/choose", data={"avatar_id": "fox", "csrf_token": token})
    assert bad.status_code == 400
