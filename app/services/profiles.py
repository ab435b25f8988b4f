"""Your own account: profile details, privacy, your data, and deleting the account."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.chat import Message
from app.models.user import BIO_MAX_LENGTH, MESSAGE_POLICIES, User
from app.serializers import iso
from app.services import ServiceError, accounts, avatars, social
from app.services.text import clean_multiline


def check_bio(value: str) -> str:
    """Return the cleaned bio, or raise ServiceError if it is too long."""
    bio = clean_multiline(value)
    if len(bio) > BIO_MAX_LENGTH:
        raise ServiceError(f"Your bio can be at most {BIO_MAX_LENGTH} characters.", "bio")
    return bio


def update_profile(user: User, username: str, first_name: str, last_name: str, bio: str) -> str | None:
    """Change names, bio and username (under the same rules as at sign-up). Returns
    accounts.lookalike_warning() when the display name changed to one like someone else's."""
    username = accounts.check_username(username)
    first_name = accounts.check_name(first_name, "first_name")
    last_name = accounts.check_name(last_name, "last_name")
    bio = check_bio(bio)
    if username != user.username:
        taken = db.session.scalar(select(User.id).where(User.username == username, User.id != user.id))
        if taken is not None:
            raise ServiceError("That username is taken.", "username", code="username_taken")
    name_before = user.name_skeleton
    user.username, user.first_name, user.last_name, user.bio = username, first_name, last_name, bio
    try:
        db.session.flush()
    except IntegrityError:
        raise ServiceError("That username is taken.", "username", code="username_taken") from None
    return accounts.lookalike_warning(user) if user.name_skeleton != name_before else None


def set_message_policy(user: User, policy: str) -> None:
    """Choose who may message the user: "everyone" or "friends"."""
    if policy not in MESSAGE_POLICIES:
        raise ServiceError("Choose everyone or friends only.", "message_policy")
    user.message_policy = policy
    db.session.flush()  # read on the send path's own connection (social.message_refusal)


def _person(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name}


def export_data(user: User) -> dict:
    """Everything the account holds about the user, as plain JSON-ready data."""
    return {
        "profile": {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "bio": user.bio,
            "member_since": user.created_at.isoformat(),
            "avatar": user.avatar.name if user.avatar else ("uploaded picture" if user.avatar_upload else None),
            "who_can_message_me": user.message_policy,
        },
        "friends": [_person(friend) for friend in social.friends(user)],
        "friend_requests_received": [_person(other) for other in social.incoming_requests(user)],
        "friend_requests_sent": [_person(other) for other in social.outgoing_requests(user)],
        "blocked": [_person(other) for other in social.blocked_users(user)],
        "messages": [
            {
                "conversation_id": message.conversation_id,
                "seq": message.seq,
                "sent_at": iso(message.created_at),
                "body": message.body,
            }
            for message in db.session.scalars(
                select(Message)
                .where(Message.sender_id == user.id)
                .order_by(Message.id)
                .execution_options(yield_per=500)
            )
        ],
    }


def delete_account(user: User, password: str) -> None:
    """Delete the account after checking the password: profile, picture, friendships, requests and
    blocks go; every session of it stops working (its user no longer loads)."""
    accounts.check_current_password(user, password, "password", "That is not your password.")
    upload = user.avatar_upload
    db.session.delete(user)
    db.session.flush()
    if upload:
        avatars.forget_upload(upload)
