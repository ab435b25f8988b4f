"""Forwarding: a copy of a message into another conversation one may write in, that says whose words
it carries; its file copied, its text as it reads now; refused where one may not read or write, with
nothing stored; idempotent by client_id; delivered live; and the page without JavaScript."""

import re
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.chat import Attachment, Message
from app.serializers import DELETED_USER_NAME, message_dict
from app.services import attachments, conversations, editing, forwarding, messaging, profiles, social
from tests.conftest import TEST_PASSWORD, AuthActions, app_config, door, extract_csrf, refused
from tests.realtime import befriend, create_group, direct_chat, user_id

NOTES = "Shopping:\n- bread\n- café\n".encode()


def forward(user, message_id, conversation_id, client_id=None) -> dict:
    """forward_message with a fresh client_id, asserting it stored a new message; returns M."""
    payload, created = door(
        forwarding.forward_message, user, message_id, conversation_id, client_id or uuid.uuid4().hex
    )
    assert created is True
    return payload


def counts() -> tuple[int, int]:
    """How many messages and attachments are stored."""
    return db.session.scalar(select(func.count(Message.id))), db.session.scalar(select(func.count(Attachment.id)))


def sent_file(user, conversation_id, body="the list") -> dict:
    """Upload NOTES into the conversation and send it with a message; returns M."""
    upload = door(attachments.upload, user, conversation_id, "notes.txt", NOTES)
    payload, _created = door(
        messaging.send_message, user, conversation_id, body, uuid.uuid4().hex, attachment_id=upload.id
    )
    return payload


# --- the copy ------------------------------------------------------------------------------------


def test_a_forward_copies_the_text_as_it_reads_now_and_names_its_author(group_and_chat, emitted):
    """bob forwards ana's group message (a reply naming @ana and @cyd: it mentions cyd only, ana
    wrote it) into his chat with ana: a new message of bob's there, with the text, "forwarded from"
    ana, no reply relation, and the mentions a send of bob's would make there (ana; cyd is not in
    the chat); the
    chat's room is told. Editing or deleting the original afterwards leaves the copy as it was; the
    forward itself cannot be edited (its words are ana's)."""
    ana, bob, cyd, _dan, group, chat = group_and_chat
    first, _ = door(messaging.send_message, ana, group.id, "plans?", "first")
    original, _ = door(
        messaging.send_message, ana, group.id, "@ana and @cyd: friday", "second", reply_to_id=first["id"]
    )
    emitted.clear()

    copy = forward(bob, original["id"], chat.id)

    assert copy["conversation_id"] == chat.id and copy["id"] != original["id"]
    assert copy["sender"]["id"] == bob.id
    assert copy["body"] == "@ana and @cyd: friday"
    assert copy["forwarded_from"] == {"sender": {**copy["forwarded_from"]["sender"], "id": ana.id}}
    assert copy["forwarded_from"]["sender"]["username"] == ana.username
    assert copy["reply_to"] is None
    assert [mention["id"] for mention in original["mentions"]] == [cyd.id]
    assert [mention["id"] for mention in copy["mentions"]] == [ana.id]
    assert emitted == [("message", copy, f"conversation:{chat.id}")]
    assert message_dict(db.session.get(Message, copy["id"])) == copy  # stored as acknowledged
    assert original["forwarded_from"] is None
    assert message_dict(db.session.get(Message, first["id"]))["forwarded_from"] is None

    door(editing.edit_message, ana, original["id"], "changed my mind")
    door(editing.delete_message, ana, original["id"])
    assert message_dict(db.session.get(Message, copy["id"])) == copy
    refused(lambda: door(editing.edit_message, bob, copy["id"], "ana said yes"), "not_allowed")
    # the same conversation is a target too
    again = forward(bob, first["id"], group.id)
    assert (again["conversation_id"], again["forwarded_from"]["sender"]["id"]) == (group.id, ana.id)


