"""A name's validation for the services: cleaned of invisible characters (app.names), or refused."""

from app.names import is_visible, strip_invisible
from app.services import ServiceError


def clean_name(value: str | None, field: str, max_length: int, what: str = "This name") -> str:
    """A name (first or last name, group or room title) without invisible characters, or
    ServiceError: too long, or nothing visible left although something was typed."""
    name = strip_invisible(value)
    if name and not is_visible(name):
        name = ""
    if not name and (value or "").strip():
        raise ServiceError(f"{what} has no visible characters: use letters, digits or symbols.", field)
    if len(name) > max_length:
        raise ServiceError(f"At most {max_length} characters.", field)
    return name
