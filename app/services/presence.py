"""Who is online: a user is online while at least one of their tabs has a socket open, on any worker.

The sockets are counted by the socket registry (in Redis when there are several workers). Presence
is pushed to the people close to the user (friends, and those sharing a direct chat or a group with
them); community rooms show it on their page only. Nobody on either side of a block
sees the other's presence (social.activity_hidden, the rule typing and read receipts follow too).

Going offline is debounced: when the last socket closes, the user stays online for
PRESENCE_GRACE_SECONDS. A socket opened within it (a reload, a reconnect, a page change) announces
nothing; only a user still gone after it gets "last seen" written and announced, once.
"""

import logging

from flask import current_app
from sqlalchemy import select

from app import events
from app.extensions import db, socketio
from app.models.base import utcnow
from app.models.chat import ROOM, Conversation, Membership
from app.models.user import User
from app.serializers import iso
from app.services import rooms, social
from app.services.socket_registry import registry
from app.transactions import transaction

log = logging.getLogger(__name__)


def online_among(user_ids) -> set[int]:
    """Which of these users are online (one lookup for all)."""
    return registry().online(list(user_ids))


def audience(user: User) -> set[int]:
    """Who is told when the user comes online or goes offline: friends and the people sharing a
    direct chat or a group with them, minus blocks either way. Not filtered by who is online: a tab
    that has just joined its user's room may not be registered yet, and would miss the news."""
    mine = (
        select(Membership.conversation_id)
        .join(Conversation, Conversation.id == Membership.conversation_id)
        .where(Membership.user_id == user.id, Conversation.kind != ROOM)
    )
    sharing = set(db.session.scalars(select(Membership.user_id).where(Membership.conversation_id.in_(mine))))
    return (sharing | social.friend_ids(user.id)) - social.activity_hidden(user.id) - {user.id}


def snapshot(user: User) -> list[dict]:
    """{user_id, online, last_seen} of everyone in the user's audience (presence is mutual): what a
    newly connected tab is sent, since news from between its page's drawing and its connecting
    never reached it."""
    people = sorted(audience(user))
    if not people:
        return []
    online = online_among(people)
    last_seen = dict(db.session.execute(select(User.id, User.last_seen_at).where(User.id.in_(people))).all())
    return [
        {"user_id": user_id, "online": user_id in online, "last_seen": iso(last_seen.get(user_id))}
        for user_id in people
        if user_id in last_seen
    ]


def _announce(user: User, online: bool) -> None:
    payload = {"user_id": user.id, "online": online, "last_seen": iso(user.last_seen_at)}
    # One event per person, however many conversations they share with the user.
    for user_id in audience(user):
        events.queue("presence", payload, rooms.user_room(user_id))


def connected(user: User, sid: str, session_id: str, address: str = "") -> None:
    """A socket of the user opened; announce them when it is their first and they were not within
    the grace of leaving. Raises TooManySockets (nothing recorded) when the user or the address is
    at SOCKETS_PER_USER or SOCKETS_PER_ADDRESS."""
    config = current_app.config
    first = registry().add(
        sid,
        user.id,
        rooms.session_key(session_id),
        address,
        max_per_user=config["SOCKETS_PER_USER"],
        max_per_address=config["SOCKETS_PER_ADDRESS"],
    )
    if first:
        _announce(user, online=True)


def disconnected(sid: str) -> None:
    """A socket closed; when it was its user's last, they go offline unless a socket of theirs opens
    within PRESENCE_GRACE_SECONDS."""
    grace = current_app.config["PRESENCE_GRACE_SECONDS"]
    user_id, last, token = registry().leave(sid, grace)
    if not last:
        return
    if token is None:
        went_offline(user_id)
        return
    _pending[token] = user_id
    socketio.start_background_task(_after_grace, current_app._get_current_object(), user_id, token, grace)


# The leaving users this worker will settle (token -> user id), for stop() to settle at once.
_pending: dict[str, int] = {}


def _after_grace(app, user_id: int, token: str, grace: float) -> None:
    socketio.sleep(grace)
    _settle(app, user_id, token)


def _settle(app, user_id: int, token: str) -> None:
    if _pending.pop(token, None) is None:
        return  # already settled (by settle_pending)
    with app.app_context():
        try:
            if registry().finish_leaving(user_id, token):
                with transaction():
                    went_offline(user_id)
        except Exception:  # noqa: BLE001 - Redis or the database away: presence_snapshot corrects it
            log.warning("could not record user %s offline", user_id, exc_info=True)
        finally:
            db.session.remove()


def settle_pending(app) -> None:
    """Settle every user this worker is waiting on now (a stopping worker will not be there later)."""
    for token, user_id in list(_pending.items()):
        _settle(app, user_id, token)


def went_offline(user_id: int) -> None:
    """The user's last socket is gone: record "last seen" and tell their audience (on the commit)."""
    user = db.session.get(User, user_id)
    if user is None:  # the account was just deleted
        return
    user.last_seen_at = utcnow()
    db.session.flush()
    _announce(user, online=False)
