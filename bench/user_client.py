"""The `users` scenario's client side (bench/users.py), in the bench's client processes: simulated
people, each with their own session cookie and one socket, doing one action after another with an
idle time between them, as the browser does each action (docs/protocol.md, app/static/js/).

A person is on a chat page (the two-pane page: switching chats swaps the pane over the same socket)
and keeps what that page keeps: the last seq of each of their conversations (the page's
conversation state, moved on by every message, `sync` and the list), the window of messages the
open chat shows (ids, seqs, senders, from the HTML it received), and how far they read. What the
page does by itself is done too, and recorded apart as "background": a visible chat at the bottom
marks a message from someone else read 300 ms after it arrives (chat/read-state.js). An unread
count that changes costs no request: the conversation list renames its row from the words the row
carries (conversation-list/row.js).

An action is timed from its start to its last response: for a send, to the ack; the delivery to
the recipients is recorded where they are (each recipient's first receipt, live or through `sync`).
A message's client_id is "<tag>-<sender idx>-<n>", the tag naming the step.
"""

import asyncio
import contextlib
import itertools
import random
import re
import time
from collections import Counter
from datetime import datetime

import aiohttp
import socketio

from bench.client import BODY
from bench.users_world import USER_AGENT, WORDS

# The action mix: Mattermost load-test-ng's SimulController frequencies (loadtest/control/
# simulcontroller/controller.go) for the actions that exist here, mapped onto ours; only the ratios
# matter (SwitchChannel 6.52 of the 13.6 they all add up to there is the 48 %).
MIX = {
    "open chat": 6.5219,  # SwitchChannel
    "scroll back": 1.9873,  # ScrollChannel
    "open direct chat": 0.9843,  # OpenDirectOrGroupChannel
    "check the list": 1.0,  # UnreadCheck
    "send": 1.0,  # CreatePost
    "permalink": 0.3,  # ClickPermalink
    "react": 0.1306,  # AddReaction
    "reconnect and sync": 0.144,  # ReconnectWebSocket
    "search people": 0.032,  # SearchUsers
    "search messages": 0.0218,  # SearchPosts
    "edit": 0.04,  # EditPost
    "delete": 0.0049,  # DeletePost
    "full reload": 0.0008,  # FullReload
}
MARK_ON_ARRIVAL = "mark_read on arrival (background)"
REJOIN = "reconnect after a drop (background)"
BACKGROUND = (MARK_ON_ARRIVAL, REJOIN)

PAGE_SIZE = 50  # chat/history.js
PERMALINK_PAGES = 3  # a permalink points at most this many pages before the latest
REACTION_DELAY_S = 0.3  # read-state.js MARK_READ_DELAY_MS
ACK_TIMEOUT_S = 10.0  # connection.js ACK_TIMEOUT_MS
SYNC_TIMEOUT_S = 15.0  # sync.js SYNC_TIMEOUT_MS
HTTP_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 20.0
MAX_SYNC_ROUNDS = 100
EMOJI = ("👍", "❤️", "😂", "😮", "😢", "🙏")  # the chat page's quick reactions
PANE = {"X-Messanger-Pane": "chat"}  # panes/index.js: only the chat's pane
FETCH = {"Accept": "application/json", "X-Requested-With": "fetch"}  # realtime/http.js getJSON
MESSAGE_ITEM = re.compile(
    r'data-message\s+data-id="(\d+)" data-seq="(\d+)"[^>]*?data-sender-id="(\d*)"[^>]*?data-created-at="([^"]*)"'
    r'[^>]*?data-deleted="(true|false)"'
)
# The page offers Edit only within MESSAGE_EDIT_WINDOW_SECONDS (default 900) of sending (edit-window.js);
# a person does not start an edit in its last half minute.
EDIT_WINDOW_S = 900 - 30
HAS_MORE = re.compile(r'data-has-more="(true|false)"')
HAS_NEWER = re.compile(r'data-has-newer="(true|false)"')


