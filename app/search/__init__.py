"""Message search over HTTP: the results page (the JSON form is GET /api/search)."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from app.search import routes  # noqa: E402,F401  (routes attach themselves to bp)
