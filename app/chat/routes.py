"""Chat pages: thin views over app.services.conversations and app.services.messaging."""

from uuid import uuid4

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.chat import bp
from app.chat.forms import AddMembersForm, MessageForm, NewGroupForm, RenameGroupForm
from app.extensions import db
from app.forms import ActionForm, form_status, show_service_error
from app.models.chat import GROUP, OWNER, Conversation
from app.navigation import redirect_back
from app.rate_limits import check_user_events
from app.serializers import conversation_dict, member_dict, message_dicts, user_dict
from app.services import ServiceError, conversations, messaging, presence, social
from app.services import conversation_settings as conversation_settings_service


def _me():
    return current_user._get_current_object()


def _member_conversation(conversation_id: int) -> Conversation:
    try:
        membership = conversations.require_member(_me(), conversation_id)
    except conversations.ConversationNotFound:
        abort(404)
    return db.session.get(Conversation, membership.conversation_id)


def _member_dicts(memberships) -> list[dict]:
    online = presence.online_among(membership.user_id for membership in memberships)
    hidden = social.activity_hidden(current_user.id)
    return [
        member_dict(membership, membership.user_id in online, membership.user_id not in hidden)
        for membership in memberships
    ]


def _conversation_page(conversation: Conversation, form: MessageForm | None = None, status: int = 200):
    user = _me()
    summary = conversations.summaries(user, conversation.id)[0]
    messages, has_more = messaging.history(user, conversation.id)
    members = _member_dicts(conversations.members(conversation.id))
    refusal = conversations.send_refusal(user, conversation)
    data = conversation_dict(summary)
    page = render_template(
        "chat/conversation.html",
        conversation=data,
        members=members,
        messages=message_dicts(messages),
        has_more=has_more,
        me=user_dict(user),
        form=form or MessageForm(client_id=uuid4().hex),
        can_send=refusal is None,
        cannot_send_reason=refusal or "",
        settings_url=url_for("chat.group_settings", conversation_id=conversation.id)
        if conversation.kind == GROUP
        else None,
        chat_data={
            "conversation": data,
            "members": members,
            "me": user_dict(user),
            "messages_url": url_for("api.messages", conversation_id=conversation.id),
            "edit_window_seconds": current_app.config["MESSAGE_EDIT_WINDOW_SECONDS"],
        },
    )
    return page, status


@bp.get("/chat/<username>")
@login_required
def direct(username):
    """The direct chat with a person, started on first visit from this site.

    A GET that creates something must not be triggered by another site (a link or an image there):
    browsers say where a request comes from in Sec-Fetch-Site, and such a visit goes to the
    person's profile, whose Message button leads back here from this site.
    """
    if request.headers.get("Sec-Fetch-Site", "none") not in ("same-origin", "none"):
        return redirect(url_for("people.profile", username=username.lower()))
    try:
        conversation = conversations.open_direct(_me(), username)
    except social.NotFound:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("people.profile", username=username.lower()))
    return _conversation_page(conversation)


@bp.get("/c/<int:conversation_id>")
@login_required
def conversation(conversation_id):
    """A conversation the user is in: its latest messages and the composer."""
    return _conversation_page(_member_conversation(conversation_id))


@bp.post("/c/<int:conversation_id>/messages")
@login_required
def post_message(conversation_id):
    """Send a message without JavaScript (the page's client_id makes a resubmission harmless)."""
    conversation = _member_conversation(conversation_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            check_user_events(current_user.id)
            messaging.send_message(_me(), conversation.id, form.body.data, form.client_id.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            return redirect(url_for("chat.conversation", conversation_id=conversation.id, _anchor="composer"))
    return _conversation_page(conversation, form, status=form_status(form))


@bp.get("/rooms")
@login_required
def rooms():
    """The directory of community rooms."""
    joined = {summary.conversation.id for summary in conversations.summaries(_me())}
    return render_template(
        "chat/rooms.html",
        rooms=[
            {
                "id": room.id,
                "title": room.title,
                "member_count": count,
                "joined": room.id in joined,
                "url": url_for("chat.conversation", conversation_id=room.id),
            }
            for room, count in conversations.community_rooms()
        ],
    )


@bp.post("/rooms/<int:conversation_id>/join")
@login_required
def join_room(conversation_id):
    """Join a community room and open it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        room = conversations.join_room(_me(), conversation_id)
    except conversations.ConversationNotFound:
        abort(404)
    flash(f"You joined {room.title}.", "success")
    return redirect(url_for("chat.conversation", conversation_id=room.id))


@bp.post("/c/<int:conversation_id>/leave")
@login_required
def leave(conversation_id):
    """Leave a group or a room."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        left = conversations.leave(_me(), conversation_id)
    except conversations.ConversationNotFound:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("chat.conversation", conversation_id=conversation_id))
    flash(f"You left {left.title}.", "info")
    return redirect(url_for("main.index"))


# Form values for the settings' booleans; anything else goes to the service as it came, to be refused.
_FORM_BOOLEANS = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}
_SETTINGS_DONE = {
    ("muted", True): "Muted: no notifications, except when you are mentioned.",
    ("muted", False): "Notifications are on again.",
    ("pinned", True): "Pinned to the top of your conversations.",
    ("pinned", False): "Unpinned.",
    ("archived", True): "Archived.",
    ("archived", False): "Moved back from the archive.",
}


