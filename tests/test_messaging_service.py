"""Conversations and messages: app.services.conversations and app.services.messaging."""

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Conversation, Membership, Message, User
from app.services import ServiceError, conversations, messaging, social
from app.services.conversations import ConversationNotFound
from app.transactions import transaction
from tests.conftest import app_config, run_concurrently


@pytest.fixture
def trio(make_user):
    """ana and bob are friends with a direct chat; cyd is a stranger."""
    ana, bob, cyd = make_user("ana", first_name="Ana"), make_user("bob", first_name="Bob"), make_user("cyd")
    with transaction():
        social.send_request(ana, "bob")
        social.accept_request(bob, "ana")
        chat = conversations.open_direct(ana, "bob")
    return ana, bob, cyd, chat


def send(user, conversation, body="hello", client_id=None):
    """M of a new message, sent and committed as a door does."""
    send.counter = getattr(send, "counter", 0) + 1
    with transaction():
        return messaging.send_message(user, conversation.id, body, client_id or f"c{send.counter}")[0]


def by_name(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def stored(conversation_id) -> list[tuple[int, str]]:
    db.session.expire_all()
    return [
        (m.seq, m.body)
        for m in db.session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
    ]


# --- direct chats -------------------------------------------------------------------------------


def test_one_direct_chat_per_pair_whoever_opens_it(trio):
    ana, bob, _cyd, chat = trio
    assert conversations.open_direct(bob, "ana").id == chat.id
    assert conversations.open_direct(ana, "BOB").id == chat.id
    assert sorted(conversations.member_ids(chat.id)) == sorted([ana.id, bob.id])
    assert db.session.scalar(select(func.count()).select_from(Conversation).where(Conversation.kind == "direct")) == 1


def test_no_direct_chat_with_yourself_or_with_blocked_people(trio):
    ana, _bob, cyd, _chat = trio
    with pytest.raises(ServiceError, match="yourself"):
        conversations.open_direct(ana, "ana")
    social.block(cyd, "ana")
    with pytest.raises(social.NotFound):
        conversations.open_direct(ana, "cyd")  # cyd blocked ana: invisible to her
    with pytest.raises(ServiceError, match="can't message"):
        conversations.open_direct(cyd, "ana")  # cyd blocked ana: cannot write to her either


def test_friends_only_policy_applies_to_strangers(trio):
    ana, bob, cyd, chat = trio
    bob.message_policy = "friends"
    db.session.commit()
    with pytest.raises(ServiceError, match="only accepts messages from friends"):
        conversations.open_direct(cyd, "bob")
    send(ana, chat)  # a friend still may


def test_blocking_stops_an_existing_direct_chat(trio):
    ana, bob, _cyd, chat = trio
    send(ana, chat)
    with transaction():
        social.block(bob, "ana")
    with pytest.raises(ServiceError, match="can't message") as error:
        send(ana, chat)
    assert error.value.code == "not_allowed"
    with pytest.raises(ServiceError):
        send(bob, chat)
    assert len(stored(chat.id)) == 1
    for person in (ana, bob):  # nor does a typing indicator cross the block
        with pytest.raises(ServiceError) as error:
            messaging.typing(person, chat.id)
        assert error.value.code == "not_allowed"


def test_simultaneous_first_opens_make_one_direct_chat(app, database_url, make_user):
    make_user("ana")
    make_user("bob")
    db.session.remove()

    def opener(me, other):
        return lambda: conversations.open_direct(by_name(me), other).id

    outcomes = run_concurrently(database_url, [opener("ana", "bob"), opener("bob", "ana")] * 2)
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    assert len(set(outcomes)) == 1


# --- sending --------------------------------------------------------------------------------------


def test_messages_get_seq_1_2_3_in_their_conversation(trio, make_user):
    ana, bob, _cyd, chat = trio
    assert [send(ana, chat)["seq"], send(bob, chat)["seq"], send(ana, chat)["seq"]] == [1, 2, 3]
    group = conversations.create_group(ana, "Trip", [bob.id])
    assert send(bob, group)["seq"] == 1  # per conversation, not global
    assert db.session.get(Conversation, chat.id).last_seq == 3


def test_a_sent_message_is_committed_before_it_is_returned(trio, database_url):
    ana, _bob, _cyd, chat = trio
    message = send(ana, chat, "durable")
    # A separate connection (another app, another engine) sees it at once.
    other = create_app(app_config(database_url))
    with other.app_context():
        assert db.session.scalar(select(Message.body).where(Message.id == message["id"])) == "durable"
        db.engine.dispose()


def test_a_retry_with_the_same_client_id_returns_the_original(trio):
    ana, _bob, _cyd, chat = trio
    first, created = messaging.send_message(ana, chat.id, "once", "retry-me")
    again, created_again = messaging.send_message(ana, chat.id, "once", "retry-me")
    assert created and not created_again
    assert again == first
    assert stored(chat.id) == [(1, "once")]


def test_the_same_client_id_from_two_people_is_two_messages(trio):
    ana, bob, _cyd, chat = trio
    messaging.send_message(ana, chat.id, "a", "same")
    messaging.send_message(bob, chat.id, "b", "same")
    assert stored(chat.id) == [(1, "a"), (2, "b")]


def test_a_client_id_cannot_be_reused_in_another_conversation(trio):
    ana, bob, _cyd, chat = trio
    group = conversations.create_group(ana, "Trip", [bob.id])
    messaging.send_message(ana, chat.id, "a", "once-only")
    with pytest.raises(ServiceError, match="already used") as error:
        messaging.send_message(ana, group.id, "b", "once-only")
    assert error.value.code == "duplicate"
    assert stored(group.id) == []


@pytest.mark.parametrize(
    "body, code",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 4001, "too_long"),
        (None, "invalid"),
        (42, "invalid"),
        (["a"], "invalid"),
    ],
)
def test_bad_bodies_are_refused_and_store_nothing(trio, body, code):
    ana, _bob, _cyd, chat = trio
    with pytest.raises(ServiceError) as error:
        messaging.send_message(ana, chat.id, body, "c-bad")
    assert error.value.code == code
    assert stored(chat.id) == []
    assert db.session.get(Conversation, chat.id).last_seq == 0


