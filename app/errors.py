"""Error pages: every HTTP error is answered by one styled page, never a bare traceback."""

import logging

from flask import current_app, g, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db, login_manager

log = logging.getLogger(__name__)

SERVER_ERROR = "Internal Server Error"
MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    403: "You are not allowed to see this page.",
    404: "There is nothing at this address.",
    405: "This page does not accept that kind of request.",
    413: "What you sent is too large.",
    429: "Too many attempts. Please wait a moment and try again.",
    500: "Something went wrong on our side. It has been logged; please try again.",
    503: "The server cannot reach its database or its message service right now. Please try again in a moment.",
}

# The database or Redis is out of reach (down, restarting, every pooled connection busy): a passing
# outage, answered 503 "try again" over HTTP and "unavailable" over Socket.IO, never a 500.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, RedisConnectionError, RedisTimeoutError)
UNAVAILABLE_SECONDS = 5


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means a backing service is out of reach rather than a bug."""
    return isinstance(error, UNAVAILABLE_ERRORS)


def wants_json() -> bool:
    """Whether the request came to the JSON API, which answers errors in JSON."""
    return request.path.startswith("/api/")


def render_error(code: int, title: str, message: str):
    """The styled error page with the given status (JSON for the API)."""
    if wants_json():
        error = title.lower().replace(" ", "_")
        return jsonify({"ok": False, "error": error, "message": message}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error: HTTPException):
    """Any HTTP error (404, 405, 413, ...) as the styled page."""
    code = error.code or 500
    return render_error(code, error.name, MESSAGES.get(code, error.description or error.name))


def handle_csrf_error(error: CSRFError):
    """A missing, expired or foreign CSRF token."""
    return render_error(
        400, "Form expired", "This form was open too long or came from another site. Reload the page and try again."
    )


def _render_error_page(code: int, title: str, message: str, signed_out: bool = False):
    """The error page; plain text if even that fails.

    Without a session (the store failed to open it) or with `signed_out`, the page is shown as to a
    visitor, so it needs neither the session store nor the database, either of which may be down.
    """
    if request_ctx and request_ctx._session is None:  # Flask 3.1 keeps the opened session here
        request_ctx._session = current_app.session_interface.make_null_session(current_app)
        signed_out = True
    if signed_out:
        g._login_user = login_manager.anonymous_user()
    try:
        return render_error(code, title, message)
    except Exception:  # noqa: BLE001 - the page itself failed
        log.exception("the error page failed too")
        return f"{code} {title}: {message}", code, {"Content-Type": "text/plain; charset=utf-8"}


def handle_unavailable(error: Exception):
    """The database or Redis is out of reach: 503 with Retry-After, logged once, nothing half-done."""
    rollback()
    log.error("service unavailable: %s: %s", type(error).__name__, str(error).splitlines()[0] if str(error) else "")
    response = current_app.make_response(_render_error_page(503, "Service unavailable", MESSAGES[503], signed_out=True))
    response.headers["Retry-After"] = str(UNAVAILABLE_SECONDS)
    return response


def handle_unexpected_error(error: Exception):
    """An unhandled exception: roll back, log it, and show the 500 page."""
    original = getattr(error, "original_exception", None) or error
    if is_unavailable(original):  # raised outside the view, e.g. while opening the session
        return handle_unavailable(original)
    rollback()
    log.error("unhandled error", exc_info=original)
    return _render_error_page(500, SERVER_ERROR, MESSAGES[500])


def rollback() -> None:
    """Roll the session back, even when the connection it would roll back on is gone."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection to roll back on may be what broke
        log.warning("rollback failed", exc_info=True)


def register_error_handlers(app) -> None:
    """Attach the handlers above to the app."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, handle_unavailable)
