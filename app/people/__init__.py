"""People over HTTP: profiles, search, friend requests, blocking, avatar pictures."""

from flask import Blueprint

bp = Blueprint("people", __name__)

from app.people import routes  # noqa: E402,F401  (routes attach themselves to bp)
