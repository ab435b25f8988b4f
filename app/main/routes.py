"""Landing and home pages."""

from flask import render_template
from flask_login import current_user

from app.main import bp
from app.serializers import conversation_dict
from app.services import conversations, social


@bp.get("/")
def index():
    """The home page for signed-in users, the landing page for visitors."""
    if current_user.is_authenticated:
        return render_template(
            "main/home.html",
            friends=social.friends(current_user),
            incoming=social.incoming_requests(current_user),
            outgoing=social.outgoing_requests(current_user),
            conversations=[conversation_dict(summary) for summary in conversations.summaries(current_user)],
        )
    return render_template("main/landing.html")
