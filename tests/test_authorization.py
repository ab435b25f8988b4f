"""Who may do what: every HTTP route and every Socket.IO event, against every kind of actor.

The tables below hold one row per route (endpoint and method, from the app's url_map) and per socket
event (from the handlers registered on the Socket.IO server). Each row states what each actor gets,
or says why the actor does not apply. A test fails when a route or event has no row, or a row names
one that no longer exists, so a new door cannot open without someone deciding who may use it.

The actors (one world per test, put back as it was before each route):

- anonymous: a browser without a session.
- member: bob, a plain member of the group (not its owner; he has not written in it); ana's friend.
- non_member: eve, signed in, in no conversation with anyone and related to no one.
- sender: ana, who wrote the group's messages and owns it; person routes name her, so there she
  acts on herself.
- another_user: cyd, ana's friend but not in her group: friendship with the owner grants nothing.
- blocked: bea, in a direct chat with ana, whom ana blocked; conversation routes target that chat.
- deactivated: dan's old session. The app has no deactivated state: deleting the account is the
  only way an account stops, so this is a session that signed in before its account was deleted
  (dan was ana's friend and in her group).

Conversation routes target the group (the direct chat for `blocked`, the Community room for
/rooms/<id>/join); person routes (/u/<username>, /chat/<username>, the direct-chat API) target ana.
"""

import io
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from sqlalchemy import LargeBinary, String, cast, func, literal, select, union_all, update

from app.extensions import db, socketio
from app.models import User
from app.models.base import Base
from app.models.chat import ROOM, Conversation, Message
from app.models.session import ServerSession
from app.realtime.codec import UNDECODABLE_EVENT
from app.services import accounts, attachments, avatars, conversations, messaging, presence, profiles, social
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, extract_csrf
from tests.images import picture
from tests.realtime import GRACE, befriend, create_group, direct_chat, user_id
from tests.reliability import record

ACTORS = ("anonymous", "member", "non_member", "sender", "another_user", "blocked", "deactivated")
SIGNED_IN = ("member", "non_member", "sender", "another_user", "blocked")
# The owner acts last within a route: her permitted changes (adding cyd, removing bob) must not
# change what the others' attempts find.
ORDER = ("anonymous", "deactivated", "non_member", "another_user", "blocked", "member", "sender")
PEOPLE = {
    "member": "bob",
    "non_member": "eve",
    "sender": "ana",
    "another_user": "cyd",
    "blocked": "bea",
    "deactivated": "dan",
}
NEW_PASSWORD = "N3w-Passw0rd!"


# --- expected outcomes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What an HTTP request gets: its status, where a redirect points (a path, with {conversation}
    and {person} filled in per actor), the JSON error code, whether the database changed, and
    whether the client is signed in afterwards (None: not checked)."""

    status: int
    changed: bool = False
    location: str | None = None
    error: str | None = None
    signed_in_after: bool | None = None

    def but(self, **changes) -> "Outcome":
        """The same outcome with some fields replaced."""
        return Outcome(**{**self.__dict__, **changes})


@dataclass(frozen=True)
class NotApplicable:
    """This actor does not apply to the route, and why."""

    reason: str


LOGIN = Outcome(302, location="/login")
API_401 = Outcome(401, error="unauthorized")
OK = Outcome(200)
DONE = Outcome(200, changed=True)
NOT_FOUND = Outcome(404)
API_404 = Outcome(404, error="not_found")
HOME = Outcome(302, location="/")
PROFILE = Outcome(302, location="/u/{person}")
PROFILE_CHANGED = PROFILE.but(changed=True)
REFUSED_FORM = Outcome(422)


def row(*, anonymous, member, non_member, sender, another_user, blocked, deactivated) -> dict:
    """One route's expectations, every actor named."""
    return {
        "anonymous": anonymous,
        "member": member,
        "non_member": non_member,
        "sender": sender,
        "another_user": another_user,
        "blocked": blocked,
        "deactivated": deactivated,
    }


def signed_in_users(outcome, *, anonymous=LOGIN, deactivated=LOGIN, **exceptions) -> dict:
    """A row where every signed-in actor gets `outcome` unless named in exceptions."""
    return row(
        anonymous=anonymous,
        deactivated=deactivated,
        **{actor: exceptions.get(actor, outcome) for actor in SIGNED_IN},
    )


def everyone(outcome) -> dict:
    """A row for a public address: the same for all."""
    return row(**dict.fromkeys(ACTORS, outcome))


def conversation_row(*, member, sender, blocked, outsider=NOT_FOUND, visitor=LOGIN) -> dict:
    """A conversation route: non-members (eve, and cyd the owner's friend) get `outsider`."""
    return row(
        anonymous=visitor,
        deactivated=visitor,
        member=member,
        sender=sender,
        non_member=outsider,
        another_user=outsider,
        blocked=blocked,
    )


def person_row(*, member, non_member, sender, another_user, blocked=NOT_FOUND) -> dict:
    """A route naming ana: bea, whom she blocked, finds no one (as for an unknown name)."""
    return row(
        anonymous=LOGIN,
        deactivated=LOGIN,
        member=member,
        non_member=non_member,
        sender=sender,
        another_user=another_user,
        blocked=blocked,
    )


# --- the world the requests act on ---------------------------------------------------------------


