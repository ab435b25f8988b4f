"""Formatted text in the message services: sending, editing, forwarding and deleting store the body
as typed and its rendering (messages.body_html), made once; the fragment (M.html) shows that
rendering and carries the text as typed for Edit; a row without one is rendered on read."""

import re
import uuid

from sqlalchemy import update

from app.extensions import db
from app.models import Message
from app.serializers import message_dict
from app.services import editing, formatting, forwarding, messaging
from tests.conftest import door


def send(user, conversation, body, **extra) -> dict:
    return door(messaging.send_message, user, conversation.id, body, uuid.uuid4().hex, **extra)[0]


def row(message_id) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def body_of(fragment: str) -> str:
    """The inner HTML of a fragment's [data-body]."""
    return re.search(r"data-body\s+data-source=\"[^\"]*\">(.*?)</div>", fragment, re.DOTALL).group(1)


def test_a_sent_message_stores_its_text_and_its_rendering_with_its_mentions(group_and_chat, emitted):
    ana, bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "**ship it** @bob, not `@cyd`")
    stored = row(sent["id"])
    assert stored.body == sent["body"] == "**ship it** @bob, not `@cyd`"
    assert stored.body_html == formatting.render_message(stored.body, [{"id": bob.id, "username": "bob"}])
    assert stored.body_html == (
        f'<p><strong>ship it</strong> <a href="/u/bob" data-mention="other" data-mention-id="{bob.id}">@bob</a>,'
        " not <code>@cyd</code></p>"
    )
    assert [person["username"] for person in sent["mentions"]] == ["bob"]  # a name in code is no mention
    assert body_of(sent["html"]) == stored.body_html
    assert 'data-source="**ship it** @bob, not `@cyd`"' in sent["html"]
    # Every member got the same fragment; history reads the stored rendering back.
    assert [payload["html"] for event, payload, _room in emitted if event == "message"] == [sent["html"]]
    assert message_dict(stored)["html"] == sent["html"]


def test_an_edit_renders_the_new_text(group_and_chat):
    ana, _bob, cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "plain @bob")
    edited = door(editing.edit_message, ana, sent["id"], "> *quoted* @cyd")
    stored = row(sent["id"])
    assert stored.body == "> *quoted* @cyd"
    assert stored.body_html == (
        f'<blockquote>\n<p><em>quoted</em> <a href="/u/cyd" data-mention="other" data-mention-id="{cyd.id}">'
        "@cyd</a></p>\n</blockquote>"
    )
    assert body_of(edited["html"]) == stored.body_html and "/u/bob" not in edited["html"]


def test_a_forward_is_rendered_for_its_target_and_a_tombstone_has_none(group_and_chat):
    ana, _bob, _cyd, _dan, group, chat = group_and_chat
    original = send(ana, group, "~~old~~ news for @cyd")
    forward = door(forwarding.forward_message, ana, original["id"], chat.id, uuid.uuid4().hex)[0]
    # @cyd is not in the direct chat: there the name is text.
    assert row(forward["id"]).body_html == "<p><s>old</s> news for @cyd</p>"
    assert row(original["id"]).body_html.count("data-mention-id") == 1

    door(editing.delete_message, ana, original["id"])
    stored = row(original["id"])
    assert (stored.body, stored.body_html) == ("", "")
    assert body_of(message_dict(stored)["html"]) == ""


def test_a_row_without_a_rendering_is_rendered_on_read(group_and_chat):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    sent = send(ana, group, "*written* past the services")
    db.session.execute(update(Message).where(Message.id == sent["id"]).values(body_html=None))
    db.session.commit()
    assert body_of(message_dict(row(sent["id"]))["html"]) == "<p><em>written</em> past the services</p>"