def test_a_forward_of_a_forward_names_the_first_author_and_survives_their_account(group_and_chat):
    """cyd forwards bob's forward of ana's words: it names ana. Once ana deletes her account, both
    forwards still say they are forwards, from "Deleted user"; a message of hers forwarded after
    that names "Deleted user" too. Deleting a forward leaves a plain tombstone."""
    ana, bob, cyd, _dan, group, chat = group_and_chat
    words, _ = door(messaging.send_message, ana, group.id, "ana's words", "words")
    later, _ = door(messaging.send_message, ana, group.id, "more words", "later")
    bobs = forward(bob, words["id"], group.id)
    cyds = forward(cyd, bobs["id"], group.id)
    assert cyds["forwarded_from"]["sender"]["id"] == ana.id and cyds["sender"]["id"] == cyd.id

    profiles.delete_account(ana, TEST_PASSWORD)
    db.session.expire_all()
    for forwarded in (bobs, cyds):
        stored = message_dict(db.session.get(Message, forwarded["id"]))
        assert stored["forwarded_from"]["sender"] == {**stored["forwarded_from"]["sender"], "id": None}
        assert stored["forwarded_from"]["sender"]["display_name"] == DELETED_USER_NAME
        assert stored["body"] == "ana's words"
    orphan = forward(bob, later["id"], group.id)
    assert orphan["forwarded_from"]["sender"]["display_name"] == DELETED_USER_NAME

    tombstone = door(editing.delete_message, cyd, cyds["id"])
    assert tombstone["deleted"] is True and tombstone["forwarded_from"] is None


def test_a_forwarded_file_is_a_copy_that_downloads_and_outlives_the_original(group_and_chat):
    """ana's file sent in the group, forwarded by bob into his chat with her: a new attachment of the
    chat, uploaded by bob, with the same bytes, name and type, which ana downloads from the chat;
    deleting the group message removes the original's file and not the copy. A forward of a
    file-only message (no text) works too."""
    ana, bob, _cyd, dan, group, chat = group_and_chat
    original = sent_file(ana, group.id)
    copy = forward(bob, original["id"], chat.id)

    assert copy["attachment"]["id"] != original["attachment"]["id"]
    assert {key: copy["attachment"][key] for key in ("filename", "content_type", "size", "kind")} == {
        key: original["attachment"][key] for key in ("filename", "content_type", "size", "kind")
    }
    row = db.session.get(Attachment, copy["attachment"]["id"])
    assert (row.conversation_id, row.uploader_id) == (chat.id, bob.id)
    assert attachments.download(ana, copy["attachment"]["id"]).data == NOTES
    refused(lambda: attachments.download(dan, copy["attachment"]["id"]), "not_found")

    door(editing.delete_message, ana, original["id"])
    assert db.session.get(Attachment, original["attachment"]["id"]) is None
    assert attachments.download(bob, copy["attachment"]["id"]).data == NOTES
    assert message_dict(db.session.get(Message, copy["id"]))["attachment"] == copy["attachment"]

    only_file = sent_file(ana, group.id, body="")
    bare = forward(bob, only_file["id"], group.id)
    assert bare["body"] == "" and attachments.download(ana, bare["attachment"]["id"]).data == NOTES


def test_a_forwarded_file_counts_against_the_daily_upload_budget(database_url):
    """With a budget of one file a day, bob's forward of ana's file is refused (`quota`) once he
    uploaded one himself: nothing stored."""
    from app import create_app
    from app.services import accounts

    app = create_app(app_config(database_url, ATTACHMENT_DAILY_QUOTA_BYTES=len(NOTES) + 10))
    with app.test_request_context():
        ana = door(accounts.register_user, "quota_ana", TEST_PASSWORD)
        bob = door(accounts.register_user, "quota_bob", TEST_PASSWORD)
        door(social.send_request, ana, bob.username)
        door(social.accept_request, bob, ana.username)
        chat = door(conversations.open_direct, ana, bob.username)
        original = sent_file(ana, chat.id)
        sent_file(bob, chat.id)
        before = counts()
        refused(lambda: door(forwarding.forward_message, bob, original["id"], chat.id, "over-budget"), "quota")
        assert counts() == before
        db.session.remove()
        db.engine.dispose()


