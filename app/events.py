"""Events queued on the transaction and sent after its commit (Zulip's send_event_on_commit).

Services call queue() / queue_activity() / after_commit() while they write; nothing reaches a
socket until the door's transaction commits, and a rollback (of the whole transaction, or of the
savepoint they were queued in) sends nothing. A payload may be a zero-argument callable: it is
called once, just before the commit, inside the transaction with the objects still loaded, so a
payload is serialized once per change whoever receives it.

Pending actions live in the session's `info` (one list per session, in queue order). The listeners
are registered once, on the sessions of app.extensions.db.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.services import rooms

log = logging.getLogger(__name__)

_PENDING = "events.pending"
_WROTE = "events.wrote"


@dataclass
class _Pending:
    """One thing to do after the commit: send an event, or run an action (a socket room join)."""

    transaction: SessionTransaction | None
    send: Callable[[dict | None], None]
    payload: object = None
    resolved: dict | None = field(default=None)


def _session() -> Session:
    return db.session()


def _current_transaction(session: Session) -> SessionTransaction:
    """The innermost transaction (a savepoint's, if one is open), begun if there is none yet."""
    return session.get_nested_transaction() or session.get_transaction() or session.begin()


def _add(send: Callable[[dict | None], None], payload=None) -> None:
    session = _session()
    pending = _Pending(_current_transaction(session), send, payload)
    session.info.setdefault(_PENDING, []).append(pending)


def queue(event_name: str, payload, room: str, *, skip_sid: str | list[str] | None = None) -> None:
    """Send `event_name` to a server-named room once the transaction commits. `payload`: a dict, or
    a zero-argument callable returning it (called once, before the commit)."""
    _add(lambda resolved: rooms.emit(event_name, resolved, room, skip_sid=skip_sid), payload)


def queue_activity(
    event_name: str, payload, conversation_id: int, hidden: set[int], *, skip_sid: str | None = None
) -> None:
    """Like queue(), to a conversation's room but not to the sockets of the `hidden` users
    (rooms.emit_activity: those on either side of a block) nor to skip_sid."""
    _add(
        lambda resolved: rooms.emit_activity(event_name, resolved, conversation_id, hidden, skip_sid=skip_sid),
        payload,
    )


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the transaction commits (e.g. put sockets into a new conversation's room);
    never when it rolls back."""
    _add(lambda _resolved: action())


def pending_count() -> int:
    """How many events and actions wait for the current transaction's commit."""
    return len(_session().info.get(_PENDING, ()))


def has_written() -> bool:
    """Whether the current transaction wrote anything (flushed, ran an INSERT/UPDATE/DELETE through
    the session) or queued an event: it then holds something a commit would make permanent."""
    session = _session()
    return bool(session.info.get(_WROTE) or session.info.get(_PENDING))


# --- the listeners --------------------------------------------------------------------------------


def _resolve(session: Session) -> None:
    """Call the payload callables (before the commit, in the transaction). A callable may queue more."""
    done = 0
    while done < len(pending := session.info.get(_PENDING, [])):
        for item in pending[done:]:
            if item.resolved is None and item.payload is not None:
                item.resolved = item.payload() if callable(item.payload) else item.payload
            done += 1


def _before_commit(session: Session) -> None:
    if session.info.get(_PENDING) and not session.in_nested_transaction():
        _resolve(session)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its events wait for the real commit
        return
    session.info.pop(_WROTE, None)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for item in pending:
        try:
            item.send(item.resolved)
        except Exception:  # noqa: BLE001 - the commit stands; the clients catch up through sync
            log.exception("an event could not be sent after the commit")


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if previous.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_WROTE, None)
    elif pending and previous.nested:
        session.info[_PENDING] = [item for item in pending if not _within(item.transaction, previous)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (already sent), rolled back or closed: nothing is left
        session.info.pop(_PENDING, None)
        session.info.pop(_WROTE, None)


def _after_flush(session: Session, _flush_context) -> None:
    session.info[_WROTE] = True


def _do_orm_execute(state) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


def _register() -> None:
    # db.session's factory makes sessions of their own subclass: these reach this app's sessions only.
    for name, listener in (
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
        ("after_transaction_end", _after_transaction_end),
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
    ):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


_register()