class World:
    """The seven actors, their relations and conversations, on one app; see the module docstring.

    Built through the services, then each person signs in through the real login form in their own
    test client. `deactivate()` deletes dan's account behind his session's back.
    """

    def __init__(self, app):
        self.app = app
        tag = uuid.uuid4().hex[:8]
        self.name = {actor: f"{person}_{tag}" for actor, person in PEOPLE.items()}
        self.person = self.name["sender"]
        with app.test_request_context(), transaction():
            users = {
                actor: accounts.register_user(name, TEST_PASSWORD, first_name=PEOPLE[actor].title())
                for actor, name in self.name.items()
            }
            self.id = {actor: user.id for actor, user in users.items()}
            ana = users["sender"]
            for friend in ("member", "another_user", "deactivated"):
                social.send_request(ana, self.name[friend])
                social.accept_request(users[friend], ana.username)
            self.group = conversations.create_group(ana, "Team", [self.id["member"], self.id["deactivated"]]).id
            for number in (1, 2):
                messaging.send_message(ana, self.group, f"team {number}", f"team-{tag}-{number}")
            self.direct = conversations.open_direct(users["blocked"], ana.username).id
            messaging.send_message(users["blocked"], self.direct, "hi ana", f"bea-{tag}")
            messaging.send_message(ana, self.direct, "hi bea", f"ana-{tag}")
            # An upload (not sent) in each: what the attachment routes serve to each actor.
            self.attachment = {
                self.group: attachments.upload(ana, self.group, "team.png", picture("PNG", size=(16, 16))).id,
                self.direct: attachments.upload(
                    users["blocked"], self.direct, "hi.png", picture("PNG", size=(8, 8))
                ).id,
            }
            social.block(ana, self.name["blocked"])
            self.room = db.session.scalar(select(Conversation.id).where(Conversation.kind == ROOM).limit(1))
            conversations.join_room(users["member"], self.room)
        self.client = {actor: app.test_client() for actor in ACTORS}
        self.token = {}
        for actor in ACTORS:
            # The login page's token stays the session's token after signing in.
            self.token[actor] = extract_csrf(self.client[actor].get("/login").get_data(as_text=True))
            if actor in self.name:
                form = {"username": self.name[actor], "password": TEST_PASSWORD, "csrf_token": self.token[actor]}
                assert self.client[actor].post("/login", data=form).status_code == 302

    def save(self) -> None:
        """Remember the database (sessions included) and every client's session cookie."""
        self.saved_rows = dump(self.app)
        self.saved_state = snapshot(self.app)
        name = self.app.config["SESSION_COOKIE_NAME"]
        self.saved_cookies = {actor: client.get_cookie(name) for actor, client in self.client.items()}

    def restore_if_changed(self, state: "State") -> None:
        """Put the database and the cookies back as save() found them, if anything moved."""
        if state == self.saved_state:
            return
        restore(self.app, self.saved_rows)
        name = self.app.config["SESSION_COOKIE_NAME"]
        for actor, cookie in self.saved_cookies.items():
            self.client[actor].set_cookie(name, cookie.value)

    def deactivate(self) -> None:
        """Delete dan's account without telling his session or sockets (as another worker would)."""
        with self.app.test_request_context(), transaction():
            profiles.delete_account(db.session.get(User, self.id["deactivated"]), TEST_PASSWORD)

    def conversation(self, actor: str) -> int:
        """The conversation a conversation route targets for this actor."""
        return self.direct if actor == "blocked" else self.group

    def places(self, actor: str) -> dict:
        """The values an expected redirect's {placeholders} take for this actor."""
        return {"conversation": self.conversation(actor), "person": self.person, "room": self.room}

    def user(self, actor: str) -> User:
        """The actor's user, loaded in the current app context."""
        return db.session.get(User, self.id[actor])

    def signed_in(self, actor: str) -> bool:
        """Whether the actor's client is signed in (the API answers 401 otherwise)."""
        return self.client[actor].get("/api/conversations").status_code == 200


TABLES = Base.metadata.sorted_tables  # parents before children


def _rows_as_text(table):
    """SELECT table name, row as one string: every column but "last seen" and binary data."""
    parts = [
        func.coalesce(cast(column, String), "~")
        for column in table.columns
        if column.name != "last_seen_at" and not isinstance(column.type, LargeBinary)
    ]
    text = parts[0]
    for part in parts[1:]:
        text = text + literal("|") + part
    return select(literal(table.name).label("table_name"), text.label("row_text"))


# Every table in one round trip (each request is followed by one).
STATE = union_all(*(_rows_as_text(table) for table in TABLES))


@dataclass(frozen=True)
class State:
    """The product's rows (sessions aside) and the sessions' ids and expiry, each as text."""

    product: tuple
    sessions: tuple


def snapshot(app) -> State:
    """The database as text: State.product is equal before and after a request that changed nothing."""
    with app.app_context(), db.engine.connect() as connection:
        rows = sorted(tuple(row) for row in connection.execute(STATE))
    sessions = ServerSession.__tablename__
    return State(
        product=tuple(row for row in rows if row[0] != sessions),
        sessions=tuple(row for row in rows if row[0] == sessions),
    )


def session_ids(app) -> set[str]:
    """The ids of the stored sessions (signing in or out, or deleting an account, changes them)."""
    with app.app_context(), db.engine.connect() as connection:
        return set(connection.scalars(select(ServerSession.session_id)))


def dump(app) -> dict:
    """Every row of every table, sessions included."""
    with app.app_context(), db.engine.connect() as connection:
        return {table.name: [dict(row._mapping) for row in connection.execute(select(table))] for table in TABLES}


def restore(app, rows: dict) -> None:
    """Make every table hold exactly the dumped rows again."""
    with app.app_context(), db.engine.begin() as connection:
        for table in reversed(TABLES):
            connection.execute(table.delete())
        for table in TABLES:
            if rows[table.name]:
                connection.execute(table.insert(), rows[table.name])


# --- the HTTP route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request's path and body; a POST gets the actor's CSRF token added (form field, or the
    X-CSRFToken header for JSON)."""

    path: str
    data: dict = field(default_factory=dict)
    json: object = None


@dataclass(frozen=True)
class Route:
    """A route's row: how each actor calls it, what each gets, and any setup its world needs."""

    call: Callable[[World, str], Call]
    expect: dict
    setup: Callable[[World], None] | None = None


def at(path: str, **data) -> Callable[[World, str], Call]:
    """A call whose path and form fields may use {conversation}, {person}, {room}, {bob_id} and
    {cyd_id}, filled in per actor."""

    def build(world: World, actor: str) -> Call:
        values = {
            **world.places(actor),
            "bob_id": world.id["member"],
            "cyd_id": world.id["another_user"],
        }
        fields = {key: value.format(**values) if isinstance(value, str) else value for key, value in data.items()}
        return Call(path.format(**values), fields)

    return build


def own_login(world: World, actor: str) -> Call:
    """Sign in with one's own credentials; the visitor uses cyd's."""
    name = world.name.get(actor, world.name["another_user"])
    return Call("/login", {"username": name, "password": TEST_PASSWORD})


def new_account(world: World, actor: str) -> Call:
    """Sign up under a name nobody has."""
    name = f"new_{uuid.uuid4().hex[:10]}"
    return Call(
        "/register",
        {
            "username": name,
            "first_name": "New",
            "last_name": "Person",
            "password": TEST_PASSWORD,
            "confirm_password": TEST_PASSWORD,
        },
    )


def own_profile(world: World, actor: str) -> Call:
    """Save one's own profile with a new first name."""
    name = world.name.get(actor, "nobody")
    return Call("/settings/profile", {"username": name, "first_name": "Renamed", "last_name": "Person", "bio": "hi"})


def a_picture(world: World, actor: str) -> Call:
    """Upload a small PNG."""
    return Call("/settings/avatar/upload", {"picture": (io.BytesIO(picture("PNG", size=(16, 16))), "me.png")})


def an_upload(world: World, actor: str) -> Call:
    """Upload a small PNG into the actor's conversation (multipart, as the page's script does)."""
    file = (io.BytesIO(picture("PNG", size=(16, 16))), "shot.png")
    return Call(f"/c/{world.conversation(actor)}/attachments", {"file": file})


def an_attachment(suffix: str) -> Callable[[World, str], Call]:
    """GET /attachments/<id>/<suffix> for the upload in the actor's conversation."""
    return lambda world, actor: Call(f"/attachments/{world.attachment[world.conversation(actor)]}/{suffix}")