# --- refusals --------------------------------------------------------------------------------------


def test_a_forward_across_a_block_or_into_a_group_one_left_is_refused_and_stores_nothing(group_and_chat):
    """Into the chat with ana after she blocked bob: not_allowed (as send_message says). Into the
    group cyd left: not_found. A file message is tried so a stray copy of the file would show."""
    ana, bob, cyd, dan, group, chat = group_and_chat
    with_file = sent_file(ana, group.id)
    door(social.block, ana, bob.username)
    before = counts()
    error = refused(
        lambda: door(forwarding.forward_message, bob, with_file["id"], chat.id, "across-block"), "not_allowed"
    )
    assert error.message == "You can't message this person."
    assert counts() == before

    cyd_dan = door(conversations.open_direct, cyd, dan.username)
    theirs, _ = door(messaging.send_message, cyd, cyd_dan.id, "for the group", "for-group")
    door(conversations.leave, cyd, group.id)
    before = counts()
    refused(lambda: door(forwarding.forward_message, cyd, theirs["id"], group.id, "after-leaving"), "not_found")
    refused(lambda: door(forwarding.forward_message, cyd, with_file["id"], cyd_dan.id, "from-left"), "not_found")
    assert counts() == before


def test_a_foreign_unknown_or_deleted_message_is_refused(group_and_chat):
    """dan, in none of ana's conversations, forwarding her group message gets exactly what an id
    nobody has gets (not_found); bob forwarding a deleted message gets not_allowed; a malformed
    client_id is invalid. Nothing is stored."""
    ana, bob, _cyd, dan, group, chat = group_and_chat
    door(social.send_request, dan, ana.username)
    door(social.accept_request, ana, dan.username)
    dans_chat = door(conversations.open_direct, dan, ana.username)
    message, _ = door(messaging.send_message, ana, group.id, "team only", "team-only")
    gone, _ = door(messaging.send_message, ana, group.id, "oops", "oops")
    door(editing.delete_message, ana, gone["id"])
    before = counts()

    foreign = refused(lambda: door(forwarding.forward_message, dan, message["id"], dans_chat.id, "f1"), "not_found")
    unknown = refused(lambda: door(forwarding.forward_message, dan, 2**31 - 1, dans_chat.id, "f2"), "not_found")
    assert (foreign.message, foreign.field) == (unknown.message, unknown.field)
    for odd in ("1", None, [message["id"]], True, 2**40):
        refused(lambda odd=odd: door(forwarding.forward_message, dan, odd, dans_chat.id, "f3"), "not_found")
    refused(lambda: door(forwarding.forward_message, bob, gone["id"], chat.id, "f4"), "not_allowed")
    refused(lambda: door(forwarding.forward_message, bob, message["id"], chat.id, "bad id!"), "invalid")
    refused(lambda: door(forwarding.forward_message, bob, message["id"], 2**31 - 1, "f5"), "not_found")
    assert counts() == before


def test_a_retry_with_the_same_client_id_returns_the_first_forward(group_and_chat, emitted):
    """The same forward sent again (a lost ack) returns the stored one, stores no message and no
    second copy of the file, and tells no one again; the same client_id into another conversation is
    a duplicate."""
    ana, bob, _cyd, _dan, group, chat = group_and_chat
    original = sent_file(ana, group.id)
    first, created = door(forwarding.forward_message, bob, original["id"], chat.id, "fwd-1")
    assert created is True
    before, told = counts(), len(emitted)

    again, created = door(forwarding.forward_message, bob, original["id"], chat.id, "fwd-1")
    assert (again, created) == (first, False)
    assert counts() == before and len(emitted) == told
    refused(lambda: door(forwarding.forward_message, bob, original["id"], group.id, "fwd-1"), "duplicate")
    assert counts() == before


# --- where one may forward to ---------------------------------------------------------------------


