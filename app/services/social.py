"""Who may see, find, befriend and message whom: every such rule lives here.

Routes and socket handlers ask these functions; none decides on its own.
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.base import utcnow
from app.models.chat import Membership
from app.models.social import ACCEPTED, PENDING, Block, Friendship
from app.models.user import User, name_key
from app.services import ServiceError, accounts
from app.services.send_checks import drop_on_commit
from app.services.text import clean_line

SEARCH_PAGE_SIZE = 20
SEARCH_MAX_QUERY = 50
_PREFIX_END = "\U0010ffff"  # sorts after every character: `key < q + _PREFIX_END` bounds "starts with q"


class Relation(StrEnum):
    """How the viewer stands to another person."""

    SELF = "self"
    NONE = "none"
    REQUEST_SENT = "request_sent"
    REQUEST_RECEIVED = "request_received"
    FRIENDS = "friends"
    BLOCKED = "blocked"  # the viewer blocked them


class NotFound(ServiceError):
    """No such person, or one the viewer may not see (both answer alike)."""

    def __init__(self):
        super().__init__("There is no one with that username.", code="not_found")


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _friendship(a: int, b: int) -> Friendship | None:
    low, high = _pair(a, b)
    return db.session.scalar(select(Friendship).where(Friendship.user_low_id == low, Friendship.user_high_id == high))


def is_blocked_by(user_id: int, other_id: int) -> bool:
    """Whether other_id has blocked user_id."""
    return db.session.get(Block, (other_id, user_id)) is not None


def _relation_from(viewer_id: int, other_id: int, friendship: Friendship | None, blocked: bool) -> Relation:
    if viewer_id == other_id:
        return Relation.SELF
    if blocked:
        return Relation.BLOCKED
    if friendship is None:
        return Relation.NONE
    if friendship.status == ACCEPTED:
        return Relation.FRIENDS
    return Relation.REQUEST_SENT if friendship.requester_id == viewer_id else Relation.REQUEST_RECEIVED


def relation(viewer: User, other: User) -> Relation:
    """How viewer stands to other."""
    if viewer.id == other.id:
        return Relation.SELF
    blocked = db.session.get(Block, (viewer.id, other.id)) is not None
    return _relation_from(viewer.id, other.id, _friendship(viewer.id, other.id), blocked)


def relations(viewer: User, others: list[User]) -> dict[int, Relation]:
    """How viewer stands to each of others, in two queries whatever their number."""
    ids = [other.id for other in others if other.id != viewer.id]
    friendships, blocked = {}, set()
    if ids:
        rows = db.session.scalars(
            select(Friendship).where(
                or_(
                    and_(Friendship.user_low_id == viewer.id, Friendship.user_high_id.in_(ids)),
                    and_(Friendship.user_high_id == viewer.id, Friendship.user_low_id.in_(ids)),
                )
            )
        )
        friendships = {row.other_id(viewer.id): row for row in rows}
        blocked = set(
            db.session.scalars(select(Block.blocked_id).where(Block.blocker_id == viewer.id, Block.blocked_id.in_(ids)))
        )
    return {
        other.id: _relation_from(viewer.id, other.id, friendships.get(other.id), other.id in blocked)
        for other in others
    }


def visible_user(viewer: User, username: str) -> User:
    """The person with that username as the viewer may see them; NotFound if absent or if they blocked the viewer."""
    user = accounts.find_user(username)
    if user is None or (user.id != viewer.id and is_blocked_by(viewer.id, user.id)):
        raise NotFound()
    return user


# What decides whether someone may message the recipient, in one prepared query.
_MESSAGE_FACTS = select(
    User.username,
    User.message_policy,
    exists()
    .where(
        or_(
            and_(Block.blocker_id == bindparam("sender_id"), Block.blocked_id == bindparam("recipient_id")),
            and_(Block.blocker_id == bindparam("recipient_id"), Block.blocked_id == bindparam("sender_id")),
        )
    )
    .label("blocked"),
    exists()
    .where(
        Friendship.user_low_id == bindparam("low"),
        Friendship.user_high_id == bindparam("high"),
        Friendship.status == ACCEPTED,
    )
    .label("friends"),
).where(User.id == bindparam("recipient_id"))


def message_refusal(sender_id: int, recipient_id: int) -> str | None:
    """Why the sender may not start or continue a direct conversation with the recipient, or None if
    they may; one query, as the send path asks it for every direct message."""
    if sender_id == recipient_id:
        return "You can't message yourself."
    low, high = _pair(sender_id, recipient_id)
    recipient = (
        db.session.connection()
        .execute(_MESSAGE_FACTS, {"sender_id": sender_id, "recipient_id": recipient_id, "low": low, "high": high})
        .one_or_none()
    )
    if recipient is None:
        return "This account no longer exists."
    if recipient.blocked:
        return "You can't message this person."
    if recipient.message_policy == "friends" and not recipient.friends:
        return f"@{recipient.username} only accepts messages from friends."
    return None


def messageable_among(sender_id: int, recipients: list[User]) -> set[int]:
    """The ids of the recipients message_refusal would let the sender message, by its rules, in two
    queries whatever their number (the list of conversations one may write in)."""
    ids = {recipient.id for recipient in recipients if recipient.id != sender_id}
    if not ids:
        return set()
    blocked = activity_hidden(sender_id)
    needs_friendship = {recipient.id for recipient in recipients if recipient.message_policy == "friends"}
    friends_ = friend_ids(sender_id) if ids & needs_friendship else set()
    return {
        user_id
        for user_id in ids
        if user_id not in blocked and (user_id not in needs_friendship or user_id in friends_)
    }


def can_message(sender: User, recipient: User) -> bool:
    """Whether sender may start or continue a direct conversation with recipient."""
    return message_refusal(sender.id, recipient.id) is None


# --- friend requests ------------------------------------------------------------------------------


def send_request(viewer: User, username: str) -> str:
    """Ask to be friends; if they already asked the viewer, this makes the friendship. Returns the outcome."""
    other = visible_user(viewer, username)
    if other.id == viewer.id:
        raise ServiceError("You can't send a friend request to yourself.", code="self")
    if db.session.get(Block, (viewer.id, other.id)) is not None:
        raise ServiceError(f"You blocked @{other.username}. Unblock them first.", code="blocked")
    low, high = _pair(viewer.id, other.id)
    for _attempt in range(2):
        existing = _friendship(viewer.id, other.id)
        if existing is not None:
            return _answer_existing_request(viewer, other, existing)
        try:
            with db.session.begin_nested():
                db.session.add(Friendship(user_low_id=low, user_high_id=high, requester_id=viewer.id, status=PENDING))
            return f"Friend request sent to @{other.username}."
        except IntegrityError:
            # They (or another tab) created the row a moment ago: answer as if it had been there.
            pass
    raise ServiceError("Please try again.", code="conflict")


def _answer_existing_request(viewer: User, other: User, friendship: Friendship) -> str:
    if friendship.status == ACCEPTED:
        return f"You and @{other.username} are already friends."
    if friendship.requester_id == viewer.id:
        return f"Friend request to @{other.username} already sent."
    _accept(friendship)
    return f"You and @{other.username} are now friends."


def _accept(friendship: Friendship) -> None:
    friendship.status = ACCEPTED
    friendship.accepted_at = utcnow()
    db.session.flush()
    drop_on_commit(pairs=[(friendship.user_low_id, friendship.user_high_id)])


def accept_request(viewer: User, username: str) -> str:
    """Accept other's pending request to the viewer."""
    other = visible_user(viewer, username)
    friendship = _friendship(viewer.id, other.id)
    if friendship is not None and friendship.status == ACCEPTED:
        return f"You and @{other.username} are already friends."
    if friendship is None or friendship.requester_id != other.id:
        raise ServiceError(f"@{other.username} has not sent you a friend request.", code="no_request")
    _accept(friendship)
    return f"You and @{other.username} are now friends."


