"""The account pages over HTTP: forms, sessions, redirects, CSRF and error pages."""

from urllib.parse import urlsplit

import pytest
from flask import abort
from flask_login.utils import encode_cookie

from app.extensions import db
from app.models import RememberedLogin, ServerSession, User
from app.navigation import local_redirect_target
from app.services import accounts
from tests.conftest import TEST_PASSWORD, AuthActions, extract_csrf


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_visitors_get_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign up" in response.data and b"Log in" in response.data


def test_register_page_shows_the_password_rules_as_hints(client):
    html = client.get("/register").get_data(as_text=True)
    assert 'id="password-hints"' in html
    for key in ("length", "upper", "lower", "digit", "special"):
        assert f'data-rule="{key}"' in html


def test_register_signs_in_and_greets(client, auth):
    response = auth.register(username="Ana.Lima", first_name="Ana")
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Hi, Ana" in home and "@ana.lima" in home
    assert "Welcome to Messanger" in home


def test_refused_registration_keeps_typed_values_but_not_passwords(client, auth):
    response = auth.register(username="bad..name", first_name="Ana", password="weak")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="bad..name"' in html and 'value="Ana"' in html
    assert 'value="weak"' not in html
    assert "two dots" in html and "a digit" in html
    assert 'aria-invalid="true"' in html
    with client.application.app_context():
        assert db.session.query(User).count() == 0


def test_registration_with_a_taken_name_says_so(client, auth, app):
    auth.register(username="ana")
    auth.logout()
    response = auth.register(username="ANA")
    assert response.status_code == 422
    assert "That username is taken." in response.get_data(as_text=True)


def test_mismatched_confirmation_is_refused(auth):
    response = auth.register(confirm_password="Other-pass1!")
    assert response.status_code == 422
    assert "The passwords do not match." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "field, value",
    [("username", "u" * 10_000), ("first_name", "f" * 51), ("last_name", "l" * 5000), ("password", "P1!a" * 1000)],
)
def test_over_long_values_get_field_errors_not_a_crash(auth, field, value):
    response = auth.register(**{field: value} if field != "username" else {"username": value})
    assert response.status_code == 422


