"""Rendered message fragments kept by what they are drawn from (app/fragment_cache.py): a message
drawn again comes from the cache, and every change to what it shows draws it afresh."""

import uuid

from app.fragment_cache import FragmentCache
from app.serializers import message_dict, message_dicts
from app.services import editing, messaging, profiles, reactions
from tests.conftest import door
from tests.test_message_edits import row


def send(user, conversation, body):
    return door(messaging.send_message, user, conversation.id, body, uuid.uuid4().hex)[0]


def fragments(app) -> FragmentCache:
    return app.extensions["message_fragments"]


def test_a_message_drawn_again_is_the_kept_fragment(app, group_and_chat):
    ana, *_rest, group, _chat = group_and_chat
    sent = send(ana, group, "kept")  # the send draws it once, for every member
    cache = fragments(app)
    hits, misses = cache.hits, cache.misses

    again = [message_dict(row(sent["id"])) for _ in range(3)]

    assert [m["html"] for m in again] == [sent["html"]] * 3
    assert (cache.hits - hits, cache.misses - misses) == (3, 0)


def test_every_change_to_what_a_message_shows_draws_it_afresh(app, group_and_chat):
    ana, bob, *_rest, group, _chat = group_and_chat
    sent = send(ana, group, "first words")
    shown = [sent["html"]]

    def current():
        html = message_dict(row(sent["id"]))["html"]
        assert html not in shown, "a change must not show a fragment drawn before it"
        shown.append(html)
        return html

    door(editing.edit_message, ana, sent["id"], "second words")
    assert "second words" in current()
    door(reactions.react, bob, sent["id"], "👍", True)
    assert "👍" in current()
    door(profiles.update_profile, ana, ana.username, "Anabel", "Lima", "")
    assert "Anabel Lima" in current()
    door(editing.delete_message, ana, sent["id"])
    assert "second words" not in current()


def test_a_page_of_messages_draws_only_those_it_has_not_drawn(app, group_and_chat):
    ana, bob, *_rest, group, _chat = group_and_chat
    sent = [send(ana if n % 2 else bob, group, f"message {n}") for n in range(6)]
    cache = fragments(app)
    misses = cache.misses
    history = messaging.history(ana, group.id)[0]
    assert [m["html"] for m in message_dicts(history)] == [m["html"] for m in sent]
    assert cache.misses == misses


def test_the_cache_keeps_at_most_its_size_and_none_at_size_zero():
    kept = FragmentCache(2)
    drawn = []

    def render(text):
        drawn.append(text)
        return f"<li>{text}</li>"

    for text in ("a", "b", "c", "a"):
        assert kept.get_or_render({"body": text}, lambda text=text: render(text)) == f"<li>{text}</li>"
    assert len(kept) == 2 and drawn == ["a", "b", "c", "a"]  # "a" was the least recently used
    assert kept.get_or_render({"body": "c"}, lambda: render("c")) == "<li>c</li>" and drawn[-1] == "a"

    off = FragmentCache(0)
    for _ in range(2):
        off.get_or_render({"body": "x"}, lambda: render("x"))
    assert len(off) == 0 and drawn[-2:] == ["x", "x"]
