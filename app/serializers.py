"""One dict shape per payload, shared by the JSON API, the socket events and the pages' data."""

import re
from urllib.parse import urlsplit

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import select

from app.extensions import db
from app.models.chat import (
    DIRECT,
    IMAGE,
    PREVIEW_READY,
    Attachment,
    Conversation,
    LinkPreview,
    Mention,
    Message,
    Reaction,
)
from app.models.user import User, display_name_of
from app.services.formatting import render_message

DELETED_USER_NAME = "Deleted user"


def iso(moment) -> str | None:
    """A timestamp as ISO 8601 in UTC."""
    return moment.isoformat() if moment is not None else None


def user_dict(user: User | None) -> dict:
    """{id, username, display_name, avatar_url}; a deleted account shows as "Deleted user"."""
    if user is None:
        return {
            "id": None,
            "username": None,
            "display_name": DELETED_USER_NAME,
            "avatar_url": url_for("static", filename="img/deleted-user.svg"),
        }
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "avatar_url": user.avatar_url}


REPLY_PREVIEW_LENGTH = 140


def attachment_dict(attachment: Attachment | None) -> dict | None:
    """The attachment A of docs/protocol.md, or None."""
    if attachment is None:
        return None
    image = attachment.kind == IMAGE
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "url": url_for("attachments.download", attachment_id=attachment.id, filename=attachment.filename),
        "thumbnail_url": url_for("attachments.thumbnail", attachment_id=attachment.id) if image else None,
    }


def link_preview_dict(preview: LinkPreview | None) -> dict | None:
    """The card L of docs/protocol.md of a message's first link, once fetched (None before, after a
    failed fetch, and with LINK_PREVIEWS off): {url, host, title, description, site_name, image_url,
    image_width, image_height}; the picture is served by our own route, never by the other site."""
    if preview is None or preview.status != PREVIEW_READY or not current_app.config.get("LINK_PREVIEWS"):
        return None
    image_url = (
        url_for("attachments.link_preview_image", preview_id=preview.id, image_hash=preview.image_hash)
        if preview.image_hash
        else None
    )
    return {
        "url": preview.url,
        "host": (urlsplit(preview.url).hostname or "").removeprefix("www."),
        "title": preview.title,
        "description": preview.description,
        "site_name": preview.site_name,
        "image_url": image_url,
        "image_width": preview.image_width,
        "image_height": preview.image_height,
    }


def reply_preview(body: str) -> str:
    """The start of a message's text a reply's quote shows (at most REPLY_PREVIEW_LENGTH characters)."""
    body = body or ""
    return body if len(body) <= REPLY_PREVIEW_LENGTH else body[: REPLY_PREVIEW_LENGTH - 1] + "…"


def fragment(template: str, **context) -> str:
    """A viewer-neutral partial rendered to HTML (the `html` of M and C): no request, user or page
    context, so the same markup can go to every member."""
    return current_app.jinja_env.get_template(template).render(**context)


def reply_dict(original: Message | None) -> dict | None:
    """What a reply shows of the message it answers: a short preview, or the tombstone."""
    if original is None:
        return None
    deleted = original.deleted_at is not None
    body = "" if deleted else original.body
    return {
        "id": original.id,
        "seq": original.seq,
        "sender": user_dict(original.sender),
        "preview": reply_preview(body),
        "deleted": deleted,
        "attachment_kind": None if deleted or original.attachment is None else original.attachment.kind,
    }


def forwarded_dict(forwarded: bool, author: User | None) -> dict | None:
    """What a forward says of the words it carries: {sender: U} of their author ("Deleted user" once
    that account is gone); None for a message that is not a forward."""
    return {"sender": user_dict(author)} if forwarded else None


def message_dict(message: Message) -> dict:
    """The message payload M of docs/protocol.md (for many messages, message_dicts is one query each
    for their reactions and mentions instead of one per message)."""
    return message_dicts([message])[0]


def message_dicts(messages: list[Message], kinds: dict[int, str] | None = None) -> list[dict]:
    """M for each message, in the same order, each with its fragment. `kinds`: {conversation id:
    kind} when the caller has them (else one query finds them)."""
    ids = [message.id for message in messages]
    (reactions, reactor_names), mentions = _reactions_of(ids), _mentions_of(ids)
    if kinds is None:
        kinds = _kinds_of({message.conversation_id for message in messages})
    return [
        message_payload(
            message.id,
            message.conversation_id,
            message.seq,
            user_dict(message.sender),
            message.body,
            message.client_id,
            message.created_at,
            edited_at=message.edited_at,
            deleted_at=message.deleted_at,
            reply_to=reply_dict(message.reply_to),
            attachment=attachment_dict(message.attachment),
            reactions=reactions.get(message.id, []),
            mentions=mentions.get(message.id, []),
            kind=kinds.get(message.conversation_id, DIRECT),
            reactor_names=reactor_names.get(message.id),
            forwarded_from=forwarded_dict(message.forwarded and message.deleted_at is None, message.forwarded_from),
            body_html=message.body_html,
            link_preview=link_preview_dict(message.link_preview) if message.deleted_at is None else None,
        )
        for message in messages
    ]


