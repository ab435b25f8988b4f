"""JSON endpoints: thin views over the same services the sockets use."""

from flask import jsonify, request
from flask_login import current_user, login_required

from app.api import bp
from app.rate_limits import limit_search
from app.serializers import conversation_dict, conversation_dicts, message_dicts, search_result_dicts
from app.services import MAX_DB_INT, ServiceError, conversations, messaging, parse_db_int, search, social
from app.services.text import replace_lone_surrogates


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
        conversation = conversations.open_direct(me, username)
    except social.NotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error, 403 if error.code == "not_allowed" else 400)
    return jsonify(conversation_dict(conversations.summaries(me, conversation.id)[0]))


@bp.get("/conversations/<int:conversation_id>/messages")
@login_required
def messages(conversation_id):
    """?before=<seq> | ?after=<seq> & limit=<1..100> → {"messages": [...ascending], "has_more": bool}."""
    me = current_user._get_current_object()
    try:
        rows, has_more = messaging.history(
            me, conversation_id, before=_int_arg("before"), after=_int_arg("after"), limit=_int_arg("limit")
        )
    except conversations.ConversationNotFound as error:
        return _error(error, 404)
    except ServiceError as error:
        return _error(error)
    return jsonify({"messages": message_dicts(rows), "has_more": has_more})


@bp.get("/search")
@login_required
@limit_search
def search_messages():
    """?q=<words>&conversation_id=<id>?&before=<message id>?&limit=<1..50>? → {"results": [{message,
    conversation: {id, title, url}, snippet: [[text, matched], ...]}], "has_more"}, newest first."""
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