def _delete_pending(viewer: User, other: User, requester_id: int) -> bool:
    low, high = _pair(viewer.id, other.id)
    deleted = db.session.execute(
        delete(Friendship).where(
            Friendship.user_low_id == low,
            Friendship.user_high_id == high,
            Friendship.status == PENDING,
            Friendship.requester_id == requester_id,
        )
    ).rowcount
    return deleted > 0


def cancel_request(viewer: User, username: str) -> str:
    """Withdraw the viewer's pending request to other (a no-op if there is none)."""
    other = visible_user(viewer, username)
    if _delete_pending(viewer, other, requester_id=viewer.id):
        return f"Friend request to @{other.username} cancelled."
    return f"There is no pending request to @{other.username}."


def decline_request(viewer: User, username: str) -> str:
    """Turn down other's pending request (a no-op if there is none)."""
    other = visible_user(viewer, username)
    if _delete_pending(viewer, other, requester_id=other.id):
        return f"Friend request from @{other.username} declined."
    return f"There is no pending request from @{other.username}."


def remove_friend(viewer: User, username: str) -> str:
    """End a friendship (a no-op if there is none)."""
    other = visible_user(viewer, username)
    low, high = _pair(viewer.id, other.id)
    deleted = db.session.execute(
        delete(Friendship).where(
            Friendship.user_low_id == low, Friendship.user_high_id == high, Friendship.status == ACCEPTED
        )
    ).rowcount
    if deleted:
        drop_on_commit(pairs=[(low, high)])
        return f"You and @{other.username} are no longer friends."
    return f"You and @{other.username} were not friends."


# --- blocking -------------------------------------------------------------------------------------


