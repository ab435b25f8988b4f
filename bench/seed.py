"""The bench's data, written straight into a migrated database through the app's models and services:
users (one real scrypt hash shared by all, so logins stay real), direct chats, a room, long histories."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from sqlalchemy import insert, update
from werkzeug.security import generate_password_hash

from bench.servers import ROOT, SECRET_KEY

PASSWORD = "Bench-Passw0rd!"
HISTORY_BATCH = 5000


@dataclass
class Seeded:
    """What the seeding made: users by bench index, DM pairs, the room, histories."""

    users: list[dict] = field(default_factory=list)  # {"idx", "id", "username", "display_name"}
    pairs: list[tuple[int, int, int]] = field(default_factory=list)  # (sender idx, recipient idx, conversation)
    room_id: int | None = None
    room_members: list[int] = field(default_factory=list)  # user idxs
    room_only: list[dict] = field(default_factory=list)  # members of the room alone, idxs after the DM users'
    login_users: list[str] = field(default_factory=list)  # usernames only used by the login scenario
    viewer: str | None = None  # username of the history reader
    histories: dict[int, int] = field(default_factory=dict)  # message count -> conversation id


def bench_app(database_url: str) -> Flask:
    """The app on the bench's database, configured like the tests' (PASSWORD_HASH_METHOD left at
    the production default)."""
    from app import create_app

    return create_app(
        {
            "TESTING": True,
            "APP_ENV": "testing",
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SESSION_TYPE": "sqlalchemy",
            "SESSION_CLEANUP_N_REQUESTS": None,
            "REDIS_URL": None,
            "LOG_LEVEL": "WARNING",
        }
    )


def migrate(database_url: str) -> None:
    """Bring the database to the newest schema through the migrations."""
    from flask_migrate import upgrade

    from app.extensions import db

    app = bench_app(database_url)
    logging.disable(logging.INFO)  # alembic's per-migration lines
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.engine.dispose()
    finally:
        logging.disable(logging.NOTSET)


def seed(
    database_url: str,
    dm_users: int,
    room: bool = True,
    login_users: int = 0,
    history_sizes: tuple[int, ...] = (),
    room_members: int = 0,
) -> Seeded:
    """Fill a migrated database. Users bench_0000.. pair up (0 with 1, 2 with 3, ...) in direct chats;
    all of them are members of one room when `room` is set, with bench_room_0000.. beside them up to
    `room_members` in all."""
    from app.extensions import db
    from app.models.user import User
    from app.services import conversations
    from app.transactions import transaction

    app = bench_app(database_url)
    seeded = Seeded()
    with app.test_request_context():
        password_hash = generate_password_hash(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])

        def make(username: str, first: str, last: str) -> User:
            user = User(username=username, first_name=first, last_name=last, password_hash=password_hash)
            db.session.add(user)
            return user

        users = [make(f"bench_{i:04d}", "Bench", str(i)) for i in range(dm_users)]
        extras = [
            make(f"bench_room_{i:04d}", "Room", str(i)) for i in range(max(room_members - dm_users, 0) if room else 0)
        ]
        logins = [make(f"bench_login_{i:03d}", "Login", str(i)) for i in range(login_users)]
        viewer = make("bench_viewer", "History", "Reader") if history_sizes else None
        partners = [make(f"bench_hist_{n}", "History", str(n)) for n in history_sizes]
        db.session.commit()
        seeded.users = [
            {"idx": i, "id": u.id, "username": u.username, "display_name": u.display_name} for i, u in enumerate(users)
        ]
        seeded.room_only = [
            {"idx": dm_users + i, "id": u.id, "username": u.username, "display_name": u.display_name}
            for i, u in enumerate(extras)
        ]
        seeded.login_users = [u.username for u in logins]
        with transaction():
            for k in range(dm_users // 2):
                conversation = conversations.open_direct(users[2 * k], users[2 * k + 1].username)
                seeded.pairs.append((2 * k, 2 * k + 1, conversation.id))
            if room and users:
                conversation = conversations.create_room("Bench room")
                for user in users + extras:
                    conversations.join_room(user, conversation.id)
                seeded.room_id = conversation.id
                seeded.room_members = list(range(dm_users + len(extras)))
        if viewer is not None:
            seeded.viewer = viewer.username
            for size, partner in zip(history_sizes, partners, strict=True):
                with transaction():
                    conversation = conversations.open_direct(viewer, partner.username)
                _fill_history(db, conversation, viewer.id, partner.id, size)
                seeded.histories[size] = conversation.id
        db.session.remove()
        db.engine.dispose()
    return seeded


def _fill_history(db, conversation, a: int, b: int, size: int) -> None:
    """`size` messages alternating between the two members, seq 1..size, in bulk inserts."""
    from app.models.base import utcnow
    from app.models.chat import Conversation, Membership, Message
    from app.services.formatting import render_message

    start = utcnow() - timedelta(seconds=size)
    for first in range(1, size + 1, HISTORY_BATCH):
        rows = [
            {
                "conversation_id": conversation.id,
                "seq": seq,
                "sender_id": a if seq % 2 else b,
                "client_id": f"seed.{conversation.id}.{seq}",
                "body": body,
                "body_html": render_message(body),  # stored, as the services store it
                "created_at": start + timedelta(seconds=seq),
            }
            for seq in range(first, min(first + HISTORY_BATCH, size + 1))
            for body in [f"Seeded message {seq} of {size}: a line of ordinary length for a chat history."]
        ]
        db.session.execute(insert(Message), rows)
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=size, last_message_at=start + timedelta(seconds=size))
    )
    db.session.execute(
        update(Membership).where(Membership.conversation_id == conversation.id).values(last_read_seq=size)
    )
    db.session.commit()
