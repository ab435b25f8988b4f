"""A small, believable set of people and conversations for trying a fresh instance."""

from collections.abc import Callable, Iterator

from sqlalchemy import select

from app.extensions import db
from app.models.chat import ROOM, Conversation
from app.services import accounts, conversations, messaging, social

PEOPLE = [
    ("ana", "Ana", "Lima", "Coffee first, then code."),
    ("bob", "Bob", "Stone", "Climber. Weekend baker."),
    ("cyd", "Cyd", "Moreau", "Ask me about synthesizers."),
    ("dan", "Dan", "Okafor", ""),
    ("eve", "Eve", "Sato", "Reading everything."),
]
FRIENDS = [("ana", "bob"), ("ana", "cyd"), ("bob", "cyd"), ("dan", "ana"), ("eve", "bob")]
DIRECT_CHATS = [
    ("ana", "bob", ["Are we still on for Saturday?", "Yes! 10am at the crag.", "Bringing the new rope 🙂"]),
    ("cyd", "ana", ["Sent you that playlist: https://example.com/playlist", "Listening now, great pick"]),
]
GROUP = ("ana", "Weekend trip", ["bob", "cyd"], ["Who drives?", "I can, 4 seats", "Perfect, I'll bring snacks"])
ROOM_MESSAGES = [("eve", "Hello everyone, just joined!"), ("dan", "Welcome, Eve 👋")]


def steps(password: str) -> Iterator[Callable[[], None]]:
    """The seeding, as small steps (for a progress bar), each to be run in a transaction of its own
    (the caller commits it). Safe to run on a fresh instance only."""
    users = {}

    def person(username):
        if username not in users:
            users[username] = accounts.find_user(username)
        return users[username]

    for username, first, last, bio in PEOPLE:

        def create(username=username, first=first, last=last, bio=bio):
            accounts.register_user(username, password, first, last).bio = bio

        yield create
    for asker, answerer in FRIENDS:
        yield lambda asker=asker, answerer=answerer: (
            social.send_request(person(asker), answerer),
            social.accept_request(person(answerer), asker),
        )
    for index, (first, second, lines) in enumerate(DIRECT_CHATS):

        def chat(index=index, first=first, second=second, lines=lines):
            conversation = conversations.open_direct(person(first), second)
            for n, line in enumerate(lines):
                sender = person(first) if n % 2 == 0 else person(second)
                messaging.send_message(sender, conversation.id, line, f"demo-direct-{index}-{n}")

        yield chat
    owner, title, members, lines = GROUP

    def group():
        created = conversations.create_group(person(owner), title, [person(name).id for name in members])
        for n, line in enumerate(lines):
            sender = person([owner, *members][n % (len(members) + 1)])
            messaging.send_message(sender, created.id, line, f"demo-group-{n}")

    yield group

    def community():
        room = db.session.scalar(select(Conversation).where(Conversation.kind == ROOM).order_by(Conversation.id))
        if room is None:
            room = conversations.create_room("Community")
        for username, *_ in PEOPLE:
            conversations.join_room(person(username), room.id)
        for n, (username, line) in enumerate(ROOM_MESSAGES):
            messaging.send_message(person(username), room.id, line, f"demo-room-{n}")

    yield community


def step_count() -> int:
    """How many steps `steps` yields."""
    return len(PEOPLE) + len(FRIENDS) + len(DIRECT_CHATS) + 2
