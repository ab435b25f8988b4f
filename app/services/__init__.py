"""The service layer: the product's rules and transactions, shared by HTTP routes and socket handlers."""


class ServiceError(Exception):
    """A request the rules refuse; `message` is shown to the user, `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


# The largest value an INTEGER column holds on every engine we run on (PostgreSQL's is 32-bit).
MAX_DB_INT = 2**31 - 1


def is_db_int(value, minimum: int = 0) -> bool:
    """Whether value is a whole number (not a bool) that fits an INTEGER column, at least minimum."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_DB_INT


def parse_db_int(text: str, minimum: int = 0) -> int | None:
    """The number written in text (ASCII digits only) if it fits an INTEGER column, else None."""
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    value = int(text)
    return value if is_db_int(value, minimum) else None


def page_size(limit, default: int, maximum: int) -> int:
    """How many items a page holds: `default` when limit is None, else limit if it is a whole number
    from 1 to maximum; ServiceError otherwise."""
    if limit is None:
        return default
    if not is_db_int(limit, minimum=1) or limit > maximum:
        raise ServiceError(f"limit must be a whole number from 1 to {maximum}.", "limit", code="invalid")
    return limit


def release_db_connection() -> None:
    """Hand the session's pooled connection back before a long wait (a password hash, a picture
    being processed) when the transaction has written nothing and queued no event: a burst of such
    waits would otherwise hold every connection of the pool. The session opens a new transaction on
    its next query. A transaction that wrote keeps its connection: it is the door's to commit."""
    from app import events
    from app.extensions import db

    if not (db.session.new or db.session.dirty or db.session.deleted or events.has_written()):
        db.session.rollback()  # nothing written: this only ends the transaction and returns its connection
