"""Error pages: every HTTP error is answered by one styled page, never a bare traceback."""

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db

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
}


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


def handle_unexpected_error(error: Exception):
    """An unhandled exception: roll back, log it, and show the 500 page."""
    original = getattr(error, "original_exception", None) or error
    db.session.rollback()
    log.error("unhandled error", exc_info=original)
    try:
        return render_error(500, SERVER_ERROR, MESSAGES[500])
    except Exception:  # noqa: BLE001 - the page itself failed (e.g. the database is down)
        log.exception("the error page failed too")
        return f"500 {SERVER_ERROR}: {MESSAGES[500]}", 500, {"Content-Type": "text/plain; charset=utf-8"}


def register_error_handlers(app) -> None:
    """Attach the handlers above to the app."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
