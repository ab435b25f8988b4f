"""JSON endpoints: thin views over the same services the sockets use."""

from flask import Response, jsonify, request
from flask_login import current_user, login_required

from app import emoji_catalog
from app.api import bp
from app.rate_limits import limit_search
from app.serializers import (
    conversation_dict,
    conversation_dicts,
    fragment,
    member_dicts,
    message_dicts,
    search_result_dicts,
)
from app.services import MAX_DB_INT, ServiceError, conversations, messaging, parse_db_int, search, social
from app.services.text import replace_lone_surrogates
from app.transactions import transaction

MEMBERS_PAGE = 50


def _error(error: ServiceError, status: int = 400):
    return jsonify({"ok": False, "error": error.code, "message": error.message}), status


def _json_body():
    """The request's JSON value, or None when there is none or it is not JSON."""
    try:
        return replace_lone_surrogates(request.get_json(silent=True))
    except RecursionError:  # nested deeper than the parser goes; silent=True only covers ValueError
        return None


def _int_arg(name: str):
    text = request.args.get(name)
    if text is None:
        return None
    value = parse_db_int(text)
    if value is None:
        raise ServiceError(f"{name} must be a whole number from 0 to {MAX_DB_INT}.", name, code="invalid")
    return value


@bp.get("/conversations")
@login_required
def conversation_list():
    """The user's conversations, newest activity first."""
    me = current_user._get_current_object()
    return jsonify({"conversations": conversation_dicts(conversations.summaries(me))})


@bp.get("/conversations/writable")
@login_required
def writable_conversations():
    """The conversations the user may write in now, in the list's order: where a message can be
    forwarded."""
    me = current_user._get_current_object()
    return jsonify({"conversations": conversation_dicts(conversations.writable(me))})


@bp.post("/conversations/direct")
@login_required
def direct_conversation():
    """{"username": U} → the one direct chat with U, created if needed."""
    me = current_user._get_current_object()
    payload = _json_body()
    username = payload.get("username") if isinstance(payload, dict) else None
    if not isinstance(username, str):
        return _error(ServiceError('Send {"username": ...}.', code="invalid"))
    try:
        with transaction():
            conversation = conversations.open_direct(me, username)
            answer = conversation_dict(conversations.summaries(me, conversation.id)[0])
    except social.NotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error, 403 if error.code == "not_allowed" else 400)
    return jsonify(answer)


@bp.get("/conversations/<int:conversation_id>/messages")
@login_required
def messages(conversation_id):
    """?before=<seq> | ?after=<seq> & limit=<1..100> → {"messages": [...ascending], "has_more": bool
    (beyond the page in the direction asked: older, or newer for `after`), "has_older", "has_newer"}."""
    me = current_user._get_current_object()
    try:
        window = messaging.history_window(
            me, conversation_id, before=_int_arg("before"), after=_int_arg("after"), limit=_int_arg("limit")
        )
    except conversations.ConversationNotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error)
    has_more = window.has_newer if request.args.get("after") is not None else window.has_older
    return jsonify(
        {
            "messages": message_dicts(window.messages),
            "has_more": has_more,
            "has_older": window.has_older,
            "has_newer": window.has_newer,
        }
    )


@bp.get("/conversations/<int:conversation_id>/members")
@login_required
def members(conversation_id):
    """?q=<prefix>&limit=<1..20> → {"members": [P]}: the other members whose username or name starts
    with q (what `@` suggests in the composer). Without q, ?cursor=<next_cursor>&limit=<1..100> →
    {"members": [P], "html": the panel's items, "next_cursor"}: one page of the members in the
    panel's order (owner first, then by username)."""
    me = current_user._get_current_object()
    try:
        if "q" in request.args:
            found = conversations.find_members(me, conversation_id, request.args["q"], limit=_int_arg("limit"))
            return jsonify({"members": member_dicts(found, me.id)})
        conversations.require_member(me, conversation_id)
        limit = _int_arg("limit")
        rows, next_cursor = conversations.member_page(
            conversation_id, request.args.get("cursor"), MEMBERS_PAGE if limit is None else limit
        )
    except conversations.ConversationNotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error)
    people = member_dicts(rows, me.id)
    html = fragment("chat/_member_items.html", members=people, me_id=me.id)
    return jsonify({"members": people, "html": html, "next_cursor": next_cursor})


@bp.get("/emoji")
def emoji_list():
    """{"version", "emoji": [[emoji, [shortcode, ...]], ...]}: the same for everyone, so cached a day
    and revalidated by ETag."""
    body, etag = emoji_catalog.catalog()
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@bp.get("/search")
@login_required
@limit_search
def search_messages():
    """?q=<words>&conversation_id=<id>?&before=<message id>?&limit=<1..50>? → {"results": [{message,
    conversation: {id, kind, title, url}, snippet: [[text, matched], ...]}], "has_more"}, newest first."""
    me = current_user._get_current_object()
    try:
        found = search.search(
            me,
            request.args.get("q", ""),
            conversation_id=_int_arg("conversation_id"),
            before=_int_arg("before"),
            limit=_int_arg("limit"),
        )
    except conversations.ConversationNotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error)
    return jsonify({"results": search_result_dicts(found.hits), "has_more": found.has_more})
