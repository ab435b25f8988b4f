"""The scenarios: what runs against which server, with which counts, and the figures each records.

The bench process starts the servers, seeds the database, logs users in, and tells the client
processes (bench/client.py) what to do; it measures the CPU of everything over each measured window.
"""

import math
import os
import re
import secrets
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import seed as seeding
from bench.client import ClientPool
from bench.http import LoginDriver, cookie_header, login_all, timed_gets
from bench.servers import CpuMeter, ProcessStats, ProductServer, RelayServer
from bench.stats import Persistence, latency_summary, merge, phase_metrics, spread, summarise
from bench.users_world import sign_in_all

SCENARIOS = ("dm", "room", "history", "logins", "idle", "scale", "storm", "modes", "users")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
ACK_TIMEOUT = 10
PHASE_KEYS = ("delivered_per_s", "deliveries_per_s", "acked_per_s", "p50_ms", "p95_ms", "p99_ms", "lost")
CPU_KEYS = ("server_cpu", "clients_cpu", "client_max_cpu", "bench_cpu", "others_cpu", "steal")


@dataclass(frozen=True)
class Profile:
    """How big and how long: the full run, or --quick."""

    runs: int = 3
    client_processes: int = 2
    warmup: float = 1.0
    duration: float = 4.0
    dm_pairs: tuple[int, ...] = (10, 50)
    dm_inflight: tuple[int, ...] = (1, 10)
    open_fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    room_senders: int = 5
    room_members: int = 1_000  # online in the room scenario, the DM users among them
    history_sizes: tuple[int, ...] = (100, 1_000, 10_000, 50_000)
    history_requests: int = 25
    idle_counts: tuple[int, ...] = (1_000, 5_000)
    idle_hold: float = 30.0
    idle_connect_deadline: float = 60.0
    login_rate: float = 10.0
    login_pairs: int = 10
    login_message_rate: float = 100.0
    login_users: int = 20
    scale_pairs: int = 50
    scale_inflight: int = 10
    storm_sockets: int = 5_000
    storm_observer_pairs: int = 5
    storm_observer_rate: float = 20.0
    storm_deadline: float = 300.0
    # bench/users.py: people (at 20 s mean idle) per step, sockets the load generator holds at most,
    # seconds each step is measured, and a ramp with the pages' own requests (True: the headline)
    # and one without them (False).
    users_steps: tuple[int, ...] = (25, 50, 100, 175, 250, 500, 1_000, 2_000, 3_500, 5_000, 7_500)
    users_sockets: int = 5_000
    users_hold: float = 40.0
    users_reactions: tuple[bool, ...] = (True, False)