def block(viewer: User, username: str) -> str:
    """Block other: ends any friendship or request between the two. Idempotent."""
    other = visible_user(viewer, username)
    if other.id == viewer.id:
        raise ServiceError("You can't block yourself.", code="self")
    low, high = _pair(viewer.id, other.id)
    db.session.execute(delete(Friendship).where(Friendship.user_low_id == low, Friendship.user_high_id == high))
    if db.session.get(Block, (viewer.id, other.id)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(Block(blocker_id=viewer.id, blocked_id=other.id))
        except IntegrityError:
            pass  # blocked twice at once: the other click's row stands
    drop_on_commit(pairs=[(low, high)])
    return f"You blocked @{other.username}. They can no longer find you, message you or send you requests."


def unblock(viewer: User, username: str) -> str:
    """Lift the viewer's block on other. Idempotent."""
    other = visible_user(viewer, username)
    db.session.execute(delete(Block).where(Block.blocker_id == viewer.id, Block.blocked_id == other.id))
    drop_on_commit(pairs=[(viewer.id, other.id)])
    return f"You unblocked @{other.username}."


# --- lists ----------------------------------------------------------------------------------------


def _other_side(viewer_id: int):
    return case((Friendship.user_low_id == viewer_id, Friendship.user_high_id), else_=Friendship.user_low_id)


def _people_in(viewer: User, condition) -> list[User]:
    other_id = _other_side(viewer.id)
    return list(
        db.session.scalars(
            select(User)
            .join(Friendship, User.id == other_id)
            .where(or_(Friendship.user_low_id == viewer.id, Friendship.user_high_id == viewer.id), condition)
            .order_by(User.username)
        )
    )


def friends(viewer: User) -> list[User]:
    """The viewer's friends, by username."""
    return _people_in(viewer, Friendship.status == ACCEPTED)


def incoming_requests(viewer: User) -> list[User]:
    """People waiting for the viewer to answer their request."""
    return _people_in(viewer, and_(Friendship.status == PENDING, Friendship.requester_id != viewer.id))


def outgoing_requests(viewer: User) -> list[User]:
    """People the viewer asked, who have not answered yet."""
    return _people_in(viewer, and_(Friendship.status == PENDING, Friendship.requester_id == viewer.id))


def incoming_request_count(viewer: User) -> int:
    """How many requests wait for the viewer's answer (the navigation badge)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Friendship)
        .where(
            or_(Friendship.user_low_id == viewer.id, Friendship.user_high_id == viewer.id),
            Friendship.status == PENDING,
            Friendship.requester_id != viewer.id,
        )
    )


def friend_ids(user_id: int) -> set[int]:
    """The ids of the user's friends."""
    other_id = _other_side(user_id)
    mine = or_(Friendship.user_low_id == user_id, Friendship.user_high_id == user_id)
    return set(db.session.scalars(select(other_id).where(mine, Friendship.status == ACCEPTED)))


def activity_hidden(user_id: int, conversation_id: int | None = None) -> set[int]:
    """Who may not receive the user's activity (typing, read position, presence), and whose activity
    the user may not receive: everyone the user blocked or was blocked by. With conversation_id, only
    that conversation's members (those a conversation-wide event would reach): one indexed query,
    however large the conversation."""
    blocked = select(Block.blocked_id).where(Block.blocker_id == user_id)
    blockers = select(Block.blocker_id).where(Block.blocked_id == user_id)
    if conversation_id is not None:
        members = select(Membership.user_id).where(Membership.conversation_id == conversation_id)
        blocked = blocked.where(Block.blocked_id.in_(members))
        blockers = blockers.where(Block.blocker_id.in_(members))
    return set(db.session.scalars(blocked.union(blockers)))


def blocked_users(viewer: User) -> list[User]:
    """The people the viewer blocked, by username."""
    return list(
        db.session.scalars(
            select(User)
            .join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == viewer.id)
            .order_by(User.username)
        )
    )


# --- search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """One person found, with how the viewer stands to them."""

    user: User
    relation: Relation


@dataclass(frozen=True)
class SearchPage:
    """One page of search results."""

    query: str
    results: list[SearchResult]
    page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        """Whether there is a page before this one."""
        return self.page > 1


def _starts_with(column, prefix: str):
    return and_(column >= prefix, column < prefix + _PREFIX_END)


def search_users(viewer: User, query: str, page: int = 1) -> SearchPage:
    """People whose username, first or last name starts with query (any case).

    Exact username first, then usernames that start with it, then names; never the viewer, nor
    anyone who blocked the viewer.
    """
    prefix = name_key(clean_line(query)[:SEARCH_MAX_QUERY]).lstrip("@")
    page = max(1, page)
    if not prefix:
        return SearchPage(query=query or "", results=[], page=1, has_next=False)
    blocked_viewer = exists().where(Block.blocker_id == User.id, Block.blocked_id == viewer.id)
    rank = case((User.username == prefix, 0), (_starts_with(User.username, prefix), 1), else_=2)
    rows = list(
        db.session.scalars(
            select(User)
            .where(
                or_(
                    _starts_with(User.username, prefix),
                    _starts_with(User.first_name_key, prefix),
                    _starts_with(User.last_name_key, prefix),
                ),
                User.id != viewer.id,
                ~blocked_viewer,
            )
            .order_by(rank, User.username)
            .offset((page - 1) * SEARCH_PAGE_SIZE)
            .limit(SEARCH_PAGE_SIZE + 1)
        )
    )
    has_next = len(rows) > SEARCH_PAGE_SIZE
    rows = rows[:SEARCH_PAGE_SIZE]
    states = relations(viewer, rows)
    return SearchPage(
        query=query, results=[SearchResult(user, states[user.id]) for user in rows], page=page, has_next=has_next
    )
