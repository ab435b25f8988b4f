"""Conversations: who is in which, direct chats, groups and community rooms.

`require_member` is the one membership check every page, API call and socket event goes through
(`require_member_target` is the same check returning a plain row, for the per-message paths);
unknown and forbidden conversations answer alike.
"""

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, contains_eager

from app import events
from app.extensions import db
from app.models.chat import (
    DIRECT,
    GROUP,
    MEMBER,
    MODERATOR,
    OWNER,
    ROOM,
    TITLE_MAX_LENGTH,
    Conversation,
    Membership,
    Mention,
    Message,
)
from app.models.user import User, name_key
from app.services import ServiceError, is_db_int, names, page_size, rooms, social
from app.services.send_checks import drop_on_commit, send_checks
from app.services.text import clean_line

GROUP_MAX_MEMBERS = 256


class ConversationNotFound(ServiceError):
    """No such conversation, or one the user is not in (both answer alike)."""

    def __init__(self):
        super().__init__("There is no such conversation.", code="not_found")


def require_member(user: User, conversation_id) -> Membership:
    """The user's membership of the conversation; ConversationNotFound if there is none."""
    membership = db.session.get(Membership, _membership_key(user, conversation_id))
    if membership is None:
        raise ConversationNotFound()
    return membership


def _membership_key(user: User, conversation_id) -> tuple[int, int]:
    """The primary key of the user's membership; ConversationNotFound for an impossible id."""
    if not is_db_int(conversation_id, minimum=1):
        raise ConversationNotFound()
    return conversation_id, user.id


class MemberTarget(NamedTuple):
    """A conversation the user is in, as the hot paths (send, typing) need it."""

    conversation_id: int
    kind: str
    direct_key: str | None


_MEMBER_TARGET = (
    select(Conversation.id, Conversation.kind, Conversation.direct_key)
    .join(Membership, Membership.conversation_id == Conversation.id)
    .where(Membership.conversation_id == bindparam("conversation_id"), Membership.user_id == bindparam("user_id"))
)


def require_member_target(user: User, conversation_id) -> MemberTarget:
    """require_member's check as one Core query returning a plain row (ORM loading costs more than
    the query), held by the worker (app.services.send_checks): the paths taken for every message
    and keystroke."""
    conversation_id, user_id = _membership_key(user, conversation_id)

    def load() -> MemberTarget:
        parameters = {"conversation_id": conversation_id, "user_id": user_id}
        row = db.session.connection().execute(_MEMBER_TARGET, parameters).one_or_none()
        if row is None:
            raise ConversationNotFound()
        return MemberTarget(*row)

    return send_checks().member_target(conversation_id, user_id, load)


def member_ids(conversation_id: int) -> list[int]:
    """The ids of everyone in the conversation."""
    return list(db.session.scalars(select(Membership.user_id).where(Membership.conversation_id == conversation_id)))


def members(conversation_id: int) -> list[Membership]:
    """Everyone in the conversation with their user loaded, by display order (owner first, then name)."""
    rows = db.session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.conversation_id == conversation_id)
        .order_by((Membership.role == OWNER).desc(), User.username)
    )
    return list(rows)


MEMBERS_PAGE_MAX = 100


def _member_rank():
    return case((Membership.role == OWNER, 0), else_=1)


def member_page(
    conversation_id: int, cursor: str | None = None, limit: int = 20
) -> tuple[list[Membership], str | None]:
    """One page of the members in display order (owner first, then by username), after `cursor`
    (the `next_cursor` of the page before; None: from the start), at most `limit` (1..100); and the
    cursor of the next page, None after the last. An unreadable cursor is `invalid`."""
    if not isinstance(limit, int) or not 1 <= limit <= MEMBERS_PAGE_MAX:
        raise ServiceError(f"limit must be from 1 to {MEMBERS_PAGE_MAX}.", "limit", code="invalid")
    query = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.conversation_id == conversation_id)
        .order_by(_member_rank(), User.username)
        .limit(limit + 1)
    )
    if cursor is not None:
        rank, _, username = str(cursor).partition(":")
        if rank not in ("0", "1") or not username or len(username) > 64:
            raise ServiceError("cursor is not one this list gave.", "cursor", code="invalid")
        query = query.where(tuple_(_member_rank(), User.username) > tuple_(int(rank), username))
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = f"{0 if last.role == OWNER else 1}:{last.user.username}" if more and last else None
    return rows, next_cursor


