"""The doors' transactions (app.transactions) and the events queued on them (app.events): services
flush and queue, the door commits, the events go out after the commit, once; a rollback sends
nothing. Real database, real Socket.IO test clients, no stand-ins."""

import pytest
from flask import url_for
from sqlalchemy import create_engine, func, select

from app import events
from app.extensions import db, socketio
from app.models import Conversation, Friendship, Message, User
from app.serializers import user_dict
from app.services import accounts, conversations, messaging, rooms, social
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, extract_csrf


def signed_in_client(app, username: str):
    client = app.test_client()
    token = extract_csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def received(tab, name: str) -> list:
    """The payloads of the `name` events the tab got since last asked (the test client keeps a
    "message" event's payload as it is, any other's in a list of arguments)."""
    return [
        item["args"] if name == "message" else item["args"][0] for item in tab.get_received() if item["name"] == name
    ]


@pytest.fixture
def pair(app):
    """ana and bob, friends with a direct chat, and bob's open tab (an in-process Socket.IO client
    of the real app). Returns (ana id, bob id, chat id, bob's tab)."""
    with app.test_request_context(), transaction():
        ana = accounts.register_user("ana", TEST_PASSWORD)
        bob = accounts.register_user("bob", TEST_PASSWORD)
        social.send_request(ana, "bob")
        social.accept_request(bob, "ana")
        chat = conversations.open_direct(ana, "bob").id
        ids = ana.id, bob.id
    tab = socketio.test_client(app, flask_test_client=signed_in_client(app, "bob"))
    tab.get_received()
    yield *ids, chat, tab
    tab.disconnect()


def committed(app, query):
    """The query's rows as another connection (an engine of its own) sees them: only what was
    committed. (Not another app: a second create_app would rebind the shared Socket.IO server.)"""
    with app.app_context():
        engine = create_engine(db.engine.url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(query))
    finally:
        engine.dispose()


def stored_bodies(app, chat: int) -> list[str]:
    """The chat's committed message bodies."""
    return committed(app, select(Message.body).where(Message.conversation_id == chat).order_by(Message.seq))


class DoorFailed(Exception):
    """What a door raises after its services did their part."""


def test_a_rollback_after_a_send_stores_nothing_and_tells_nobody(app, pair):
    ana, _bob, chat, tab = pair
    with app.test_request_context():
        with pytest.raises(DoorFailed), transaction():
            messaging.send_message(db.session.get(User, ana), chat, "never", "c-never")
            raise DoorFailed
        assert received(tab, "message") == []
    assert stored_bodies(app, chat) == []


def test_two_services_in_one_transaction_commit_together_or_not_at_all(app):
    with app.test_request_context():
        with transaction():
            ana = accounts.register_user("ana", TEST_PASSWORD)
            cyd = accounts.register_user("cyd", TEST_PASSWORD)
        with pytest.raises(DoorFailed), transaction():
            social.send_request(ana, "cyd")
            social.accept_request(cyd, "ana")
            chat = conversations.open_direct(ana, "cyd")
            messaging.send_message(ana, chat.id, "hello", "c-1")
            raise DoorFailed
        assert db.session.scalar(select(func.count()).select_from(Friendship)) == 0
        assert (
            db.session.scalar(select(func.count()).select_from(Conversation).where(Conversation.kind == "direct")) == 0
        )

        with transaction():
            social.send_request(ana, "cyd")
            social.accept_request(cyd, "ana")
            chat_id = conversations.open_direct(ana, "cyd").id
            messaging.send_message(ana, chat_id, "hello", "c-1")
    assert stored_bodies(app, chat_id) == ["hello"]


def test_events_wait_for_the_commit_and_go_out_once(app, pair):
    ana_id, _bob, chat, tab = pair
    with app.test_request_context():
        ana = db.session.get(User, ana_id)
        with transaction():
            first, created = messaging.send_message(ana, chat, "one", "c-1")
            again, created_again = messaging.send_message(ana, chat, "one", "c-1")  # a retry: its savepoint rolls back
            second, _ = messaging.send_message(ana, chat, "two", "c-2")
            # Each send released its savepoint: nothing went out before the real commit.
            assert received(tab, "message") == []
        assert created and not created_again and again["id"] == first["id"]
        assert received(tab, "message") == [first, second]  # the acks' payloads, in seq order, once
        db.session.commit()  # a commit with nothing queued sends nothing
        assert received(tab, "message") == []


def test_a_rolled_back_savepoint_drops_only_its_own_events(app, pair):
    ana_id, _bob, chat, tab = pair
    with app.test_request_context():
        ana = db.session.get(User, ana_id)
        with transaction():
            kept, _ = messaging.send_message(ana, chat, "kept", "c-kept")
            with pytest.raises(DoorFailed), db.session.begin_nested():
                messaging.send_message(ana, chat, "dropped", "c-dropped")
                raise DoorFailed
        assert received(tab, "message") == [kept]


def test_the_ack_comes_after_the_commit(app, pair):
    ana_id, _bob, chat, tab = pair
    ana_tab = socketio.test_client(app, flask_test_client=signed_in_client(app, "ana"))
    ack = ana_tab.emit("send_message", {"conversation_id": chat, "body": "acked", "client_id": "c-ack"}, callback=True)
    assert ack["ok"] is True
    # Another connection sees the row the moment the ack is in hand, and bob's tab got that same M.
    assert stored_bodies(app, chat) == ["acked"]
    assert received(tab, "message") == [ack["message"]]
    refused = ana_tab.emit("send_message", {"conversation_id": chat, "body": "", "client_id": "c-x"}, callback=True)
    assert refused["ok"] is False and received(tab, "message") == []
    ana_tab.disconnect()


def test_a_connection_handed_back_mid_transaction_keeps_its_writes_uncommitted(app):
    """A password check hands the pooled connection back (services.release_db_connection) only when
    the transaction has written nothing: here it had, so nothing is committed behind the door."""
    with app.test_request_context():
        with transaction():
            ana = accounts.register_user("ana", TEST_PASSWORD)
            accounts.register_user("cyd", TEST_PASSWORD)
        with pytest.raises(DoorFailed), transaction():
            social.send_request(ana, "cyd")
            assert accounts.verify_password(ana, TEST_PASSWORD)  # hashes, after a write
            raise DoorFailed
    assert committed(app, select(func.count()).select_from(Friendship)) == [0]


def test_urls_are_paths_outside_a_request(app):
    with app.app_context():
        assert user_dict(None)["avatar_url"] == "/static/img/deleted-user.svg"
        assert url_for("people.profile", username="ana") == "/u/ana"
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("people.profile", username="ana", _external=True)


def test_a_payload_given_as_a_callable_is_made_once_inside_the_transaction(app, pair):
    ana_id, bob_id, chat, tab = pair
    made = []

    def payload() -> dict:
        made.append(db.session().in_transaction())
        return {"messages": db.session.scalar(select(func.count()).select_from(Message))}

    with app.test_request_context():
        with transaction():
            messaging.send_message(db.session.get(User, ana_id), chat, "one", "c-1")
            events.queue("probe", payload, rooms.user_room(bob_id))
            assert made == []  # not yet: just before the commit
        assert made == [True]  # once, in the transaction, whoever receives it
        assert received(tab, "probe") == [{"messages": 1}]
