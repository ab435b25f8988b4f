"""The known-device cookie (OWASP's "device cookie"): a browser that signed in to an account before
keeps getting in with the right password while other people's wrong guesses slow that account down.

The cookie is signed (SECRET_KEY) and holds a random id of the browser and the accounts it signed in
to; it grants nothing by itself, only which sign-in limits apply (app.rate_limits.sign_in_keys).
"""

import secrets
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from app.models.user import User
from app.rate_limits import KnownDevice

LIFETIME = timedelta(days=365)  # from the last sign-in on the browser
MAX_ACCOUNTS = 10


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="known-device")


def _cookie_name() -> str:
    # Like the session cookie: __Host- where cookies are Secure (a sibling subdomain cannot plant it).
    return "__Host-known_device" if current_app.config.get("SESSION_COOKIE_SECURE") else "known_device"


def read() -> KnownDevice | None:
    """The request's known-device cookie, if it carries a valid signature of ours and is not too old."""
    value = request.cookies.get(_cookie_name())
    if not value:
        return None
    try:
        data = _serializer().loads(value, max_age=int(LIFETIME.total_seconds()))
    except BadData:
        return None
    nonce, user_ids = (data.get("n"), data.get("u")) if isinstance(data, dict) else (None, None)
    if not (isinstance(nonce, str) and 0 < len(nonce) <= 64 and isinstance(user_ids, list)):
        return None
    return KnownDevice(nonce, tuple(i for i in user_ids if isinstance(i, int) and not isinstance(i, bool)))


def add(user: User) -> None:
    """After a successful sign-in: the response (re)sets the cookie with this account in it."""
    device = read()
    nonce = device.nonce if device else secrets.token_urlsafe(16)
    others = [user_id for user_id in (device.user_ids if device else ()) if user_id != user.id]
    value = _serializer().dumps({"n": nonce, "u": [*others[-(MAX_ACCOUNTS - 1) :], user.id]})

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            _cookie_name(),
            value,
            max_age=LIFETIME,
            path="/",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            httponly=True,
            samesite="Lax",
        )
        return response
