"""Conversations over HTTP: chat pages, the room directory, groups."""

from flask import Blueprint

bp = Blueprint("chat", __name__)

from app.chat import routes  # noqa: E402,F401  (routes attach themselves to bp)
