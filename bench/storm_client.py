"""The reconnect storm's client side (scenario `storm`, bench/storm.py), in the bench's client processes.

Each socket behaves as a signed-in page does (app/static/js/realtime/): it connects over WebSocket
and, on every (re)connect, asks `sync` for what came after the last seq it holds of each of its
conversations (again while `has_more`) and `presence_snapshot`, both at once. When the server
closes it with a Socket.IO disconnect (a stopping worker does), it comes back after connection.js's
reconnectDelay (backoff.js: 1 s doubling up to 30 s, times 0.5–1.5); while the server does not
answer, the vendored Socket.IO client's own reconnection takes over (1 s doubling up to 5 s, ±50 %,
as its Backoff computes it); a refusal is retried as backoff.js says, `unauthorized` never.
python-socketio's own reconnection (another formula) is off.

A few DM pairs, the observers, send on an open-loop schedule meanwhile: each send is timed from its
scheduled moment to its ack and to the recipient's receipt (live, or through the recipient's sync).
"""

import asyncio
import contextlib
import functools
import itertools
import math
import random
import time
from collections import Counter

import socketio

from bench.client import BODY

PAGE_DELAY_S = 1.0  # backoff.js RECONNECT_AFTER_MS
PAGE_DELAY_MAX_S = 30.0  # backoff.js RECONNECT_MAX_MS
# The vendored Socket.IO client's Manager defaults (socket.io.esm.min.js 4.8): reconnectionDelay,
# reconnectionDelayMax, randomizationFactor, and timeout (for opening a connection).
IO_DELAY_MS = 1000
IO_DELAY_MAX_MS = 5000
IO_JITTER = 0.5
OPEN_TIMEOUT_S = 20.0
# The page waits for the answer to its namespace connect (the app's connect handler) without a limit;
# the bench stops waiting after this long and counts the attempt as failed.
ANSWER_TIMEOUT_S = 120.0
SYNC_TIMEOUT_S = 15.0  # sync.js SYNC_TIMEOUT_MS
PRESENCE_TIMEOUT_S = 10.0  # sync.js PRESENCE_TIMEOUT_MS
MAX_SYNC_ROUNDS = 100  # sequences.js
TOO_MANY = ("too_many_sockets", "too_many_connections")

POLICY = (
    "told to leave by the server: backoff.js reconnectDelay (1 s × 2^retries up to 30 s, × 0.5–1.5); "
    "while the connection does not open: Socket.IO's Backoff (1 s × 2^attempts up to 5 s, ±50 %); "
    f"an attempt gives up when the connection is not open after {OPEN_TIMEOUT_S:.0f} s (Socket.IO's timeout; "
    "the connect's answer is awaited); refusals as backoff.js retryAfterConnectError; "
    "then sync (repeated while has_more; a failed one asked again after reconnectDelay while connected) "
    "and presence_snapshot at once"
)


def page_delay(retries: int, at_least: float = 0.0, rand=random.random) -> float:
    """backoff.js reconnectDelay(retries, atLeastMs), in seconds."""
    delay = min(PAGE_DELAY_S * 2 ** min(retries, 30), PAGE_DELAY_MAX_S)
    if at_least:
        return max(delay, at_least) * (1 + rand() * 0.5)
    return delay * (0.5 + rand())


def io_delay(attempts: int, rand=random.random) -> float:
    """The Socket.IO client's Backoff.duration() after `attempts` failed tries, in seconds: one random
    number gives the deviation and, by the parity of its first decimal, its sign."""
    ms = IO_DELAY_MS * 2 ** min(attempts, 30)
    value = rand()
    deviation = math.floor(value * IO_JITTER * ms)
    ms = ms + deviation if math.floor(value * 10) & 1 else ms - deviation
    return min(ms, IO_DELAY_MAX_MS) / 1000


