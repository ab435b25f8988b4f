"""The message search page: a thin view over app.services.search."""

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from app.rate_limits import limit_search
from app.search import bp
from app.serializers import conversation_ref, search_result_dicts
from app.services import ServiceError, conversations, parse_db_int, search


@bp.get("/search/messages")
@login_required
@limit_search
def messages():
    """Search the user's messages: ?q=<words>, optionally &conversation_id=<id> (one conversation)
    and &before=<message id> (older results). An invalid query shows the form with the reason."""
    me = current_user._get_current_object()
    query = request.args.get("q", "", type=str)
    conversation_id = _id_arg("conversation_id")
    before = _id_arg("before")
    scope = None
    if conversation_id is not None:
        try:
            conversations.require_member(me, conversation_id)
        except conversations.ConversationNotFound:
            abort(404)
        scope = search_result_scope(me, conversation_id)
    results, has_more, error = [], False, None
    if query.strip() or "q" in request.args:
        try:
            found = search.search(me, query, conversation_id=conversation_id, before=before)
        except ServiceError as failure:
            error = failure.message
        else:
            results, has_more = search_result_dicts(found.hits), found.has_more
    older_url = None
    if has_more:
        older_url = url_for(
            "search.messages", q=query, conversation_id=conversation_id, before=results[-1]["message"]["id"]
        )
    return render_template(
        "search/results.html",
        q=query,
        searched=bool(query.strip()) and error is None,
        error=error,
        results=results,
        scope=scope,
        conversation_id=conversation_id,
        continued=before is not None,
        older_url=older_url,
        max_length=search.QUERY_MAX_LENGTH,
        max_words=search.QUERY_MAX_WORDS,
    )


def search_result_scope(me, conversation_id: int) -> dict:
    """{id, kind, title, url} of the conversation a search is narrowed to."""
    summary = conversations.summaries(me, conversation_id)[0]
    return conversation_ref(summary.conversation, summary.other)


def _id_arg(name: str) -> int | None:
    """A positive id from the query string; a malformed one is a bad request."""
    text = request.args.get(name)
    if text is None or text == "":
        return None
    value = parse_db_int(text, minimum=1)
    if value is None:
        abort(400)
    return value
