"""Settings forms. Field rules come from the services, so every door applies the same ones."""

from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, PasswordField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.auth.forms import PersonForm
from app.forms import Form
from app.models.user import BIO_MAX_LENGTH
from app.services.accounts import PASSWORD_MAX_LENGTH


class ProfileForm(PersonForm):
    """Names, bio and username."""

    bio = TextAreaField(
        "Bio",
        description=f"Up to {BIO_MAX_LENGTH} characters. Line breaks are kept.",
        render_kw={"maxlength": BIO_MAX_LENGTH, "rows": 4},
    )


class PrivacyForm(Form):
    """Who may message the user."""

    message_policy = RadioField(
        "Who can message you",
        choices=[SelectChoice("everyone", "Everyone"), SelectChoice("friends", "Friends only")],
        validators=[InputRequired("Choose who can message you.")],
    )


class ChooseAvatarForm(Form):
    """Pick one of the bundled avatars."""

    avatar_id = IntegerField(validators=[InputRequired()])


class AvatarUploadForm(Form):
    """Upload a picture of one's own."""

    picture = FileField("Upload a picture", validators=[FileRequired("Choose a picture to upload.")])


class DeleteAccountForm(Form):
    """Delete the account, proving the password."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password to confirm."), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