def test_bodies_are_trimmed_and_kept_as_plain_text(trio):
    ana, _bob, _cyd, chat = trio
    body = "  <b>hi</b>\r\nline two  "
    assert send(ana, chat, body)["body"] == "<b>hi</b>\nline two"
    assert send(ana, chat, "y" * 4000)["body"] == "y" * 4000


@pytest.mark.parametrize("client_id", [None, "", "x" * 65, "has space", "é", 7, ["a"]])
def test_bad_client_ids_are_refused(trio, client_id):
    ana, _bob, _cyd, chat = trio
    with pytest.raises(ServiceError) as error:
        messaging.send_message(ana, chat.id, "hi", client_id)
    assert error.value.field == "client_id"


@pytest.mark.parametrize("conversation_id", [None, "1", 0, -1, 10**9, True, 1.5])
def test_unknown_and_foreign_conversations_answer_alike(trio, conversation_id):
    ana, _bob, cyd, chat = trio
    for user, target in ((ana, conversation_id), (cyd, chat.id)):
        with pytest.raises(ConversationNotFound):
            messaging.send_message(user, target, "hi", "c-x")


def test_non_members_can_do_nothing_in_a_conversation(trio):
    ana, _bob, cyd, chat = trio
    send(ana, chat)
    for attempt in (
        lambda: messaging.send_message(cyd, chat.id, "hi", "c-y"),
        lambda: messaging.history(cyd, chat.id),
        lambda: messaging.mark_read(cyd, chat.id, 1),
        lambda: messaging.typing(cyd, chat.id),
    ):
        with pytest.raises(ConversationNotFound):
            attempt()
    assert messaging.sync(cyd, {str(chat.id): 0}) == ([], False)