def forward_call(world: World, actor: str) -> Call:
    """/messages/<id>/forward for the first message of the actor's conversation, into it (the form
    fields serve the POST; the GET ignores them)."""
    message_id = first_message(world, world.conversation(actor))
    return Call(
        f"/messages/{message_id}/forward",
        {"conversation_id": str(world.conversation(actor)), "client_id": uuid.uuid4().hex},
    )


def direct_with_ana(world: World, actor: str) -> Call:
    """POST /api/conversations/direct naming ana."""
    return Call("/api/conversations/direct", json={"username": world.person})


def pending_request(requester: str, addressee: str):
    """Setup: a friend request from one actor to another, waiting for an answer."""

    def setup(world: World) -> None:
        with world.app.test_request_context(), transaction():
            social.send_request(world.user(requester), world.name[addressee])

    return setup


def eve_blocks_ana(world: World) -> None:
    """Setup: eve has blocked ana (so eve can lift it)."""
    with world.app.test_request_context(), transaction():
        social.block(world.user("non_member"), world.person)


def everyone_has_a_preset_avatar(world: World) -> None:
    """Setup: each person uses a bundled avatar (so going back to initials changes something)."""
    with world.app.app_context():
        db.session.execute(update(User).values(avatar_id=3))
        db.session.commit()


def ana_uploads_a_picture(world: World) -> None:
    """Setup: ana uses an uploaded picture."""
    with world.app.test_request_context(), transaction():
        avatars.upload_avatar(world.user("sender"), picture("PNG", size=(16, 16)))


def ana_picture(world: World, actor: str) -> Call:
    """GET ana's uploaded picture."""
    with world.app.app_context():
        return Call(f"/media/avatars/{world.user('sender').avatar_upload}")


SELF_CHAT = Outcome(302, location="/u/{person}")  # "You can't start a chat with yourself."

