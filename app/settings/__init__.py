"""Your account's settings over HTTP: profile, picture, privacy, your data, deleting the account."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from app.settings import routes  # noqa: E402,F401  (routes attach themselves to bp)