def test_concurrent_senders_get_distinct_seqs_without_holes(app, database_url, trio):
    """20 senders at once in one group: seq is exactly 1..N, one message per send."""
    ana, bob, _cyd, _chat = trio
    with transaction():
        group_id = conversations.create_group(ana, "Busy", [bob.id]).id
    db.session.remove()
    senders, per_sender = 20, 3

    def sender(index):
        def send_all():
            me = by_name("ana" if index % 2 else "bob")
            for n in range(per_sender):
                messaging.send_message(me, group_id, f"{index}-{n}", f"w{index}-{n}")

        return send_all

    outcomes = run_concurrently(database_url, [sender(index) for index in range(senders)])
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert not errors, errors[:3]
    rows = stored(group_id)
    assert [seq for seq, _ in rows] == list(range(1, senders * per_sender + 1))
    assert len({body for _, body in rows}) == senders * per_sender


# --- history and sync -----------------------------------------------------------------------------


def test_history_pages_by_seq(trio):
    ana, _bob, _cyd, chat = trio
    for i in range(1, 121):
        send(ana, chat, f"m{i}")
    latest, more = messaging.history(ana, chat.id)
    assert [m.seq for m in latest] == list(range(71, 121)) and more
    older, more = messaging.history(ana, chat.id, before=71, limit=100)
    assert [m.seq for m in older] == list(range(1, 71)) and not more
    newer, more = messaging.history(ana, chat.id, after=115, limit=3)
    assert [m.seq for m in newer] == [116, 117, 118] and more
    rest, more = messaging.history(ana, chat.id, after=118)
    assert [m.seq for m in rest] == [119, 120] and not more
    assert messaging.history(ana, chat.id, after=120) == ([], False)


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 101}, {"limit": "5"}, {"before": -1}, {"after": "x"}, {"before": 5, "after": 1}]
)
def test_history_refuses_odd_cursors(trio, kwargs):
    ana, _bob, _cyd, chat = trio
    with pytest.raises(ServiceError):
        messaging.history(ana, chat.id, **kwargs)


def test_sync_returns_what_was_missed_in_each_conversation(trio):
    ana, bob, _cyd, chat = trio
    group = conversations.create_group(ana, "Trip", [bob.id])
    for i in range(3):
        send(bob, chat, f"d{i}")
        send(bob, group, f"g{i}")
    messages, more = messaging.sync(ana, {str(chat.id): 1, str(group.id): 0})
    assert [(m.conversation_id, m.seq) for m in messages] == sorted(
        [(chat.id, 2), (chat.id, 3), (group.id, 1), (group.id, 2), (group.id, 3)]
    )
    assert not more


def test_sync_is_bounded_and_says_there_is_more(trio, monkeypatch):
    ana, bob, _cyd, chat = trio
    monkeypatch.setattr(messaging, "SYNC_BATCH", 4)
    for i in range(6):
        send(bob, chat, f"m{i}")
    first, more = messaging.sync(ana, {str(chat.id): 0})
    assert [m.seq for m in first] == [1, 2, 3, 4] and more
    second, more = messaging.sync(ana, {str(chat.id): 4})
    assert [m.seq for m in second] == [5, 6] and not more


@pytest.mark.parametrize("after", [None, [], "x", {"a": 1}, {"²": 1}, {"1": -1}, {"1": "2"}, {"1": None}, {"1": 1.5}])
def test_sync_refuses_malformed_maps(trio, after):
    ana, *_ = trio
    with pytest.raises(ServiceError):
        messaging.sync(ana, after)


# --- read state and unread counts -----------------------------------------------------------------


def test_unread_counts_and_read_positions(trio):
    ana, bob, _cyd, chat = trio
    for i in range(3):
        send(bob, chat, f"b{i}")
    (summary,) = conversations.summaries(ana)
    assert summary.unread_count == 3 and summary.last_message.body == "b2" and summary.other.id == bob.id
    assert conversations.unread_conversation_count(ana) == 1
    assert conversations.unread_conversation_count(bob) == 0  # own messages are read

    assert messaging.mark_read(ana, chat.id, 2) == 2
    assert conversations.summaries(ana)[0].unread_count == 1
    assert messaging.mark_read(ana, chat.id, 1) == 2  # never backwards
    assert messaging.mark_read(ana, chat.id, 99) == 3  # never past the last message
    assert conversations.summaries(ana)[0].unread_count == 0
    assert conversations.unread_conversation_count(ana) == 0
    send(ana, chat, "reply")
    assert conversations.summaries(bob)[0].unread_count == 1