ROUTES: dict[str, Route] = {
    # public pages
    "main.index GET": Route(at("/"), everyone(OK) | {"deactivated": OK.but(signed_in_after=False)}),
    "main.healthz GET": Route(at("/healthz"), everyone(OK)),
    "people.initials_avatar GET": Route(at("/avatars/initials/3/AB.svg"), everyone(OK)),
    # accounts
    "auth.login GET": Route(at("/login"), signed_in_users(HOME, anonymous=OK, deactivated=OK)),
    "auth.login POST": Route(
        own_login,
        signed_in_users(
            HOME,
            anonymous=HOME.but(signed_in_after=True),
            # the account is gone: its name and password sign no one in
            deactivated=REFUSED_FORM.but(signed_in_after=False),
        ),
    ),
    "auth.register GET": Route(at("/register"), signed_in_users(HOME, anonymous=OK, deactivated=OK)),
    "auth.register POST": Route(
        new_account,
        signed_in_users(
            HOME,
            anonymous=HOME.but(changed=True, signed_in_after=True),
            deactivated=HOME.but(changed=True, signed_in_after=True),
        ),
    ),
    "auth.logout POST": Route(
        at("/logout"),
        signed_in_users(HOME.but(signed_in_after=False), anonymous=HOME, deactivated=HOME.but(signed_in_after=False)),
    ),
    "auth.change_password GET": Route(at("/settings/password"), signed_in_users(OK)),
    "auth.change_password POST": Route(
        at(
            "/settings/password",
            current_password=TEST_PASSWORD,
            new_password=NEW_PASSWORD,
            confirm_password=NEW_PASSWORD,
        ),
        signed_in_users(HOME.but(changed=True, signed_in_after=True)),
    ),
    # one's own settings: no id in the address, so no one else's account can be reached
    "settings.index GET": Route(at("/settings"), signed_in_users(OK)),
    "settings.profile GET": Route(at("/settings/profile"), signed_in_users(OK)),
    "settings.profile POST": Route(own_profile, signed_in_users(Outcome(302, changed=True))),
    "settings.avatar GET": Route(at("/settings/avatar"), signed_in_users(OK)),
    "settings.choose_avatar POST": Route(
        at("/settings/avatar/choose", avatar_id="2"), signed_in_users(Outcome(302, True, "/settings/avatar"))
    ),
    "settings.upload_avatar POST": Route(a_picture, signed_in_users(Outcome(302, True, "/settings/avatar"))),
    "settings.remove_avatar POST": Route(
        at("/settings/avatar/remove"),
        signed_in_users(Outcome(302, True, "/settings/avatar")),
        setup=everyone_has_a_preset_avatar,
    ),
    "settings.privacy POST": Route(
        at("/settings/privacy", message_policy="friends"), signed_in_users(Outcome(302, True, "/settings"))
    ),
    "settings.export GET": Route(at("/settings/export"), signed_in_users(OK)),
    "settings.delete_account POST": Route(
        at("/settings/delete", password=TEST_PASSWORD), signed_in_users(HOME.but(changed=True, signed_in_after=False))
    ),
    # people (the address names ana)
    "people.profile GET": Route(at("/u/{person}"), person_row(member=OK, non_member=OK, sender=OK, another_user=OK)),
    "people.search GET": Route(at("/search?q=ana"), signed_in_users(OK)),
    "people.send_request POST": Route(
        at("/u/{person}/friend-request"),
        # already friends (bob, cyd) and herself (ana): said on the page, nothing stored
        person_row(member=PROFILE, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE),
    ),
    "people.cancel_request POST": Route(
        at("/u/{person}/friend-request/cancel"),
        person_row(member=PROFILE, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE),
        setup=pending_request("non_member", "sender"),
    ),
    "people.accept_request POST": Route(
        at("/u/{person}/friend-request/accept"),
        person_row(member=PROFILE, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE),
        setup=pending_request("sender", "non_member"),
    ),
    "people.decline_request POST": Route(
        at("/u/{person}/friend-request/decline"),
        person_row(member=PROFILE, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE),
        setup=pending_request("sender", "non_member"),
    ),
    "people.remove_friend POST": Route(
        at("/u/{person}/unfriend"),
        person_row(member=PROFILE_CHANGED, non_member=PROFILE, sender=PROFILE, another_user=PROFILE_CHANGED),
    ),
    "people.block POST": Route(
        at("/u/{person}/block"),
        person_row(member=PROFILE_CHANGED, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE_CHANGED),
    ),
    "people.unblock POST": Route(
        at("/u/{person}/unblock"),
        person_row(member=PROFILE, non_member=PROFILE_CHANGED, sender=PROFILE, another_user=PROFILE),
        setup=eve_blocks_ana,
    ),
    # A picture's address is the hash of its content: whoever has seen it may load it again
    # (bea too, though ana blocked her), nobody can guess one.
    "people.uploaded_avatar GET": Route(ana_picture, signed_in_users(OK), setup=ana_uploads_a_picture),
    # chats
    "chat.direct GET": Route(
        at("/chat/{person}"),
        person_row(member=DONE, non_member=DONE, sender=SELF_CHAT, another_user=DONE),
    ),
    "chat.conversation GET": Route(at("/c/{conversation}"), conversation_row(member=OK, sender=OK, blocked=OK)),
    "chat.post_message POST": Route(
        at("/c/{conversation}/messages", body="hello", client_id=uuid.uuid4().hex),
        conversation_row(
            member=Outcome(302, True, "/c/{conversation}"),
            sender=Outcome(302, True, "/c/{conversation}"),
            blocked=REFUSED_FORM,  # "You can't message this person."
        ),
    ),
    # forwarding: the page and the form name a message of the actor's conversation (bea's own in
    # her chat), forwarded into that same conversation
    "chat.forward GET": Route(forward_call, conversation_row(member=OK, sender=OK, blocked=OK)),
    "chat.forward POST": Route(
        forward_call,
        conversation_row(
            member=Outcome(302, True, "/c/{conversation}"),
            sender=Outcome(302, True, "/c/{conversation}"),
            blocked=REFUSED_FORM,  # "You can't message this person."
        ),
    ),
    "chat.rooms GET": Route(at("/rooms"), signed_in_users(OK)),
    "chat.join_room POST": Route(
        at("/rooms/{room}/join"),
        # A public room: anyone signed in may join (bob is in it already).
        signed_in_users(Outcome(302, True, "/c/{room}"), member=Outcome(302, False, "/c/{room}")),
    ),
    "chat.leave POST": Route(
        at("/c/{conversation}/leave"),
        conversation_row(
            member=HOME.but(changed=True),
            sender=HOME.but(changed=True),  # the group passes to its longest member
            blocked=Outcome(302, location="/c/{conversation}"),  # "You can't leave a direct chat."
        ),
    ),
    "chat.conversation_settings POST": Route(
        at("/c/{conversation}/settings", muted="1"),
        # one's own settings: bea may mute the chat of someone who blocked her
        conversation_row(
            member=Outcome(302, True, "/c/{conversation}"),
            sender=Outcome(302, True, "/c/{conversation}"),
            blocked=Outcome(302, True, "/c/{conversation}"),
        ),
    ),
    "chat.new_group GET": Route(at("/groups/new"), signed_in_users(OK)),
    "chat.new_group POST": Route(at("/groups/new", title="Mine"), signed_in_users(Outcome(302, changed=True))),
    "chat.group_settings GET": Route(
        at("/c/{conversation}/settings"),
        conversation_row(member=OK, sender=OK, blocked=NOT_FOUND),  # a direct chat has none
    ),
    "chat.rename_group POST": Route(
        at("/c/{conversation}/rename", title="Renamed"),
        conversation_row(
            member=REFUSED_FORM,  # "Only the group's owner can do that."
            sender=Outcome(302, True, "/c/{conversation}/settings"),
            blocked=NOT_FOUND,
        ),
    ),
    "chat.add_members POST": Route(
        at("/c/{conversation}/members", members="{cyd_id}"),
        conversation_row(
            member=REFUSED_FORM, sender=Outcome(302, True, "/c/{conversation}/settings"), blocked=NOT_FOUND
        ),
    ),
    "chat.remove_member POST": Route(
        at("/c/{conversation}/members/{bob_id}/remove"),
        conversation_row(
            member=Outcome(302, False, "/c/{conversation}/settings"),  # flashed: only the owner may
            sender=Outcome(302, True, "/c/{conversation}/settings"),
            blocked=NOT_FOUND,
        ),
    ),
    # the JSON API
    "api.conversation_list GET": Route(
        at("/api/conversations"), signed_in_users(OK, anonymous=API_401, deactivated=API_401)
    ),
    "api.writable_conversations GET": Route(
        at("/api/conversations/writable"), signed_in_users(OK, anonymous=API_401, deactivated=API_401)
    ),
    "api.messages GET": Route(
        at("/api/conversations/{conversation}/messages?before=3"),
        conversation_row(member=OK, sender=OK, blocked=OK, outsider=API_404, visitor=API_401),
    ),
    # the composer: `@` suggests the members of a conversation one is in; the emoji list is public
    "api.members GET": Route(
        at("/api/conversations/{conversation}/members?q=b"),
        conversation_row(member=OK, sender=OK, blocked=OK, outsider=API_404, visitor=API_401),
    ),
    "api.emoji_list GET": Route(at("/api/emoji"), everyone(OK)),
    # attachments: uploading where one may write, reading where one is a member
    "attachments.upload POST": Route(
        an_upload,
        conversation_row(
            member=Outcome(201, changed=True),
            sender=Outcome(201, changed=True),
            blocked=Outcome(403, error="not_allowed"),  # "You can't message this person."
        ),
    ),
    # Uploads not sent yet (ana's in the group, bea's in her chat): their uploader's alone, so bob finds
    # nothing; once sent, every member reads them (test_a_sent_upload_is_served_to_its_conversations_members).
    "attachments.download GET": Route(
        an_attachment("team.png"), conversation_row(member=NOT_FOUND, sender=OK, blocked=OK)
    ),
    "attachments.thumbnail GET": Route(
        an_attachment("thumbnail"), conversation_row(member=NOT_FOUND, sender=OK, blocked=OK)
    ),
    # a link preview's picture: anyone signed in who knows its address (its content's hash); none here
    "attachments.link_preview_image GET": Route(
        at("/link-previews/1/0123456789abcdef0123456789abcdef.webp"), signed_in_users(NOT_FOUND)
    ),
    "api.direct_conversation POST": Route(
        direct_with_ana,
        row(
            anonymous=API_401,
            deactivated=API_401,
            member=DONE,
            non_member=DONE,
            another_user=DONE,
            sender=Outcome(400, error="self"),
            blocked=API_404,
        ),
    ),
    # message search: everyone searches their own conversations; naming one you are not in is 404
    "api.search_messages GET": Route(
        at("/api/search?q=team&conversation_id={conversation}"),
        conversation_row(member=OK, sender=OK, blocked=OK, outsider=API_404, visitor=API_401),
    ),
    "search.messages GET": Route(
        at("/search/messages?q=team&conversation_id={conversation}"),
        conversation_row(member=OK, sender=OK, blocked=OK),
    ),
}


def http_rules(app) -> dict:
    """Every route the app serves, as "endpoint METHOD" -> the url_map rule (static files aside)."""
    return {
        f"{rule.endpoint} {method}": rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    }


def perform(world: World, actor: str, method: str, call: Call, token: str | None = "own", **options):
    """Send the call as the actor; `token` is the CSRF token to send ("own", another, or None)."""
    token = world.token[actor] if token == "own" else token
    data, headers = dict(call.data), {}
    if method != "GET" and token is not None:
        if call.json is not None:
            headers["X-CSRFToken"] = token
        else:
            data["csrf_token"] = token
    return world.client[actor].open(
        call.path, method=method, data=data or None, json=call.json, headers=headers, **options
    )


