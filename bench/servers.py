"""Servers under test, each a subprocess on a free loopback port: the product (`run.py`) and the bare
relay (`python -m bench.relay`); and their CPU and memory, read from /proc through psutil."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"
# Settings the bench decides itself, whatever the caller's environment says.
_DROPPED_ENV = (
    "PASSWORD_HASH_METHOD",
    "LOG_FORMAT",
    "ASYNC_MODE",
    "SOCKETIO_ALLOWED_ORIGINS",
    "TRUSTED_PROXIES",
    "FORWARDED_ALLOW_IPS",
)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess on 127.0.0.1, its log in a file, stopped with SIGTERM (then SIGKILL)."""

    name = "server"
    ready_path = "/"

    def __init__(self, command: list[str], log_path: Path, env: dict, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environment = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        environment.update({"HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONUNBUFFERED": "1", **env})
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT)
        self.stats = ProcessStats(self.process.pid)
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                requests.get(self.url + self.ready_path, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not come up in {seconds}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class ProductServer(Server):
    """`python run.py` with the bench's database (and Redis for the multi-worker scenario), on
    eventlet (the default) or gevent."""

    name = "product"
    ready_path = "/login"

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        redis_url: str = "",
        redis_prefix: str = "",
        port=None,
        async_mode: str = "eventlet",
    ):
        env = {
            "ASYNC_MODE": async_mode,
            "APP_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": SECRET_KEY,
            # The load generator signs everyone in from one address; real users come from many.
            "RATELIMIT_LOGIN_PER_ADDRESS": "100000/minute",
            # So do the simulated people of the users scenario, who search (the per-user limit stays).
            "RATELIMIT_SEARCH_PER_ADDRESS": "100000/minute",
            # Each bench sender sends as fast as its acks come back, far beyond anyone typing: the
            # per-user limit would refuse most of it. Every event is still counted against it, so
            # the limit's cost stays in the figures.
            "RATELIMIT_USER_EVENTS": "100000/second",
            # Every bench client connects from 127.0.0.1, at once, and the idle scenario holds many
            # sockets per user: caps and connect limits far above that (still checked on each connect).
            "SOCKETS_PER_USER": "1000000",
            "SOCKETS_PER_ADDRESS": "1000000",
            "RATELIMIT_SOCKET_CONNECTS_PER_USER": "100000/second",
            "RATELIMIT_SOCKET_CONNECTS_PER_ADDRESS": "100000/second",
        }
        if redis_prefix:
            env["REDIS_KEY_PREFIX"] = redis_prefix
        super().__init__([sys.executable, str(ROOT / "run.py")], log_path, env, port)


class RelayServer(Server):
    """The bare relay of bench/relay.py, on eventlet or gevent."""

    name = "relay"
    ready_path = "/healthz"

    def __init__(self, log_path: Path, async_mode: str = "eventlet"):
        super().__init__([sys.executable, "-m", "bench.relay"], log_path, {"ASYNC_MODE": async_mode})


class ProcessStats:
    """CPU time and resident memory of one process (threads included)."""

    def __init__(self, pid: int):
        self.pid = pid
        self._process = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        """User plus system CPU seconds so far (0 once the process is gone)."""
        try:
            times = self._process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def rss_mb(self) -> float:
        """Resident set size in MiB."""
        try:
            return self._process.memory_info().rss / 2**20
        except psutil.Error:
            return 0.0


class CpuMeter:
    """CPU use over a window, in % of one core: each named process, the whole machine (busy and
    stolen by the hypervisor), and everything on the machine that is not one of the named processes."""

    def __init__(self, processes: dict[str, ProcessStats]):
        self.processes = processes
        self._start: dict[str, float] = {}
        self._machine = None
        self._t0 = 0.0

    def start(self) -> None:
        """Begin the window."""
        self._t0 = time.monotonic()
        self._machine = psutil.cpu_times()
        self._start = {name: stats.cpu_seconds() for name, stats in self.processes.items()}

    def stop(self) -> dict[str, float]:
        """End the window: {name: %, ..., "machine_busy": %, "steal": %, "others": %}."""
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        used = {
            name: round(100 * (stats.cpu_seconds() - self._start.get(name, 0.0)) / elapsed, 1)
            for name, stats in self.processes.items()
        }
        now = psutil.cpu_times()
        busy = sum(getattr(now, f) - getattr(self._machine, f) for f in ("user", "nice", "system", "irq", "softirq"))
        steal = getattr(now, "steal", 0.0) - getattr(self._machine, "steal", 0.0)
        used["machine_busy"] = round(100 * busy / elapsed, 1)
        used["steal"] = round(100 * steal / elapsed, 1)
        used["others"] = round(max(used["machine_busy"] - sum(used[name] for name in self.processes), 0.0), 1)
        return used
