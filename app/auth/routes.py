"""Account pages: thin views over app.services.accounts."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from app.auth import bp, known_devices
from app.auth.forms import ChangePasswordForm, LoginForm, RegisterForm
from app.auth.session import end_session, forget_remembered_login, sign_in, start_session
from app.forms import form_status, show_service_error
from app.navigation import local_redirect_target
from app.rate_limits import RateLimited, check_login_address, limit_register
from app.services import ServiceError, accounts, rooms
from app.transactions import transaction


@bp.route("/register", methods=["GET", "POST"])
@limit_register
def register():
    """Show the sign-up form; on a valid POST create the account and sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            with transaction():
                user = accounts.register_user(
                    form.username.data, form.password.data, form.first_name.data, form.last_name.data
                )
        except ServiceError as error:
            show_service_error(form, error)
        else:
            start_session(user, remember=False)
            flash(f"Welcome to Messanger, {user.display_name}!", "success")
            warning = accounts.lookalike_warning(user)
            if warning:
                flash(warning, "warning")
            return redirect(url_for("main.index"))
    page = render_template("auth/register.html", form=form, password_rules=accounts.PASSWORD_RULES)
    return page, form_status(form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on valid credentials sign in and go to `next` or home. Attempts are
    limited per address, and wrong passwords slow down further ones (app.rate_limits)."""
    next_page = local_redirect_target(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_page or url_for("main.index"))
    form = LoginForm()
    user = None
    try:
        if request.method == "POST":
            check_login_address()
        if form.validate_on_submit():
            with transaction():  # a rehashed password and a remembered login commit together
                user = accounts.authenticate(
                    form.username.data, form.password.data, address=get_remote_address(), device=known_devices.read()
                )
                if user is not None:
                    start_session(user, remember=form.remember.data)
            if user is None:
                form.form_errors.append("Wrong username or password.")
    except RateLimited as error:
        form.form_errors.append(error.message)
        page = render_template("auth/login.html", form=form)
        return page, 429, {"Retry-After": str(error.retry_after)}
    if user is not None:
        return redirect(next_page or url_for("main.index"))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.post("/logout")
def logout():
    """Sign out: the session is destroyed and its open sockets are disconnected."""
    with transaction():
        forget_remembered_login()
    end_session("You have signed out.")
    return redirect(url_for("main.index"))


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; other sessions of the user are signed out, this one stays."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            with transaction():
                accounts.change_password(user, form.current_password.data, form.new_password.data)
                remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
                # Same session id (its sockets stay in their room), new login id with the new auth
                # version (and a new remembered login: the password change ended every one).
                sign_in(user, remember=remembered)
        except ServiceError as error:
            show_service_error(form, error)
            if isinstance(error, RateLimited):
                page = render_template("auth/change_password.html", form=form, password_rules=accounts.PASSWORD_RULES)
                return page, 429, {"Retry-After": str(error.retry_after)}
        else:
            rooms.disconnect_user(user.id, except_session_id=session.sid)
            flash("Your password has been changed. Your other sessions were signed out.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form, password_rules=accounts.PASSWORD_RULES), form_status(
        form
    )
