"""Account forms. Field rules come from app.services.accounts, so HTTP and sockets share them."""

from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.forms import Form
from app.models.user import NAME_MAX_LENGTH
from app.services import ServiceError
from app.services.accounts import (
    PASSWORD_MAX_LENGTH,
    USERNAME_HELP,
    USERNAME_MAX_LENGTH,
    check_password,
    check_username,
)


def _service_rule(check):
    """Turn a service check (raises ServiceError) into a WTForms validator."""

    def validator(form, field):
        try:
            check(field.data or "")
        except ServiceError as error:
            raise ValidationError(error.message) from None

    return validator


class PersonForm(Form):
    """Username and names, as chosen at sign-up and changed in the profile settings."""

    username = StringField(
        "Username",
        description=USERNAME_HELP,
        validators=[DataRequired("Choose a username."), _service_rule(check_username)],
        render_kw={
            "autocomplete": "username",
            "autocapitalize": "none",
            "spellcheck": "false",
            "maxlength": USERNAME_MAX_LENGTH,
        },
    )
    first_name = StringField(
        "First name",
        validators=[Length(max=NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "given-name", "maxlength": NAME_MAX_LENGTH},
    )
    last_name = StringField(
        "Last name",
        validators=[Length(max=NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "family-name", "maxlength": NAME_MAX_LENGTH},
    )


class RegisterForm(PersonForm):
    """Create an account."""

    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), _service_rule(check_password)],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX_LENGTH},
    )
    confirm_password = PasswordField(
        "Confirm password",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The passwords do not match.")],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX_LENGTH},
    )


class LoginForm(Form):
    """Sign in with username and password."""

    username = StringField(
        "Username",
        validators=[DataRequired("Enter your username."), Length(max=USERNAME_MAX_LENGTH)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in")


class ChangePasswordForm(Form):
    """Replace the password, proving the current one."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a new password."), _service_rule(check_password)],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX_LENGTH},
    )
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Type the new password again."),
            EqualTo("new_password", "The passwords do not match."),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX_LENGTH},
    )
