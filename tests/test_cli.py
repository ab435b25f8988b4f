"""Operator commands, run through Flask's CLI runner against a migrated database."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import Conversation, Friendship, Membership, Message, User
from app.services import accounts, conversations
from tests.conftest import TEST_PASSWORD


def test_create_user_and_reset_password(app, runner):
    result = runner.invoke(args=["users", "create", "Ana", "--first-name", "Ana", "--password", TEST_PASSWORD])
    assert result.exit_code == 0 and "Created @ana." in result.output
    with app.app_context():
        old_login = accounts.find_user("ana").get_id()
    result = runner.invoke(args=["users", "reset-password", "ana", "--password", "N3w-Password!"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert accounts.authenticate("ana", "N3w-Password!") is not None
        assert accounts.load_user(old_login) is None  # existing sessions are signed out


def test_user_commands_refuse_bad_input_clearly(runner):
    weak = runner.invoke(args=["users", "create", "ana", "--password", "weak"])
    assert weak.exit_code != 0 and "Password needs" in weak.output
    missing = runner.invoke(args=["users", "reset-password", "ghost", "--password", TEST_PASSWORD])
    assert missing.exit_code != 0 and "There is no user @ghost." in missing.output


def test_rooms_and_moderators(app, runner):
    result = runner.invoke(args=["rooms", "create", "Book club"])
    assert result.exit_code == 0, result.output
    room_id = int(result.output.split("Created room ")[1].split(":")[0])
    runner.invoke(args=["users", "create", "ana", "--password", TEST_PASSWORD])
    not_member = runner.invoke(args=["rooms", "moderator", str(room_id), "ana"])
    assert not_member.exit_code != 0 and "is not in a community room" in not_member.output
    with app.test_request_context():
        conversations.join_room(accounts.find_user("ana"), room_id)
    assert runner.invoke(args=["rooms", "moderator", str(room_id), "ana"]).exit_code == 0
    with app.app_context():
        ana = accounts.find_user("ana")
        assert db.session.get(Membership, (room_id, ana.id)).role == "moderator"
    assert runner.invoke(args=["rooms", "moderator", str(room_id), "ana", "--remove"]).exit_code == 0
    with app.app_context():
        assert db.session.get(Membership, (room_id, accounts.find_user("ana").id)).role == "member"


def test_the_demo_fills_a_fresh_instance_once(app, runner):
    result = runner.invoke(args=["demo", "--password", TEST_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Demo ready" in result.output and TEST_PASSWORD in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5
        assert (
            db.session.scalar(select(func.count()).select_from(Friendship).where(Friendship.status == "accepted")) == 5
        )
        assert db.session.scalar(select(func.count()).select_from(Message)) > 5
        kinds = set(db.session.scalars(select(Conversation.kind)))
        assert kinds == {"direct", "group", "room"}
        assert accounts.authenticate("ana", TEST_PASSWORD) is not None
    again = runner.invoke(args=["demo", "--password", TEST_PASSWORD])
    assert again.exit_code != 0 and "exist already" in again.output
