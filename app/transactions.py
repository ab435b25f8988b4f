"""The doors' transactions: a route, a socket event, a CLI command or a background job opens one,
calls its services (which flush and queue events, never commit), and commits; the queued events go
out after the commit (app.events). Anything raised rolls it all back and sends nothing."""

import functools
from contextlib import contextmanager

from app.errors import rollback
from app.extensions import db


@contextmanager
def transaction():
    """`with transaction(): ...`: commit when the block ends normally; on any exception roll back
    (events queued in it are dropped) and re-raise. Several service calls in one block commit
    together or not at all."""
    try:
        yield
        db.session.commit()
    except BaseException:
        rollback()
        raise


def transactional(view):
    """A view (or command) run in one transaction(): committed when it returns, rolled back when it
    raises."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with transaction():
            return view(*args, **kwargs)

    return wrapper
