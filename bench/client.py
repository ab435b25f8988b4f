"""The load generator's sockets: python-socketio AsyncClients (WebSocket transport) in worker processes,
each with one asyncio loop that runs all the time (so idle sockets answer pings) and takes commands
from the bench process over a pipe. The same code drives the product and the relay.

Times are time.monotonic(), which is one system-wide clock on Linux, so send and receive times from
different processes compare. A message's client_id is "<tag>-<sender idx>-<n>": the tag names the
phase, the sender index tells a socket its own echo (the sender's sockets get the message too).
"""

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import threading
import time
import traceback
from collections import Counter

import socketio

BODY = "Benchmark message: a line of ordinary length, about as long as people write in a chat."


class PhaseFailed(RuntimeError):
    """A worker did not answer in time or raised."""


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _error_key(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:120]


class Worker:
    """One client process: its sockets by user index and what they received in the current phase."""

    def __init__(self):
        self.sockets: dict[str, list[socketio.AsyncClient]] = {}  # by key, e.g. "product:12"
        self.prefix = "\0"  # client_id prefix of the phase being recorded
        self.received: dict[str, list] = {}  # client_id -> [count, first time, last time]
        self.window = (0.0, 0.0)
        self.window_deliveries = 0
        self.last_receipt = 0.0
        self.dropped = 0  # sockets the server closed
        self._open: set = set()

    # --- sockets ------------------------------------------------------------------------------

    def _client(self, idx: int) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, request_timeout=10)
        own = f"-{idx}-"

        def on_message(message, *_more):
            client_id = message.get("client_id") if isinstance(message, dict) else None
            if not client_id or not client_id.startswith(self.prefix) or own in client_id:
                return
            now = time.monotonic()
            self.last_receipt = now
            if self.window[0] <= now <= self.window[1]:
                self.window_deliveries += 1
            entry = self.received.get(client_id)
            if entry is None:
                self.received[client_id] = [1, now, now]
            else:
                entry[0] += 1
                entry[2] = now

        def on_disconnect(*_reason):
            if client in self._open:
                self._open.discard(client)
                self.dropped += 1

        client.on("message", on_message)
        client.on("disconnect", on_disconnect)
        return client

    async def connect(self, users: list[dict], per_user: int, concurrency: int, timeout: float, deadline_s: float):
        """Open `per_user` sockets for each user {key, idx, url, cookie, auth}, round-robin over users so each
        user's first socket comes early; stops trying after deadline_s. Returns counts and errors."""
        order = [user for _ in range(per_user) for user in users]
        deadline = time.monotonic() + deadline_s
        semaphore = asyncio.Semaphore(concurrency)
        errors: Counter = Counter()
        counts = Counter()
        started = time.monotonic()

        async def one(user):
            async with semaphore:
                if time.monotonic() > deadline:
                    counts["skipped"] += 1
                    return
                client = self._client(user["idx"])
                headers = {"Cookie": user["cookie"]} if user.get("cookie") else {}
                try:
                    await asyncio.wait_for(
                        client.connect(
                            user["url"],
                            headers=headers,
                            auth=user.get("auth"),
                            transports=["websocket"],
                            wait_timeout=timeout,
                        ),
                        timeout + 2,
                    )
                except Exception as error:  # noqa: BLE001 - counted and reported (TimeoutError included)
                    counts["failed"] += 1
                    errors[_error_key(error)] += 1
                    asyncio.ensure_future(self._quietly_disconnect(client))
                    return
                self._open.add(client)
                self.sockets.setdefault(user["key"], []).append(client)
                counts["connected"] += 1

        await asyncio.gather(*(one(user) for user in order))
        return {
            "attempted": len(order) - counts["skipped"],
            "connected": counts["connected"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "seconds": round(time.monotonic() - started, 2),
            "errors": dict(errors.most_common(5)),
        }

    @staticmethod
    async def _quietly_disconnect(client) -> None:
        with contextlib.suppress(Exception):  # already failed or gone
            await asyncio.wait_for(client.disconnect(), 5)

    async def disconnect(self, prefix: str = ""):
        """Close the sockets whose key starts with `prefix` (all by default), bounded in time."""
        keys = [key for key in self.sockets if key.startswith(prefix)]
        clients = [client for key in keys for client in self.sockets.pop(key)]
        self._open.difference_update(clients)
        for start in range(0, len(clients), 200):
            await asyncio.gather(*(self._quietly_disconnect(client) for client in clients[start : start + 200]))
        return {"closed": len(clients)}

    async def status(self):
        """How many sockets are open and how many the server dropped."""
        open_sockets = sum(1 for group in self.sockets.values() for client in group if client.connected)
        return {"open": open_sockets, "dropped": self.dropped}

    # --- phases -------------------------------------------------------------------------------

    def _begin(self, tag: str, window: tuple[float, float]) -> None:
        self.prefix = tag + "-"
        self.received = {}
        self.window = window
        self.window_deliveries = 0
        self.last_receipt = 0.0

    async def _drain(self, acked: dict, local_recipients: bool, grace: float) -> None:
        """Wait for deliveries: until every acked message arrived (when its recipients are in this
        process), or until nothing arrived for a moment; at most `grace` seconds."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if local_recipients and all(client_id in self.received for client_id in acked):
                return
            if not local_recipients and time.monotonic() - max(self.last_receipt, self.window[1]) > 0.75:
                return
            await asyncio.sleep(0.05)

    def _result(self, sent: dict, acked: dict, errors: Counter, extra: dict | None = None) -> dict:
        received, self.received = self.received, {}
        self.prefix = "\0"
        return {
            "sent": sent,
            "acked": acked,
            "received": received,
            "window_deliveries": self.window_deliveries,
            "errors": dict(errors),
            "dropped": self.dropped,
            **(extra or {}),
        }

    async def closed_loop(self, tag, senders, inflight, start_at, warmup, duration, ack_timeout, grace, local):
        """Each sender (key, idx, conversation) keeps `inflight` sends outstanding (a new one on each ack)
        from start_at until the end of the window; then waits for the deliveries."""
        window = (start_at + warmup, start_at + warmup + duration)
        self._begin(tag, window)
        sent, acked, errors = {}, {}, Counter()
        numbers = itertools.count()

        async def loop(key: str, idx: int, conversation_id: int):
            client = self.sockets[key][0]
            await _sleep_until(start_at)
            while time.monotonic() < window[1]:
                client_id = f"{tag}-{idx}-{next(numbers)}"
                data = {"conversation_id": conversation_id, "body": BODY, "client_id": client_id}
                sent[client_id] = time.monotonic()
                try:
                    ack = await client.call("send_message", data, timeout=ack_timeout)
                except socketio.exceptions.TimeoutError:
                    errors["ack timeout"] += 1
                    continue
                except Exception as error:  # noqa: BLE001 - e.g. the socket was dropped
                    errors[_error_key(error)] += 1
                    return
                if isinstance(ack, dict) and ack.get("ok"):
                    acked[client_id] = time.monotonic()
                else:
                    errors[f"refused: {ack.get('error') if isinstance(ack, dict) else ack}"] += 1

        await asyncio.gather(*(loop(key, idx, conv) for key, idx, conv in senders for _ in range(inflight)))
        await _sleep_until(window[1])  # a process without senders still records until the end
        await self._drain(acked, local, grace)
        return self._result(sent, acked, errors)

    async def open_loop(self, tag, senders, rate, start_at, warmup, duration, grace, local):
        """Send at a fixed rate (msg/s from this process), round-robin over the senders, on a schedule
        fixed in advance: a message's latency counts from its scheduled time, so queueing shows."""
        window = (start_at + warmup, start_at + warmup + duration)
        self._begin(tag, window)
        sent, acked, errors = {}, {}, Counter()
        total = int(rate * (warmup + duration))
        late = 0

        def on_ack(client_id, ack=None, *_more):
            if isinstance(ack, dict) and ack.get("ok"):
                acked[client_id] = time.monotonic()
            else:
                errors[f"refused: {ack.get('error') if isinstance(ack, dict) else ack}"] += 1

        for number in range(total):
            scheduled = start_at + number / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late += 1
                if number % 32 == 0:
                    await asyncio.sleep(0)  # behind schedule: still let replies in
            key, idx, conversation_id = senders[number % len(senders)]
            client_id = f"{tag}-{idx}-{number}"
            sent[client_id] = scheduled
            data = {"conversation_id": conversation_id, "body": BODY, "client_id": client_id}
            try:
                await self.sockets[key][0].emit(
                    "send_message", data, callback=lambda *ack, cid=client_id: on_ack(cid, *ack)
                )
            except Exception as error:  # noqa: BLE001 - e.g. the socket was dropped
                errors[_error_key(error)] += 1
        deadline = time.monotonic() + grace
        while len(acked) + sum(errors.values()) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        unacked = total - len(acked) - sum(errors.values())
        if unacked:
            errors["no ack within grace"] = unacked
        await self._drain(acked, local, max(deadline - time.monotonic(), 1.0))
        return self._result(sent, acked, errors, {"late_sends": late})


def _worker_main(conn, worker_class=None) -> None:
    """A worker process: the loop runs forever in this thread; commands (coroutine methods of
    `worker_class`, Worker by default) arrive in another."""
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # e.g. "packet queue is empty" on each close
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = (worker_class or Worker)()

    def commands():
        while True:
            try:
                message = conn.recv()
            except EOFError:
                message = None
            if message is None:
                future = asyncio.run_coroutine_threadsafe(worker.disconnect(), loop)
                try:
                    future.result(30)
                finally:
                    loop.call_soon_threadsafe(loop.stop)
                return
            name, kwargs = message
            future = asyncio.run_coroutine_threadsafe(getattr(worker, name)(**kwargs), loop)
            try:
                conn.send(("ok", future.result()))
            except Exception:  # noqa: BLE001 - sent back to the bench process
                conn.send(("error", traceback.format_exc()[-2000:]))

    threading.Thread(target=commands, daemon=True).start()
    loop.run_forever()


class ClientPool:
    """Worker processes holding sockets; commands go to all (or some) of them at once."""

    def __init__(self, processes: int, worker_class=None):
        context = multiprocessing.get_context("spawn")
        self.connections = []
        self.processes = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=_worker_main, args=(child, worker_class), daemon=True)
            process.start()
            self.connections.append(parent)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [process.pid for process in self.processes]

    def send(self, commands: list[tuple[str, dict] | None]) -> None:
        """Send one command per worker (None: nothing for that worker)."""
        self._pending = []
        for conn, command in zip(self.connections, commands, strict=True):
            if command is not None:
                conn.send(command)
                self._pending.append(conn)

    def collect(self, timeout: float) -> list:
        """The answers to the last send(), in worker order; PhaseFailed after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        results = []
        for conn in self._pending:
            if not conn.poll(max(deadline - time.monotonic(), 0)):
                raise PhaseFailed(f"a client process did not answer within {timeout:.0f}s")
            status, value = conn.recv()
            if status != "ok":
                raise PhaseFailed(value)
            results.append(value)
        return results

    def run(self, commands: list[tuple[str, dict] | None], timeout: float) -> list:
        """send() then collect()."""
        self.send(commands)
        return self.collect(timeout)

    def close(self) -> None:
        """Disconnect every socket and end the workers (killing any that hang)."""
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process in self.processes:
            process.join(20)
            if process.is_alive():
                process.kill()
                process.join(5)
