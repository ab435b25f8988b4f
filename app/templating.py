"""Jinja filters the templates share."""

import re

from markupsafe import Markup, escape

URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]'"


def linkify(text: str) -> Markup:
    """Escape text and turn http(s) links into anchors that open safely; nothing else becomes HTML."""
    parts, last = [], 0
    for match in URL.finditer(text or ""):
        url = match.group(0).rstrip(TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(escape(text[last:start]))
        parts.append(
            Markup('<a href="{0}" target="_blank" rel="noopener nofollow" class="underline break-all">{0}</a>').format(
                url
            )
        )
        last = end
    parts.append(escape((text or "")[last:]))
    return Markup("").join(parts)


def register_template_filters(app) -> None:
    """Make the filters above available to every template."""
    app.add_template_filter(linkify, "linkify")