def _kinds_of(conversation_ids: set[int]) -> dict[int, str]:
    if not conversation_ids:
        return {}
    rows = db.session.execute(
        select(Conversation.id, Conversation.kind).where(Conversation.id.in_(sorted(conversation_ids)))
    )
    return {conversation_id: kind for conversation_id, kind in rows}


def _reactions_of(message_ids: list[int]) -> tuple[dict[int, list[dict]], dict[int, dict[str, list[str]]]]:
    """({message id: [{emoji, count, user_ids}]}, each emoji in the order it was first given;
    {message id: {emoji: the reactors' display names, as user_ids}}) (the names go only into the
    fragment's chip titles)."""
    found: dict[int, dict[str, list[int]]] = {}
    names: dict[int, dict[str, list[str]]] = {}
    if message_ids:
        rows = db.session.execute(
            select(Reaction.message_id, Reaction.emoji, Reaction.user_id)
            .add_columns(User.first_name, User.last_name, User.username)
            .outerjoin(User, User.id == Reaction.user_id)
            .where(Reaction.message_id.in_(message_ids))
            .order_by(Reaction.message_id, Reaction.created_at, Reaction.user_id)
        )
        for message_id, emoji, user_id, first_name, last_name, username in rows:
            found.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
            name = display_name_of(first_name, last_name, username) if username else DELETED_USER_NAME
            names.setdefault(message_id, {}).setdefault(emoji, []).append(name)
    reactions = {
        message_id: [{"emoji": emoji, "count": len(users), "user_ids": users} for emoji, users in by_emoji.items()]
        for message_id, by_emoji in found.items()
    }
    return reactions, names


def _mentions_of(message_ids: list[int]) -> dict[int, list[dict]]:
    """{message id: [{id, username}]} of the members each message mentions."""
    found: dict[int, list[dict]] = {}
    if message_ids:
        rows = db.session.execute(
            select(Mention.message_id, User.id, User.username)
            .join(User, User.id == Mention.user_id)
            .where(Mention.message_id.in_(message_ids))
            .order_by(Mention.message_id, User.username)
        )
        for message_id, user_id, username in rows:
            found.setdefault(message_id, []).append({"id": user_id, "username": username})
    return found


def message_payload(
    message_id: int,
    conversation_id: int,
    seq: int,
    sender: dict,
    body: str,
    client_id: str | None,
    created_at,
    *,
    edited_at=None,
    deleted_at=None,
    reply_to: dict | None = None,
    attachment: dict | None = None,
    reactions: list | None = None,
    mentions: list | None = None,
    kind: str = DIRECT,
    reactor_names: dict[str, list[str]] | None = None,
    forwarded_from: dict | None = None,
    body_html: str | None = None,
    link_preview: dict | None = None,
) -> dict:
    """M from its values, for the send path, which has them all without loading a Message, with its
    fragment `html` (chat/_message.html, rendered once for every recipient and kept by what it is
    drawn from: app/fragment_cache.py). `kind`: the
    conversation's (a group's or room's messages name their sender's @username); `reactor_names`:
    {emoji: display names} for the reaction chips' titles; `body_html`: the body as stored rendered
    (messages.body_html; rendered here only for a row that has none)."""
    payload = {
        "id": message_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "sender": sender,
        "body": body,
        "client_id": client_id,
        "created_at": iso(created_at),
        "edited_at": iso(edited_at),
        "deleted": deleted_at is not None,
        "reply_to": reply_to,
        "attachment": attachment,
        "reactions": reactions or [],
        "mentions": mentions or [],
        "forwarded_from": forwarded_from,
        "link_preview": link_preview,
    }
    if body_html is None:
        body_html = render_message(body, mentions) if deleted_at is None else ""
    group_like, reactor_names = kind != DIRECT, reactor_names or {}
    payload["html"] = current_app.extensions["message_fragments"].get_or_render(
        (payload, str(body_html), group_like, reactor_names),
        lambda: fragment(
            "chat/_message.html",
            m=payload,
            body_html=Markup(body_html),
            group_like=group_like,
            reactor_names=reactor_names,
        ),
    )
    return payload