def member_count(conversation_id: int) -> int:
    """How many members the conversation has."""
    return db.session.scalar(select(func.count()).where(Membership.conversation_id == conversation_id))


def seen_by(user: User, conversation_id: int) -> dict:
    """{"seq", "count"}: the user's latest message in the conversation (None without one) and how many
    other members have read up to it, leaving out anyone on either side of a block with the user
    (their read positions are not shown). Two small queries, however large the conversation."""
    seq = db.session.scalar(
        select(func.max(Message.seq)).where(Message.conversation_id == conversation_id, Message.sender_id == user.id)
    )
    if seq is None:
        return {"seq": None, "count": 0}
    hidden = social.activity_hidden(user.id, conversation_id)
    readers = select(func.count()).where(
        Membership.conversation_id == conversation_id,
        Membership.user_id != user.id,
        Membership.last_read_seq >= seq,
    )
    if hidden:
        readers = readers.where(Membership.user_id.not_in(hidden))
    return {"seq": seq, "count": db.session.scalar(readers)}


MEMBER_SEARCH_DEFAULT = 8
MEMBER_SEARCH_MAX = 20
MEMBER_SEARCH_MAX_QUERY = 50
_PREFIX_END = "\U0010ffff"  # sorts after every character: `key < q + _PREFIX_END` bounds "starts with q"


def _starts_with(column, prefix: str):
    return and_(column >= prefix, column < prefix + _PREFIX_END)


def find_members(user: User, conversation_id, query, limit=None) -> list[Membership]:
    """The other members of a conversation the user is in whose username, first or last name
    starts with `query` (any case; a leading "@" ignored; empty: anyone), at most `limit`:
    usernames that start with it first, then names, each by username. What `@` suggests."""
    membership = require_member(user, conversation_id)
    limit = page_size(limit, MEMBER_SEARCH_DEFAULT, MEMBER_SEARCH_MAX)
    if not isinstance(query, str) or len(query) > MEMBER_SEARCH_MAX_QUERY:
        raise ServiceError(f"q must be text of at most {MEMBER_SEARCH_MAX_QUERY} characters.", "q", code="invalid")
    prefix = name_key(clean_line(query)).removeprefix("@")
    statement = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .options(contains_eager(Membership.user))
        .where(Membership.conversation_id == membership.conversation_id, Membership.user_id != user.id)
    )
    if prefix:
        statement = statement.where(
            or_(
                _starts_with(User.username, prefix),
                _starts_with(User.first_name_key, prefix),
                _starts_with(User.last_name_key, prefix),
            )
        ).order_by(case((_starts_with(User.username, prefix), 0), else_=1))
    return list(db.session.scalars(statement.order_by(User.username).limit(limit)))


def send_refusal(user: User, conversation: Conversation | MemberTarget) -> str | None:
    """Why the user may not write in this conversation right now, or None if they may (held by the
    worker: app.services.send_checks)."""
    if conversation.kind != DIRECT:
        return None
    low, high = (int(part) for part in conversation.direct_key.split(":"))
    other = high if low == user.id else low
    return send_checks().refusal(user.id, other, lambda: social.message_refusal(user.id, other))


# --- creating and joining -------------------------------------------------------------------------


