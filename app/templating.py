"""Jinja filters the templates share. A message's text becomes markup elsewhere, once, when it is
stored (app.services.formatting.render_message, kept in messages.body_html)."""

from app.serializers import reply_preview
from app.services.attachments import human_size, too_large_message


def register_template_filters(app) -> None:
    """Make the filters above (and what an oversize upload is told) available to every template."""
    app.add_template_filter(human_size, "human_size")
    app.add_template_filter(reply_preview, "reply_preview")
    app.add_template_global(too_large_message, "too_large_message")