def test_the_writable_conversations_are_those_send_refusal_allows(group_and_chat, client):
    """conversations.writable(): every conversation of the user that send_refusal lets them write in
    (the group; the chat with ana until she blocks bob; not a chat whose partner takes messages from
    friends only), in the list's order, and GET /api/conversations/writable says the same."""
    ana, bob, cyd, dan, group, chat = group_and_chat
    with_dan = door(conversations.open_direct, bob, dan.username)
    dan.message_policy = "friends"
    db.session.commit()

    def ids(user):
        found = [summary.conversation.id for summary in conversations.writable(user)]
        allowed = [
            summary.conversation.id
            for summary in conversations.summaries(user)
            if conversations.send_refusal(user, summary.conversation) is None
        ]
        assert found == allowed
        return set(found)

    assert ids(bob) == {group.id, chat.id}
    door(social.block, ana, bob.username)
    assert ids(bob) == {group.id} and ids(ana) == {group.id}
    assert with_dan.id not in ids(bob) and ids(cyd) == {group.id}

    auth = AuthActions(client)
    assert auth.login(bob.username).status_code == 302
    listed = client.get("/api/conversations/writable").get_json()["conversations"]
    assert [row["id"] for row in listed] == [summary.conversation.id for summary in conversations.writable(bob)]
    assert {"id", "title", "kind", "avatar_url", "url"} <= listed[0].keys()


# --- live ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("live_server", ["sqlite", "postgres"], indirect=True)
def test_a_forward_reaches_the_target_rooms_members_live(live_server, http_user, open_socket):
    """On a real server: bob forwards ana's direct message into a group of ana's with bob and cyd;
    the ack is the M that cyd's and ana's tabs receive as "message", forwarded from ana; dan, in
    none of it, receives nothing and forwarding that message himself is not_found."""
    ana, bob, cyd, dan = (http_user().register() for _ in range(4))
    befriend(ana, bob)
    befriend(ana, cyd)
    dm = direct_chat(ana, bob)
    bob_id, cyd_id = user_id(bob, dm), None
    group_seed = direct_chat(ana, cyd)
    cyd_id = user_id(cyd, group_seed)
    group = create_group(ana, [bob_id, cyd_id])
    ana_tab, bob_tab, cyd_tab, dan_tab = (open_socket(user) for user in (ana, bob, cyd, dan))
    words = ana_tab.send(dm, "meet at noon")

    ack = bob_tab.call(
        "forward_message", {"message_id": words["id"], "conversation_id": group, "client_id": uuid.uuid4().hex}
    )
    assert ack["ok"] is True, ack
    copy = ack["message"]
    assert copy["forwarded_from"]["sender"]["username"] == ana.username
    assert copy["sender"]["username"] == bob.username and copy["body"] == "meet at noon"
    assert cyd_tab.wait_for("message", lambda data: data["id"] == copy["id"]) == [copy]
    assert ana_tab.wait_for("message", lambda data: data["id"] == copy["id"]) == [copy]
    refused_ack = dan_tab.call(
        "forward_message", {"message_id": words["id"], "conversation_id": group, "client_id": uuid.uuid4().hex}
    )
    assert (refused_ack["ok"], refused_ack["error"]) == (False, "not_found")
    assert dan_tab.received("message") == []


# --- without JavaScript ----------------------------------------------------------------------------


