"""The JSON API used by the pages' scripts (and documented in docs/protocol.md)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import routes  # noqa: E402,F401  (routes attach themselves to bp)