def _direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def open_direct(user: User, username: str) -> Conversation:
    """The one direct chat between the user and `username`, created if they may message each other."""
    other = social.visible_user(user, username)
    if other.id == user.id:
        raise ServiceError("You can't start a chat with yourself.", code="self")
    key = _direct_key(user.id, other.id)
    existing = db.session.scalar(select(Conversation).where(Conversation.direct_key == key))
    if existing is not None:
        return existing
    refusal = social.message_refusal(user.id, other.id)
    if refusal:
        raise ServiceError(refusal, code="not_allowed")
    conversation = Conversation(kind=DIRECT, direct_key=key, title="")
    try:
        with db.session.begin_nested():
            db.session.add(conversation)
            db.session.flush()
            db.session.add_all(
                [Membership(conversation_id=conversation.id, user_id=uid) for uid in (user.id, other.id)]
            )
    except IntegrityError:
        # The other person opened the same chat a moment ago: use theirs.
        return db.session.scalar(select(Conversation).where(Conversation.direct_key == key))
    _join_on_commit([user.id, other.id], conversation.id)
    return conversation


def _join_on_commit(user_ids, conversation_id: int) -> None:
    """Once the transaction commits, put the users' open sockets into the conversation's room."""
    room = rooms.conversation_room(conversation_id)
    for uid in user_ids:
        events.after_commit(lambda uid=uid: rooms.join_user_sockets(uid, room))


def check_title(title: str) -> str:
    """A cleaned group or room title (no invisible characters: app.names), or ServiceError."""
    title = names.clean_name(title, "title", TITLE_MAX_LENGTH, what="The name")
    if not title:
        raise ServiceError("Give the group a name.", "title")
    return title


def _friends_among(user: User, user_ids) -> list[User]:
    wanted = {uid for uid in user_ids if is_db_int(uid, minimum=1)}
    return [friend for friend in social.friends(user) if friend.id in wanted]


def create_group(owner: User, title: str, member_ids) -> Conversation:
    """A named group of the owner and some of their friends."""
    title = check_title(title)
    chosen = _friends_among(owner, member_ids)
    if len(set(member_ids)) != len(chosen):
        raise ServiceError("You can only add your friends.", "members")
    if len(chosen) + 1 > GROUP_MAX_MEMBERS:
        raise ServiceError(f"A group has at most {GROUP_MAX_MEMBERS} members.", "members")
    conversation = Conversation(kind=GROUP, title=title, owner_id=owner.id)
    db.session.add(conversation)
    db.session.flush()
    db.session.add(Membership(conversation_id=conversation.id, user_id=owner.id, role=OWNER))
    db.session.add_all(Membership(conversation_id=conversation.id, user_id=friend.id) for friend in chosen)
    db.session.flush()
    _join_on_commit([owner.id, *(friend.id for friend in chosen)], conversation.id)
    return conversation


def _require_owner(user: User, conversation_id) -> Conversation:
    membership = require_member(user, conversation_id)
    conversation = db.session.get(Conversation, membership.conversation_id)
    if conversation.kind != GROUP:
        raise ServiceError("Only groups have these settings.", code="not_group")
    if membership.role != OWNER:
        raise ServiceError("Only the group's owner can do that.", code="forbidden")
    return conversation


def rename_group(user: User, conversation_id: int, title: str) -> Conversation:
    """The owner renames the group."""
    conversation = _require_owner(user, conversation_id)
    conversation.title = check_title(title)
    db.session.flush()
    return conversation


def add_members(user: User, conversation_id: int, user_ids) -> int:
    """The owner adds friends to the group; returns how many were added."""
    conversation = _require_owner(user, conversation_id)
    present = set(member_ids(conversation.id))
    chosen = [friend for friend in _friends_among(user, user_ids) if friend.id not in present]
    if len(present) + len(chosen) > GROUP_MAX_MEMBERS:
        raise ServiceError(f"A group has at most {GROUP_MAX_MEMBERS} members.", "members")
    db.session.add_all(Membership(conversation_id=conversation.id, user_id=friend.id) for friend in chosen)
    db.session.flush()
    _join_on_commit([friend.id for friend in chosen], conversation.id)
    return len(chosen)