class ActionFailed(Exception):
    """A request or an event that did not succeed; the text names which and why."""


class Skipped(Exception):
    """Nothing to do for this action in the person's state (no older page, no own message)."""


def _reason(error: BaseException) -> str:
    if isinstance(error, ActionFailed):
        return str(error)[:120]
    if isinstance(error, asyncio.TimeoutError | socketio.exceptions.TimeoutError):
        return "timeout"
    return f"{type(error).__name__}: {error}"[:120]


def _epoch(iso: str) -> float:
    """An ISO 8601 time as epoch seconds (0 for none)."""
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


class Chat:
    """One of the person's conversations as the page tracks it."""

    __slots__ = ("kind", "last_seq", "last_read")

    def __init__(self, kind: str, last_seq: int):
        self.kind = kind
        self.last_seq = last_seq
        self.last_read = last_seq  # the seeding left everything read


class Window:
    """The messages the open chat shows: seq -> [id, sender id, deleted, sent (epoch seconds)]."""

    def __init__(self, conversation_id: int, messages: dict, has_older: bool, has_newer: bool, span=(None, None)):
        self.conversation_id = conversation_id
        self.messages = messages
        self.has_older = has_older
        self.has_newer = has_newer
        self.span = span  # (lowest, highest) seq shown when the messages themselves are not known

    @property
    def low(self) -> int | None:
        """The lowest seq shown."""
        return min((seq for seq in (*self.messages, self.span[0]) if seq is not None), default=None)

    @property
    def high(self) -> int | None:
        """The highest seq shown."""
        return max((seq for seq in (*self.messages, self.span[1]) if seq is not None), default=None)

    @classmethod
    def from_page(cls, conversation_id: int, html: str) -> "Window":
        """What a chat page (or its pane) shows, read from its message items."""
        messages = {
            int(seq): [int(mid), int(sender or 0), deleted == "true", _epoch(created)]
            for mid, seq, sender, created, deleted in MESSAGE_ITEM.findall(html)
        }
        more, newer = HAS_MORE.search(html), HAS_NEWER.search(html)
        return cls(
            conversation_id, messages, bool(more and more.group(1) == "true"), bool(newer and newer.group(1) == "true")
        )

    def add(self, message: dict) -> None:
        """A message (M) of this conversation the page received."""
        sender = (message.get("sender") or {}).get("id") or 0
        self.messages[message["seq"]] = [
            message["id"],
            sender,
            bool(message.get("deleted")),
            _epoch(message.get("created_at") or ""),
        ]


