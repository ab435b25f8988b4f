"""Who is online: a user is online while at least one of their tabs has a socket open.

The count is kept in this worker's memory; with several workers it moves to Redis (see the
production work). Presence is announced to the people who can see it: members of the user's
conversations and their friends.
"""

import threading
from collections import Counter

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import Membership
from app.models.user import User
from app.serializers import iso
from app.services import rooms, social

_connections: Counter = Counter()
_lock = threading.Lock()


def is_online(user_id: int) -> bool:
    """Whether the user has a socket open."""
    return _connections[user_id] > 0


def audience(user: User) -> set[int]:
    """Who sees the user's presence: everyone in a conversation with them, and their friends."""
    mine = select(Membership.conversation_id).where(Membership.user_id == user.id)
    sharing = db.session.scalars(select(Membership.user_id).where(Membership.conversation_id.in_(mine)).distinct())
    return ({*sharing} | {friend.id for friend in social.friends(user)}) - {user.id}


def _announce(user: User, online: bool) -> None:
    payload = {"user_id": user.id, "online": online, "last_seen": iso(user.last_seen_at)}
    # One event per person, however many conversations they share with the user.
    for user_id in audience(user):
        rooms.emit("presence", payload, rooms.user_room(user_id))


def connected(user: User) -> None:
    """A socket of the user opened; announce them when it is their first."""
    with _lock:
        _connections[user.id] += 1
        first = _connections[user.id] == 1
    if first:
        _announce(user, online=True)


def disconnected(user_id: int) -> None:
    """A socket of the user closed; when it was their last, record and announce "last seen"."""
    with _lock:
        _connections[user_id] -= 1
        last = _connections[user_id] <= 0
        if last:
            del _connections[user_id]
    if not last:
        return
    user = db.session.get(User, user_id)
    if user is None:  # the account was just deleted
        return
    user.last_seen_at = utcnow()
    db.session.commit()
    _announce(user, online=False)