def test_the_page_without_javascript_lists_the_targets_and_forwards(group_and_chat, client):
    """GET /messages/<id>/forward shows the message and a radio button per conversation bob may write
    in (not the chat with ana once she blocked him); POST with the page's client_id forwards and
    redirects to the target, whose page says "Forwarded from" ana; posting the page again stores
    nothing more; a blocked target is refused on the page (422); another's message is 404; a deleted
    one goes back to its conversation."""
    ana, bob, _cyd, dan, group, chat = group_and_chat
    original, _ = door(messaging.send_message, ana, chat.id, "see you friday", "nojs")
    other_chat = door(conversations.open_direct, bob, dan.username)
    auth = AuthActions(client)
    assert auth.login(bob.username).status_code == 302

    page = client.get(f"/messages/{original['id']}/forward")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "see you friday" in html
    listed = {int(value) for value in re.findall(r'name="conversation_id"\s+value="(\d+)"', html)}
    assert listed == {group.id, chat.id, other_chat.id}
    client_id = re.search(r'name="client_id" type="hidden" value="([^"]+)"', html).group(1)
    form = {"conversation_id": str(group.id), "client_id": client_id, "csrf_token": extract_csrf(html)}

    done = client.post(f"/messages/{original['id']}/forward", data=form)
    assert done.status_code == 302 and done.headers["Location"].startswith(f"/c/{group.id}")
    before = counts()
    assert client.post(f"/messages/{original['id']}/forward", data=form).status_code == 302
    assert counts() == before
    shown = client.get(f"/c/{group.id}").get_data(as_text=True)
    assert re.search(r"Forwarded from\s*<span[^>]*data-forwarded-name>" + re.escape(ana.display_name), shown)

    door(social.block, ana, bob.username)
    html = client.get(f"/messages/{original['id']}/forward").get_data(as_text=True)
    assert f'value="{chat.id}"' not in html
    form.update(conversation_id=str(chat.id), client_id=uuid.uuid4().hex)
    refused_page = client.post(f"/messages/{original['id']}/forward", data=form)
    assert refused_page.status_code == 422 and "You can&#39;t message this person." in refused_page.get_data(
        as_text=True
    )
    assert counts() == before

    dans = door(messaging.send_message, dan, other_chat.id, "for bob", "dan-1")[0]
    door(editing.delete_message, dan, dans["id"])
    gone = client.get(f"/messages/{dans['id']}/forward")
    assert gone.status_code == 302 and gone.headers["Location"].startswith(f"/c/{other_chat.id}")
    team, _ = door(messaging.send_message, ana, group.id, "team", "team")
    door(conversations.leave, bob, group.id)
    assert client.get(f"/messages/{team['id']}/forward").status_code == 404
    assert client.post(f"/messages/{team['id']}/forward", data=form).status_code == 404


def test_each_message_links_to_its_forward_page_whose_picker_comes_alone_for_the_dialog(group_and_chat, client):
    """On the chat page every stored message has a Forward link to its forward page and a forward has
    no Edit button; `partial=1` answers only the picker (the form and its radio buttons, no page, no
    ids that would repeat the composer's), with a new client_id each time; a deleted message's picker
    is 410, leaving no flash behind for a later page."""
    ana, bob, _cyd, _dan, group, chat = group_and_chat
    original, _ = door(messaging.send_message, ana, chat.id, "see you friday", "dialog")
    forwarded = forward(bob, original["id"], group.id)
    auth = AuthActions(client)
    assert auth.login(bob.username).status_code == 302

    page = client.get(f"/c/{group.id}").get_data(as_text=True)
    assert f'href="/messages/{forwarded["id"]}/forward"' in page
    item = re.search(rf'<li[^>]*data-id="{forwarded["id"]}".*?</li>', page, re.S).group(0)
    assert 'data-action="forward"' in item and 'aria-label="Forward"' in item
    assert 'data-action="edit"' not in item
    chat_page = client.get(f"/c/{chat.id}").get_data(as_text=True)
    own = re.search(rf'<li[^>]*data-id="{original["id"]}".*?</li>', chat_page, re.S)
    assert 'data-action="edit"' in own.group(0)  # drawn (hidden) on a message that is not a forward

    first = client.get(f"/messages/{original['id']}/forward?partial=1")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "<html" not in html and "Forward message" not in html
    assert "data-forward-form" in html and "see you friday" in html
    assert {int(value) for value in re.findall(r'name="conversation_id"\s+value="(\d+)"', html)} == {group.id, chat.id}
    assert 'id="client_id"' not in html and 'id="csrf_token"' not in html
    client_ids = {
        re.search(r'name="client_id" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
        for response in (first, client.get(f"/messages/{original['id']}/forward?partial=1"))
    }
    assert len(client_ids) == 2

    door(editing.delete_message, ana, original["id"])
    assert client.get(f"/messages/{original['id']}/forward?partial=1").status_code == 410
    assert "That message was deleted." not in client.get(f"/c/{chat.id}").get_data(as_text=True)