class Person:
    """One simulated person: their state, their socket and their actions."""

    def __init__(self, spec: dict, worker: "PeopleWorker"):
        self.worker = worker
        self.idx = spec["idx"]
        self.user_id = spec["id"]
        self.username = spec["username"]
        self.headers = {"Cookie": spec["cookie"], "User-Agent": USER_AGENT}
        self.chats = {cid: Chat(kind, last_seq) for cid, kind, last_seq in spec["conversations"]}
        self.partners = [tuple(partner) for partner in spec["partners"]]
        self.rng = random.Random(worker.seed * 100_003 + self.idx)
        # Where the person starts: a chat page of one of their conversations showing its latest
        # page (loaded before the bench began: which messages those are is not known yet).
        self.current = self.rng.choice(list(self.chats))
        top = self.chats[self.current].last_seq
        self.window = Window(self.current, {}, top > PAGE_SIZE, False, (max(top - PAGE_SIZE + 1, 1), top))
        self.socket: socketio.AsyncClient | None = None
        self.numbers = itertools.count()
        self.task: asyncio.Task | None = None
        self._mark_timer: asyncio.TimerHandle | None = None
        self._closing: set = set()

    # --- requests ---------------------------------------------------------------------------

    async def get(self, path: str, label: str, headers: dict | None = None, json: bool = False):
        """GET path with the person's cookie; the text (or JSON); ActionFailed unless 200."""
        async with self.worker.http.get(
            self.worker.url + path, headers={**self.headers, **(headers or {})}, allow_redirects=False
        ) as response:
            if response.status != 200:
                raise ActionFailed(f"GET {label} answered {response.status}")
            return await (response.json() if json else response.text())

    async def call(self, event: str, data: dict, timeout: float = ACK_TIMEOUT_S) -> dict:
        """Emit with an ack; the ack, or ActionFailed unless it says ok."""
        if self.socket is None or not self.socket.connected:
            raise ActionFailed(f"{event}: not connected")
        ack = await self.socket.call(event, data, timeout=timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ActionFailed(f"{event}: {ack.get('error') if isinstance(ack, dict) else ack}")
        return ack

    # --- the socket -------------------------------------------------------------------------

    async def connect(self) -> None:
        """A new socket (a new page's), then what the page does on every connect: `sync` of every
        conversation after the last seq it holds and `presence_snapshot`, at once."""
        client = socketio.AsyncClient(reconnection=False, request_timeout=10)
        client.on("message", self._on_message)
        client.on("message_updated", lambda *_: self.worker.events.update(("message_updated",)))
        client.on("read", lambda *_: self.worker.events.update(("read",)))
        client.on("presence", lambda *_: self.worker.events.update(("presence",)))
        client.on("session_ended", lambda *_: self.worker.events.update(("session_ended",)))
        client.on("disconnect", lambda *_reason: self._on_disconnect(client))
        try:
            await asyncio.wait_for(
                client.connect(self.worker.url, headers=dict(self.headers), transports=["websocket"], wait_timeout=10),
                CONNECT_TIMEOUT_S,
            )
        except Exception:
            self.worker.quietly_close(client)
            raise
        self.socket = client
        await asyncio.gather(self.sync(), self.call("presence_snapshot", {}))

    async def reconnect(self) -> None:
        """Close the socket (as a page that goes away) and connect a new one; when that fails, the
        page keeps trying in the background (connection.js)."""
        old, self.socket = self.socket, None
        if old is not None:
            self._closing.add(old)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.disconnect(), 5)
        try:
            await self.connect()
        except Exception:
            self.worker.background(self, REJOIN, self._rejoin())
            raise

    def _on_disconnect(self, client) -> None:
        if client in self._closing or self.worker.stopping:
            self._closing.discard(client)
            return
        if client is self.socket:
            # Closed by the server: the page comes back after a moment (connection.js).
            self.worker.dropped += 1
            self.socket = None
            self.worker.background(self, REJOIN, self._rejoin())

    async def _rejoin(self, attempts: int = 6) -> None:
        """Connect again after 0.5–1.5 s, doubling (backoff.js), until it works or attempts run out."""
        for attempt in range(attempts):
            await asyncio.sleep((0.5 + self.rng.random()) * 2**attempt)
            if self.socket is not None or self.worker.stopping:
                return
            try:
                await self.connect()
                return
            except Exception:
                if attempt == attempts - 1:
                    raise

    def _on_message(self, message, *_more) -> None:
        self.worker.events["message"] += 1
        if isinstance(message, dict):
            self.receive(message, live=True)

    def receive(self, message: dict, live: bool) -> None:
        """A message (M) the page got, live or by sync: tracked, recorded as delivered, and what
        the page does about it."""
        cid = message.get("conversation_id")
        chat = self.chats.get(cid)
        seq = message.get("seq")
        if chat is None or not isinstance(seq, int):
            return
        fresh = seq > chat.last_seq
        chat.last_seq = max(chat.last_seq, seq)
        sender = (message.get("sender") or {}).get("id")
        if sender == self.user_id:
            return
        self.worker.delivered(message.get("client_id"), self.idx)
        shown = self.window is not None and self.window.conversation_id == cid and not self.window.has_newer
        if shown:
            self.window.add(message)
        if not (fresh and live and self.worker.reactions):
            return
        if shown:
            self._schedule_mark_read()

    async def sync(self, only: int | None = None) -> None:
        """`sync` after the tracked seqs (of one conversation, or all), again while has_more."""
        for _ in range(MAX_SYNC_ROUNDS):
            chats = {only: self.chats[only]} if only is not None else self.chats
            ack = await self.call(
                "sync", {"after": {str(cid): chat.last_seq for cid, chat in chats.items()}}, SYNC_TIMEOUT_S
            )
            for message in ack.get("messages") or []:
                self.receive(message, live=False)
            if not ack.get("has_more"):
                return

    # --- what the page does by itself -------------------------------------------------------

    def _schedule_mark_read(self) -> None:
        if self._mark_timer:
            self._mark_timer.cancel()
        loop = asyncio.get_running_loop()
        self._mark_timer = loop.call_later(
            REACTION_DELAY_S, lambda: self.worker.background(self, MARK_ON_ARRIVAL, self._mark_shown_read())
        )

    async def _mark_shown_read(self) -> None:
        self._mark_timer = None
        if self.window is None or self.socket is None:
            raise Skipped
        await self.mark_read(self.window, background=True)

    async def mark_read(self, window: Window, background: bool = False) -> None:
        """mark_read with the highest seq shown, when it is past the read position."""
        chat = self.chats[window.conversation_id]
        high = window.high
        if high is None or high <= chat.last_read:
            if background:
                raise Skipped
            return
        ack = await self.call("mark_read", {"conversation_id": window.conversation_id, "seq": high})
        chat.last_read = max(chat.last_read, ack.get("seq") or high)

    # --- the actions ------------------------------------------------------------------------

    async def _show(self, cid: int, path: str, label: str, headers: dict | None = None) -> Window:
        html = await self.get(path, label, headers)
        self.current = cid
        self.window = Window.from_page(cid, html)
        return self.window

    async def _opened(self, window: Window) -> None:
        """After a pane came in: sync what came while it was fetched, and mark it read."""
        chat = self.chats[window.conversation_id]
        if not window.has_newer and (window.high or 0) < chat.last_seq:
            await self.sync(only=window.conversation_id)
        await self.mark_read(window)

    async def open_chat(self) -> None:
        """Another conversation from the list: its pane (GET /c/<id>), then mark_read."""
        others = [cid for cid in self.chats if cid != self.current] or list(self.chats)
        cid = self.rng.choice(others)
        await self._opened(await self._show(cid, f"/c/{cid}", "/c/<id> (pane)", PANE))

    async def open_direct_chat(self) -> None:
        """A direct chat by the partner's username (GET /chat/<username>, the pane), then mark_read."""
        username, _first, cid = self.rng.choice(self.partners)
        await self._opened(await self._show(cid, f"/chat/{username}", "/chat/<username> (pane)", PANE))

    async def _older(self, window: Window) -> None:
        cid = window.conversation_id
        page = await self.get(
            f"/api/conversations/{cid}/messages?before={window.low}&limit={PAGE_SIZE}",
            "/api/conversations/<id>/messages?before",
            FETCH,
            json=True,
        )
        for message in page.get("messages") or []:
            window.add(message)
        window.has_older = bool(page.get("has_more"))

    async def scroll_back(self) -> None:
        """The open chat's previous page (GET /api/conversations/<id>/messages?before=<lowest seq>)."""
        window = self.window
        if window is None or not window.has_older or window.low is None:
            raise Skipped
        await self._older(window)

    async def check_list(self) -> None:
        """The conversation list (GET /api/conversations), whose last seqs the page learns."""
        data = await self.get("/api/conversations", "/api/conversations", FETCH, json=True)
        for conversation in data.get("conversations") or []:
            chat = self.chats.get(conversation.get("id"))
            if chat is not None:
                chat.last_seq = max(chat.last_seq, conversation.get("last_seq") or 0)

    async def send(self) -> None:
        """send_message into the open chat, timed to its ack."""
        cid = self.current
        client_id = f"{self.worker.tag}-{self.idx}-{next(self.numbers)}"
        record = self.worker.sent(client_id, cid, self.idx)
        ack = await self.call("send_message", {"conversation_id": cid, "body": BODY, "client_id": client_id})
        record[1] = time.monotonic()
        message = ack.get("message") or {}
        chat = self.chats[cid]
        seq = message.get("seq") or 0
        chat.last_read = max(chat.last_read, seq)  # writing means having read up to there
        chat.last_seq = max(chat.last_seq, seq)
        if self.window is not None and self.window.conversation_id == cid and seq:
            self.window.add(message)

    async def permalink(self) -> None:
        """A link to an older message (from search results or a shared link): the chat page
        (GET /c/<id>?around=<seq>, a new page: its socket connects and syncs) and the older pages
        down to that message (history.js jumpTo)."""
        cid = self.rng.choice(list(self.chats))
        top = self.chats[cid].last_seq
        oldest = max(1, top - PAGE_SIZE * (PERMALINK_PAGES + 1))
        seq = self.rng.randint(oldest, max(top - PAGE_SIZE, oldest))
        window = await self._show(cid, f"/c/{cid}?around={seq}", "/c/<id>?around")

        async def down_to_it():
            while window.low is not None and window.low > seq and window.has_older:
                await self._older(window)

        await asyncio.gather(self.reconnect(), down_to_it())

    def _shown_message(self, own: bool, editable: bool = False) -> int | None:
        """The id of the person's latest message the open chat shows (own; editable: still within
        the edit window), or of any shown one."""
        if self.window is None:
            return None
        oldest = time.time() - EDIT_WINDOW_S if editable else 0.0
        candidates = [
            (seq, mid)
            for seq, (mid, sender, deleted, sent) in self.window.messages.items()
            if not deleted and (not own or (sender == self.user_id and sent >= oldest))
        ]
        if not candidates:
            return None
        return max(candidates)[1] if own else self.rng.choice(candidates)[1]

    async def react(self) -> None:
        """A quick reaction on a message the open chat shows."""
        message_id = self._shown_message(own=False)
        if message_id is None:
            raise Skipped
        await self.call("react", {"message_id": message_id, "emoji": self.rng.choice(EMOJI), "on": True})

    async def reconnect_and_sync(self) -> None:
        """The socket drops and comes back: connect, `sync`, `presence_snapshot`."""
        await self.reconnect()

    async def search_people(self) -> None:
        """The people search page (a new page) and its live results as a partner's name is typed
        (GET /search?q=...&partial=1 after each pause)."""
        _username, first, _cid = self.rng.choice(self.partners)
        await self.get("/search", "/search")
        await self.reconnect()
        for typed in (first[:3], first):
            await self.get(f"/search?q={typed}&partial=1", "/search?q&partial", {"X-Requested-With": "fetch"})

    async def search_messages(self) -> None:
        """The message search page for a word (GET /search/messages?q=..., a new page)."""
        await self.get(f"/search/messages?q={self.rng.choice(WORDS)}", "/search/messages?q")
        await self.reconnect()

    async def edit(self) -> None:
        """edit_message on the person's latest message the open chat shows."""
        message_id = self._shown_message(own=True, editable=True)
        if message_id is None:
            raise Skipped
        await self.call("edit_message", {"message_id": message_id, "body": f"{BODY} (edited)"})

    async def delete(self) -> None:
        """delete_message on the person's latest message the open chat shows."""
        message_id = self._shown_message(own=True)
        if message_id is None:
            raise Skipped
        ack = await self.call("delete_message", {"message_id": message_id})
        if self.window is not None and ack.get("message"):
            self.window.add(ack["message"])

    async def full_reload(self) -> None:
        """The open chat's page loaded again (GET /c/<id>) and its new socket."""
        cid = self.current
        await self._show(cid, f"/c/{cid}", "/c/<id>")
        await self.reconnect()

    ACTIONS = {
        "open chat": open_chat,
        "scroll back": scroll_back,
        "open direct chat": open_direct_chat,
        "check the list": check_list,
        "send": send,
        "permalink": permalink,
        "react": react,
        "reconnect and sync": reconnect_and_sync,
        "search people": search_people,
        "search messages": search_messages,
        "edit": edit,
        "delete": delete,
        "full reload": full_reload,
    }

    # --- the life -----------------------------------------------------------------------------

    def idle(self) -> float:
        """Seconds until the next action: at least min, exponential above it, mean `mean` (both
        times the pace the bench set)."""
        worker = self.worker
        return worker.pace * (worker.min_idle + self.rng.expovariate(1 / (worker.mean_idle - worker.min_idle)))

    async def live(self) -> None:
        """Idle, act, idle, act... until the worker stops."""
        names, weights = list(MIX), list(MIX.values())
        while not self.worker.stopping:
            await asyncio.sleep(self.idle())
            if self.worker.stopping:
                return
            name = self.rng.choices(names, weights)[0]
            await self.worker.timed(name, self.ACTIONS[name](self))


