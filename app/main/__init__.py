"""The signed-in product pages and the public landing page."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import routes  # noqa: E402,F401  (routes attach themselves to bp)
