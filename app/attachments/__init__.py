"""Attachments over HTTP: uploading a file into a conversation, and serving it to its members."""

from flask import Blueprint

bp = Blueprint("attachments", __name__)

from app.attachments import routes  # noqa: E402,F401  (routes attach themselves to bp)