class PeopleWorker:
    """One client process's people, and what they recorded since the bench last collected it."""

    def __init__(self):
        self.people: dict[int, Person] = {}
        self.url = ""
        self.http: aiohttp.ClientSession | None = None
        self.seed = 0
        self.mean_idle = 20.0
        self.min_idle = 1.0
        self.pace = 1.0
        self.reactions = True
        self.tag = "u"
        self.stopping = False
        self.records: list = []  # (name, start, seconds, error or None); "skipped" for Skipped
        self.sends: dict[str, list] = {}  # client_id -> [sent, acked or None, conversation, sender idx]
        self.received: dict[str, dict[int, float]] = {}  # client_id -> {recipient idx: first receipt}
        self.events: Counter = Counter()
        self.lags: list[float] = []
        self.dropped = 0
        self._tasks: set = set()
        self._lag_task: asyncio.Task | None = None

    async def configure(self, url: str, mean_idle: float, min_idle: float, reactions: bool, seed: int, tag: str):
        """Where the server is, the idle time, whether the page's own requests are made."""
        self.url, self.mean_idle, self.min_idle, self.reactions, self.seed, self.tag = (
            url,
            mean_idle,
            min_idle,
            reactions,
            seed,
            tag,
        )
        if self.http is None:
            self.http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S),
            )
            self._lag_task = asyncio.ensure_future(self._watch_lag())
        return {"ok": True}

    async def _watch_lag(self, every: float = 0.1) -> None:
        """How late this process's loop wakes up: a busy load generator shows here."""
        while True:
            planned = time.monotonic() + every
            await asyncio.sleep(every)
            self.lags.append(max(time.monotonic() - planned, 0.0))

    # --- records ------------------------------------------------------------------------------

    async def timed(self, name: str, action) -> None:
        """Run one action (a coroutine) and record its time and outcome."""
        started = time.monotonic()
        try:
            await action
        except Skipped:
            self.records.append((name, started, 0.0, "skipped"))
            return
        except Exception as error:  # noqa: BLE001 - recorded: an error is a figure here
            self.records.append((name, started, time.monotonic() - started, _reason(error)))
            return
        self.records.append((name, started, time.monotonic() - started, None))

    def background(self, person: Person, name: str, coroutine) -> asyncio.Task:
        """A request the page makes by itself, timed like an action."""
        task = asyncio.ensure_future(self.timed(name, coroutine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def sent(self, client_id: str, conversation_id: int, idx: int) -> list:
        """A send starting now; its record (the ack time goes in [1])."""
        record = [time.monotonic(), None, conversation_id, idx]
        self.sends[client_id] = record
        return record

    def delivered(self, client_id, idx: int) -> None:
        """Person idx received client_id (the first receipt counts)."""
        if isinstance(client_id, str) and not client_id.startswith("seed."):
            self.received.setdefault(client_id, {}).setdefault(idx, time.monotonic())

    @staticmethod
    def quietly_close(client) -> None:
        async def close():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5)

        asyncio.ensure_future(close())

    # --- commands -------------------------------------------------------------------------------

    async def arrive(self, people: list[dict], concurrency: int, deadline_s: float):
        """These people open their socket (and sync), then start living; how it went."""
        semaphore = asyncio.Semaphore(concurrency)
        deadline = time.monotonic() + deadline_s
        times, errors = [], Counter()

        async def one(spec):
            async with semaphore:
                if time.monotonic() > deadline:
                    errors["not tried before the deadline"] += 1
                    return
                person = Person(spec, self)
                started = time.monotonic()
                try:
                    await person.connect()
                except Exception as error:  # noqa: BLE001 - counted and reported
                    errors[_reason(error)] += 1
                    return
                times.append(time.monotonic() - started)
                self.people[person.idx] = person
                person.task = asyncio.ensure_future(person.live())

        started = time.monotonic()
        await asyncio.gather(*(one(spec) for spec in people))
        return {
            "arrived": [idx for idx in (spec["idx"] for spec in people) if idx in self.people],
            "times": times,
            "errors": dict(errors),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def set_pace(self, pace: float):
        """Multiply every idle time from now on by pace."""
        self.pace = pace
        return {"ok": True}

    async def collect(self, tag: str, next_tag: str, wait_s: float = ACK_TIMEOUT_S + 1):
        """Sends from now on carry next_tag; once tag's sends have their answers (at most wait_s),
        everything recorded since the last collect."""
        self.tag = next_tag
        deadline = time.monotonic() + wait_s
        prefix = tag + "-"
        mine = {cid: record for cid, record in self.sends.items() if cid.startswith(prefix)}
        while time.monotonic() < deadline and any(
            record[1] is None and time.monotonic() - record[0] < ACK_TIMEOUT_S + 0.5 for record in mine.values()
        ):
            await asyncio.sleep(0.1)
        for cid in mine:
            del self.sends[cid]
        records, self.records = self.records, []
        received, self.received = self.received, {}
        events, self.events = dict(self.events), Counter()
        lags, self.lags = self.lags, []
        open_sockets = sum(1 for person in self.people.values() if person.socket and person.socket.connected)
        return {
            "records": records,
            "sends": mine,
            "received": received,
            "events": events,
            "lags": lags,
            "open": open_sockets,
            "people": len(self.people),
            "dropped": self.dropped,
        }

    async def status(self):
        """How many people live here and how many sockets are open."""
        open_sockets = sum(1 for person in self.people.values() if person.socket and person.socket.connected)
        return {"people": len(self.people), "open": open_sockets, "dropped": self.dropped}

    async def disconnect(self, prefix: str = ""):
        """Everyone stops and closes their socket; the HTTP client closes."""
        self.stopping = True
        for person in self.people.values():
            if person.task:
                person.task.cancel()
        for task in list(self._tasks):
            task.cancel()
        clients = [person.socket for person in self.people.values() if person.socket]
        for start in range(0, len(clients), 200):
            await asyncio.gather(
                *(asyncio.wait_for(client.disconnect(), 5) for client in clients[start : start + 200]),
                return_exceptions=True,
            )
        closed = len(clients)
        self.people.clear()
        if self._lag_task:
            self._lag_task.cancel()
        if self.http is not None:
            await self.http.close()
            self.http = None
        return {"closed": closed}
