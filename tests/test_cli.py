"""Operator commands, run through Flask's CLI runner against a migrated database."""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Conversation, Friendship, Membership, Message, User
from app.services import accounts, conversations
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, app_config


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
    with app.test_request_context(), transaction():
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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backup_copies_a_live_sqlite_database_that_restores(app, runner, database_url, tmp_path):
    for name in ("ana", "bob"):
        assert runner.invoke(args=["users", "create", name, "--password", TEST_PASSWORD]).exit_code == 0
    live = Path(database_url.removeprefix("sqlite:///"))
    # The app's pooled connection stays open, so the new rows are still in the write-ahead log, which a
    # plain file copy would miss; another connection holds a read transaction, as a running server would.
    assert Path(f"{live}-wal").stat().st_size > 0
    with closing(sqlite3.connect(live)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM users").fetchone()
        result = runner.invoke(args=["backup", str(tmp_path / "backup.db")])
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path / 'backup.db'}, uploaded pictures included" in result.output
    with closing(sqlite3.connect(tmp_path / "backup.db")) as copy:
        assert {row[0] for row in copy.execute("SELECT username FROM users")} == {"ana", "bob"}
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert not list(tmp_path.glob(".backup.db.*"))  # no temporary file left behind

    # Restore: with the server stopped, the backup becomes the database file.
    restored = tmp_path / "restored" / "messenger.db"
    restored.parent.mkdir()
    shutil.copyfile(tmp_path / "backup.db", restored)
    restored_app = create_app(app_config(f"sqlite:///{restored}"))
    with restored_app.app_context():
        assert accounts.authenticate("bob", TEST_PASSWORD) is not None
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backup_keeps_an_existing_file_unless_forced(app, runner, tmp_path):
    target = tmp_path / "backup.db"
    target.write_text("an older backup")
    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code != 0 and "exists already; add --force" in refused.output
    assert target.read_text() == "an older backup"
    forced = runner.invoke(args=["backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("SELECT count(*) FROM users").fetchone() == (0,)
    with app.app_context():
        live = db.engine.url.database
    itself = runner.invoke(args=["backup", live, "--force"])
    assert itself.exit_code != 0 and "the live database itself" in itself.output


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_backup_of_postgres_points_to_pg_dump(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "backup.db")])
    assert result.exit_code != 0
    assert 'pg_dump --format=custom --file=messanger.dump "$DATABASE_URL"' in result.output
    assert "pg_restore --clean --no-owner" in result.output
    assert not (tmp_path / "backup.db").exists()
