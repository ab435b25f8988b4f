"""Landing and home pages."""

from flask import render_template
from flask_login import current_user

from app.main import bp
from app.serializers import conversation_dict
from app.services import conversations, presence, social


@bp.get("/")
def index():
    """The home page for signed-in users, the landing page for visitors."""
    if current_user.is_authenticated:
        friends = social.friends(current_user)
        return render_template(
            "main/home.html",
            friends=friends,
            online_friend_ids={friend.id for friend in friends if presence.is_online(friend.id)},
            incoming=social.incoming_requests(current_user),
            outgoing=social.outgoing_requests(current_user),
            conversations=[conversation_dict(summary) for summary in conversations.summaries(current_user)],
        )
    return render_template("main/landing.html")
