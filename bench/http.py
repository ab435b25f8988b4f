"""The HTTP side of the load generator: real logins through the form (CSRF token included), and
timed page and API reads."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests

from bench.seed import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class LoginFailed(RuntimeError):
    """POST /login did not sign in."""


def login(base_url: str, username: str, timeout: float = 60) -> requests.Session:
    """Sign in through GET /login (for the CSRF token) and POST /login; the session holds the cookie."""
    http = requests.Session()
    page = http.get(base_url + "/login", timeout=timeout)
    match = CSRF_INPUT.search(page.text)
    if page.status_code != 200 or not match:
        raise LoginFailed(f"GET /login answered {page.status_code} without a csrf_token")
    data = {"username": username, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)}
    response = http.post(base_url + "/login", data=data, allow_redirects=False, timeout=timeout)
    if response.status_code != 302 or not http.cookies:
        raise LoginFailed(f"POST /login answered {response.status_code} for {username}")
    return http


def cookie_header(http: requests.Session) -> str:
    """The session's cookies as one Cookie header."""
    return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def login_all(logins: list[tuple[str, str]], threads: int = 4, progress=None) -> dict[str, requests.Session]:
    """Log in (base_url, username) pairs a few at a time (each costs a scrypt on the server)."""
    sessions: dict[str, requests.Session] = {}
    with ThreadPoolExecutor(threads) as pool:
        futures = {pool.submit(login, url, name): name for url, name in logins}
        for done, future in enumerate(as_completed(futures), 1):
            sessions[futures[future]] = future.result()
            if progress and done % 25 == 0:
                progress(f"logged in {done}/{len(logins)}")
    return sessions


def timed_gets(http: requests.Session, url: str, count: int, warmup: int = 3, timeout: float = 30) -> list[float]:
    """Milliseconds of `count` sequential GETs of `url` (after `warmup` untimed ones); each must be 200."""
    times = []
    for index in range(warmup + count):
        started = time.perf_counter()
        response = http.get(url, timeout=timeout)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if index >= warmup:
            times.append(elapsed)
    return times


class LoginDriver:
    """Real logins (POST /login, scrypt on the server) started at a fixed rate in threads, each with a
    fresh cookie jar, while something else is measured."""

    def __init__(self, base_url: str, usernames: list[str], rate: float, threads: int = 64):
        self.base_url = base_url
        self.usernames = usernames
        self.rate = rate
        self.pool = ThreadPoolExecutor(threads)
        self.futures = []
        self._thread: threading.Thread | None = None

    def _one(self, username: str) -> float:
        started = time.monotonic()
        login(self.base_url, username, timeout=90)
        return (time.monotonic() - started) * 1000

    def start(self, start_at: float, seconds: float) -> None:
        """Submit rate × seconds logins on schedule from monotonic time `start_at` (in a thread)."""
        count = int(self.rate * seconds)

        def schedule():
            for index in range(count):
                delay = start_at + index / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.futures.append(self.pool.submit(self._one, self.usernames[index % len(self.usernames)]))

        self._thread = threading.Thread(target=schedule, daemon=True)
        self._thread.start()

    def finish(self, timeout: float = 120) -> dict:
        """Wait (bounded) for the logins: how many, how long they took, which failed."""
        deadline = time.monotonic() + timeout
        if self._thread:
            self._thread.join(max(deadline - time.monotonic(), 0))
        times, failures = [], []
        for future in self.futures:
            try:
                times.append(future.result(timeout=max(deadline - time.monotonic(), 0.01)))
            except Exception as error:  # noqa: BLE001 - reported, not raised
                failures.append(f"{type(error).__name__}: {error}"[:160])
        self.pool.shutdown(wait=False, cancel_futures=True)
        return {
            "started": len(self.futures),
            "ok": len(times),
            "failed": len(failures),
            "times_ms": times,
            "errors": sorted(set(failures))[:5],
        }
