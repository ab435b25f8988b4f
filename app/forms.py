"""Helpers shared by every blueprint's forms."""

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField, HiddenField

from app.services import ServiceError

FORM_REFUSED = 422


def show_service_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's refusal on the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def form_status(form: FlaskForm) -> int:
    """422 for a submitted form being shown again with errors, else 200."""
    return FORM_REFUSED if form.is_submitted() else 200


class Form(FlaskForm):
    """The base of every form here: filled only the way a browser's form fills it.

    Flask-WTF would also fill a form from a JSON body and hand an uploaded file to any field, and
    WTForms' text fields fail (a 500) on a number, a list or a file. Our pages post plain forms: a
    JSON body fills no field, and only file fields receive files.
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            """The submitted fields, with files only under the form's file fields; None for JSON."""
            if request.is_json:
                return None
            formdata = super().wrap_formdata(form, formdata)
            if request.files and isinstance(formdata, CombinedMultiDict):
                files = [
                    (name, upload)
                    for name, upload in request.files.items(multi=True)
                    if name in form and isinstance(form[name], FileField)
                ]
                return CombinedMultiDict((MultiDict(files), request.form))
            return formdata


class ActionForm(Form):
    """A one-button action: CSRF token, and the local page to return to."""

    next = HiddenField()
