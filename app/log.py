"""Structured logs: one line per HTTP request and per failed socket event, as JSON in production.

Lines carry what an operator needs (method, path, status, duration, user id, request id) and never
a body, a query string, a cookie or a header value other than the request id. Control characters
in anything logged are escaped, so a path with %0A in it cannot start a line of its own.
"""

import logging
import re
import sys
import time
import uuid
import warnings

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

request_log = logging.getLogger("messanger.request")
socket_log = logging.getLogger("messanger.socket")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# A request id a trusted proxy may hand on (Heroku's router, nginx's $request_id); others get a new one.
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

# C0 controls, DEL, C1 controls (NEL among them) and the Unicode line and paragraph separators:
# each becomes a visible escape (\n, \x1b, \u2028) instead of breaking or recolouring the line.
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {
    code: _NAMED.get(chr(code)) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape, so it stays on one line."""
    return text.translate(_ESCAPES)


class _TextFormatter(logging.Formatter):
    """The development format, with the structured fields appended as key=value; the message and
    fields escaped, a traceback's lines indented under its record."""

    FIELDS = ("method", "path", "status", "duration_ms", "event", "error", "user_id", "request_id")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        fields = " ".join(f"{name}={getattr(record, name)}" for name in self.FIELDS if hasattr(record, name))
        line = escape_controls(f"{self.formatMessage(record)} {fields}" if fields else self.formatMessage(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if block:
                # A traceback keeps its lines, indented under the record; each is escaped too (an
                # exception's message may carry input).
                line += "".join("\n    " + escape_controls(part) for part in block.splitlines())
        return line


def configure_logging(app: Flask) -> None:
    """Send every logger's records to stderr, as JSON lines or readable text (LOG_FORMAT)."""
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                # ASCII only: json escapes control characters anyway, this covers U+2028/2029 and C1.
                json_ensure_ascii=True,
            )
        )
    else:
        handler.setFormatter(_TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    logging.captureWarnings(True)
    # Known and decided (docs/decisions.md): eventlet is in bugfix-only mode; gevent is the exit.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    # Werkzeug's dev server would log each request a second time; ours is the one line.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.before_request(_start_timer)
    app.after_request(_log_request)


def _start_timer() -> None:
    g.request_started = time.perf_counter()
    # The proxy may have named the request already (Heroku's router, nginx). The header reaches us
    # only from a trusted proxy (app.proxies removes it from anyone else); its form is checked here.
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _log_request(response):
    started = g.get("request_started")
    request_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": user_id(),
            "request_id": g.get("request_id"),
        },
    )
    return response


def user_id() -> int | None:
    """The signed-in user's id if this request already loaded them (never a query of its own)."""
    user = g.get("_login_user")
    return user.id if user is not None and user.is_authenticated else None


def socket_event_failed(event: str, error: str, user: int | None, exc_info: BaseException | None = None) -> None:
    """One line for a socket event answered with an error (and the traceback for our own faults)."""
    level = logging.ERROR if exc_info else logging.INFO
    socket_log.log(
        level, "socket event failed", extra={"event": event, "error": error, "user_id": user}, exc_info=exc_info
    )
