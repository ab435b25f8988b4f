"""Fault-injection helpers for tests against real servers on loopback: a Socket.IO client that rides
out crashes and restarts the way docs/protocol.md asks clients to, a server process that can be
killed and started again on the same port, a private Redis that can be restarted, and a TCP proxy
that can cut a server off from its database.

Every wait here is bounded; nothing here touches a process or port the test did not start.
"""

import random
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import redis
import socketio

from tests.conftest import LiveServer, free_port

# Ack errors a client answers by sending again later with the same client_id (the server may or
# may not have stored the message); any other error code is the server's final word.
RETRYABLE_ERRORS = frozenset({"internal", "unavailable"})


class ResilientClient:
    """One user's tab that survives server crashes, restarts and outages.

    - Connects with exponential, jittered backoff, and reconnects the same way whenever the
      connection is lost, whether it dropped or the server closed it (a stopping worker does;
      python-socketio does not reconnect by itself after that).
    - Keeps an outbox: every send has a client_id made here and stays in the outbox until the server
      acknowledges it (`acked`) or refuses it for good (`refused`); `ensure()` sends the rest again
      with the same client_ids, which the server answers with the stored original (at-least-once
      delivery plus idempotency makes exactly-once storage).
    - Keeps a view per conversation (seq -> M; `conversations` seeds it, a message from another
      conversation adds one) from acks, live `message` events and `sync`; after each (re)connect,
      and whenever a live message reveals a hole, it syncs from the highest seq up to which it holds
      every message, and repeats while `has_more`.

    Used from one thread at a time (live events arrive on python-socketio's threads and only touch
    the view, under a lock). Counters for the test's figures: `connects` (times), `connect_attempts`,
    `resends`, `lost_acks` (events emitted whose ack never came), `error_acks` (code -> count),
    `learned` (messages first held through "ack", "live" or "sync"), `conflicts` (two different
    messages seen at one seq).
    """

    def __init__(
        self,
        url: str,
        cookie_header: str,
        conversations,
        name: str,
        *,
        user_id: int | None = None,
        call_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.05, 1.0),
        seed: int | None = None,
    ):
        self.url = url
        self.cookie_header = cookie_header
        self.name = name
        self.user_id = user_id
        self.call_timeout = call_timeout
        self.backoff = backoff
        self._delay = backoff[0]  # the next backoff ceiling; grows while failures last
        self.random = random.Random(seed)
        self._sio: socketio.Client | None = None
        self._connected = False
        self._lock = threading.Lock()
        self._waiters: set[threading.Event] = set()
        self._next_id = 0
        self._needs_sync = True
        self.view: dict[int, dict[int, dict]] = {int(cid): {} for cid in conversations}
        self.outbox: dict[str, tuple[int, str]] = {}
        self.sent: dict[str, tuple[int, str]] = {}  # every client_id ever used -> (conversation, body)
        self.acked: dict[str, dict] = {}
        self.answers: dict[str, list[dict | None]] = {}  # every attempt's ack (None: none came)
        self.refused: dict[str, dict] = {}
        self.connects: list[float] = []
        self.connect_attempts = 0
        self.resends = 0
        self.lost_acks = 0
        self.error_acks: Counter = Counter()
        self.conflicts: list[tuple[dict, dict]] = []
        self.learned: Counter = Counter()  # messages first held through "ack", "live" or "sync"

    # --- the connection ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the socket is up right now."""
        return self._connected

    def ensure(self, deadline: float) -> bool:
        """Be connected, caught up and with an empty outbox: (re)connect with backoff if needed, sync
        if anything may be missing, send the outbox again (same client_ids), and back off and start
        over on any failure. False if the deadline passed first."""
        while time.monotonic() < deadline:
            if (self._connected or self._connect_once()) and self._catch_up(deadline) and self._send_outbox(deadline):
                self._delay = self.backoff[0]
                return True
            # Full jitter: clients that lost the same server do not all come back at one instant.
            time.sleep(min(self.random.uniform(0, self._delay), max(deadline - time.monotonic(), 0)))
            self._delay = min(self._delay * 2, self.backoff[1])
        return False

    def settle(self, deadline: float) -> bool:
        """`ensure()`, with a sync of every conversation whatever the live events said; False if the
        deadline passed first."""
        self._needs_sync = True
        return self.ensure(deadline)

    def _catch_up(self, deadline: float) -> bool:
        return not self._needs_sync or self.resync(deadline)

    def _send_outbox(self, deadline: float) -> bool:
        """One attempt at each unacknowledged send, oldest first, stopping at the first failure or
        at the deadline."""
        for client_id in list(self.outbox):
            if time.monotonic() >= deadline:
                return False
            self.resends += 1
            if not self._deliver(client_id):
                return False
        return True

    def _connect_once(self) -> bool:
        self.connect_attempts += 1
        sio = socketio.Client(reconnection=False)
        sio.on("message", self._on_message)
        sio.on("disconnect", lambda *_reason: self._on_disconnect(sio))
        try:
            sio.connect(self.url, headers={"Cookie": self.cookie_header}, transports=["websocket"], wait_timeout=5)
        except socketio.exceptions.ConnectionError:
            return False
        with self._lock:
            self._sio = sio
            self._connected = sio.connected
            self._needs_sync = True  # whatever was said while we were away is missing
            if self._connected:
                self.connects.append(time.monotonic())
        return self._connected

    def _on_disconnect(self, sio: socketio.Client) -> None:
        with self._lock:
            if sio is not self._sio:
                return  # late news from a connection already replaced
            self._connected = False
            for waiter in self._waiters:
                waiter.set()

    def close(self) -> None:
        """Disconnect for good."""
        sio, self._sio = self._sio, None
        self._connected = False
        if sio is not None:
            sio.disconnect()

    def call(self, event: str, payload: dict) -> dict | None:
        """Emit and wait for the ack; None when the connection is lost or the ack does not come in time."""
        sio = self._sio
        done, box = threading.Event(), {}

        def on_ack(*args):
            box["ack"] = args[0] if args else None
            done.set()

        with self._lock:
            if not self._connected or sio is None:
                return None
            self._waiters.add(done)
        try:
            sio.emit(event, payload, callback=on_ack)
            done.wait(self.call_timeout)
        except socketio.exceptions.SocketIOError:
            return None
        finally:
            with self._lock:
                self._waiters.discard(done)
        if "ack" not in box:
            self.lost_acks += 1
        return box.get("ack")

    # --- sending ----------------------------------------------------------------------------------

    def send(self, conversation_id: int, body: str | None = None) -> str:
        """Queue a new message and try it once; returns its client_id. The outcome lands in `acked`,
        `refused`, or stays in `outbox` for the next `ensure()`."""
        self._next_id += 1
        client_id = f"{self.name}-{self._next_id}"
        entry = (conversation_id, body or f"{client_id} says hi")
        self.sent[client_id] = self.outbox[client_id] = entry
        self._deliver(client_id)
        return client_id

    def _deliver(self, client_id: str) -> bool:
        """One attempt at an outbox entry; True once it has left the outbox."""
        conversation_id, body = self.outbox[client_id]
        ack = self.call("send_message", {"conversation_id": conversation_id, "body": body, "client_id": client_id})
        self.answers.setdefault(client_id, []).append(ack)
        if ack is None:
            return False
        if ack.get("ok") is True:
            del self.outbox[client_id]
            self.acked[client_id] = ack["message"]
            self._merge([ack["message"]], "ack")
            return True
        self.error_acks[ack.get("error")] += 1
        if ack.get("error") in RETRYABLE_ERRORS:
            return False
        del self.outbox[client_id]
        self.refused[client_id] = ack
        return True

    # --- the view ---------------------------------------------------------------------------------

    def _on_message(self, message) -> None:
        self._merge([message], "live")

    def _merge(self, messages: list[dict], source: str) -> None:
        with self._lock:
            for message in messages:
                held = self.view.setdefault(message["conversation_id"], {})
                seen = held.get(message["seq"])
                if seen is None:
                    held[message["seq"]] = message
                    self.learned[source] += 1
                elif seen["id"] != message["id"]:
                    self.conflicts.append((seen, message))
                if message["seq"] > self._complete_up_to(held) + 1:
                    self._needs_sync = True  # a hole: something was missed

    @staticmethod
    def _complete_up_to(held: dict[int, dict]) -> int:
        seq = 0
        while seq + 1 in held:
            seq += 1
        return seq

    def positions(self) -> dict[str, int]:
        """{conversation_id: the highest seq up to which every message is held}, as `sync` takes it."""
        with self._lock:
            return {str(cid): self._complete_up_to(held) for cid, held in self.view.items()}

    def resync(self, deadline: float) -> bool:
        """Catch up with `sync` (repeated while has_more); False if the connection was lost or the
        deadline passed first (the next `ensure()` syncs again)."""
        self._needs_sync = False
        while time.monotonic() < deadline:
            ack = self.call("sync", {"after": self.positions()})
            if ack is None or not ack.get("ok"):
                self._needs_sync = True
                return False
            self._merge(ack["messages"], "sync")
            if not ack["has_more"]:
                return True
        self._needs_sync = True
        return False

    def messages(self, conversation_id: int) -> list[dict]:
        """The conversation as this client holds it, in seq order."""
        with self._lock:
            held = self.view.get(conversation_id, {})
            return [held[seq] for seq in sorted(held)]


