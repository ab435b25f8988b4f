"""Helpers shared by every blueprint's forms."""

from flask_wtf import FlaskForm
from wtforms import HiddenField

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


class ActionForm(FlaskForm):
    """A one-button action: CSRF token, and the local page to return to."""

    next = HiddenField()
