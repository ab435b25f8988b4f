"""Upload (XMLHttpRequest, multipart field `file`, CSRF in X-CSRFToken) and serving: thin views
over app.services.attachments. Answers are JSON, errors `{"ok": false, "error", "message"}`."""

import io

from flask import abort, current_app, jsonify, request, send_file
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from app.attachments import bp
from app.rate_limits import limit_upload
from app.serializers import attachment_dict, fragment
from app.services import ServiceError, attachments, link_previews
from app.transactions import transaction

# Status per refusal: a conversation one is not in answers as one that does not exist.
STATUS = {"not_found": 404, "not_allowed": 403, "too_large": 413, "quota": 429, "busy": 429, "unavailable": 503}
# Served files never run as a page of the site: no scripts, no plugins, a unique origin.
SANDBOX = "default-src 'none'; sandbox"


def _refusal(error: ServiceError):
    response = jsonify({"ok": False, "error": error.code, "message": error.message})
    if isinstance(error, attachments.QuotaExceeded):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, STATUS.get(error.code, 422)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A body over MAX_CONTENT_LENGTH, refused while it is read (CSRF reads the form first)."""
    return _refusal(ServiceError(attachments.too_large_message(), "file", code="too_large"))


@bp.post("/c/<int:conversation_id>/attachments")
@login_required
@limit_upload
def upload(conversation_id):
    """Store one uploaded file, not yet sent: 201 {"ok": true, "attachment": A}."""
    me = current_user._get_current_object()
    file = request.files.get("file")
    # One byte past the limit is enough to tell "too large" without holding more.
    data = file.stream.read(current_app.config["ATTACHMENT_MAX_BYTES"] + 1) if file is not None else None
    try:
        with transaction():
            answer = attachment_dict(attachments.upload(me, conversation_id, file.filename if file else None, data))
    except ServiceError as error:
        return _refusal(error)
    # The block the message will show, and the size in words, for the composer's pending bubble and chip.
    return jsonify(
        {
            "ok": True,
            "attachment": answer,
            "html": fragment("chat/_attachment.html", a=answer),
            "size_text": attachments.human_size(answer["size"]),
        }
    ), 201


def _serve(served: attachments.Served, inline: bool):
    response = send_file(
        io.BytesIO(served.data),
        mimetype=served.content_type,  # text/* gets "; charset=utf-8"
        as_attachment=not inline,
        download_name=served.filename,
        etag=False,
        conditional=False,
        max_age=None,
    )
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not inline:
        response.headers["Content-Security-Policy"] = SANDBOX
    return response


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@login_required
def thumbnail(attachment_id):
    """A picture's small WebP: members of its conversation once sent, its uploader before (404 for
    anyone else)."""
    try:
        served = attachments.thumbnail(current_user._get_current_object(), attachment_id)
    except ServiceError:
        abort(404)
    return _serve(served, inline=True)


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def download(attachment_id, filename):
    """The file: pictures inline, everything else as a download; members of its conversation once a
    message carries it, its uploader alone before (404 for anyone else, as for an id nobody has).
    The name in the address is for the browser."""
    try:
        served = attachments.download(current_user._get_current_object(), attachment_id)
    except ServiceError:
        abort(404)
    return _serve(served, inline=served.kind == "image")


@bp.get("/link-previews/<int:preview_id>/<image_hash>.webp")
@login_required
def link_preview_image(preview_id, image_hash):
    """A link preview's picture, as we re-encoded it (never the other site's address): for anyone
    signed in who knows its address, which names its content, so it is cached for a year."""
    data = link_previews.image(preview_id, image_hash)
    if data is None:
        abort(404)
    response = send_file(io.BytesIO(data), mimetype="image/webp", etag=False, conditional=False, max_age=None)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
