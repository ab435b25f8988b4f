"""Conversations: who is in which, direct chats, groups and community rooms.

`require_member` is the one membership check every page, API call and socket event goes through
(`require_member_target` is the same check returning a plain row, for the per-message paths);
unknown and forbidden conversations answer alike.
"""

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import and_, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

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
from app.models.user import User
from app.services import ServiceError, is_db_int, names, rooms, social

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
    """require_member's check as one Core query returning a plain row: ORM loading costs more than
    the query on the paths taken for every message and keystroke."""
    conversation_id, user_id = _membership_key(user, conversation_id)
    parameters = {"conversation_id": conversation_id, "user_id": user_id}
    row = db.session.connection().execute(_MEMBER_TARGET, parameters).one_or_none()
    if row is None:
        raise ConversationNotFound()
    return MemberTarget(*row)


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


def send_refusal(user: User, conversation: Conversation | MemberTarget) -> str | None:
    """Why the user may not write in this conversation right now, or None if they may."""
    if conversation.kind != DIRECT:
        return None
    low, high = (int(part) for part in conversation.direct_key.split(":"))
    return social.message_refusal(user.id, high if low == user.id else low)


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
    db.session.add(conversation)
    try:
        db.session.flush()
        db.session.add_all([Membership(conversation_id=conversation.id, user_id=uid) for uid in (user.id, other.id)])
        db.session.commit()
    except IntegrityError:
        # The other person opened the same chat a moment ago: use theirs.
        db.session.rollback()
        return db.session.scalar(select(Conversation).where(Conversation.direct_key == key))
    for uid in (user.id, other.id):
        rooms.join_user_sockets(uid, rooms.conversation_room(conversation.id))
    return conversation


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
    db.session.commit()
    for uid in [owner.id, *(friend.id for friend in chosen)]:
        rooms.join_user_sockets(uid, rooms.conversation_room(conversation.id))
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
    db.session.commit()
    return conversation


def add_members(user: User, conversation_id: int, user_ids) -> int:
    """The owner adds friends to the group; returns how many were added."""
    conversation = _require_owner(user, conversation_id)
    present = set(member_ids(conversation.id))
    chosen = [friend for friend in _friends_among(user, user_ids) if friend.id not in present]
    if len(present) + len(chosen) > GROUP_MAX_MEMBERS:
        raise ServiceError(f"A group has at most {GROUP_MAX_MEMBERS} members.", "members")
    db.session.add_all(Membership(conversation_id=conversation.id, user_id=friend.id) for friend in chosen)
    db.session.commit()
    for friend in chosen:
        rooms.join_user_sockets(friend.id, rooms.conversation_room(conversation.id))
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
    db.session.commit()
    if dropped:
        rooms.leave_user_sockets(user_id, rooms.conversation_room(conversation_id))
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
    db.session.commit()
    return room


def set_moderator(conversation_id: int, user: User, moderator: bool) -> None:
    """Make a member of a community room its moderator, or a plain member again."""
    membership = db.session.get(Membership, (conversation_id, user.id)) if is_db_int(conversation_id, 1) else None
    room = db.session.get(Conversation, conversation_id) if membership else None
    if room is None or room.kind != ROOM:
        raise ServiceError(f"@{user.username} is not in a community room with id {conversation_id}.", code="not_found")
    membership.role = MODERATOR if moderator else MEMBER
    db.session.commit()


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
        db.session.add(
            Membership(
                conversation_id=conversation.id, user_id=user.id, role=MEMBER, last_read_seq=conversation.last_seq
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # joined twice at once
        rooms.join_user_sockets(user.id, rooms.conversation_room(conversation.id))
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