def mismatches(world: World, actor: str, expected: Outcome, response, changed: bool) -> list[str]:
    """How the response differs from the expected outcome (empty when it matches)."""
    found = []
    if response.status_code != expected.status:
        found.append(f"status {response.status_code}, expected {expected.status}")
    if expected.location is not None:
        path = urlsplit(response.headers.get("Location", "")).path
        if path != expected.location.format(**world.places(actor)):
            found.append(f"redirect to {path!r}, expected {expected.location.format(**world.places(actor))!r}")
    if expected.error is not None:
        body = response.get_json(silent=True) or {}
        if body.get("error") != expected.error:
            found.append(f"error {body.get('error')!r}, expected {expected.error!r}")
    if changed != expected.changed:
        found.append("the database changed" if changed else "the database did not change")
    if expected.signed_in_after is not None and world.signed_in(actor) != expected.signed_in_after:
        found.append("signed in afterwards" if expected.signed_in_after is False else "signed out afterwards")
    return found


# Once a message carries them: bea may still see what was shared in her chat, as she may read it.
SENT_ATTACHMENT_ROWS = {
    "attachments.download GET": (an_attachment("team.png"), conversation_row(member=OK, sender=OK, blocked=OK)),
    "attachments.thumbnail GET": (an_attachment("thumbnail"), conversation_row(member=OK, sender=OK, blocked=OK)),
}


# --- the socket event table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """What a socket event gets: ok or an error code, whether the database changed, how many
    messages a sync returned, and whether the socket is still connected afterwards."""

    ok: bool
    error: str | None = None
    changed: bool = False
    messages: int | None = None
    connected_after: bool = True


NO_SOCKET = NotApplicable("a visitor's socket is refused at connect (see the connect row), so it sends nothing")
DEPARTED = Ack(ok=False, error="unauthorized", connected_after=False)
NOT_IN_IT = Ack(ok=False, error="not_found")


def event_row(*, member, sender, outsider, blocked) -> dict:
    """An event's expectations: outsiders are eve and cyd (ana's friend, not in her group)."""
    return row(
        anonymous=NO_SOCKET,
        deactivated=DEPARTED,
        member=member,
        sender=sender,
        non_member=outsider,
        another_user=outsider,
        blocked=blocked,
    )


@dataclass(frozen=True)
class Event:
    """An event's row: the payload each actor sends and what each gets."""

    payload: Callable[[World, str], dict]
    expect: dict


EVENTS: dict[str, Event | dict] = {
    # connect and disconnect have their own checks (see test_the_socket_matrix)
    "connect": row(
        anonymous="refused",
        deactivated="refused",
        **dict.fromkeys(SIGNED_IN, "accepted"),
    ),
    "disconnect": row(
        anonymous=NotApplicable("never connected"),
        deactivated=NotApplicable("already dropped by its first event (see the other rows)"),
        **dict.fromkeys(SIGNED_IN, "offline"),
    ),
    "sync": Event(
        lambda w, actor: {"after": {str(w.conversation(actor)): 0}},
        # an outsider's conversation is skipped as if it did not exist; bea may still read her chat
        event_row(
            member=Ack(ok=True, messages=2),
            sender=Ack(ok=True, messages=2),
            outsider=Ack(ok=True, messages=0),
            blocked=Ack(ok=True, messages=2),
        ),
    ),
    "mark_read": Event(
        lambda w, actor: {"conversation_id": w.conversation(actor), "seq": 2},
        event_row(
            member=Ack(ok=True, changed=True),
            sender=Ack(ok=True),  # writing them, ana had read her messages already
            outsider=NOT_IN_IT,
            blocked=Ack(ok=True, changed=True),
        ),
    ),
    "typing": Event(
        lambda w, actor: {"conversation_id": w.conversation(actor)},
        event_row(
            member=Ack(ok=True), sender=Ack(ok=True), outsider=NOT_IN_IT, blocked=Ack(ok=False, error="not_allowed")
        ),
    ),
    UNDECODABLE_EVENT: Event(
        lambda w, actor: {},
        # what a packet the server could not read becomes: refused alike for everyone (app/realtime/codec.py)
        event_row(
            member=Ack(ok=False, error="invalid"),
            sender=Ack(ok=False, error="invalid"),
            outsider=Ack(ok=False, error="invalid"),
            blocked=Ack(ok=False, error="invalid"),
        ),
    ),
    "presence_snapshot": Event(
        lambda w, actor: {},
        # about the people the asker may see: nobody's conversation is named, so no one is refused
        event_row(member=Ack(ok=True), sender=Ack(ok=True), outsider=Ack(ok=True), blocked=Ack(ok=True)),
    ),
    "send_message": Event(
        lambda w, actor: {"conversation_id": w.conversation(actor), "body": "hey", "client_id": uuid.uuid4().hex},
        event_row(
            member=Ack(ok=True, changed=True),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=False, error="not_allowed"),
        ),
    ),
    "forward_message": Event(
        lambda w, actor: {
            "message_id": first_message(w, w.conversation(actor)),
            "conversation_id": w.conversation(actor),
            "client_id": uuid.uuid4().hex,
        },
        # a message one can read, into a conversation one may write in; bea may not write to ana
        event_row(
            member=Ack(ok=True, changed=True),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=False, error="not_allowed"),
        ),
    ),
    "set_conversation_settings": Event(
        lambda w, actor: {"conversation_id": w.conversation(actor), "muted": True},
        # one's own settings; the asking socket is not told (only the user's other sockets are)
        event_row(
            member=Ack(ok=True, changed=True),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=True, changed=True),
        ),
    ),
    "edit_message": Event(
        lambda w, actor: {"message_id": first_message(w, w.conversation(actor)), "body": f"edited by {actor}"},
        # ana's group message, bea's own message in the chat whose other side blocked her
        event_row(
            member=Ack(ok=False, error="not_allowed"),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=False, error="not_allowed"),
        ),
    ),
    "react": Event(
        lambda w, actor: {"message_id": first_message(w, w.conversation(actor)), "emoji": "👍", "on": True},
        event_row(
            member=Ack(ok=True, changed=True),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=False, error="not_allowed"),
        ),
    ),
    "delete_message": Event(
        lambda w, actor: {"message_id": first_message(w, w.conversation(actor))},
        # bob may not delete ana's message; bea may take her own words back across the block
        event_row(
            member=Ack(ok=False, error="not_allowed"),
            sender=Ack(ok=True, changed=True),
            outsider=NOT_IN_IT,
            blocked=Ack(ok=True, changed=True),
        ),
    ),
}

MISSING_MESSAGE_ID = 2**31 - 1


def first_message(world: World, conversation_id: int) -> int:
    """The id of the conversation's first message (an id no message has when there is none)."""
    with world.app.app_context():
        found = db.session.scalar(
            select(Message.id).where(Message.conversation_id == conversation_id, Message.seq == 1)
        )
        db.session.remove()
    return found or MISSING_MESSAGE_ID


def socket_handlers(app) -> dict:
    """The Socket.IO handlers registered on the app's server, by event name."""
    server = app.extensions["socketio"].server
    assert socketio.server is server, "another app was built after this one"
    return server.handlers.get("/", {})


def open_test_socket(app, world: World, actor: str):
    """A Flask-SocketIO test client carrying the actor's session cookie."""
    return socketio.test_client(app, flask_test_client=world.client[actor])


