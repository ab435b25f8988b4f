"""Other people of a worker, timed while someone attacks it: Ana browses and sends over her socket,
and the p50/p99/max of what she waited for are the figure (tests/test_abuse_*.py)."""

import statistics
import threading
import time
import uuid

import requests
import socketio

from tests.conftest import HttpUser
from tests.realtime import Socket

PAUSE = 0.02  # seconds each other user waits between two requests
# Others' p99 may be at most this beyond twice their quiet p99 (this machine's own noise, measured
# first): generous for a loaded machine; before the fixes it was a whole attack's length.
CEILING = 1.0


def sign_in(url: str, username: str) -> HttpUser:
    """A signed-in HttpUser."""
    user = HttpUser(url)
    response = user.login(username)
    assert response.ok and "/login" not in response.url, response.text[:500]
    return user


def figures_of(seconds: list[float]) -> dict:
    """p50, p99 and max in milliseconds."""
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": statistics.median(ordered) * 1000, "p99": p99 * 1000, "max": ordered[-1] * 1000}


def others_figures(http: list[float], acks: list[float], quiet_http: list[float], quiet_acks: list[float]) -> dict:
    """The other user's counts and p50/p99/max in milliseconds during an attack, and her quiet p99s."""
    during_http, during_acks = figures_of(http), figures_of(acks)
    return {
        "others' requests": len(http),
        "requests p50 ms": during_http["p50"],
        "requests p99 ms": during_http["p99"],
        "requests max ms": during_http["max"],
        "socket acks": len(acks),
        "acks p50 ms": during_acks["p50"],
        "acks p99 ms": during_acks["p99"],
        "acks max ms": during_acks["max"],
        "quiet requests p99 ms": figures_of(quiet_http)["p99"],
        "quiet acks p99 ms": figures_of(quiet_acks)["p99"],
    }


def within_ceiling(figures: dict) -> bool:
    """Whether the other user's p99s stayed under CEILING beyond twice her quiet p99s."""
    return figures["requests p99 ms"] < CEILING * 1000 + 2 * figures["quiet requests p99 ms"] and (
        figures["acks p99 ms"] < CEILING * 1000 + 2 * figures["quiet acks p99 ms"]
    )


class Others:
    """Ana's HTTP requests (/healthz and the chat page, in turn) and her socket's send_message acks,
    each in its own thread, timed while `running` is set."""

    def __init__(self, url: str, setting: dict):
        self.http_user = sign_in(url, setting["names"]["ana"])
        self.page = f"{url}/c/{setting['chat']}"
        self.healthz = f"{url}/healthz"
        self.socket = Socket(self.http_user)
        self.chat = setting["chat"]
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.http: list[float] = []
        self.acks: list[float] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=work, daemon=True) for work in (self._browse, self._send)]

    def _browse(self) -> None:
        turn = 0
        while not self.stopped.is_set():
            url = self.healthz if turn % 2 == 0 else self.page
            timed = self.http if self.running.is_set() else None  # counted where it began
            began = time.perf_counter()
            try:
                status = self.http_user.http.get(url, timeout=60).status_code
            except requests.RequestException as error:
                status = repr(error)
            took = time.perf_counter() - began
            if status != 200:
                self.failures.append(f"GET {url}: {status}")
            if timed is not None:
                timed.append(took)
            turn += 1
            time.sleep(PAUSE)

    def _send(self) -> None:
        while not self.stopped.is_set():
            payload = {"conversation_id": self.chat, "body": "lunch?", "client_id": uuid.uuid4().hex}
            timed = self.acks if self.running.is_set() else None
            began = time.perf_counter()
            try:
                ack = self.socket.client.call("send_message", payload, timeout=60)
            except socketio.exceptions.SocketIOError as error:
                ack = repr(error)
            took = time.perf_counter() - began
            if not isinstance(ack, dict) or ack.get("ok") is not True:
                self.failures.append(f"send_message: {ack}")
            if timed is not None:
                timed.append(took)
            time.sleep(PAUSE)

    def measure(self, seconds: float) -> tuple[list[float], list[float]]:
        """The HTTP and ack times of what begins in the next `seconds` (complete after stop())."""
        self.http, self.acks = [], []
        self.running.set()
        time.sleep(seconds)
        self.running.clear()
        return self.http, self.acks

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(90)
        self.socket.client.disconnect()
