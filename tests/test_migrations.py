"""The schema lives in migrations/: they must build exactly what the models describe."""

import importlib.util

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app.extensions import db
from app.models.chat import outside_the_models
from tests.conftest import ROOT, TEST_PASSWORD, door

MIGRATIONS = str(ROOT / "migrations")


def schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        options = {"compare_type": True, "include_name": outside_the_models}
        context = MigrationContext.configure(connection, opts=options)
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(app):
    assert schema_differences(app) == []


def test_migrations_go_down_to_nothing_and_back_up(app):
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS)
    assert schema_differences(app) == []


def test_rebuilding_the_users_table_keeps_every_row_that_refers_to_it(ctx, make_user):
    """SQLite rebuilds a table to alter it (drop and rename); with foreign keys enforced, dropping
    `users` would first cascade into friendships, memberships and message senders. Down to 0003 and
    back up to head (both rebuild `users` on SQLite) with people, a friendship and messages: every
    row survives with its references."""
    from app.models import Message
    from app.services import conversations, messaging, social

    ana, bob = make_user(), make_user()
    door(social.send_request, ana, bob.username)
    door(social.accept_request, bob, ana.username)
    chat = door(conversations.open_direct, ana, bob.username)
    for index in range(3):
        door(messaging.send_message, ana, chat.id, f"message {index}", f"client-{index}")

    def snapshot():
        with db.engine.connect() as connection:
            tables = ("users", "friendships", "conversations", "memberships", "messages")
            counts = {table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() for table in tables}
            senders = connection.exec_driver_sql("SELECT sender_id FROM messages ORDER BY id").scalars().all()
        return counts, senders

    before = snapshot()
    assert before[0]["messages"] == 3 and before[1] == [ana.id] * 3
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0003")
    upgrade(directory=MIGRATIONS)
    assert snapshot() == before
    assert db.session.query(Message).count() == 3


def test_a_deleted_accounts_id_is_never_given_to_the_next_sign_up(ctx, make_user):
    """User ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): a deleted
    account's old session id "<id>:<version>" must not fit a newcomer."""
    from app.models import User
    from app.services import profiles

    make_user()
    newest = make_user()
    deleted_id = newest.id
    door(profiles.delete_account, newest, TEST_PASSWORD)
    db.session.remove()
    assert db.session.get(User, deleted_id) is None
    assert make_user().id > deleted_id


def test_0009_cleans_names_stored_before_it_and_fills_their_lookalike_keys(ctx, make_user):
    """Names and titles stored with bidi controls and zero-width characters lose them; a name with
    nothing visible left becomes empty (the username shows instead), a title "Group"; the skeleton
    keys are filled so older accounts are found as lookalikes too."""
    from app.models import Conversation, User
    from app.services import accounts, conversations, social

    ana, bob = make_user("ana"), make_user("bob")
    door(social.send_request, ana, bob.username)
    door(social.accept_request, bob, ana.username)
    group_id = door(conversations.create_group, ana, "Team", [bob.id]).id
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0008")
    with db.engine.begin() as connection:
        rename = text("UPDATE users SET first_name = :first, last_name = :last WHERE username = :username")
        connection.execute(rename, {"first": "\u202eA\u200bli\u2066ce", "last": "\u200b\ufeff", "username": "ana"})
        connection.execute(rename, {"first": "\u3164", "last": "", "username": "bob"})
        retitle = text("UPDATE conversations SET title = :title WHERE id = :id")
        connection.execute(retitle, {"title": "\u200b\u202e", "id": group_id})
    upgrade(directory=MIGRATIONS)
    ana, bob = (db.session.scalar(db.select(User).filter_by(username=name)) for name in ("ana", "bob"))
    assert (ana.first_name, ana.last_name, ana.first_name_key, ana.display_name) == ("Alice", "", "alice", "Alice")
    assert (bob.first_name, bob.display_name) == ("", "bob")
    assert db.session.get(Conversation, group_id).title == "Group"
    assert [user.username for user in accounts.lookalikes("\u0410LICE")] == ["ana"]
    assert [user.username for user in accounts.lookalikes("B0B")] == ["bob"]


def test_0011_renders_the_messages_stored_before_it(ctx, make_user):
    """Messages stored before body_html existed get their rendering, mentions included (over more
    than one batch); a tombstone's is empty."""
    from app.models import Message
    from app.services import conversations, editing, formatting, messaging, social

    path = ROOT / "migrations/versions/0011_format_message_html.py"
    spec = importlib.util.spec_from_file_location("format_0011", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    ana, bob = make_user("ana"), make_user("bob")
    door(social.send_request, ana, bob.username)
    door(social.accept_request, bob, ana.username)
    group = door(conversations.create_group, ana, "Team", [bob.id])
    bodies = ["**one** @bob", "`@bob` in code", "- a\n- b", "gone"]
    bodies += [f"filler *{index}*" for index in range(migration.BATCH)]
    sent = [door(messaging.send_message, ana, group.id, body, f"c-{index}")[0] for index, body in enumerate(bodies)]
    door(editing.delete_message, ana, sent[3]["id"])
    bob_mention = [{"id": bob.id, "username": "bob"}]
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0010")
    upgrade(directory=MIGRATIONS)
    stored = {message.id: message for message in db.session.scalars(db.select(Message))}
    assert stored[sent[0]["id"]].body_html == formatting.render_message("**one** @bob", bob_mention)
    assert "data-mention-id" in stored[sent[0]["id"]].body_html
    assert stored[sent[1]["id"]].body_html == "<p><code>@bob</code> in code</p>"
    assert stored[sent[2]["id"]].body_html == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"
    assert stored[sent[3]["id"]].body_html == ""
    assert stored[sent[-1]["id"]].body_html == f"<p>filler <em>{migration.BATCH - 1}</em></p>"
    assert all(message.body_html is not None for message in stored.values())
