"""Landing and home pages."""

from flask import jsonify, render_template
from flask_login import current_user

from app.main import bp
from app.serializers import conversation_dicts
from app.services import conversations, health, presence, social


@bp.get("/")
def index():
    """The home page for signed-in users, the landing page for visitors."""
    if current_user.is_authenticated:
        friends = social.friends(current_user)
        return render_template(
            "main/home.html",
            friends=friends,
            online_friend_ids=presence.online_among(friend.id for friend in friends),
            incoming=social.incoming_requests(current_user),
            outgoing=social.outgoing_requests(current_user),
            conversations=conversation_dicts(conversations.summaries(current_user)),
        )
    return render_template("main/landing.html")


@bp.get("/healthz")
def healthz():
    """For load balancers and platforms: 200 when the database (and Redis, if used) answer, else 503."""
    checks = health.check()
    healthy = all(checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", "checks": checks})
    response.status_code = 200 if healthy else 503
    response.cache_control.no_store = True
    return response
