"""The world of the `users` scenario (bench/users.py): thousands of people, each with direct chats,
two groups and a community room, a history in every conversation, and a signed-in session each.

Everything is written straight into a migrated database through the app's models, in bulk: people
in blocks of ten (a group per block, direct chats with the two neighbours on each side within it),
a second group bridging two blocks, and community rooms of ROOM_MEMBERS people (the first is the
migrations' "Community"). Sessions are made by the app's own sign-in (app.auth.session.start_session)
and stored by its session interface, as POST /login does after the password check: each person is a
distinct user with their own server-side session and cookie, without 5,000 scrypt hashes.
"""

import functools
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie

from sqlalchemy import bindparam, insert, select, text, update

from bench.seed import PASSWORD, bench_app

BLOCK = 10  # people per block: one group, direct chats with the neighbours within it
DM_REACH = 1  # direct chats with the people 1..DM_REACH places away in the block's ring (2 each)
ROOM_MEMBERS = 100  # people per community room
HISTORY = {"direct": 60, "group": 120, "room": 300}  # seeded messages per conversation
BATCH = 5000
USER_AGENT = "MessangerBench/1.0 (simulated person)"
FIRST_NAMES = [
    "Ada",
    "Alan",
    "Anna",
    "Ben",
    "Bruno",
    "Carla",
    "Chen",
    "Dana",
    "David",
    "Elena",
    "Emil",
    "Eva",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jana",
    "Jonas",
    "Kai",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maja",
    "Mario",
    "Mia",
    "Nora",
    "Omar",
    "Paula",
    "Ravi",
    "Rosa",
    "Sami",
    "Sara",
    "Tom",
    "Ula",
    "Vera",
    "Yusuf",
]
LAST_NAMES = [
    "Berg",
    "Costa",
    "Dahl",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haas",
    "Iqbal",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Tanaka",
    "Ueda",
    "Vogel",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
]
# Words the seeded histories are made of; message search looks for them.
WORDS = [
    "harbour",
    "lantern",
    "meadow",
    "copper",
    "violin",
    "orchard",
    "glacier",
    "pepper",
    "canyon",
    "saffron",
    "marble",
    "thunder",
    "velvet",
    "compass",
    "walnut",
    "ember",
    "falcon",
    "juniper",
    "lagoon",
    "mosaic",
    "nectar",
    "oyster",
    "pebble",
    "quartz",
    "raven",
    "spruce",
    "tundra",
    "umbrella",
    "willow",
    "zephyr",
    "anchor",
    "biscuit",
    "cobalt",
    "dune",
    "fjord",
    "garnet",
    "hazel",
    "iris",
    "jasmine",
    "kelp",
]
DISTINCT_BODIES = 200


@dataclass
class World:
    """Who is who and who is in what, by bench index (0..n-1)."""

    people: list[dict] = field(default_factory=list)  # {"idx", "id", "username", "first_name", "cookie"}
    conversations: dict[int, dict] = field(default_factory=dict)  # id -> {"kind", "members": [idx], "last_seq"}
    of_person: list[list[int]] = field(default_factory=list)  # idx -> conversation ids
    partners: list[list[tuple[int, int]]] = field(default_factory=list)  # idx -> [(partner idx, conversation)]
    seconds: dict[str, float] = field(default_factory=dict)  # how long each part of the seeding took

    def spec(self, idx: int) -> dict:
        """What a client process needs to be person `idx`: who, the cookie, the conversations (the
        chat page's conversation state) and the direct-chat partners."""
        person = self.people[idx]
        return {
            **person,
            "conversations": [
                [cid, self.conversations[cid]["kind"], self.conversations[cid]["last_seq"]]
                for cid in self.of_person[idx]
            ],
            "partners": [
                [self.people[p]["username"], self.people[p]["first_name"], cid] for p, cid in self.partners[idx]
            ],
        }