def remove_member(user: User, conversation_id: int, user_id: int) -> None:
    """The owner removes someone from the group."""
    conversation = _require_owner(user, conversation_id)
    if not is_db_int(user_id, minimum=1):
        raise ServiceError("There is no such member.", code="not_found")
    if user_id == user.id:
        raise ServiceError("To leave your own group, use Leave group.", code="self")
    if not _drop_membership(conversation.id, user_id):
        raise ServiceError("There is no such member.", code="not_found")


def _drop_membership(conversation_id: int, user_id: int) -> bool:
    """Remove the membership; False when there was none."""
    dropped = db.session.execute(
        delete(Membership).where(Membership.conversation_id == conversation_id, Membership.user_id == user_id)
    ).rowcount
    if dropped:
        drop_on_commit(members=[(conversation_id, user_id)])
        room = rooms.conversation_room(conversation_id)
        events.after_commit(lambda: rooms.leave_user_sockets(user_id, room))
    return bool(dropped)


def leave(user: User, conversation_id: int) -> Conversation:
    """Leave a group or a room. An owner who leaves hands the group to its longest member."""
    membership = require_member(user, conversation_id)
    conversation = db.session.get(Conversation, membership.conversation_id)
    if conversation.kind == DIRECT:
        raise ServiceError("You can't leave a direct chat.", code="direct")
    if membership.role == OWNER:
        heir = db.session.scalar(
            select(Membership)
            .where(Membership.conversation_id == conversation.id, Membership.user_id != user.id)
            .order_by(Membership.joined_at, Membership.user_id)
        )
        conversation.owner_id = heir.user_id if heir else None
        if heir is not None:
            heir.role = OWNER
    _drop_membership(conversation.id, user.id)
    return conversation


def create_room(title: str) -> Conversation:
    """A new public community room (an operator's action)."""
    room = Conversation(kind=ROOM, title=check_title(title))
    db.session.add(room)
    db.session.flush()
    return room


def set_moderator(conversation_id: int, user: User, moderator: bool) -> None:
    """Make a member of a community room its moderator, or a plain member again."""
    membership = db.session.get(Membership, (conversation_id, user.id)) if is_db_int(conversation_id, 1) else None
    room = db.session.get(Conversation, conversation_id) if membership else None
    if room is None or room.kind != ROOM:
        raise ServiceError(f"@{user.username} is not in a community room with id {conversation_id}.", code="not_found")
    membership.role = MODERATOR if moderator else MEMBER
    db.session.flush()


def community_rooms() -> list[tuple[Conversation, int]]:
    """Every community room with its member count, by title."""
    counts = (
        select(Membership.conversation_id, func.count().label("members"))
        .group_by(Membership.conversation_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Conversation, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.conversation_id == Conversation.id)
        .where(Conversation.kind == ROOM)
        .order_by(Conversation.title)
    )
    return [(conversation, count) for conversation, count in rows]


def join_room(user: User, conversation_id: int) -> Conversation:
    """Join a community room (a no-op when already in it)."""
    conversation = db.session.get(Conversation, conversation_id) if is_db_int(conversation_id, 1) else None
    if conversation is None or conversation.kind != ROOM:
        raise ConversationNotFound()
    if db.session.get(Membership, (conversation.id, user.id)) is None:
        # Start at the present: the room's history is there to scroll, not to count as unread.
        try:
            with db.session.begin_nested():
                db.session.add(
                    Membership(
                        conversation_id=conversation.id,
                        user_id=user.id,
                        role=MEMBER,
                        last_read_seq=conversation.last_seq,
                    )
                )
        except IntegrityError:
            pass  # joined twice at once
        _join_on_commit([user.id], conversation.id)
    return conversation