def test_conversation_list_is_newest_first(trio):
    ana, bob, _cyd, chat = trio
    group = conversations.create_group(ana, "Trip", [bob.id])
    send(bob, chat)
    send(bob, group)
    assert [s.conversation.id for s in conversations.summaries(ana)] == [group.id, chat.id]
    send(bob, chat)
    assert [s.conversation.id for s in conversations.summaries(ana)] == [chat.id, group.id]


def test_messages_of_a_deleted_account_stay_without_sender(trio):
    from app.services import profiles
    from tests.conftest import TEST_PASSWORD

    ana, bob, _cyd, chat = trio
    group = conversations.create_group(ana, "Trip", [bob.id])
    send(bob, group, "from bob")
    profiles.delete_account(bob, TEST_PASSWORD)
    db.session.expire_all()
    (message,) = db.session.scalars(select(Message).where(Message.conversation_id == group.id))
    assert message.body == "from bob" and message.sender is None
    assert conversations.send_refusal(ana, db.session.get(Conversation, chat.id)) == "This account no longer exists."


# --- groups and rooms -----------------------------------------------------------------------------


def test_groups_are_made_of_friends_and_run_by_their_owner(trio, make_user):
    ana, bob, cyd, _chat = trio
    with pytest.raises(ServiceError, match="only add your friends"):
        conversations.create_group(ana, "Trip", [bob.id, cyd.id])
    with pytest.raises(ServiceError, match="name"):
        conversations.create_group(ana, "   ", [bob.id])
    group = conversations.create_group(ana, "  Trip  ", [bob.id])
    assert group.title == "Trip"
    with pytest.raises(ServiceError, match="owner"):
        conversations.rename_group(bob, group.id, "Mine now")
    conversations.rename_group(ana, group.id, "Trip 2")
    dan = make_user("dan")
    social.send_request(ana, "dan")
    social.accept_request(dan, "ana")
    assert conversations.add_members(ana, group.id, [dan.id, dan.id, cyd.id]) == 1
    conversations.remove_member(ana, group.id, dan.id)
    assert sorted(conversations.member_ids(group.id)) == sorted([ana.id, bob.id])
    with pytest.raises(ServiceError, match="owner"):
        conversations.remove_member(bob, group.id, ana.id)
    with pytest.raises(ServiceError, match="no such member"):
        conversations.remove_member(ana, group.id, dan.id)  # already gone: not "removed" twice


def test_an_owner_who_leaves_hands_the_group_on(trio):
    ana, bob, _cyd, chat = trio
    group = conversations.create_group(ana, "Trip", [bob.id])
    conversations.leave(ana, group.id)
    assert db.session.get(Membership, (group.id, bob.id)).role == "owner"
    assert db.session.get(Conversation, group.id).owner_id == bob.id
    with pytest.raises(ConversationNotFound):
        send(ana, group)
    with pytest.raises(ServiceError, match="direct chat"):
        conversations.leave(ana, chat.id)


def test_the_community_room_exists_and_anyone_joins_and_leaves(trio):
    ana, bob, _cyd, _chat = trio
    (community, count) = next((room, n) for room, n in conversations.community_rooms() if room.title == "Community")
    assert count == 0
    send_before = conversations.join_room(bob, community.id)
    send(bob, send_before, "welcome")
    conversations.join_room(ana, community.id)
    conversations.join_room(ana, community.id)  # idempotent
    assert dict((room.title, n) for room, n in conversations.community_rooms())["Community"] == 2
    # Joining starts at the present: earlier messages are history, not unread.
    assert next(s for s in conversations.summaries(ana) if s.conversation.id == community.id).unread_count == 0
    conversations.leave(ana, community.id)
    with pytest.raises(ConversationNotFound):
        messaging.history(ana, community.id)
    with pytest.raises(ConversationNotFound):
        conversations.join_room(ana, _chat.id)  # a direct chat is not a room