def plan(n: int) -> tuple[list[tuple[str, str, list[int]]], list[list[tuple[int, int]]]]:
    """The conversations of n people as (kind, title, member idxs), and each person's (partner,
    index into that list) direct chats. Pure: the same n gives the same world."""
    conversations: list[tuple[str, str, list[int]]] = []
    partners: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for start in range(0, n, BLOCK):
        block = list(range(start, min(start + BLOCK, n)))
        if len(block) > 1:
            conversations.append(("group", f"Block {start // BLOCK + 1}", block))
        pairs = set()
        for position, a in enumerate(block):
            for reach in range(1, DM_REACH + 1):
                b = block[(position + reach) % len(block)]
                if a != b:
                    pairs.add((min(a, b), max(a, b)))
        for a, b in sorted(pairs):
            partners[a].append((b, len(conversations)))
            partners[b].append((a, len(conversations)))
            conversations.append(("direct", "", [a, b]))
    if n >= 2 * BLOCK:
        for start in range(BLOCK // 2, n, BLOCK):
            members = [(start + k) % n for k in range(BLOCK)]
            conversations.append(("group", f"Bridge {start // BLOCK + 1}", members))
    for start in range(0, n, ROOM_MEMBERS):
        members = list(range(start, min(start + ROOM_MEMBERS, n)))
        conversations.append(("room", "Community" if start == 0 else f"Community {start // ROOM_MEMBERS + 1}", members))
    return conversations, partners


def _name(idx: int) -> tuple[str, str, str]:
    first = FIRST_NAMES[idx % len(FIRST_NAMES)]
    last = LAST_NAMES[(idx // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return first, last, f"{first}.{last}.{idx}".lower()


def seed_world(database_url: str, n: int, progress=print) -> World:
    """n people, their conversations and histories, and a signed-in session for each."""
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.models.base import utcnow
    from app.models.chat import DIRECT, OWNER, ROOM, Conversation, Membership, Message
    from app.models.user import User
    from app.services.conversations import _direct_key
    from app.services.formatting import render_message

    app = bench_app(database_url)
    world = World()
    planned, partners = plan(n)
    rng = random.Random(16)
    with app.app_context():
        started = time.monotonic()
        password_hash = generate_password_hash(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
        users = []
        for idx in range(n):
            first, last, username = _name(idx)
            users.append(User(username=username, first_name=first, last_name=last, password_hash=password_hash))
        db.session.add_all(users)
        db.session.commit()
        world.people = [
            {"idx": idx, "id": user.id, "username": user.username, "first_name": user.first_name}
            for idx, user in enumerate(users)
        ]
        world.seconds["people"] = time.monotonic() - started

        started = time.monotonic()
        community = db.session.scalar(
            select(Conversation.id).where(Conversation.kind == ROOM, Conversation.title == "Community")
        )
        ids: list[int] = []
        for kind, title, members in planned:
            if kind == ROOM and title == "Community" and community is not None:
                ids.append(community)
                continue
            key = _direct_key(users[members[0]].id, users[members[1]].id) if kind == DIRECT else None
            owner = users[members[0]].id if kind == "group" else None
            conversation = db.session.execute(
                insert(Conversation)
                .values(kind=kind, title=title, direct_key=key, owner_id=owner)
                .returning(Conversation.id)
            ).scalar_one()
            ids.append(conversation)
        bodies = []
        for number in range(DISTINCT_BODIES):
            words = rng.sample(WORDS, 3)
            body = f"{words[0].capitalize()} {words[1]} and {words[2]}: a seeded line of ordinary length ({number})."
            bodies.append((body, render_message(body)))
        now = utcnow()
        memberships, messages, tops = [], [], []
        for number, ((kind, _title, members), conversation) in enumerate(zip(planned, ids, strict=True)):
            size = HISTORY[kind]
            start = now - timedelta(seconds=size)
            for position, idx in enumerate(members):
                role = OWNER if kind == "group" and position == 0 else "member"
                memberships.append(
                    {
                        "conversation_id": conversation,
                        "user_id": users[idx].id,
                        "role": role,
                        "last_read_seq": size,
                        "joined_at": start,
                        "muted": False,
                    }
                )
            for seq in range(1, size + 1):
                body, body_html = bodies[(number * 7 + seq) % DISTINCT_BODIES]
                messages.append(
                    {
                        "conversation_id": conversation,
                        "seq": seq,
                        "sender_id": users[members[seq % len(members)]].id,
                        "client_id": f"seed.{conversation}.{seq}",
                        "body": body,
                        "body_html": body_html,
                        "created_at": start + timedelta(seconds=seq),
                        "forwarded": False,
                    }
                )
            tops.append({"cid": conversation, "top": size, "at": start + timedelta(seconds=size)})
            world.conversations[conversation] = {"kind": kind, "members": members, "last_seq": size}
        connection = db.session.connection()
        table = Conversation.__table__
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("cid"))
            .values(last_seq=bindparam("top"), last_message_at=bindparam("at")),
            tops,
        )
        with _search_index_rebuilt_after(connection):
            bulk_insert(connection, Membership.__table__, memberships)
            bulk_insert(connection, Message.__table__, messages)
        db.session.commit()
        world.seconds["conversations"] = time.monotonic() - started
        progress(
            f"setup: {n} people, {len(ids)} conversations, {len(messages):,} messages "
            f"in {world.seconds['people'] + world.seconds['conversations']:.1f}s"
        )
        world.of_person = [[] for _ in range(n)]
        for conversation, info in world.conversations.items():
            for idx in info["members"]:
                world.of_person[idx].append(conversation)
        world.partners = [[(partner, ids[index]) for partner, index in mine] for mine in partners]
        db.session.remove()

    started = time.monotonic()
    cookies = sign_in_all(app, [person["id"] for person in world.people])
    for person, cookie in zip(world.people, cookies, strict=True):
        person["cookie"] = cookie
    world.seconds["sessions"] = time.monotonic() - started
    progress(f"setup: {n} sessions signed in (the app's start_session) in {world.seconds['sessions']:.1f}s")
    with app.app_context():
        db.engine.dispose()
    return world


@contextmanager
def _search_index_rebuilt_after(connection):
    """On SQLite, bulk inserts into messages without the full-text index's per-row trigger (seven
    times slower), then the trigger as the migration made it and the index rebuilt from the table."""
    from app.models.chat import SEARCH_INDEX_TABLE

    if connection.dialect.name != "sqlite":
        yield
        return
    # A cache that holds the indexes being filled (SQLite's default is 2 MB): fewer page reads.
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    name = f"{SEARCH_INDEX_TABLE}_insert"  # migrations/versions/0006_rich_messaging.py
    trigger = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"), {"name": name}
    ).scalar_one()
    connection.execute(text(f"DROP TRIGGER {name}"))
    try:
        yield
    finally:
        connection.execute(text(trigger))
    connection.execute(text(f"INSERT INTO {SEARCH_INDEX_TABLE}({SEARCH_INDEX_TABLE}) VALUES ('rebuild')"))


def bulk_insert(connection, table, rows: list[dict]) -> None:
    """INSERT many rows at once. On SQLite straight through the driver, each value converted as
    SQLAlchemy binds it (memoised: seeded rows repeat few distinct values), which is several times
    faster than SQLAlchemy's per-row parameter handling; elsewhere an ordinary executemany."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        for first in range(0, len(rows), BATCH):
            connection.execute(insert(table), rows[first : first + BATCH])
        return
    columns = list(rows[0])
    converters = []
    for name in columns:
        process = table.c[name].type.bind_processor(connection.dialect)
        converters.append(functools.lru_cache(maxsize=4096)(process) if process else None)
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    for first in range(0, len(rows), BATCH):
        values = [
            tuple(
                convert(row[name]) if convert else row[name] for name, convert in zip(columns, converters, strict=True)
            )
            for row in rows[first : first + BATCH]
        ]
        connection.exec_driver_sql(statement, values)


def sign_in_all(app, user_ids: list[int]) -> list[str]:
    """A new signed-in session for each user, as POST /login makes one once the password is
    checked: start_session() in a request from the load generator's address and user agent, and
    the app's session interface saving it (its row written with the others in one transaction
    rather than one commit each). The Cookie header of each."""
    from flask import session

    from app.auth.session import start_session
    from app.extensions import db
    from app.models.session import ServerSession
    from app.models.user import User

    name = app.config["SESSION_COOKIE_NAME"]
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
    store = app.session_interface.interface  # the DatabaseSessionInterface inside SocketTolerantSessions
    rows: list[dict] = []

    def collect(lifetime, saved, store_id):
        rows.append({"session_id": store_id, "data": store.serializer.encode(saved), "expiry": utcnow() + lifetime})

    from app.models.base import utcnow

    cookies = []
    with app.app_context():
        users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        store._upsert_session = collect
        try:
            for user_id in user_ids:
                with app.test_request_context("/login", method="POST", environ_base=environ):
                    start_session(users[user_id], remember=False)  # writes nothing but the session
                    response = app.response_class()
                    app.session_interface.save_session(app, session, response)
                jar = SimpleCookie()
                for header in response.headers.getlist("Set-Cookie"):
                    jar.load(header)
                if name not in jar:
                    raise RuntimeError(f"signing in user {user_id} set no {name} cookie")
                cookies.append(f"{name}={jar[name].value}")
        finally:
            del store._upsert_session
        with db.engine.begin() as connection:
            bulk_insert(connection, ServerSession.__table__, rows)
        db.session.remove()
    return cookies
