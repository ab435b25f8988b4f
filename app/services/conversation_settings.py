"""A member's own settings of a conversation: muted, pinned to the top of their list, archived.

Each setting is the member's alone (nobody else sees or is told of it). Muting silences
notifications (a mention still notifies) and keeps the conversation out of the navigation's unread
total; pinning puts it at the top of the list (the most recently pinned first); archiving moves it
out of the list until a message arrives, unless it is muted too (see ConversationSummary.archived).
"""

from app import events
from app.models.base import utcnow
from app.serializers import conversation_dict
from app.services import ServiceError, rooms
from app.services.conversations import require_member, summaries

SETTINGS = ("muted", "pinned", "archived")


def check_settings(values: dict) -> dict[str, bool]:
    """The settings given (those not None), each a bool; ServiceError (`invalid`) when none is given
    or one is not a bool."""
    given = {name: value for name, value in values.items() if value is not None}
    if not given:
        raise ServiceError("Say which of muted, pinned or archived to change.", code="invalid")
    for name, value in given.items():
        if not isinstance(value, bool):
            raise ServiceError(f"{name} must be true or false.", name, code="invalid")
    return given


def set_settings(user, conversation_id, muted=None, pinned=None, archived=None, *, skip_sid: str | None = None) -> dict:
    """Change the user's settings of a conversation they are in; returns its C as they now see it and
    queues it as "conversation_settings" to their sockets (but `skip_sid`, the socket that asked).

    pinned=True pins it anew (a re-pin moves it to the top), archived=True archives it as of now;
    False clears either. Nothing changes when a value is refused."""
    given = check_settings({"muted": muted, "pinned": pinned, "archived": archived})
    membership = require_member(user, conversation_id)
    now = utcnow()
    if "muted" in given:
        membership.muted = given["muted"]
    if "pinned" in given:
        membership.pinned_at = now if given["pinned"] else None
    if "archived" in given:
        membership.archived_at = now if given["archived"] else None
    conversation = conversation_dict(summaries(user, membership.conversation_id)[0])
    events.queue("conversation_settings", conversation, rooms.user_room(user.id), skip_sid=skip_sid)
    return conversation
