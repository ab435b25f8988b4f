"""Jinja filters the templates share."""

import re

from flask import url_for
from markupsafe import Markup, escape

from app.names import visible_url
from app.services.mentions import MENTION_PATTERN

URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]'"


def linkify(text: str, plain=escape) -> Markup:
    """Escape text and turn http(s) links into anchors that open safely; nothing else becomes HTML.
    `plain` renders the text between links (escaped by default).

    A link shows its address as written but with invisible characters percent-encoded
    (names.visible_url), left to right and isolated from the text around it (dir="ltr"), so a
    bidi control cannot make "…/%E2%80%AEgnp.exe" read "…/exe.png"."""
    parts, last = [], 0
    for match in URL.finditer(text or ""):
        url = match.group(0).rstrip(TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(plain(text[last:start]))
        parts.append(
            Markup(
                '<a href="{0}" dir="ltr" target="_blank" rel="noopener nofollow" class="underline break-all">{0}</a>'
            ).format(visible_url(url))
        )
        last = end
    parts.append(plain((text or "")[last:]))
    return Markup("").join(parts)


def message_text(text: str, mentions=None, me_id=None) -> Markup:
    """A message body as linkify() makes it, with each `@username` of a member it mentions (M.mentions)
    as a link to their profile: data-mention="me" when it names the reader, else "other".
    static/js/chat.js builds the same markup for live messages."""
    named = {person["username"].lower(): person for person in mentions or [] if person.get("username")}
    if not named:
        return linkify(text)

    def mention_links(chunk: str) -> Markup:
        parts, last = [], 0
        for match in MENTION_PATTERN.finditer(chunk):
            name = match.group(1).rstrip(".")
            person = named.get(name.lower())
            if person is None:
                continue
            start, end = match.start(), match.start(1) + len(name)
            parts.append(escape(chunk[last:start]))
            parts.append(
                Markup('<a href="{0}" data-mention="{1}">@{2}</a>').format(
                    url_for("people.profile", username=person["username"], _external=True),
                    "me" if me_id is not None and person.get("id") == me_id else "other",
                    name,
                )
            )
            last = end
        parts.append(escape(chunk[last:]))
        return Markup("").join(parts)

    return linkify(text, plain=mention_links)


def register_template_filters(app) -> None:
    """Make the filters above available to every template."""
    app.add_template_filter(linkify, "linkify")
    app.add_template_filter(message_text, "message_text")