def _title_initials(title: str) -> str:
    letters = [word[0] for word in re.findall(r"\w+", title)][:2]
    return "".join(letters).upper() or "#"


def conversation_dict(summary) -> dict:
    """The conversation payload C: one row of a person's conversation list."""
    return conversation_dicts([summary])[0]


def conversation_dicts(summaries) -> list[dict]:
    """C for each summary, their last messages serialized together."""
    last = [summary.last_message for summary in summaries if summary.last_message is not None]
    kinds = {summary.conversation.id: summary.conversation.kind for summary in summaries}
    last_dicts = dict(zip([message.id for message in last], message_dicts(last, kinds), strict=True))
    return [_conversation_dict(summary, last_dicts) for summary in summaries]


def _heading(conversation, other: User | None) -> tuple[str, str, str, str | None]:
    """A conversation's title, avatar URL, URL and username (a direct chat's partner's, shown beside
    the title; else None) as a member sees it (`other`: a direct chat's partner, None once their
    account is deleted)."""
    if conversation.kind == DIRECT:
        title = other.display_name if other else DELETED_USER_NAME
        avatar_url = user_dict(other)["avatar_url"]
        url = (
            url_for("chat.direct", username=other.username)
            if other
            else url_for("chat.conversation", conversation_id=conversation.id)
        )
        return title, avatar_url, url, other.username if other else None
    title = conversation.title
    initials = _title_initials(title)
    avatar_url = (
        url_for("people.initials_avatar", initials=initials, colour=conversation.id)
        if initials.isalnum()
        else url_for("static", filename="img/deleted-user.svg")
    )
    return title, avatar_url, url_for("chat.conversation", conversation_id=conversation.id), None


def _conversation_dict(summary, last_dicts: dict) -> dict:
    conversation, membership = summary.conversation, summary.membership
    title, avatar_url, url, username = _heading(conversation, summary.other)
    payload = {
        "id": conversation.id,
        "kind": conversation.kind,
        "title": title,
        "username": username,
        "avatar_url": avatar_url,
        "url": url,
        "unread_count": summary.unread_count,
        "unread_mentions": summary.unread_mentions,
        "muted": membership.muted,
        "pinned": membership.pinned_at is not None,
        "archived": summary.archived,
        "last_seq": conversation.last_seq,
        "last_read_seq": membership.last_read_seq,
        "last_message": last_dicts[summary.last_message.id] if summary.last_message else None,
    }
    payload["html"] = fragment("chat/_conversation_row.html", c=payload)
    return payload


def member_dict(membership, online: bool, activity_visible: bool = True) -> dict:
    """A conversation member P: the person, their role, presence and read position; across a block
    (activity_visible false) offline, no last seen and no read position (null)."""
    return {
        **user_dict(membership.user),
        "role": membership.role,
        "online": online and activity_visible,
        "last_seen": iso(membership.user.last_seen_at) if activity_visible else None,
        "last_read_seq": membership.last_read_seq if activity_visible else None,
    }


def member_dicts(memberships, viewer_id: int, online: set[int] | None = None) -> list[dict]:
    """member_dict of each membership (of one conversation) as the viewer sees it: presence (`online`,
    the ids online, when the caller knows them), and what a block hides."""
    from app.services import presence, social  # presence imports this module

    memberships = list(memberships)
    if online is None:
        online = presence.online_among(membership.user_id for membership in memberships)
    conversation_id = memberships[0].conversation_id if memberships else None
    hidden = social.activity_hidden(viewer_id, conversation_id)
    return [
        member_dict(membership, membership.user_id in online, membership.user_id not in hidden)
        for membership in memberships
    ]


def search_result_dicts(hits) -> list[dict]:
    """One {message: M, conversation: {id, kind, title, url}, snippet: [[text, matched], ...]} per search
    hit (app.services.search.SearchHit), in the same order."""
    kinds = {hit.conversation.id: hit.conversation.kind for hit in hits}
    messages = message_dicts([hit.message for hit in hits], kinds)
    results = []
    for hit, message in zip(hits, messages, strict=True):
        results.append(
            {
                "message": message,
                "conversation": conversation_ref(hit.conversation, hit.other),
                "snippet": [[text, matched] for text, matched in hit.snippet],
            }
        )
    return results


def conversation_ref(conversation, other: User | None) -> dict:
    """{id, kind, title, url} of a conversation as a member sees it (`other`: a direct chat's
    partner, whose name is its title)."""
    title, _avatar_url, url, _username = _heading(conversation, other)
    return {"id": conversation.id, "kind": conversation.kind, "title": title, "url": url}