def received(sock) -> list[tuple[str, object]]:
    """The events a test socket received since the last call, as (name, payload)."""
    events = []
    for item in sock.get_received():
        args = item["args"]
        # The test client unpacks the payload of an event named "message" (Socket.IO's default name).
        events.append((item["name"], args if item["name"] == "message" else (args[0] if args else None)))
    return events


# --- the tables are complete -----------------------------------------------------------------------


@pytest.fixture
def sqlite_app(sqlite_databases):
    """The app on a fresh SQLite database (for checks that do not depend on the engine)."""
    from app import create_app
    from tests.conftest import app_config

    app = create_app(app_config(sqlite_databases.create()))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_route_and_event_has_a_row_naming_every_actor(sqlite_app):
    """The route table has exactly one row per route and method the app serves, the event table one
    per registered socket event; every row names all seven actors. A new route or event without a
    decision about who may use it fails here, and so does a row for one that is gone."""
    routes = set(http_rules(sqlite_app))
    assert routes - ROUTES.keys() == set(), "routes without a row in ROUTES"
    assert ROUTES.keys() - routes == set(), "rows in ROUTES for routes that no longer exist"
    events = set(socket_handlers(sqlite_app))
    assert {"connect", "disconnect", "send_message"} <= events
    assert events - EVENTS.keys() == set(), "socket events without a row in EVENTS"
    assert EVENTS.keys() - events == set(), "rows in EVENTS for events that no longer exist"
    for name, entry in [*ROUTES.items(), *EVENTS.items()]:
        expect = entry if isinstance(entry, dict) else entry.expect
        assert tuple(expect) == ACTORS, name
    for name in PROBES:
        assert name in ROUTES or name in EVENTS, f"PROBES names {name}, which does not exist"
    with_ids = {name for name, rule in http_rules(sqlite_app).items() if rule.arguments}
    assert with_ids - PROBES.keys() == set(), "routes taking an id without a row in PROBES"


# --- the HTTP matrix -------------------------------------------------------------------------------


def test_the_http_matrix(app):
    """Every route, as every actor, gets what its row says: status, redirect, JSON error, whether
    anything was stored, and whether the actor is still signed in. Each route finds the world as it
    was built (database, sessions and cookies put back after a route that changed them); the actors
    act in ORDER (the owner last) and each request's effect is measured alone."""
    world = World(app)
    world.deactivate()
    world.save()
    problems, state, checked = [], world.saved_state, 0
    for key, route in ROUTES.items():
        method = key.split(" ")[1]
        world.restore_if_changed(state)
        if route.setup:
            route.setup(world)
        state = snapshot(app)
        for actor in ORDER:
            expected = route.expect[actor]
            if isinstance(expected, NotApplicable):
                continue
            response = perform(world, actor, method, route.call(world, actor))
            before, state = state, snapshot(app)
            checked += 1
            for problem in mismatches(world, actor, expected, response, state.product != before.product):
                problems.append(f"{key} as {actor}: {problem}")
    assert problems == [], "\n".join(problems)
    record(
        "Security",
        f"Authorization matrix over HTTP ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})",
        {"routes and methods": len(ROUTES), "actors": len(ACTORS), "requests checked": checked, "mismatches": 0},
        "Every route and method the app serves, requested by each actor (anonymous, member, non-member, sender, "
        "another user, blocked, deleted account) through the Flask test client; status, redirect, JSON error, "
        "what was stored and whether the actor is still signed in are compared with the route's row.",
    )


def test_a_sent_upload_is_served_to_its_conversations_members(app):
    """The attachment routes' rows once the world's uploads were sent (before, ROUTES' rows hold)."""
    world = World(app)
    world.deactivate()
    with app.test_request_context(), transaction():
        ana, bea = world.user("sender"), world.user("blocked")
        messaging.send_message(ana, world.group, "", "team-png", attachment_id=world.attachment[world.group])
        social.unblock(ana, bea.username)  # bea sent hers before ana blocked her
        messaging.send_message(bea, world.direct, "", "hi-png", attachment_id=world.attachment[world.direct])
        social.block(ana, bea.username)
    problems = []
    for key, (call, expect) in SENT_ATTACHMENT_ROWS.items():
        for actor in ORDER:
            response = perform(world, actor, "GET", call(world, actor))
            for problem in mismatches(world, actor, expect[actor], response, changed=False):
                problems.append(f"{key} as {actor}: {problem}")
    assert problems == [], "\n".join(problems)


# --- the socket matrix -----------------------------------------------------------------------------


def test_the_socket_matrix(app):
    """Every socket event, from every actor's socket, gets the ack its row says (and changes the
    database only where it says); a visitor's and a deleted account's sockets are refused at
    connect, a deleted account's open socket is answered `unauthorized` and dropped; outsiders'
    sockets receive nothing of the group while its members act in it."""
    socket_handlers(app)
    world = World(app)
    sockets = {actor: open_test_socket(app, world, actor) for actor in ACTORS}
    # One socket of dan's per event, opened while his account still existed.
    dan = {name: open_test_socket(app, world, "deactivated") for name in EVENTS if isinstance(EVENTS[name], Event)}
    world.deactivate()
    problems = []

    connected = {actor: sockets[actor].is_connected() for actor in ACTORS if actor != "deactivated"}
    connected["deactivated"] = open_test_socket(app, world, "deactivated").is_connected()
    for actor, expected in EVENTS["connect"].items():
        if connected[actor] != (expected == "accepted"):
            problems.append(f"connect as {actor}: {'accepted' if connected[actor] else 'refused'}, expected {expected}")

    for name, event in EVENTS.items():
        if not isinstance(event, Event):
            continue
        for actor in ORDER:
            expected = event.expect[actor]
            if isinstance(expected, NotApplicable):
                continue
            sock = dan[name] if actor == "deactivated" else sockets[actor]
            before = snapshot(app).product
            ack = sock.emit(name, event.payload(world, actor), callback=True)
            changed = snapshot(app).product != before
            got = Ack(
                ok=ack.get("ok"),
                error=ack.get("error"),
                changed=changed,
                messages=len(ack["messages"]) if expected.messages is not None and "messages" in ack else None,
                connected_after=sock.is_connected(),
            )
            if got != expected:
                problems.append(f"{name} as {actor}: {got}, expected {expected}")

    everything = {actor: received(sockets[actor]) for actor in SIGNED_IN}
    ana = world.id["sender"]
    assert any(name == "message" for name, _ in everything["member"]), (
        "bob received none of the group's messages: the outsider checks below would prove nothing"
    )
    assert any(name == "typing" for name, _ in everything["member"])
    assert everything["non_member"] == [], "eve, related to no one, received events"
    # cyd (ana's friend) may see ana's presence; bea, in a chat with ana, that too and her own chat.
    allowed = {
        "another_user": lambda name, data: name == "presence" and data["user_id"] == ana,
        "blocked": lambda name, data: (
            (name == "presence" and data["user_id"] == ana)
            or (name != "presence" and data["conversation_id"] == world.direct)
        ),
    }
    for actor, fits in allowed.items():
        others = [(name, data) for name, data in everything[actor] if not fits(name, data)]
        assert others == [], f"{actor} received events of a conversation they are not in"

    for actor, expected in EVENTS["disconnect"].items():
        if isinstance(expected, NotApplicable):
            continue
        sockets[actor].disconnect()
        with app.app_context():
            online = world.id[actor] in presence.online_among([world.id[actor]])
        if sockets[actor].is_connected() or online:
            problems.append(f"disconnect as {actor}: still connected or online")
    assert problems == [], "\n".join(problems)


