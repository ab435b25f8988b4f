"""Chat pages: thin views over app.services.conversations and app.services.messaging."""

from uuid import uuid4

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.chat import bp
from app.chat.forms import AddMembersForm, ForwardForm, MessageForm, NewGroupForm, RenameGroupForm
from app.extensions import db
from app.forms import ActionForm, form_status, show_service_error
from app.models.chat import GROUP, OWNER, Conversation
from app.navigation import redirect_back
from app.rate_limits import check_user_events
from app.serializers import conversation_dict, conversation_dicts, member_dicts, message_dicts, user_dict
from app.services import ServiceError, conversations, editing, forwarding, messaging, presence, social
from app.services import conversation_settings as conversation_settings_service
from app.transactions import transaction


def _me():
    return current_user._get_current_object()


def _member_conversation(conversation_id: int) -> Conversation:
    try:
        membership = conversations.require_member(_me(), conversation_id)
    except conversations.ConversationNotFound:
        abort(404)
    return db.session.get(Conversation, membership.conversation_id)


# The members a chat page carries; the members panel asks for the rest (GET /api/conversations/<id>/members).
MEMBERS_ON_PAGE = 20


def _member_dicts(memberships, online: set[int] | None = None) -> list[dict]:
    return member_dicts(memberships, current_user.id, online)


def _conversation_page(conversation: Conversation, form: MessageForm | None = None, status: int = 200):
    """The chat page; only its pane (chat/_pane.html's layout) when the page's script asks for
    it to swap chats (the X-Messanger-Pane: chat header)."""
    user = _me()
    pane_only = request.headers.get("X-Messanger-Pane") == "chat"
    listed = [] if pane_only else conversation_dicts(conversations.summaries(user))
    summary = conversations.summaries(user, conversation.id)[0]
    if request.args.get("latest"):  # "Show the latest messages" without JavaScript
        window = messaging.history_window(user, conversation.id)
    else:
        window = messaging.opening_window(user, conversation.id, summary.unread_count)
    # A bounded page however large the room: the first members, the counts, and "Seen by" counted here.
    first_members, members_cursor = conversations.member_page(conversation.id, limit=MEMBERS_ON_PAGE)
    hidden = social.activity_hidden(user.id, conversation.id)
    online_ids = sorted(presence.online_among(conversations.member_ids(conversation.id)) - hidden)
    members = _member_dicts(first_members, set(online_ids))
    member_count = conversations.member_count(conversation.id)
    my_role = conversations.require_member(user, conversation.id).role
    seen = conversations.seen_by(user, conversation.id)
    refusal = conversations.send_refusal(user, conversation)
    data = conversation_dict(summary)
    page = render_template(
        "chat/conversation.html",
        pane_only=pane_only,
        conversations=listed,
        conversation=data,
        members=members,
        member_count=member_count,
        online_count=len(online_ids),
        members_cursor=members_cursor,
        my_role=my_role,
        seen=seen,
        messages=message_dicts(window.messages, {conversation.id: conversation.kind}),
        has_more=window.has_older,
        has_newer=window.has_newer,
        first_unread_seq=window.first_unread_seq,
        unread_count=window.unread_count,
        delete_roles=editing.moderating_roles(conversation.kind),
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
            "member_count": member_count,
            "online_ids": online_ids,
            "members_cursor": members_cursor,
            "members_url": url_for("api.members", conversation_id=conversation.id),
            "seen": seen,
            "me": user_dict(user),
            "messages_url": url_for("api.messages", conversation_id=conversation.id),
            "edit_window_seconds": current_app.config["MESSAGE_EDIT_WINDOW_SECONDS"],
        },
    )
    return page, status, {"Vary": "X-Messanger-Pane"}


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
        with transaction():
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
    """A conversation the user is in and the composer: from its first unread message under a "New
    messages" line when some are unread (`?latest=1`: the latest page), else its latest messages."""
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
            with transaction():
                messaging.send_message(_me(), conversation.id, form.body.data, form.client_id.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            return redirect(url_for("chat.conversation", conversation_id=conversation.id, _anchor="composer"))
    return _conversation_page(conversation, form, status=form_status(form))


@bp.route("/messages/<int:message_id>/forward", methods=["GET", "POST"])
@login_required
def forward(message_id):
    """Forward a message without JavaScript: pick one of the conversations one may write in, then go
    there (the page's client_id makes a resubmission harmless). GET with `partial=1` answers only the
    picker (chat/_forward_picker.html), which the chat page's Forward dialog shows."""
    user = _me()
    partial = request.method == "GET" and bool(request.args.get("partial"))
    try:
        message, _membership = messaging.require_message(user, message_id)
    except ServiceError:
        abort(404)
    back = url_for("chat.conversation", conversation_id=message.conversation_id)
    if message.deleted_at is not None:
        if partial:  # the dialog says so itself; a flash would show on some later page
            abort(410)
        flash("That message was deleted.", "error")
        return redirect(back)
    form = ForwardForm()
    if form.validate_on_submit():
        try:
            check_user_events(user.id)
            with transaction():
                forwarded, _created = forwarding.forward_message(
                    user, message.id, form.conversation_id.data, form.client_id.data
                )
        except ServiceError as error:
            if error.code == "duplicate":  # this page's forward went elsewhere: a new pick is a new forward
                form.client_id.data = uuid4().hex
                form.form_errors.append("You already forwarded it from this page. Choose again to forward it anew.")
            elif error.field == "client_id":
                form.form_errors.append(error.message)
            else:
                show_service_error(form, error)
        else:
            flash("Message forwarded.", "success")
            return redirect(
                url_for("chat.conversation", conversation_id=forwarded["conversation_id"], _anchor="composer")
            )
    if not form.is_submitted():
        form.client_id.data = uuid4().hex
    page = render_template(
        "chat/_forward_picker.html" if partial else "chat/forward.html",
        form=form,
        message=message_dicts([message])[0],
        targets=conversation_dicts(conversations.writable(user)),
        back_url=back,
    )
    return page, form_status(form)


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
        with transaction():
            room = conversations.join_room(_me(), conversation_id)
            title = room.title
    except conversations.ConversationNotFound:
        abort(404)
    flash(f"You joined {title}.", "success")
    return redirect(url_for("chat.conversation", conversation_id=conversation_id))


@bp.post("/c/<int:conversation_id>/leave")
@login_required
def leave(conversation_id):
    """Leave a group or a room."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with transaction():
            title = conversations.leave(_me(), conversation_id).title
    except conversations.ConversationNotFound:
        abort(404)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("chat.conversation", conversation_id=conversation_id))
    flash(f"You left {title}.", "info")
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
        with transaction():
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
            with transaction():
                group = conversations.create_group(_me(), form.title.data, form.members.data or [])
                title, group_id = group.title, group.id
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash(f"Group {title} created.", "success")
            return redirect(url_for("chat.conversation", conversation_id=group_id))
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
            with transaction():
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
            with transaction():
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
        with transaction():
            conversations.remove_member(_me(), conversation.id, user_id)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash("Member removed.", "success")
    return redirect(url_for("chat.group_settings", conversation_id=conversation.id))
