"""People pages and actions: thin views over app.services.social and app.services.avatars."""

import re

from flask import Response, abort, flash, render_template, request
from flask_login import current_user, login_required

from app.forms import ActionForm
from app.navigation import redirect_back
from app.people import bp
from app.rate_limits import limit_search
from app.services import ServiceError, avatars, conversations, social
from app.transactions import transaction

UPLOADED_AVATAR_NAME = re.compile(r"[0-9a-f]{32}\.webp")
ONE_YEAR = 365 * 24 * 3600


@bp.app_context_processor
def navigation_counts():
    """The numbers behind the navigation's badges: friend requests waiting, unread conversations."""
    if not current_user.is_authenticated:
        return {}
    return {
        "incoming_request_count": social.incoming_request_count(current_user),
        "unread_conversation_count": conversations.unread_conversation_count(current_user),
    }


@bp.get("/u/<username>")
@login_required
def profile(username):
    """A person's profile, with the actions that fit how the viewer stands to them."""
    try:
        person = social.visible_user(current_user, username)
    except social.NotFound:
        abort(404)
    return render_template(
        "people/profile.html",
        profile=person,
        relation=social.relation(current_user, person),
        can_message=person.id != current_user.id and social.can_message(current_user, person),
    )


@bp.get("/search")
@login_required
@limit_search
def search():
    """Find people by the start of their username or name; `partial=1` returns only the results."""
    query = request.args.get("q", "", type=str)[: social.SEARCH_MAX_QUERY]
    page_number = request.args.get("page", 1, type=int)
    found = social.search_users(current_user, query, min(max(page_number, 1), 1000))
    context = {
        "q": query,
        "results": found.results,
        "page": found.page,
        "has_prev": found.has_prev,
        "has_next": found.has_next,
    }
    if request.args.get("partial"):
        return render_template("people/_results.html", **context)
    return render_template("people/search.html", **context)


def _relationship_action(action, username: str):
    """Run one social action for the signed-in user, say how it went, and go back."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction():
            outcome = action(current_user, username)
    except social.NotFound:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(outcome, "success")
    return redirect_back(form.next.data, "people.profile", username=username.lower())


@bp.post("/u/<username>/friend-request")
@login_required
def send_request(username):
    """Ask to be friends (or accept their request, if they asked first)."""
    return _relationship_action(social.send_request, username)


@bp.post("/u/<username>/friend-request/cancel")
@login_required
def cancel_request(username):
    """Withdraw a friend request."""
    return _relationship_action(social.cancel_request, username)


@bp.post("/u/<username>/friend-request/accept")
@login_required
def accept_request(username):
    """Accept a friend request."""
    return _relationship_action(social.accept_request, username)


@bp.post("/u/<username>/friend-request/decline")
@login_required
def decline_request(username):
    """Decline a friend request."""
    return _relationship_action(social.decline_request, username)


@bp.post("/u/<username>/unfriend")
@login_required
def remove_friend(username):
    """End a friendship."""
    return _relationship_action(social.remove_friend, username)


@bp.post("/u/<username>/block")
@login_required
def block(username):
    """Block a person."""
    return _relationship_action(social.block, username)


@bp.post("/u/<username>/unblock")
@login_required
def unblock(username):
    """Lift a block."""
    return _relationship_action(social.unblock, username)


@bp.get("/media/avatars/<filename>")
@login_required
def uploaded_avatar(filename):
    """An uploaded picture; its name is its content's hash, so it may be cached forever."""
    picture = avatars.uploaded_picture(filename) if UPLOADED_AVATAR_NAME.fullmatch(filename) else None
    if picture is None:
        abort(404)
    response = Response(picture.data, mimetype="image/webp")
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    response.cache_control.private = True
    return response


@bp.get("/avatars/initials/<int:colour>/<initials>.svg")
def initials_avatar(colour, initials):
    """The default picture: one or two letters on a colour; a pure function of its address."""
    if not (1 <= len(initials) <= 2 and initials.isalnum()):
        abort(404)
    response = Response(avatars.initials_svg(initials, colour), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    return response