# --- unknown and forbidden ids answer alike -------------------------------------------------------


TOKEN_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+|(value=")[^"]+("[^>]*name="csrf_token")')


def normalized(response) -> tuple[int, str]:
    """The status and body, with the per-request CSRF tokens blanked."""
    body = response.get_data(as_text=True)
    return response.status_code, TOKEN_VALUE.sub(
        lambda m: (m.group(1) or m.group(2)) + "TOKEN" + (m.group(3) or ""), body
    )


@dataclass(frozen=True)
class Probe:
    """Who asks about an existing id they may not reach, and how the request names an id."""

    asker: str
    call: Callable[[World, str], Call]


def conversation_probe(path: str, **data) -> Probe:
    """eve asks about ana's group, then about a conversation that does not exist."""

    def build(world: World, target: str) -> Call:
        return Call(path.format(id=target, bob_id=world.id["member"]), data)

    return Probe("non_member", build)


def person_probe(path: str) -> Probe:
    """bea asks about ana (who blocked her), then about a name nobody has."""
    return Probe("blocked", lambda world, target: Call(path.format(name=target)))


PROBES: dict[str, Probe | NotApplicable] = {
    "chat.conversation GET": conversation_probe("/c/{id}"),
    "chat.group_settings GET": conversation_probe("/c/{id}/settings"),
    "chat.post_message POST": conversation_probe("/c/{id}/messages", body="psst", client_id="probe-1"),
    "chat.leave POST": conversation_probe("/c/{id}/leave"),
    "chat.conversation_settings POST": conversation_probe("/c/{id}/settings", muted="1"),
    "chat.rename_group POST": conversation_probe("/c/{id}/rename", title="Mine now"),
    "chat.add_members POST": conversation_probe("/c/{id}/members", members="1"),
    "chat.remove_member POST": conversation_probe("/c/{id}/members/{bob_id}/remove"),
    # a group is not a room: joining it answers as for no conversation at all
    "chat.join_room POST": conversation_probe("/rooms/{id}/join"),
    "api.messages GET": conversation_probe("/api/conversations/{id}/messages?before=2"),
    "api.search_messages GET": conversation_probe("/api/search?q=team&conversation_id={id}"),
    "api.members GET": conversation_probe("/api/conversations/{id}/members?q=b"),
    "search.messages GET": conversation_probe("/search/messages?q=team&conversation_id={id}"),
    # eve asks about the group's first message, then about a message id nobody has
    "chat.forward GET": Probe("non_member", lambda world, target: forward_probe(world, target)),
    "chat.forward POST": Probe("non_member", lambda world, target: forward_probe(world, target)),
    "people.profile GET": person_probe("/u/{name}"),
    "chat.direct GET": person_probe("/chat/{name}"),
    "people.send_request POST": person_probe("/u/{name}/friend-request"),
    "people.cancel_request POST": person_probe("/u/{name}/friend-request/cancel"),
    "people.accept_request POST": person_probe("/u/{name}/friend-request/accept"),
    "people.decline_request POST": person_probe("/u/{name}/friend-request/decline"),
    "people.remove_friend POST": person_probe("/u/{name}/unfriend"),
    "people.block POST": person_probe("/u/{name}/block"),
    "people.unblock POST": person_probe("/u/{name}/unblock"),
    "api.direct_conversation POST": Probe(
        "blocked", lambda world, target: Call("/api/conversations/direct", json={"username": target})
    ),
    "people.uploaded_avatar GET": NotApplicable("every picture is visible to everyone signed in; its name is its hash"),
    "people.initials_avatar GET": NotApplicable("a pure function of its address: nothing to hide"),
    "attachments.link_preview_image GET": NotApplicable(
        "a card's picture is visible to everyone signed in; its address names its hash"
    ),
    "attachments.upload POST": Probe(
        "non_member",
        lambda world, target: Call(
            f"/c/{target}/attachments", {"file": (io.BytesIO(picture("PNG", size=(8, 8))), "probe.png")}
        ),
    ),
    # eve asks for the upload in ana's group, then for an attachment id nobody has
    "attachments.download GET": Probe(
        "non_member", lambda world, target: Call(f"/attachments/{world.attachment.get(int(target), target)}/team.png")
    ),
    "attachments.thumbnail GET": Probe(
        "non_member", lambda world, target: Call(f"/attachments/{world.attachment.get(int(target), target)}/thumbnail")
    ),
}


def forward_probe(world: World, conversation_id: str) -> Call:
    """/messages/<id>/forward for the first message of that conversation (an id no message has for a
    conversation that does not exist), into that conversation."""
    return Call(
        f"/messages/{first_message(world, int(conversation_id))}/forward",
        {"conversation_id": conversation_id, "client_id": "probe-forward"},
    )


def test_unknown_and_forbidden_ids_answer_alike(app):
    """For every route and event taking an id, asking about one that exists but is out of reach (a
    conversation one is not in, a person who blocked you) answers with the same status and the
    same body as asking about one that does not exist, so ids cannot be probed. A member asking
    about a missing conversation gets that same status too."""
    world = World(app)
    missing_id = str(world.room + world.group + world.direct + 10_000)
    missing_name = f"nobody_{uuid.uuid4().hex[:8]}"
    problems = []
    for key, probe in PROBES.items():
        if isinstance(probe, NotApplicable):
            continue
        method = key.split(" ")[1]
        person = probe.asker == "blocked"
        existing, missing = (world.person, missing_name) if person else (str(world.group), missing_id)
        before = snapshot(app).product
        forbidden = perform(world, probe.asker, method, probe.call(world, existing), follow_redirects=True)
        unknown = perform(world, probe.asker, method, probe.call(world, missing), follow_redirects=True)
        if normalized(forbidden) != normalized(unknown):
            problems.append(f"{key}: {forbidden.status_code} and {unknown.status_code}, or the bodies differ")
        if snapshot(app).product != before:
            problems.append(f"{key}: the database changed")
        if not person and not key.startswith("chat.join_room"):
            member_asks = perform(world, "member", method, probe.call(world, missing), follow_redirects=True)
            if member_asks.status_code != unknown.status_code:
                problems.append(f"{key}: a member asking about a missing id gets {member_asks.status_code}")

    # The owner removing someone who is not in her group, or an id nobody has: alike.
    with_eve = perform(
        world,
        "sender",
        "POST",
        Call(f"/c/{world.group}/members/{world.id['non_member']}/remove"),
        follow_redirects=True,
    )
    with_nobody = perform(
        world, "sender", "POST", Call(f"/c/{world.group}/members/{missing_id}/remove"), follow_redirects=True
    )
    if normalized(with_eve) != normalized(with_nobody):
        problems.append("remove_member: a non-member's id and a missing id answer differently")

    socket_handlers(app)
    eve = open_test_socket(app, world, "non_member")
    for name, payload in {
        "send_message": lambda cid: {"conversation_id": cid, "body": "psst", "client_id": "probe-2"},
        "mark_read": lambda cid: {"conversation_id": cid, "seq": 1},
        "typing": lambda cid: {"conversation_id": cid},
        "sync": lambda cid: {"after": {str(cid): 0}},
        "set_conversation_settings": lambda cid: {"conversation_id": cid, "pinned": True},
        "edit_message": lambda cid: {"message_id": first_message(world, cid), "body": "psst"},
        "delete_message": lambda cid: {"message_id": first_message(world, cid)},
        "react": lambda cid: {"message_id": first_message(world, cid), "emoji": "👍", "on": True},
        "forward_message": lambda cid: {
            "message_id": first_message(world, cid),
            "conversation_id": cid,
            "client_id": "probe-4",
        },
    }.items():
        forbidden = eve.emit(name, payload(world.group), callback=True)
        unknown = eve.emit(name, payload(int(missing_id)), callback=True)
        if forbidden != unknown:
            problems.append(f"{name}: {forbidden} vs {unknown}")
    assert received(eve) == []
    assert problems == [], "\n".join(problems)


# --- a deleted account's session ------------------------------------------------------------------


def test_a_deleted_accounts_other_session_never_signs_anyone_in(app):
    """The deactivated actor: after dan deletes his account in one browser, his session in another
    is nobody, also once a newcomer signs up right after (on SQLite the newest id is the one a
    table without AUTOINCREMENT hands out again)."""
    world = World(app)
    world.deactivate()
    newcomer = app.test_client()
    token = extract_csrf(newcomer.get("/register").get_data(as_text=True))
    form = new_account(world, "anonymous").data
    assert newcomer.post("/register", data={**form, "csrf_token": token}).status_code == 302
    with app.app_context():
        newcomer_id = db.session.scalar(select(User.id).where(User.username == form["username"]))
    assert newcomer_id != world.id["deactivated"], "a deleted account's id was given to a new account"
    assert not world.signed_in("deactivated"), "the deleted account's session signs in as someone"
    assert world.client["deactivated"].get("/settings").status_code == 302


# --- an outsider's socket on a real server ----------------------------------------------------------


def test_an_outsiders_socket_receives_nothing_of_the_conversations_it_tries_to_reach(
    live_server, http_user, open_socket
):
    """On the real server (python-socketio client, WebSocket, eventlet or gevent): a signed-in
    stranger's socket, connected before the conversations exist, tries to send, sync, mark read and
    type in a direct chat and a group, with ids in every shape and with room names smuggled into
    payloads and into events the server does not have. Every ack is a refusal (sync returns
    nothing), the socket stays up, and while the members write, type, read and come and go it
    receives no event at all; the members do receive them."""
    a, b, outsider = http_user().register(), http_user().register(), http_user().register()
    a_tab, b_tab, out = open_socket(a), open_socket(b), open_socket(outsider)
    befriend(a, b)
    dm = direct_chat(a, b)
    a_id, b_id = user_id(a, dm), user_id(b, dm)
    group = create_group(a, [b_id])
    nothing = {"ok": True, "messages": [], "has_more": False}
    attempts = [
        ("send_message", {"conversation_id": dm, "body": "let me in", "client_id": "out-1"}, "not_found"),
        ("send_message", {"conversation_id": group, "body": "let me in", "client_id": "out-2"}, "not_found"),
        ("send_message", {"conversation_id": str(group), "body": "x", "client_id": "out-3"}, "not_found"),
        ("send_message", {"conversation_id": f"conversation:{group}", "body": "x", "client_id": "out-4"}, "not_found"),
        ("send_message", {"conversation_id": [group], "body": "x", "client_id": "out-5"}, "not_found"),
        ("send_message", {"conversation_id": {"id": group}, "body": "x", "client_id": "out-6"}, "not_found"),
        ("send_message", {"conversation_id": float(group), "body": "x", "client_id": "out-7"}, "not_found"),
        (
            "send_message",
            {
                "conversation_id": 2**31 - 1,
                "body": "x",
                "client_id": "out-8",
                "room": f"conversation:{group}",
                "to": f"user:{a_id}",
                "namespace": "/",
            },
            "not_found",
        ),
        ("sync", {"after": {str(dm): 0, str(group): 0}}, None),
        ("sync", {"after": {str(group): 0}, "room": f"conversation:{group}", "rooms": [f"user:{a_id}"]}, None),
        ("sync", {"after": {f"conversation:{group}": 0}}, "invalid"),
        ("sync", {"after": [group]}, "invalid"),
        ("mark_read", {"conversation_id": dm, "seq": 1}, "not_found"),
        ("mark_read", {"conversation_id": group, "seq": 0, "room": f"conversation:{group}"}, "not_found"),
        ("typing", {"conversation_id": dm}, "not_found"),
        ("typing", {"conversation_id": group, "to": f"conversation:{group}"}, "not_found"),
        ("typing", f"conversation:{group}", "invalid"),
    ]
    for event, payload, error in attempts:
        ack = out.call(event, payload)
        expected = nothing if error is None else {"ok": False, "error": error}
        assert {key: ack.get(key) for key in expected} == expected, (event, payload, ack)
    for name in ("join", "join_room", "enter_room", "subscribe", "message", "read"):
        out.client.emit(name, {"room": f"conversation:{group}", "conversation_id": group, "user_id": a_id})

    sent = a_tab.send(group, "team secret")
    b_tab.send(dm, "direct secret")
    assert b_tab.call("typing", {"conversation_id": group}) == {"ok": True}
    assert a_tab.call("mark_read", {"conversation_id": dm, "seq": 3})["ok"] is True
    b_tab.close()
    # Gone past the presence grace (a quick reconnect would announce nothing), then back.
    assert a_tab.wait_for("presence", lambda data: data["user_id"] == b_id and not data["online"])
    b_again = open_socket(b)
    assert a_tab.wait_for("typing") and b_again.call("sync", {"after": {str(group): 0}})["messages"] == [sent]
    assert a_tab.wait_for("presence", lambda data: data["user_id"] == b_id and data["online"])
    assert a_tab.wait_for("message", lambda data: data["conversation_id"] == dm)

    assert out.call("sync", {"after": {str(dm): 0, str(group): 0}}) == nothing
    threading.Event().wait(GRACE)
    assert out.events == [], "the outsider's socket received events"
    assert out.client.connected and not out.disconnected.is_set()
