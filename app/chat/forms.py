"""Chat forms. The rules come from the services, so every door applies the same ones."""

from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.forms import Form
from app.models.chat import BODY_MAX_LENGTH, TITLE_MAX_LENGTH


class MessageForm(Form):
    """The composer without JavaScript. client_id is made when the page is drawn, so submitting
    the same page twice stores one message."""

    body = TextAreaField(
        "Message",
        validators=[DataRequired("Write something first.")],
        render_kw={"maxlength": BODY_MAX_LENGTH, "rows": 2},
    )
    client_id = HiddenField(validators=[DataRequired()])


class ForwardForm(Form):
    """Forward a message without JavaScript: the conversation picked from the page's list (the
    service decides whether the user may write there) and a client_id made when the page is drawn."""

    conversation_id = IntegerField("Forward to", validators=[InputRequired("Choose a conversation.")])
    client_id = HiddenField(validators=[DataRequired()])


class MembersField(SelectMultipleField):
    """User ids picked with checkboxes; the service checks each is a friend."""

    def pre_validate(self, form):
        """Any ids may arrive; the service decides which are acceptable."""


class NewGroupForm(Form):
    """Start a group with friends."""

    title = StringField(
        "Group name",
        validators=[DataRequired("Give the group a name."), Length(max=TITLE_MAX_LENGTH)],
        render_kw={"maxlength": TITLE_MAX_LENGTH},
    )
    members = MembersField("Members", coerce=int)


class RenameGroupForm(Form):
    """Rename a group."""

    title = StringField(
        "Group name",
        validators=[DataRequired("Give the group a name."), Length(max=TITLE_MAX_LENGTH)],
        render_kw={"maxlength": TITLE_MAX_LENGTH},
    )


class AddMembersForm(Form):
    """Add friends to a group."""

    members = MembersField("Add members", coerce=int)