def refusal_wait(code: str, data) -> float | None:
    """backoff.js retryAfterConnectError for a refusal: None to give up, else the least wait in s."""
    if code == "unauthorized":
        return None
    if code in TOO_MANY:
        return PAGE_DELAY_MAX_S
    if code == "rate_limited":
        return float((data or {}).get("retry_after") or 1) if isinstance(data, dict) else 1.0
    return 0.0


def _error_key(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:120]


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


_tasks: set[asyncio.Task] = set()


def _background(coroutine) -> None:
    """Run a coroutine on its own, holding a reference until it ends (the loop holds only a weak one)."""
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _quietly_disconnect(client) -> None:
    with contextlib.suppress(Exception):  # already failed or gone
        await asyncio.wait_for(client.disconnect(), 5)


class _Client(socketio.AsyncClient):
    """python-socketio's client, noting whether the server closed the socket with a Socket.IO
    disconnect (connection.js's "io server disconnect") rather than the connection dropping."""

    told_to_leave = False

    async def _handle_disconnect(self, namespace):
        self.told_to_leave = True
        await super()._handle_disconnect(namespace)


class StormSocket:
    """One page's socket: its cookie, the seqs it holds, its reconnect counters and its record."""

    def __init__(self, worker: "StormWorker", spec: dict):
        self.worker = worker
        self.key = spec["key"]
        self.idx = spec["idx"]
        self.url = spec["url"]
        self.cookie = spec["cookie"]
        self.after = {str(conversation): int(seq) for conversation, seq in spec["after"].items()}
        self.client: _Client | None = None
        self.connected = False
        self.retries = 0  # connection.js's `retries`: reset on connect
        self.attempts = 0  # the Socket.IO Manager's backoff attempts: reset on connect and on close
        self.stopped = False
        self.first_done = asyncio.Event()  # the first connect's catch-up ended (or the socket gave up)
        self.gone = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new record."""
        self.record = {
            "downs": [],  # (time, told by the server) of each connection that ended
            "tries": [],  # (start, end, outcome) of each connection attempt
            "connected_at": None,  # of the current (or last) connection
            "synced_at": None,  # its sync answer: None until that connection has synced
            "first_synced_at": None,  # the first sync answer since the record began
            "sync_rounds": 0,
            "sync_messages": 0,
            "sync_errors": [],
            "presence_errors": [],
            "gave_up": None,
        }

    def track(self, conversation_id, seq) -> None:
        """Hold the highest seq seen of a conversation (sequences.js track)."""
        if isinstance(seq, int):
            key = str(conversation_id)
            self.after[key] = max(self.after.get(key, 0), seq)

    async def live(self, gate: asyncio.Semaphore) -> None:
        """Connect (the first time through `gate`), catch up, and come back whenever the connection
        ends or fails, until stopped."""
        delay, first = 0.0, True
        while not self.stopped:
            await asyncio.sleep(delay)
            async with gate if first else contextlib.nullcontext():  # noqa: SIM117
                outcome, detail = await self._open()
            first = False
            if outcome == "connected":
                delay = await self._while_connected()
            elif outcome == "refused":
                wait = refusal_wait(*detail)
                self.attempts = 0
                if wait is None:
                    self.record["gave_up"] = detail[0]
                    self.first_done.set()
                    return
                delay = page_delay(self.retries, wait)
                self.retries += 1
            else:  # the connection did not open: Socket.IO's own reconnection
                delay = io_delay(self.attempts)
                self.attempts += 1

    async def _open(self) -> tuple[str, tuple | None]:
        client = _Client(reconnection=False, request_timeout=OPEN_TIMEOUT_S)
        refusals: list = []
        gone = asyncio.Event()
        client.on("message", self._on_message)
        client.on("disconnect", lambda *_reason: gone.set())
        client.on("connect_error", lambda data=None, *_more: refusals.append(data))
        started = time.monotonic()
        connecting = asyncio.ensure_future(
            client.connect(
                self.url, headers={"Cookie": self.cookie}, transports=["websocket"], wait_timeout=ANSWER_TIMEOUT_S
            )
        )
        try:
            await asyncio.wait({connecting}, timeout=OPEN_TIMEOUT_S)
            if not connecting.done() and client.eio.state != "connected":
                connecting.cancel()  # Socket.IO's timeout: the connection did not open in time
                raise TimeoutError
            await connecting
        except Exception as error:  # noqa: BLE001 - the outcome is recorded and the policy decides
            _background(_quietly_disconnect(client))
            refusal = next((data for data in refusals if isinstance(data, dict)), None)
            if refusal is not None:
                code = str(refusal.get("message"))
                self.record["tries"].append((started, time.monotonic(), f"refused: {code}"))
                return "refused", (code, refusal.get("data"))
            if isinstance(error, TimeoutError):
                label = f"not open after {OPEN_TIMEOUT_S:.0f} s"
            elif time.monotonic() - started >= ANSWER_TIMEOUT_S:  # python-socketio: "Unexpected connection error"
                label = f"open, but no answer to the connect in {ANSWER_TIMEOUT_S:.0f} s"
            else:
                label = _error_key(error)
            self.record["tries"].append((started, time.monotonic(), label))
            return "failed", None
        self.record["tries"].append((started, time.monotonic(), "connected"))
        self.client, self.gone = client, gone
        return "connected", None

    async def _while_connected(self) -> float:
        """Catch up, wait for the connection to end; the delay before the next attempt."""
        self.connected = True
        self.retries = self.attempts = 0
        self.record["connected_at"] = time.monotonic()
        self.record["synced_at"] = None
        catch_up = asyncio.ensure_future(self._catch_up(self.client))
        await self.gone.wait()
        self.connected = False
        if not catch_up.done():
            catch_up.cancel()
            self.record["sync_errors"].append("disconnected before the answer")
        if self.stopped:
            return 0.0
        told = self.client.told_to_leave
        self.record["downs"].append((time.monotonic(), told))
        _background(_quietly_disconnect(self.client))
        if told:
            delay = page_delay(self.retries)
            self.retries += 1
        else:
            delay = io_delay(self.attempts)
            self.attempts += 1
        return delay

    async def _catch_up(self, client: _Client) -> None:
        """sync.js on "connect": syncAll() (sequences.js syncRounds, asked again after a failure
        while the socket stays up) and catchUpPresence() at once."""
        _background(self._presence(client))  # on its own: the sync says when the page caught up
        try:
            failures = 0
            while not await self._sync_rounds(client) and client.connected:
                await asyncio.sleep(page_delay(failures))
                failures += 1
        finally:
            self.first_done.set()

    async def _sync_rounds(self, client: _Client) -> bool:
        """One syncAfter(): True once it answered, False (the error recorded) when it failed."""
        cursor = dict(self.after)
        try:
            for _round in range(MAX_SYNC_ROUNDS):
                if not cursor:
                    break
                ack = await client.call("sync", {"after": dict(cursor)}, timeout=SYNC_TIMEOUT_S)
                self.record["sync_rounds"] += 1
                if not isinstance(ack, dict) or not ack.get("ok"):
                    error = ack.get("error") if isinstance(ack, dict) else ack
                    self.record["sync_errors"].append(f"refused: {error}")
                    return False
                progressed = False
                for message in ack.get("messages") or []:
                    key, seq = str(message.get("conversation_id")), message.get("seq")
                    if key in cursor and isinstance(seq, int) and seq > cursor[key]:
                        cursor[key] = seq
                        progressed = True
                    self.track(key, seq)
                    self.worker.note(self, message, "sync")
                    self.record["sync_messages"] += 1
                if not (ack.get("has_more") and progressed):
                    break
            self.record["synced_at"] = time.monotonic()
            self.record["first_synced_at"] = self.record["first_synced_at"] or self.record["synced_at"]
            return True
        except socketio.exceptions.TimeoutError:
            self.record["sync_errors"].append(f"no answer in {SYNC_TIMEOUT_S:.0f} s")
        except Exception as error:  # noqa: BLE001 - recorded (e.g. the socket closed meanwhile)
            self.record["sync_errors"].append(_error_key(error))
        return False

    async def _presence(self, client: _Client) -> None:
        try:
            ack = await client.call("presence_snapshot", {}, timeout=PRESENCE_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - recorded
            timed_out = isinstance(error, socketio.exceptions.TimeoutError)
            self.record["presence_errors"].append(
                f"no answer in {PRESENCE_TIMEOUT_S:.0f} s" if timed_out else _error_key(error)
            )
            return
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.record["presence_errors"].append(f"refused: {_ack_error(ack)}")

    def _on_message(self, message, *_more) -> None:
        if isinstance(message, dict):
            self.track(message.get("conversation_id"), message.get("seq"))
            self.worker.note(self, message, "live")

    async def stop(self) -> None:
        """No more reconnects; close the connection."""
        self.stopped = True
        self.gone.set()
        if self.task:
            self.task.cancel()
        if self.client is not None:
            await _quietly_disconnect(self.client)


class StormWorker:
    """A client process's storm sockets and observers (commands from bench/storm.py)."""

    def __init__(self):
        self.sockets: dict[str, StormSocket] = {}
        self.unclosed = 0  # aiohttp's complaints about connections of cancelled attempts
        asyncio.get_event_loop().set_exception_handler(self._loop_exception)
        self.lags: list[float] = []
        self._lag_task: asyncio.Task | None = None
        self.observed: dict | None = None
        self._observer: asyncio.Task | None = None

    def _loop_exception(self, loop, context: dict) -> None:
        # A connect given up mid-handshake leaves aiohttp's connection to the garbage collector, which
        # reports it "Unclosed": counted, not printed (thousands in a storm). Anything else is printed.
        if str(context.get("message", "")).startswith("Unclosed"):
            self.unclosed += 1
            return
        loop.default_exception_handler(context)

    def _matching(self, prefix: str) -> list[StormSocket]:
        return [sock for key, sock in self.sockets.items() if key.startswith(prefix)]

    async def storm_open(self, users: list[dict], concurrency: int, deadline_s: float) -> dict:
        """Open a socket per spec {key, idx, url, cookie, after}, `concurrency` connects at a time, and
        wait (at most deadline_s) until each has caught up once; counts and errors."""
        gate = asyncio.Semaphore(concurrency)
        started = time.monotonic()
        opened = []
        for spec in users:
            sock = StormSocket(self, spec)
            self.sockets[sock.key] = sock
            sock.task = asyncio.ensure_future(sock.live(gate))
            opened.append(sock)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(sock.first_done.wait() for sock in opened)), deadline_s)
        errors = Counter(label for sock in opened for *_times, label in sock.record["tries"] if label != "connected")
        return {
            "opened": len(opened),
            "connected": sum(sock.connected for sock in opened),
            "synced": sum(sock.record["synced_at"] is not None for sock in opened),
            "seconds": round(time.monotonic() - started, 2),
            "errors": dict(errors.most_common(5)),
        }

    async def storm_epoch(self) -> dict:
        """Start every socket's record afresh and watch this process's event loop lag from now."""
        for sock in self.sockets.values():
            sock.reset()
        self.lags = []
        if self._lag_task is None:
            self._lag_task = asyncio.ensure_future(self._watch_lag())
        return {"sockets": len(self.sockets)}

    async def _watch_lag(self, step: float = 0.05) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(step)
            self.lags.append(time.monotonic() - before - step)

    async def storm_status(self, prefix: str) -> dict:
        """How many of the sockets under `prefix` are back (connected and synced since the epoch)."""
        socks = self._matching(prefix)
        back = sum(1 for s in socks if s.connected and s.record["connected_at"] and s.record["synced_at"])
        return {
            "total": len(socks),
            "back": back,
            "connected": sum(s.connected for s in socks),
            "gave_up": sum(s.record["gave_up"] is not None for s in socks),
        }

    async def storm_collect(self, prefix: str) -> dict:
        """The records of the sockets under `prefix`, and this process's loop lag since the epoch."""
        if self._lag_task is not None:
            self._lag_task.cancel()
            self._lag_task = None
        return {
            "records": [{**sock.record, "connected": sock.connected} for sock in self._matching(prefix)],
            "lags": self.lags,
            "unclosed": self.unclosed,
        }

    # --- observers ----------------------------------------------------------------------------

    async def observe_start(self, tag: str, senders: list, rate: float, start_at: float) -> dict:
        """From start_at, send `rate` msg/s round-robin over senders [(sender key, idx, conversation,
        recipient key)] until observe_stop(); a sender that is not connected skips its turn."""
        self.observed = {"tag": tag, "messages": {}, "stop_at": None}
        self._observer = asyncio.ensure_future(self._observe(tag, senders, rate, start_at))
        return {"ok": True}

    async def _observe(self, tag: str, senders: list, rate: float, start_at: float) -> None:
        messages = self.observed["messages"]
        for number in itertools.count():
            scheduled = start_at + number / rate
            stop_at = self.observed["stop_at"]
            if stop_at is not None and scheduled > stop_at:
                return
            await _sleep_until(scheduled)
            if self.observed["stop_at"] is not None and scheduled > self.observed["stop_at"]:
                return
            key, idx, conversation_id, recipient_key = senders[number % len(senders)]
            sender, recipient = self.sockets[key], self.sockets[recipient_key]
            client_id = f"{tag}-{idx}-{number}"
            entry = {
                "client_id": client_id,
                "scheduled": scheduled,
                "sender_up": sender.connected,
                "recipient_up": recipient.connected,
                "acked": None,
                "ack": None,
                "received": None,
                "via": None,
            }
            messages[client_id] = entry
            if not sender.connected:
                entry["ack"] = "not sent: sender reconnecting"
                continue
            data = {"conversation_id": conversation_id, "body": BODY, "client_id": client_id}
            try:
                await sender.client.emit("send_message", data, callback=functools.partial(self._acked, entry))
            except Exception as error:  # noqa: BLE001 - e.g. the socket closed just now
                entry["ack"] = _error_key(error)

    @staticmethod
    def _acked(entry: dict, ack=None, *_more) -> None:
        entry["acked"] = time.monotonic()
        entry["ack"] = "ok" if isinstance(ack, dict) and ack.get("ok") else f"refused: {_ack_error(ack)}"

    def note(self, sock: StormSocket, message: dict, via: str) -> None:
        """A message reached `sock` (live or by sync): the observers' receipt, the sender's echo aside."""
        if self.observed is None:
            return
        client_id = message.get("client_id") or ""
        if not client_id.startswith(self.observed["tag"] + "-") or f"-{sock.idx}-" in client_id:
            return
        entry = self.observed["messages"].get(client_id)
        if entry is not None and entry["received"] is None:
            entry["received"] = time.monotonic()
            entry["via"] = via

    async def observe_stop(self, stop_at: float, grace: float) -> dict:
        """Stop scheduling after stop_at; wait (at most `grace` s) for the acks and receipts."""
        self.observed["stop_at"] = stop_at
        await self._observer
        messages = self.observed["messages"]
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            waiting = [e for e in messages.values() if e["ack"] is None or (e["ack"] == "ok" and e["received"] is None)]
            if not waiting:
                break
            await asyncio.sleep(0.05)
        self.observed = None
        return {"messages": list(messages.values())}

    async def disconnect(self, prefix: str = "") -> dict:
        """Stop and close the sockets under `prefix` (all by default), 200 at a time."""
        socks = self._matching(prefix)
        for sock in socks:
            del self.sockets[sock.key]
        for start in range(0, len(socks), 200):
            await asyncio.gather(*(sock.stop() for sock in socks[start : start + 200]))
        return {"closed": len(socks)}


def _ack_error(ack) -> str:
    return str(ack.get("error")) if isinstance(ack, dict) else str(ack)