@bp.post("/c/<int:conversation_id>/settings")
@login_required
def conversation_settings(conversation_id):
    """Mute, pin or archive a conversation without JavaScript (fields muted, pinned, archived: 1 or
    0), then go back to the page it was done from."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    values = {}
    for name in conversation_settings_service.SETTINGS:
        if name in request.form:
            raw = request.form.get(name, "")
            values[name] = _FORM_BOOLEANS.get(raw.strip().lower(), raw)
    try:
        conversation_settings_service.set_settings(_me(), conversation_id, **values)
    except conversations.ConversationNotFound:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        for name, value in values.items():
            flash(_SETTINGS_DONE[name, value], "success")
    return redirect_back(form.next.data, "chat.conversation", conversation_id=conversation_id)


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def new_group():
    """Start a group with some friends."""
    form = NewGroupForm()
    if form.validate_on_submit():
        try:
            group = conversations.create_group(_me(), form.title.data, form.members.data or [])
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"Group {group.title} created.", "success")
            return redirect(url_for("chat.conversation", conversation_id=group.id))
    page = render_template("chat/new_group.html", form=form, friends=social.friends(_me()))
    return page, form_status(form)


def _settings_page(conversation: Conversation, rename_form=None, add_form=None, status=200):
    members = conversations.members(conversation.id)
    present = {membership.user_id for membership in members}
    is_owner = any(m.user_id == current_user.id and m.role == OWNER for m in members)
    summary = conversations.summaries(_me(), conversation.id)[0]
    page = render_template(
        "chat/group_settings.html",
        conversation=conversation_dict(summary),
        members=_member_dicts(members),
        is_owner=is_owner,
        rename_form=rename_form or RenameGroupForm(title=conversation.title),
        add_form=add_form or AddMembersForm(),
        addable=[friend for friend in social.friends(_me()) if friend.id not in present] if is_owner else [],
    )
    return page, status


def _group(conversation_id: int) -> Conversation:
    conversation = _member_conversation(conversation_id)
    if conversation.kind != GROUP:
        abort(404)
    return conversation


@bp.get("/c/<int:conversation_id>/settings")
@login_required
def group_settings(conversation_id):
    """A group's name and members."""
    return _settings_page(_group(conversation_id))


@bp.post("/c/<int:conversation_id>/rename")
@login_required
def rename_group(conversation_id):
    """The owner renames the group."""
    conversation = _group(conversation_id)
    form = RenameGroupForm()
    if form.validate_on_submit():
        try:
            conversations.rename_group(_me(), conversation.id, form.title.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash("The group has been renamed.", "success")
            return redirect(url_for("chat.group_settings", conversation_id=conversation.id))
    return _settings_page(conversation, rename_form=form, status=422)


@bp.post("/c/<int:conversation_id>/members")
@login_required
def add_members(conversation_id):
    """The owner adds friends to the group."""
    conversation = _group(conversation_id)
    form = AddMembersForm()
    if form.validate_on_submit():
        try:
            added = conversations.add_members(_me(), conversation.id, form.members.data or [])
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"{added} member{'s' if added != 1 else ''} added.", "success")
            return redirect(url_for("chat.group_settings", conversation_id=conversation.id))
    return _settings_page(conversation, add_form=form, status=422)


@bp.post("/c/<int:conversation_id>/members/<int:user_id>/remove")
@login_required
def remove_member(conversation_id, user_id):
    """The owner removes someone from the group."""
    conversation = _group(conversation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        conversations.remove_member(_me(), conversation.id, user_id)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash("Member removed.", "success")
    return redirect(url_for("chat.group_settings", conversation_id=conversation.id))