def run_load(clients: list[ResilientClient], stop: threading.Event, pause: tuple[float, float], seed: int = 0):
    """Every client, on a thread of its own, sends to a random one of its conversations, pausing a
    random time in `pause` between sends, until `stop` is set; reconnecting and catching up as it
    goes. Returns the started threads."""

    def work(index: int, client: ResilientClient) -> None:
        rng = random.Random(seed * 1000 + index)
        conversations = sorted(client.view)
        while not stop.is_set():
            if client.ensure(time.monotonic() + 1):
                client.send(rng.choice(conversations))
            stop.wait(rng.uniform(*pause))

    threads = [threading.Thread(target=work, args=pair, daemon=True) for pair in enumerate(clients)]
    for thread in threads:
        thread.start()
    return threads


# --- processes the test owns ----------------------------------------------------------------------


class ServerProcess(LiveServer):
    """A live server the test starts, kills, stops and starts again itself."""

    def __init__(self, database_url: str, folder: Path, **env):
        port = free_port()
        super().__init__(database_url, folder / f"server-{port}.log", port=port, start=False, **env)

    def close(self) -> None:
        """Kill it if it runs."""
        self.kill()


class PrivateRedis:
    """A redis-server of the test's own on a free port, which the test may stop and start again.
    It saves to disk when stopped, like a production Redis that holds sessions."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it (loading what it saved) and return once it answers PING (bounded)."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "3600 1", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: Redis saves its data and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def close(self) -> None:
        """Stop it if it runs."""
        self.stop()


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 (threads in the test process) that can be cut and restored.

    `cut()` closes every proxied connection and, until `restore()`, resets each new one as soon as
    it is accepted: to the client it looks like the server went away and cannot be reached.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open = True
        self._closed = False
        self._connections: set[socket.socket] = set()
        self.refused = 0  # connections reset while cut
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                incoming, _address = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._open:
                    self.refused += 1
                    _reset(incoming)
                    continue
            try:
                outgoing = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(incoming)
                continue
            outgoing.settimeout(None)
            with self._lock:
                self._connections |= {incoming, outgoing}
            for source, sink in ((incoming, outgoing), (outgoing, incoming)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections -= {source, sink}
            _reset(source)
            _reset(sink)

    def cut(self) -> None:
        """Close every proxied connection and refuse new ones."""
        with self._lock:
            self._open = False
            connections, self._connections = self._connections, set()
        for connection in connections:
            _reset(connection)

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._open = True

    def close(self) -> None:
        """Stop listening and close everything."""
        self._closed = True
        self.cut()
        _reset(self.listener)


def _reset(sock: socket.socket) -> None:
    """Abort a connection (RST rather than FIN) and wake any thread blocked on it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
