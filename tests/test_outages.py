"""The database out of reach: pages and the API answer 503 "try again" (never a 500, never a bare
traceback), even when the session itself could not be read."""

import logging

import pytest
from flask_login.utils import encode_cookie

from app import create_app
from app.errors import MESSAGES
from tests.conftest import app_config

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/nowhere"


@pytest.fixture
def app_without_database():
    """The app configured for a PostgreSQL server that does not answer."""
    return create_app(app_config(UNREACHABLE, PROPAGATE_EXCEPTIONS=False))


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_pages_answer_503_with_retry_after_and_the_styled_page(app_without_database, caplog, cookie):
    """Whether reading the session fails (before any view runs) or loading the remembered user does
    (inside the view), the answer is the styled 503 page, shown as to a visitor."""
    client = app_without_database.test_client()
    with app_without_database.test_request_context():
        client.set_cookie(cookie, "a-session-id" if cookie == "session" else encode_cookie("1:1:a-login-token"))
    with caplog.at_level(logging.ERROR):
        response = client.get("/settings")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "cannot reach its database or its message service" in page and "<nav" in page and "Log in" in page
    assert "the error page failed too" not in caplog.text


def test_the_api_answers_503_in_json(app_without_database):
    """The JSON API's clients get a JSON refusal they can retry on."""
    client = app_without_database.test_client()
    client.set_cookie("session", "a-session-id")
    response = client.get("/api/conversations")
    assert response.status_code == 503
    assert response.get_json() == {
        "ok": False,
        "error": "service_unavailable",
        "message": MESSAGES[503],
    }
    assert "cannot reach its database or its message service" in MESSAGES[503]