# --- the conversation list ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation as a member sees it in their list."""

    conversation: Conversation
    membership: Membership
    last_message: Message | None
    unread_count: int
    other: User | None = None  # the partner of a direct chat
    unread_mentions: int = 0  # messages after the read position that mention the member

    @property
    def archived(self) -> bool:
        """Archived, and still so: muted, or no message arrived since (a new one brings it back)."""
        archived_at = self.membership.archived_at
        if archived_at is None:
            return False
        last = self.conversation.last_message_at
        return self.membership.muted or last is None or last <= archived_at


def summaries(user: User, conversation_id: int | None = None) -> list[ConversationSummary]:
    """The user's conversations, pinned first (the most recently pinned first), then newest activity
    first, in two queries whatever their number."""
    last = aliased(Message)
    unread = (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.seq > Membership.last_read_seq,
            or_(Message.sender_id.is_(None), Message.sender_id != user.id),
        )
        .correlate(Conversation, Membership)
        .scalar_subquery()
    )
    mentions = _unread_mentions(user)
    query = (
        select(Conversation, Membership, last, unread, mentions)
        .join(Membership, and_(Membership.conversation_id == Conversation.id, Membership.user_id == user.id))
        .outerjoin(last, and_(last.conversation_id == Conversation.id, last.seq == Conversation.last_seq))
        .order_by(
            Membership.pinned_at.is_(None),
            Membership.pinned_at.desc(),
            func.coalesce(Conversation.last_message_at, Conversation.created_at).desc(),
            Conversation.id.desc(),
        )
    )
    if conversation_id is not None:
        query = query.where(Conversation.id == conversation_id)
    rows = db.session.execute(query).all()
    partners = direct_partners(user, [conversation.id for conversation, *_ in rows if conversation.kind == DIRECT])
    return [
        ConversationSummary(
            conversation,
            membership,
            message,
            count or 0,
            partners.get(conversation.id),
            unread_mentions=mention_count or 0,
        )
        for conversation, membership, message, count, mention_count in rows
    ]


def writable(user: User) -> list[ConversationSummary]:
    """The user's conversations they may write in now (send_refusal finds nothing against them), in
    the list's order: where a message can be forwarded. A direct chat whose partner is gone, blocked
    either way or takes messages from friends only (and is not one) is left out."""
    found = summaries(user)
    partners = [summary.other for summary in found if summary.conversation.kind == DIRECT and summary.other]
    open_to = social.messageable_among(user.id, partners)
    return [
        summary
        for summary in found
        if summary.conversation.kind != DIRECT or (summary.other is not None and summary.other.id in open_to)
    ]


def direct_partners(user: User, conversation_ids) -> dict[int, User]:
    """{conversation id: the other person} for the user's direct chats among `conversation_ids`
    (a chat whose partner deleted their account is missing: "Deleted user")."""
    if not conversation_ids:
        return {}
    rows = db.session.execute(
        select(Membership.conversation_id, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.conversation_id.in_(conversation_ids), Membership.user_id != user.id)
    )
    return dict(rows.all())


def _unread_mentions(user: User):
    """How many messages after the membership's read position mention the user (a scalar subquery
    correlated with Membership; one index range: ix_mentions_user_id_conversation_id_seq)."""
    return (
        select(func.count())
        .select_from(Mention)
        .where(
            Mention.user_id == user.id,
            Mention.conversation_id == Membership.conversation_id,
            Mention.seq > Membership.last_read_seq,
        )
        .correlate(Membership)
        .scalar_subquery()
    )


def unread_conversation_count(user: User) -> int:
    """How many of the user's conversations have messages they have not read (the navigation badge).
    A muted conversation counts only while it holds an unread mention of the user."""
    return db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(Conversation, Conversation.id == Membership.conversation_id)
        .where(
            Membership.user_id == user.id,
            Conversation.last_seq > Membership.last_read_seq,
            or_(Membership.muted.is_(False), _unread_mentions(user) > 0),
        )
    )