FULL = Profile()
QUICK = Profile(
    runs=1,
    warmup=0.5,
    duration=1.5,
    dm_pairs=(5,),
    dm_inflight=(1, 10),
    open_fractions=(0.5,),
    room_senders=2,
    room_members=40,
    history_sizes=(100, 1_000),
    history_requests=5,
    idle_counts=(50, 200),
    idle_hold=2.0,
    idle_connect_deadline=30.0,
    login_rate=4.0,
    login_pairs=5,
    login_message_rate=50.0,
    login_users=5,
    scale_pairs=5,
    storm_sockets=200,
    storm_observer_pairs=2,
    storm_observer_rate=10.0,
    storm_deadline=60.0,
    users_steps=(100, 250),
    users_sockets=50,
    users_hold=8.0,
    users_reactions=(True,),
)


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Bench:
    """One benchmark run: servers, data, client processes, and the figures."""

    def __init__(self, profile: Profile, only: tuple[str, ...], progress=print):
        self.profile = profile
        self.only = only
        self.say = progress
        self.results: dict = {}
        self.folder = Path(tempfile.mkdtemp(prefix="messanger-bench-"))
        self.database_url = f"sqlite:///{self.folder / 'bench.db'}"
        self.product: ProductServer | None = None
        self.relay: RelayServer | None = None
        self.pool: ClientPool | None = None
        self.seeded: seeding.Seeded | None = None
        self.cookies: dict[str, str] = {}
        self.connected: set[str] = set()
        self.persistence: Persistence | None = None
        self.phase_number = 0
        self.bench_stats = ProcessStats(os.getpid())
        self.server_errors: dict = {}

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> dict:
        """Every selected scenario in order; a failing one records its error and the rest go on."""
        wanted = [name for name in SCENARIOS if name in self.only]
        needs_sqlite = any(name not in ("scale", "users") for name in wanted)
        try:
            if needs_sqlite:
                self._setup_sqlite(wanted)
            for name in wanted:
                started = time.monotonic()
                self.say(f"== {name}")
                try:
                    result = getattr(self, f"scenario_{name}")()
                except Exception as error:  # noqa: BLE001 - recorded; the other scenarios still run
                    self.say(f"   {name} failed: {error}")
                    result = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-3000:]}
                    self._reset_pool()
                result["seconds"] = round(time.monotonic() - started, 1)
                result["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
                self.results[name] = result
        finally:
            self.close()
        return self.results

    def close(self) -> None:
        """Stop the client processes and the servers; summarise the servers' logs."""
        if self.pool:
            self.pool.close()
            self.pool = None
        for server in (self.product, self.relay):
            if server:
                server.stop()
        if self.persistence:
            self.persistence.close()
        self.server_errors = log_errors(self.folder)

    def remove_files(self) -> None:
        """Delete the temporary folder (database and server logs)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _setup_sqlite(self, wanted: list[str]) -> None:
        profile = self.profile
        pairs = max(profile.dm_pairs) if {"dm", "room", "logins", "idle", "storm", "modes"} & set(wanted) else 0
        pairs = max(pairs, profile.login_pairs if "logins" in wanted else 0)
        self.say(f"setup: SQLite database in {self.folder}")
        seeding.migrate(self.database_url)
        started = time.monotonic()
        self.seeded = seeding.seed(
            self.database_url,
            dm_users=2 * pairs,
            room="room" in wanted or "dm" in wanted,
            login_users=profile.login_users if "logins" in wanted else 0,
            history_sizes=profile.history_sizes if "history" in wanted else (),
            room_members=profile.room_members if "room" in wanted else 0,
        )
        self.say(f"setup: seeded {2 * pairs} users, {pairs} direct chats in {time.monotonic() - started:.1f}s")
        self.product = ProductServer(self.database_url, self.folder / "product.log")
        if {"dm", "room"} & set(wanted):
            self.relay = RelayServer(self.folder / "relay.log")
        self.persistence = Persistence(self.database_url)
        names = [user["username"] for user in self.seeded.users]
        if self.seeded.viewer:
            names.append(self.seeded.viewer)
        started = time.monotonic()
        self.say(f"setup: logging in {len(names)} users (scrypt on the server)")
        sessions = login_all([(self.product.url, name) for name in names], progress=lambda m: self.say("   " + m))
        self.sessions = sessions
        self.cookies = {name: cookie_header(http) for name, http in sessions.items()}
        self.say(f"setup: logins took {time.monotonic() - started:.1f}s")
        if self.seeded.room_only:
            started = time.monotonic()
            app = seeding.bench_app(self.database_url)
            room_only = self.seeded.room_only
            cookies = sign_in_all(app, [user["id"] for user in room_only])
            self.cookies.update({user["username"]: cookie for user, cookie in zip(room_only, cookies, strict=True)})
            self.say(f"setup: {len(room_only)} room members signed in in {time.monotonic() - started:.1f}s")
        self.pool = ClientPool(profile.client_processes)

    def _reset_pool(self) -> None:
        """After a client process failed or hung: new processes, nothing connected."""
        if self.pool:
            self.pool.close()
            self.pool = ClientPool(self.profile.client_processes)
        self.connected.clear()

    # --- helpers ------------------------------------------------------------------------------

    @property
    def processes(self) -> int:
        """How many client processes there are."""
        return self.profile.client_processes

    def _tag(self, letter: str) -> str:
        self.phase_number += 1
        return f"{letter}{self.phase_number}"

    def _user_specs(self, target: str, pairs: list, url_of, cookie_of=None, auth: bool = False) -> list[list[dict]]:
        """Socket specs per client process; both members of a pair go to the same process."""
        specs: list[list[dict]] = [[] for _ in range(self.processes)]
        for number, (a, b, conversation_id) in enumerate(pairs):
            for idx in (a, b):
                spec = {"key": f"{target}:{idx}", "idx": idx, "url": url_of(number, idx)}
                if cookie_of:
                    spec["cookie"] = cookie_of(idx)
                if auth:
                    rooms = [conversation_id] + ([self.seeded.room_id] if self.seeded.room_id else [])
                    spec["auth"] = relay_auth(self.seeded.users[idx], rooms)
                specs[number % self.processes].append(spec)
        return specs

    def _connect(self, target: str, specs: list[list[dict]], per_user: int = 1, deadline: float = 60) -> dict:
        """Open the sockets in the client processes; the counts of all processes added up."""
        commands = [
            ("connect", {"users": s, "per_user": per_user, "concurrency": 25, "timeout": 10, "deadline_s": deadline})
            for s in specs
        ]
        results = self.pool.run(commands, timeout=deadline + 60)
        total = {key: sum(r[key] for r in results) for key in ("attempted", "connected", "failed", "skipped")}
        total["seconds"] = max(r["seconds"] for r in results)
        total["errors"] = {}
        for result in results:
            for error, count in result["errors"].items():
                total["errors"][error] = total["errors"].get(error, 0) + count
        self.connected.add(target)
        return total

    def _ensure_connected(self, target: str) -> None:
        """The DM users' sockets to the product (by cookie) or the relay (rooms in auth), once."""
        if target in self.connected:
            return
        pairs = self.seeded.pairs
        if target == "product":
            url = self.product.url
            specs = self._user_specs(
                target, pairs, lambda _n, _i: url, cookie_of=lambda i: self.cookies[self.seeded.users[i]["username"]]
            )
        else:
            url = self.relay.url
            specs = self._user_specs(target, pairs, lambda _n, _i: url, auth=True)
        counts = self._connect(target, specs)
        self.say(f"   {counts['connected']} sockets connected to the {target} in {counts['seconds']}s")
        if counts["connected"] != 2 * len(pairs):
            raise RuntimeError(f"only {counts['connected']} of {2 * len(pairs)} sockets connected: {counts['errors']}")
        time.sleep(0.5)  # let the presence announcements of the connects settle

    def _meter(self, servers: dict) -> CpuMeter:
        processes = {name: server.stats for name, server in servers.items()}
        processes.update({f"client_{i}": ProcessStats(pid) for i, pid in enumerate(self.pool.pids)})
        processes["bench"] = self.bench_stats
        return CpuMeter(processes)

    def _phase(self, command: str, per_process: list[dict], servers: dict, warmup=None, duration=None, hook=None):
        """Run one measured phase in every client process: (merged records, window, CPU figures)."""
        warmup = self.profile.warmup if warmup is None else warmup
        duration = self.profile.duration if duration is None else duration
        start_at = time.monotonic() + 0.5
        window = (start_at + warmup, start_at + warmup + duration)
        timing = {"start_at": start_at, "warmup": warmup, "duration": duration}
        commands = [(command, {**kwargs, **timing}) for kwargs in per_process]
        meter = self._meter(servers)
        self.pool.send(commands)
        if hook:
            hook(start_at, warmup + duration)
        _sleep_until(window[0])
        meter.start()
        _sleep_until(window[1])
        used = meter.stop()
        results = self.pool.collect(timeout=ACK_TIMEOUT + 60)
        clients = [value for name, value in used.items() if name.startswith("client_")]
        cpu = {
            "server_cpu": round(sum(value for name, value in used.items() if name in servers), 1),
            "clients_cpu": round(sum(clients), 1),
            "client_max_cpu": max(clients),
            "bench_cpu": used["bench"],
            "others_cpu": used["others"],
            "steal": used["steal"],
            "per_server_cpu": {name: used[name] for name in servers},
        }
        return merge(results), window, cpu

    def _dm_phase(self, target: str, pairs: list, mode: str, servers: dict, persistence=None, **load) -> dict:
        """One closed- or open-loop DM phase over `pairs`; the figures of this run."""
        tag = self._tag(target[0])
        senders: list[list] = [[] for _ in range(self.processes)]
        for number, (a, _b, conversation_id) in enumerate(pairs):
            senders[number % self.processes].append((f"{target}:{a}", a, conversation_id))
        if mode == "closed":
            per_process = [
                {
                    "tag": tag,
                    "senders": s,
                    "inflight": load["inflight"],
                    "ack_timeout": ACK_TIMEOUT,
                    "grace": 10,
                    "local": True,
                }
                for s in senders
            ]
            command = "closed_loop"
        else:
            per_process = [
                {"tag": tag, "senders": s, "rate": load["rate"] / self.processes, "grace": 15, "local": True}
                for s in senders
            ]
            command = "open_loop"
        merged, window, cpu = self._phase(command, per_process, servers, hook=load.get("hook"))
        metrics = {**phase_metrics(merged, window), **cpu}
        if persistence is not None:
            metrics["persistence"] = persistence.check(tag, merged["acked"], merged["sent"])
        return metrics

    def _product_servers(self) -> dict:
        return {"server": self.product}

    # --- 1 and 5: DM throughput and latency, against the ceiling ------------------------------

    def scenario_dm(self) -> dict:
        """Closed loop (pairs × in-flight) and an open-loop sweep, product and relay interleaved."""
        profile = self.profile
        for target in ("relay", "product"):
            self._ensure_connected(target)
        targets = {"relay": {"server": self.relay}, "product": {"server": self.product}}
        configs = [(pairs, inflight) for pairs in profile.dm_pairs for inflight in profile.dm_inflight]
        closed = {config: {"relay": [], "product": []} for config in configs}
        for run in range(profile.runs):
            for (pairs, inflight), runs in closed.items():
                for target, servers in targets.items():
                    metrics = self._dm_phase(
                        target,
                        self.seeded.pairs[:pairs],
                        "closed",
                        servers,
                        self.persistence if target == "product" else None,
                        inflight=inflight,
                    )
                    runs[target].append(metrics)
                    self.say(
                        f"   run {run + 1} closed {pairs} pairs × {inflight} in flight, {target}: "
                        f"{metrics['delivered_per_s']:.0f} msg/s p99 {metrics['p99_ms']} ms lost {metrics['lost']} "
                        f"(server {metrics['server_cpu']}% client {metrics['clients_cpu']}%)"
                    )
        closed_rows = []
        for (pairs, inflight), runs in closed.items():
            row = {"pairs": pairs, "inflight": inflight}
            for target in ("product", "relay"):
                row[target] = {**summarise(runs[target], PHASE_KEYS + CPU_KEYS), "runs": runs[target]}
            row["ratio"] = _ratio(_median(row["product"]), _median(row["relay"]))
            row["ratio_runs"] = spread(
                [
                    _ratio(p["delivered_per_s"], r["delivered_per_s"])
                    for p, r in zip(runs["product"], runs["relay"], strict=True)
                ]
            )
            closed_rows.append(row)
        product_max = max(row["product"]["delivered_per_s"]["median"] or 0 for row in closed_rows)
        relay_max = max(row["relay"]["delivered_per_s"]["median"] or 0 for row in closed_rows)
        rates = {
            "product": sorted({max(round(f * product_max), 2) for f in profile.open_fractions}),
            "relay": sorted(
                {max(round(f * relay_max), 2) for f in profile.open_fractions} | {max(round(0.5 * product_max), 2)}
            ),
        }
        pairs = self.seeded.pairs[: max(profile.dm_pairs)]
        open_runs = {target: {rate: [] for rate in rates[target]} for target in rates}
        for run in range(profile.runs):
            for target, servers in targets.items():
                for rate in rates[target]:
                    metrics = self._dm_phase(
                        target, pairs, "open", servers, self.persistence if target == "product" else None, rate=rate
                    )
                    open_runs[target][rate].append(metrics)
                    self.say(
                        f"   run {run + 1} open {rate} msg/s offered, {target}: {metrics['delivered_per_s']:.0f} msg/s "
                        f"p50 {metrics['p50_ms']} p99 {metrics['p99_ms']} ms lost {metrics['lost']}"
                    )
        maxima = {"product": product_max, "relay": relay_max}
        open_rows = {
            target: [
                {
                    "offered_per_s": rate,
                    "fraction_of_max": _ratio(rate, maxima[target]),
                    **summarise(runs, PHASE_KEYS + CPU_KEYS),
                    "runs": runs,
                }
                for rate, runs in by_rate.items()
            ]
            for target, by_rate in open_runs.items()
        }
        return {
            "pairs_open_loop": len(pairs),
            "closed": closed_rows,
            "open": open_rows,
            "product_max_per_s": product_max,
            "relay_max_per_s": relay_max,
            "persistence": self.persistence.summary(),
        }

    # --- 2: room fan-out ----------------------------------------------------------------------

    def scenario_room(self) -> dict:
        """Some members of one room send (closed loop, one in flight each); everyone else receives.
        The DM users and the room's other members are online, one socket each."""
        profile = self.profile
        members = self.seeded.room_members
        room_id = self.seeded.room_id
        dm_users = 2 * len(self.seeded.pairs)
        step = max(dm_users // profile.room_senders, 1)
        chosen = list(range(dm_users))[::step][: profile.room_senders]
        process_of = {idx: number % self.processes for number, pair in enumerate(self.seeded.pairs) for idx in pair[:2]}
        out = {"members_online": len(members), "senders": len(chosen)}
        persistence = self.persistence
        for target in ("relay", "product"):
            self._ensure_connected(target)
            self._connect_room_only(target)
        runs = {"relay": [], "product": []}
        for run in range(profile.runs):
            for target in ("relay", "product"):
                tag = self._tag("m" + target[0])
                senders: list[list] = [[] for _ in range(self.processes)]
                for idx in chosen:
                    senders[process_of[idx]].append((f"{target}:{idx}", idx, room_id))
                per_process = [
                    {"tag": tag, "senders": s, "inflight": 1, "ack_timeout": ACK_TIMEOUT, "grace": 10, "local": False}
                    for s in senders
                ]
                servers = {"server": self.product if target == "product" else self.relay}
                merged, window, cpu = self._phase("closed_loop", per_process, servers)
                metrics = {**phase_metrics(merged, window, recipients=len(members) - 1), **cpu}
                if target == "product":
                    metrics["persistence"] = persistence.check(tag, merged["acked"], merged["sent"])
                runs[target].append(metrics)
                self.say(
                    f"   run {run + 1} room, {target}: {metrics['acked_per_s']:.0f} msg/s, "
                    f"{metrics['deliveries_per_s']:.0f} deliveries/s, last recipient p99 {metrics['p99_ms']} ms, "
                    f"lost {metrics['lost']}"
                )
        for target, target_runs in runs.items():
            out[target] = {**summarise(target_runs, PHASE_KEYS + CPU_KEYS), "runs": target_runs}
        self.pool.run([("disconnect", {"prefix": "room-only:"})] * self.processes, timeout=120)
        return out

    def _connect_room_only(self, target: str) -> None:
        """One socket for each member of the room who is in no DM pair, spread over the processes."""
        room_only = self.seeded.room_only
        if not room_only:
            return
        url = self.product.url if target == "product" else self.relay.url
        specs: list[list[dict]] = [[] for _ in range(self.processes)]
        for number, user in enumerate(room_only):
            spec = {"key": f"room-only:{target}:{user['idx']}", "idx": user["idx"], "url": url}
            if target == "product":
                spec["cookie"] = self.cookies[user["username"]]
            else:
                spec["auth"] = relay_auth(user, [self.seeded.room_id])
            specs[number % self.processes].append(spec)
        counts = self._connect(f"room-only:{target}", specs, deadline=120)
        self.connected.discard(f"room-only:{target}")
        self.say(f"   {counts['connected']} more room members connected to the {target} in {counts['seconds']}s")
        if counts["connected"] != len(room_only):
            raise RuntimeError(
                f"only {counts['connected']} of {len(room_only)} room members connected: {counts['errors']}"
            )
        time.sleep(2)  # let the presence announcements of the connects settle

    # --- 3: history ---------------------------------------------------------------------------

    def scenario_history(self) -> dict:
        """GET /c/<id> and GET /api/conversations/<id>/messages on conversations of growing length."""
        http = self.sessions[self.seeded.viewer]
        url = self.product.url
        endpoints = {"page": "/c/{id}", "api": "/api/conversations/{id}/messages"}
        runs: dict = {(size, name): [] for size in self.seeded.histories for name in endpoints}
        for _run in range(self.profile.runs):
            for size, conversation_id in self.seeded.histories.items():
                for name, path in endpoints.items():
                    times = timed_gets(http, url + path.format(id=conversation_id), self.profile.history_requests)
                    runs[(size, name)].append(times)
        rows = []
        for size in self.seeded.histories:
            row = {"messages": size}
            for name in endpoints:
                medians = [latency_summary([t / 1000 for t in times])["p50_ms"] for times in runs[(size, name)]]
                p95s = [latency_summary([t / 1000 for t in times])["p95_ms"] for times in runs[(size, name)]]
                row[name] = {"median_ms": spread(medians), "p95_ms": spread(p95s)}
            rows.append(row)
            self.say(
                f"   {size} messages: page {row['page']['median_ms']['median']} ms, "
                f"API {row['api']['median_ms']['median']} ms"
            )
        smallest, largest = rows[0], rows[-1]
        return {
            "requests_per_run": self.profile.history_requests,
            "rows": rows,
            "ratio_largest_to_smallest": {
                name: _ratio(largest[name]["median_ms"]["median"], smallest[name]["median_ms"]["median"])
                for name in endpoints
            },
        }

    # --- 7: logins never stall the others -----------------------------------------------------

    def scenario_logins(self) -> dict:
        """A light open-loop DM load without, then with, real logins at a fixed rate."""
        profile = self.profile
        self._ensure_connected("product")
        pairs = self.seeded.pairs[: profile.login_pairs]
        baseline, loaded, logins = [], [], []
        for run in range(profile.runs):
            baseline.append(
                self._dm_phase(
                    "product", pairs, "open", self._product_servers(), self.persistence, rate=profile.login_message_rate
                )
            )
            driver = LoginDriver(self.product.url, self.seeded.login_users, profile.login_rate)
            loaded.append(
                self._dm_phase(
                    "product",
                    pairs,
                    "open",
                    self._product_servers(),
                    self.persistence,
                    rate=profile.login_message_rate,
                    hook=driver.start,
                )
            )
            outcome = driver.finish(timeout=150)
            logins.append(outcome)
            self.say(
                f"   run {run + 1}: p99 {baseline[-1]['p99_ms']} ms without logins, {loaded[-1]['p99_ms']} ms with "
                f"{outcome['ok']}/{outcome['started']} logins (server CPU {loaded[-1]['server_cpu']}%)"
            )
        login_times = [time_ms / 1000 for outcome in logins for time_ms in outcome["times_ms"]]
        without = summarise(baseline, PHASE_KEYS + CPU_KEYS)
        with_logins = summarise(loaded, PHASE_KEYS + CPU_KEYS)
        return {
            "pairs": len(pairs),
            "offered_per_s": profile.login_message_rate,
            "login_rate_per_s": profile.login_rate,
            "without_logins": {**without, "runs": baseline},
            "with_logins": {**with_logins, "runs": loaded},
            "p99_ratio": _ratio(with_logins["p99_ms"]["median"], without["p99_ms"]["median"]),
            "logins": {
                "started": sum(o["started"] for o in logins),
                "ok": sum(o["ok"] for o in logins),
                "failed": sum(o["failed"] for o in logins),
                "errors": sorted({e for o in logins for e in o["errors"]})[:5],
                **latency_summary(login_times),
            },
        }

    # --- 4: idle connections ------------------------------------------------------------------

    def scenario_idle(self) -> dict:
        """Authenticated sockets (many per user) held open on a freshly started server: connected?
        memory per connection, CPU while idle. Runs once per count (each holds for idle_hold)."""
        profile = self.profile
        self.pool.run([("disconnect", {})] * self.processes, timeout=60)
        self.connected.clear()
        self.product.stop()
        self.product = ProductServer(self.database_url, self.folder / "product-idle.log")
        time.sleep(2)
        baseline = self.product.stats.rss_mb()
        users = len(self.seeded.users)
        url = self.product.url
        specs = self._user_specs(
            "idle",
            self.seeded.pairs,
            lambda _n, _i: url,
            cookie_of=lambda i: self.cookies[self.seeded.users[i]["username"]],
        )
        rows, per_user_so_far = [], 0
        for count in profile.idle_counts:
            per_user = math.ceil(count / users) - per_user_so_far
            self.say(f"   connecting up to {count} sockets ({users} users)")
            counts = self._connect("idle", specs, per_user=per_user, deadline=profile.idle_connect_deadline)
            per_user_so_far += per_user
            status = self.pool.run([("status", {})] * self.processes, timeout=30)
            open_now = sum(s["open"] for s in status)
            meter = self._meter({"server": self.product})
            meter.start()
            time.sleep(profile.idle_hold)
            used = meter.stop()
            probe = _probe(url + "/healthz")
            status = self.pool.run([("status", {})] * self.processes, timeout=30)
            rss = self.product.stats.rss_mb()
            held = sum(s["open"] for s in status)
            row = {
                "target": count,
                "connected": open_now,
                "held_after_hold": held,
                "dropped_by_server": sum(s["dropped"] for s in status),
                "connect": counts,
                "hold_s": profile.idle_hold,
                "server_rss_mb": round(rss, 1),
                "baseline_rss_mb": round(baseline, 1),
                "rss_per_connection_kb": round((rss - baseline) * 1024 / held, 1) if held else None,
                "server_cpu_idle": used["server"],
                "clients_cpu_idle": round(sum(v for k, v in used.items() if k.startswith("client_")), 1),
                "http_while_held": probe,
                "all_connected": held >= count,
            }
            rows.append(row)
            self.say(
                f"   {held}/{count} held for {profile.idle_hold:.0f}s; RSS {rss:.0f} MB "
                f"({row['rss_per_connection_kb']} KB/conn), server CPU {used['server']}%, HTTP: {probe}"
            )
        self.pool.run([("disconnect", {"prefix": "idle:"})] * self.processes, timeout=120)
        return {"users": users, "rows": rows}

    # --- 6: two workers, Redis, PostgreSQL ----------------------------------------------------

    def scenario_scale(self) -> dict:
        """DM closed loop on one worker, then on two (same PostgreSQL and Redis)."""
        from bench.scale import ScaleOut

        with ScaleOut(self) as scale:
            return scale.run()

    # --- issue 16, item 7: a reconnect storm --------------------------------------------------

    def scenario_storm(self) -> dict:
        """Restart the product under storm_sockets sockets: time until all have reconnected and synced."""
        from bench.storm import ReconnectStorm

        return ReconnectStorm(self).run()

    # --- issue 16, item 8: eventlet and gevent side by side -----------------------------------

    def scenario_modes(self) -> dict:
        """DM closed loop against the product and the relay, each on eventlet and on gevent."""
        from bench.modes import AsyncModes

        with AsyncModes(self) as modes:
            return modes.run()

    # --- issue 16, item 6: how many people one box holds --------------------------------------

    def scenario_users(self) -> dict:
        """Simulated people (one socket each, Mattermost's action mix) ramped in steps on a server and
        database of their own: the largest step where every action's p99 < 1 s."""
        from bench.users import UsersScenario

        with UsersScenario(self) as users:
            return users.run()


def relay_auth(user: dict, rooms: list[int]) -> dict:
    """What a relay socket passes on connect: the rooms to join and the user its messages name."""
    return {"rooms": rooms, "user": {k: user[k] for k in ("id", "username", "display_name")}}


def _median(summary: dict) -> float | None:
    return summary["delivered_per_s"]["median"]


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")


def log_errors(folder: Path, top: int = 8) -> dict[str, list[dict]]:
    """The most frequent exception lines ("SomeError: text") in each server log of the run."""
    summary = {}
    for path in sorted(folder.glob("*.log")):
        counts: dict[str, int] = {}
        with open(path, errors="replace") as log:
            for line in log:
                if EXCEPTION_LINE.match(line):
                    key = line.strip()[:240]
                    counts[key] = counts.get(key, 0) + 1
        if counts:
            ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
            summary[path.name] = [{"count": count, "line": line} for line, count in ranked]
    return summary


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _probe(url: str) -> str:
    """Whether the server answers a plain GET within 5 s."""
    try:
        response = requests.get(url, timeout=5)
        return f"{response.status_code} in {response.elapsed.total_seconds() * 1000:.0f} ms"
    except requests.RequestException as error:
        return f"no answer: {type(error).__name__}"


def raise_file_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE to the hard limit (servers and client processes inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def service_urls() -> tuple[str, str]:
    """PostgreSQL (admin) and Redis URLs for the scale-out scenario; empty means skip it."""
    return (
        os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
    )


def unique_prefix() -> str:
    """A Redis key prefix no other run uses."""
    return f"bench_{os.getpid()}_{secrets.token_hex(3)}"