def test_missing_fields_are_field_errors(client, auth):
    response = client.post("/register", data={"csrf_token": auth.csrf("/register")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a username." in html and "Choose a password." in html


def test_repeated_fields_and_odd_types_do_not_crash(client, auth):
    token = auth.csrf("/login")
    response = client.post(
        "/login", data={"username": ["a", "b"], "password": ["x"], "remember": "maybe", "csrf_token": token}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("field", ["username", "first_name", "last_name", "password"])
def test_nul_bytes_are_refused_or_dropped_never_a_crash(client, auth, field):
    password = "Corr3ct\x00Horse!" if field == "password" else TEST_PASSWORD
    values = {"username": "ana", "first_name": "Ana", "last_name": "Lima"}
    if field != "password":
        values[field] = values[field][:1] + "\x00" + values[field][1:]
    response = auth.register(password=password, **values)
    assert response.status_code in (302, 422)
    if response.status_code == 302:
        auth.logout()
    login = auth.login("a\x00na", password=password)
    assert login.status_code in (302, 422)


def test_login_and_logout(client, auth):
    auth.register(username="ana")
    auth.logout()
    assert b"Sign up" in client.get("/").data
    response = auth.login("ana")
    assert response.status_code == 302 and response.location == "/"
    assert b"Hi, " in client.get("/").data


def test_wrong_password_and_unknown_user_get_the_same_answer(client, auth):
    auth.register(username="ana")
    auth.logout()
    wrong = auth.login("ana", password="Wrong-pass1!")
    unknown = auth.login("nobody", password="Wrong-pass1!")
    assert wrong.status_code == unknown.status_code == 422

    def page_without_token_and_name(response, username):
        html = response.get_data(as_text=True)
        return html.replace(extract_csrf(html), "TOKEN").replace(f'value="{username}"', 'value="NAME"')

    assert page_without_token_and_name(wrong, "ana") == page_without_token_and_name(unknown, "nobody")
    assert "Wrong username or password." in wrong.get_data(as_text=True)


def test_session_id_changes_at_login(client, auth):
    """No session fixation: the id a visitor had before signing in is worthless afterwards."""
    auth.register(username="ana")
    auth.logout()
    auth.csrf("/login")
    before = session_cookie(client)
    assert before
    auth.login("ana")
    after = session_cookie(client)
    assert after and after != before
    with client.application.app_context():
        assert db.session.query(ServerSession).filter_by(session_id=f"session:{before}").count() == 0


def test_logout_destroys_the_session(client, auth, app):
    auth.register(username="ana")
    signed_in = session_cookie(client)
    response = auth.logout()
    assert response.status_code == 302
    assert session_cookie(client) != signed_in
    with app.app_context():
        assert db.session.query(ServerSession).filter_by(session_id=f"session:{signed_in}").count() == 0
    # Replaying the old cookie gets nowhere.
    replay = app.test_client()
    replay.set_cookie("session", signed_in)
    assert replay.get("/settings/password").status_code == 302


def test_logout_is_post_only(client, auth):
    auth.register()
    assert client.get("/logout").status_code == 405
    assert b"Hi, " in client.get("/").data


def test_logout_without_csrf_token_is_refused(client, auth):
    auth.register()
    response = client.post("/logout")
    assert response.status_code == 400
    assert b"Form expired" in response.data
    assert b"Hi, " in client.get("/").data


def test_forms_with_a_foreign_csrf_token_are_refused(app, client, auth):
    other = app.test_client()
    foreign_token = extract_csrf(other.get("/login").get_data(as_text=True))
    auth.csrf("/register")
    response = client.post(
        "/register",
        data={
            "username": "ana",
            "password": TEST_PASSWORD,
            "confirm_password": TEST_PASSWORD,
            "csrf_token": foreign_token,
        },
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_remember_me_sets_a_cookie_that_logout_removes(client, auth):
    auth.register(username="ana")
    auth.logout()
    auth.login("ana", remember=True)
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert client.get_cookie("remember_token") is None


def test_remember_me_cookie_restores_the_login_without_a_session(app, client, auth):
    auth.register(username="ana")
    auth.logout()
    auth.login("ana", remember=True)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert b"Hi, " in fresh.get("/").data


def test_a_copied_remember_me_cookie_dies_with_its_logout_and_only_that_one(app, client, auth):
    """Logging out ends that remembered login on the server: a copy taken before signs in nowhere.
    The same user's remembered login on another device still works."""
    auth.register(username="ana")
    auth.logout()
    other_device = app.test_client()
    AuthActions(other_device).login("ana", remember=True)
    auth.login("ana", remember=True)
    copied = client.get_cookie("remember_token").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("remember_token", copied)
    assert b"Hi, " not in thief.get("/").data
    assert thief.get("/settings").status_code == 302
    with app.app_context():
        assert db.session.query(RememberedLogin).count() == 1
    restored = app.test_client()
    restored.set_cookie("remember_token", other_device.get_cookie("remember_token").value)
    assert b"Hi, " in restored.get("/").data


def test_a_remember_me_cookie_from_before_remembered_logins_restores_nothing(app, client, auth):
    """A cookie of the old form ("<id>:<version>", validly signed) names no login a logout could end."""
    auth.register(username="ana")
    with app.test_request_context():
        legacy = encode_cookie(accounts.find_user("ana").get_id())
    visitor = app.test_client()
    visitor.set_cookie("remember_token", legacy)
    assert visitor.get("/settings").status_code == 302


def test_protected_pages_send_visitors_to_login_with_next(client):
    response = client.get("/settings/password")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_login_follows_a_local_next(client, auth):
    auth.register(username="ana")
    auth.logout()
    response = auth.login("ana", next_url="/settings/password")
    assert response.location == "/settings/password"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/%0d%0aLocation:evil",
        "\t//evil.example",
        "///evil.example",
        "http:/evil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%252F%252Fevil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "/\\/evil.example",
        "JaVaScRiPt:alert(1)",
        "%6A%61vascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        " //evil.example",
        "%0A//evil.example",
        "/%09/evil.example",
        "\u3002evil.example",
        "//evil.example%40chat.example",
        "https:evil.example",
    ],
)
def test_next_never_leaves_the_site(client, auth, target):
    """Whatever `next` holds, the browser is sent to a path on this site: no scheme, no host, and
    nothing a browser would read as one (// or /\\ at the start)."""
    auth.register(username="ana")
    auth.logout()
    response = auth.login("ana", next_url=target)
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert not location.scheme and not location.netloc, response.location
    assert response.location.startswith("/") and not response.location.startswith(("//", "/\\")), response.location
    assert all(ord(char) > 32 for char in response.location), response.location


@pytest.mark.parametrize("target", ["/", "/settings/password", "/u/ana?tab=friends"])
def test_local_paths_are_valid_next_targets(target):
    assert local_redirect_target(target) == target


@pytest.mark.parametrize("target", ["//evil", "/\\evil", "https://evil", "javascript:x", "/\x00x", "", None])
def test_foreign_or_odd_next_targets_are_dropped(target):
    assert local_redirect_target(target) is None


def test_change_password_keeps_this_session_and_ends_the_others(app, client, auth):
    auth.register(username="ana")
    other = app.test_client()
    other_auth = type(auth)(other)
    other_auth.login("ana")
    assert b"Hi, " in other.get("/").data

    token = auth.csrf("/settings/password")
    response = client.post(
        "/settings/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "N3w-Password!",
            "confirm_password": "N3w-Password!",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert b"Your password has been changed" in client.get("/").data
    assert b"Hi, " in client.get("/").data
    assert b"Sign up" in other.get("/").data
    auth.logout()
    assert auth.login("ana", password="N3w-Password!").status_code == 302


def test_change_password_with_a_wrong_current_password_changes_nothing(client, auth):
    auth.register(username="ana")
    token = auth.csrf("/settings/password")
    response = client.post(
        "/settings/password",
        data={
            "current_password": "Wrong-pass1!",
            "new_password": "N3w-Password!",
            "confirm_password": "N3w-Password!",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    auth.logout()
    assert auth.login("ana").status_code == 302


def test_signed_in_users_are_sent_home_from_login_and_register(logged_in_client):
    assert logged_in_client.get("/login").location == "/"
    assert logged_in_client.get("/register").location == "/"


def test_unknown_pages_get_the_styled_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.data
    assert b"/static/css/app.css" in response.data


@pytest.mark.parametrize("code, text", [(400, b"could not be understood"), (403, b"not allowed"), (429, b"Too many")])
def test_error_pages_are_styled_like_the_rest(app, client, code, text):
    @app.get("/fail")
    def fail():
        abort(code)

    response = client.get("/fail")
    assert response.status_code == code
    assert text in response.data and b"/static/css/app.css" in response.data


def test_too_large_bodies_get_413(client):
    response = client.post("/login", data={"username": "x" * (12 * 1024 * 1024)})
    assert response.status_code == 413
    assert b"too large" in response.data


def test_unexpected_errors_get_the_styled_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side." in response.data
    assert b"Internal Server Error" in response.data and b"property object" not in response.data


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client):
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_sessions_are_kept_server_side(app, client, auth):
    """The cookie holds only a random id; the data lives in the sessions table."""
    auth.register(username="ana")
    sid = session_cookie(client)
    assert sid and len(sid) >= 32 and "ana" not in sid
    with app.app_context():
        stored = db.session.query(ServerSession).filter_by(session_id=f"session:{sid}").one()
        assert stored.expiry > stored.expiry.now(stored.expiry.tzinfo)
