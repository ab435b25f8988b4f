"""Settings pages: thin views over app.services.profiles and app.services.avatars."""

import json
from datetime import UTC, datetime

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.auth.session import end_session, forget_remembered_login
from app.forms import ActionForm, form_status, show_service_error
from app.rate_limits import RateLimited, limit_upload
from app.services import ServiceError, avatars, profiles, rooms, social
from app.settings import bp
from app.settings.forms import AvatarUploadForm, ChooseAvatarForm, DeleteAccountForm, PrivacyForm, ProfileForm
from app.transactions import transaction

# A refused picture upload: 429 while another of the user's pictures is processed, 503 when every
# picture worker stays busy, 422 for the picture itself.
UPLOAD_STATUS = {"busy": 429, "unavailable": 503}


def _index_page(privacy_form=None, delete_form=None, status=200):
    page = render_template(
        "settings/index.html",
        privacy_form=privacy_form or PrivacyForm(message_policy=current_user.message_policy),
        delete_form=delete_form or DeleteAccountForm(),
        blocked=social.blocked_users(current_user),
    )
    return page, status


@bp.get("")
@login_required
def index():
    """All settings in one place: links to the editors, privacy, blocked people, data, deletion."""
    return _index_page()


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Edit names, bio and username."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            with transaction():
                warning = profiles.update_profile(
                    current_user, form.username.data, form.first_name.data, form.last_name.data, form.bio.data
                )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash("Your profile has been saved.", "success")
            if warning:
                flash(warning, "warning")
            return redirect(url_for("people.profile", username=current_user.username))
    return render_template("settings/profile.html", form=form), form_status(form)


def _avatar_page(upload_form=None, status=200):
    page = render_template(
        "settings/avatar.html", avatars=avatars.list_avatars(), upload_form=upload_form or AvatarUploadForm()
    )
    return page, status


@bp.get("/avatar")
@login_required
def avatar():
    """Pick a bundled avatar, upload a picture, or go back to initials."""
    return _avatar_page()


@bp.post("/avatar/choose")
@login_required
def choose_avatar():
    """Use one of the bundled avatars."""
    form = ChooseAvatarForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction():
            avatars.choose_avatar(current_user, form.avatar_id.data)
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash("Your picture has been changed.", "success")
    return redirect(url_for("settings.avatar"))


@bp.post("/avatar/upload")
@login_required
@limit_upload
def upload_avatar():
    """Use an uploaded picture, re-encoded; a refused file stores nothing and says why."""
    form = AvatarUploadForm()
    if form.validate_on_submit():
        # Read one byte past the limit: enough to tell "too large" without holding a huge file.
        data = form.picture.data.stream.read(avatars.UPLOAD_MAX_BYTES + 1)
        try:
            with transaction():
                avatars.upload_avatar(current_user, data)
        except ServiceError as error:
            show_service_error(form, error)
            return _avatar_page(form, status=UPLOAD_STATUS.get(error.code, 422))
        flash("Your picture has been changed.", "success")
        return redirect(url_for("settings.avatar"))
    return _avatar_page(form, status=422)


@bp.post("/avatar/remove")
@login_required
def remove_avatar():
    """Go back to the initials picture."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction():
        avatars.use_initials(current_user)
    flash("Your picture now shows your initials.", "success")
    return redirect(url_for("settings.avatar"))


@bp.post("/privacy")
@login_required
def privacy():
    """Choose who may message you."""
    form = PrivacyForm()
    if form.validate_on_submit():
        try:
            with transaction():
                profiles.set_message_policy(current_user, form.message_policy.data)
        except ServiceError as error:
            show_service_error(form, error)
        else:
            flash("Your privacy setting has been saved.", "success")
            return redirect(url_for("settings.index"))
    return _index_page(privacy_form=form, status=422)


@bp.get("/export")
@login_required
def export():
    """Download everything the account holds, as JSON."""
    data = {"exported_at": datetime.now(UTC).isoformat(), **profiles.export_data(current_user)}
    filename = f"messanger-{current_user.username}-{datetime.now(UTC):%Y-%m-%d}.json"
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.no_store = True
    return response


@bp.post("/delete")
@login_required
def delete_account():
    """Delete the account after the password is entered again; every session and socket ends."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user_id = current_user.id
        try:
            with transaction():  # the account and its remembered logins go together
                forget_remembered_login()
                profiles.delete_account(current_user._get_current_object(), form.password.data)
        except ServiceError as error:
            show_service_error(form, error)
            if isinstance(error, RateLimited):
                page, _status = _index_page(delete_form=form)
                return page, 429, {"Retry-After": str(error.retry_after)}
        else:
            end_session("Your account has been deleted.")
            rooms.disconnect_user(user_id)
            return redirect(url_for("main.index"))
    return _index_page(delete_form=form, status=422)
