"""Where to send the browser next: only ever to a path on this site."""

from urllib.parse import urlsplit

from flask import redirect, url_for


def local_redirect_target(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (so `?next=` cannot send users away)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def redirect_back(target: str | None, endpoint: str, **values):
    """Redirect to target if it is local, else to url_for(endpoint, **values)."""
    return redirect(local_redirect_target(target) or url_for(endpoint, **values))
