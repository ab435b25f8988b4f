"""Scenario `storm`: a reconnect storm. N sockets of signed-in users are connected to the product;
the product is restarted (SIGTERM, which disconnects every socket, then `run.py` again on the same
port and database); every socket comes back at once as the page does (bench/storm_client.py: its
backoff with jitter, then `sync` and `presence_snapshot`). Measured: from the server being ready
again until the last socket has reconnected and got its sync answer, each socket's times, the
failed attempts, and meanwhile the latency of a few DM pairs (the observers) that send on an
open-loop schedule. The observers are sockets of the same worker (one eventlet worker on SQLite has
no other), so they reconnect too: a send is only made while its sender is connected, and the
delivery latency only counts messages whose recipient was connected when they were sent.
"""

import time
from collections import Counter

from sqlalchemy import create_engine, text

from app.config import normalize_database_url
from bench.client import ClientPool
from bench.servers import CpuMeter, ProcessStats, ProductServer
from bench.stats import latency_summary, percentile
from bench.storm_client import POLICY, StormWorker

STOP_TIMEOUT = 120  # seconds the stopping worker may take to drain and disconnect its sockets
CONNECT_CONCURRENCY = 25  # per client process, for the sockets' first connect (before the storm)
CONNECT_DEADLINE = 900  # seconds for that first connect: set-up, not measured, slow on a busy machine
OBSERVER_GRACE = 15


class ReconnectStorm:
    """One run of the storm scenario for a Bench; the storm's client processes are its own."""

    def __init__(self, bench):
        self.bench = bench
        self.profile = bench.profile
        self.processes = bench.processes
        self.pool: ClientPool | None = None

    # --- set-up -------------------------------------------------------------------------------

    def _last_seqs(self) -> dict[int, dict[str, int]]:
        """{user id: {conversation id: last seq}}: the conversation state a page renders."""
        engine = create_engine(normalize_database_url(self.bench.database_url))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT m.user_id, c.id, c.last_seq FROM memberships m "
                        "JOIN conversations c ON c.id = m.conversation_id"
                    )
                ).all()
        finally:
            engine.dispose()
        seqs: dict[int, dict[str, int]] = {}
        for user_id, conversation_id, last_seq in rows:
            seqs.setdefault(user_id, {})[str(conversation_id)] = last_seq or 0
        return seqs

    def _specs(self, url: str) -> tuple[list[list[dict]], list[dict], list[tuple]]:
        """Storm socket specs per storm process, the observers' specs, and the observers' senders."""
        bench, profile = self.bench, self.profile
        users, pairs = bench.seeded.users, bench.seeded.pairs
        observers = profile.storm_observer_pairs
        if observers >= len(pairs):
            raise RuntimeError(f"{len(pairs)} seeded pairs: too few for {observers} observer pairs and a storm")
        seqs = self._last_seqs()

        def spec(key: str, idx: int) -> dict:
            user = users[idx]
            return {
                "key": key,
                "idx": idx,
                "url": url,
                "cookie": bench.cookies[user["username"]],
                "after": seqs.get(user["id"], {}),
            }

        storm_users = [idx for a, b, _conversation in pairs[:-observers] for idx in (a, b)]
        storm: list[list[dict]] = [[] for _ in range(self.processes)]
        for number in range(profile.storm_sockets):
            storm[number % self.processes].append(spec(f"storm:{number}", storm_users[number % len(storm_users)]))
        observer_specs, senders = [], []
        for a, b, conversation_id in pairs[-observers:]:
            observer_specs += [spec(f"obs:{a}", a), spec(f"obs:{b}", b)]
            senders.append((f"obs:{a}", a, conversation_id, f"obs:{b}"))
        return storm, observer_specs, senders

    def _storm_run(self, command: str, timeout: float, **kwargs) -> list:
        """One command to every storm process (not the observers')."""
        return self.pool.run([(command, kwargs)] * self.processes + [None], timeout=timeout)

    def _observers_run(self, command: str, timeout: float, **kwargs):
        return self.pool.run([None] * self.processes + [(command, kwargs)], timeout=timeout)[0]

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> dict:
        """Connect, measure the observers undisturbed, restart the product, watch everyone come back."""
        bench = self.bench
        # The bench's own sockets would be cut by the restart and not come back: close them first.
        bench.pool.run([("disconnect", {})] * self.processes, timeout=60)
        bench.connected.clear()
        storm_specs, observer_specs, senders = self._specs(bench.product.url)
        self.pool = ClientPool(self.processes + 1, worker_class=StormWorker)
        try:
            return self._run(storm_specs, observer_specs, senders)
        finally:
            try:
                self.pool.run([("disconnect", {})] * (self.processes + 1), timeout=180)
            except Exception:  # noqa: BLE001 - the pool is closed (and hung processes killed) below
                bench.say("   the storm's client processes did not close their sockets in time")
            self.pool.close()

    def _run(self, storm_specs, observer_specs, senders) -> dict:
        bench, profile = self.bench, self.profile
        total = profile.storm_sockets
        bench.say(f"   connecting {total:,} sockets of {len({s['idx'] for p in storm_specs for s in p})} users")
        deadline = CONNECT_DEADLINE
        commands = [
            ("storm_open", {"users": specs, "concurrency": CONNECT_CONCURRENCY, "deadline_s": deadline})
            for specs in storm_specs
        ]
        opened = self.pool.run([*commands, None], timeout=deadline + 60)
        connect = _add_up(opened)
        bench.say(f"   {connect['synced']:,}/{total:,} connected and synced in {connect['seconds']} s")
        if connect["synced"] < total:
            raise RuntimeError(f"only {connect['synced']} of {total} sockets connected and synced: {connect['errors']}")
        observers = self._observers_run(
            "storm_open", timeout=60, users=observer_specs, concurrency=CONNECT_CONCURRENCY, deadline_s=30
        )
        if observers["synced"] < len(observer_specs):
            raise RuntimeError(f"observers: {observers}")
        rate = profile.storm_observer_rate
        baseline = self._observe_baseline(senders, rate)
        bench.say(
            f"   observers undisturbed ({len(senders)} pairs, {rate:g} msg/s): ack p99 {baseline['ack']['p99_ms']} ms, "
            f"delivery p99 {baseline['delivery']['p99_ms']} ms"
        )

        self.pool.run([("storm_epoch", {})] * (self.processes + 1), timeout=30)
        storm_tag = bench._tag("o")
        self._observers_run(
            "observe_start", timeout=30, tag=storm_tag, senders=senders, rate=rate, start_at=time.monotonic() + 0.2
        )
        old = bench.product
        stopped_at = time.monotonic()
        old.stop(timeout=STOP_TIMEOUT)
        down_at = time.monotonic()
        bench.say(f"   product stopped in {down_at - stopped_at:.1f} s (exit {old.process.returncode}); starting it")
        bench.product = ProductServer(bench.database_url, bench.folder / "product-storm.log", port=old.port)
        ready_at = time.monotonic()
        meter = CpuMeter(
            {
                "server": bench.product.stats,
                **{f"client_{i}": ProcessStats(pid) for i, pid in enumerate(self.pool.pids)},
            }
        )
        meter.start()
        bench.say(f"   product ready {ready_at - down_at:.1f} s later; waiting for every socket")
        status = self._wait_for_everyone(ready_at, total)
        cpu = meter.stop()
        all_seen_at = time.monotonic()
        time.sleep(1.0)  # a little more observed traffic after the last socket is back
        observed = self._observers_run(
            "observe_stop", timeout=OBSERVER_GRACE + 30, stop_at=time.monotonic(), grace=OBSERVER_GRACE
        )
        persistence = self._persistence(storm_tag, observed["messages"])
        collected = self._storm_run("storm_collect", timeout=60, prefix="storm:")
        observer_sockets = self._observers_run("storm_collect", timeout=30, prefix="obs:")

        records = [record for part in collected for record in part["records"]]
        clients = [name for name in cpu if name.startswith("client_")]
        result = {
            "sockets": total,
            "users": len({s["idx"] for specs in storm_specs for s in specs}),
            "client_processes": self.processes,
            "policy": POLICY,
            "initial_connect": connect,
            "restart": {
                "stop_s": round(down_at - stopped_at, 2),
                "exit_code": old.process.returncode,
                "start_s": round(ready_at - down_at, 2),
            },
            **storm_figures(records, ready_at, stopped_at),
            "watched_s": round(all_seen_at - ready_at, 2),
            "status_at_end": status,
            "cpu": {
                "server_cpu": cpu["server"],
                "clients_cpu": round(sum(cpu[name] for name in clients), 1),
                "others_cpu": cpu["others"],
                "steal": cpu["steal"],
            },
            "client_loop_lag": _lag_summary([lag for part in collected for lag in part["lags"]]),
            "client_unclosed": sum(part["unclosed"] for part in collected),
            "observers": {
                "pairs": len(senders),
                "rate_per_s": rate,
                "undisturbed": baseline,
                "storm": observer_figures(observed["messages"], ready_at, all_seen_at),
                "during_restart": _outcomes(m for m in observed["messages"] if m["scheduled"] < ready_at),
                "persistence": persistence,
                "sockets": storm_figures(observer_sockets["records"], ready_at, stopped_at),
            },
        }
        storm = result["observers"]["storm"]
        bench.say(
            f"   all {result['back']:,}/{total:,} back {result['all_synced_s']} s after ready "
            f"(p50 {result['from_ready']['p50_s']} s, p99 {result['from_ready']['p99_s']} s); "
            f"failed attempts {result['failed_tries']}; observers meanwhile: ack p99 {storm['ack']['p99_ms']} ms, "
            f"delivery p99 {storm['delivery']['p99_ms']} ms; server CPU {cpu['server']}%"
        )
        return result

    def _observe_baseline(self, senders: list, rate: float) -> dict:
        """The observers' open loop for warmup + duration with every socket connected and idle."""
        profile = self.profile
        start_at = time.monotonic() + 0.3
        window = (start_at + profile.warmup, start_at + profile.warmup + profile.duration)
        tag = self.bench._tag("o")
        self._observers_run("observe_start", timeout=30, tag=tag, senders=senders, rate=rate, start_at=start_at)
        time.sleep(max(window[1] - time.monotonic(), 0))
        observed = self._observers_run("observe_stop", timeout=OBSERVER_GRACE + 30, stop_at=window[1], grace=10)
        return observer_figures(observed["messages"], *window)

    def _persistence(self, tag: str, messages: list[dict]) -> dict:
        """The observers' sends of the storm phase against the database: every acked one stored once;
        how many sent but never acked were stored all the same (a retry with the same client_id
        would get the stored one)."""
        acked = {m["client_id"]: m["acked"] for m in messages if m["ack"] == "ok"}
        sent = {m["client_id"]: m["scheduled"] for m in messages if m["ack"] != "not sent: sender reconnecting"}
        return self.bench.persistence.check(tag, acked, sent)

    def _wait_for_everyone(self, ready_at: float, total: int) -> dict:
        """Poll the storm processes until every socket is back (or gave up), at most storm_deadline s."""
        deadline = ready_at + self.profile.storm_deadline
        said = ready_at
        while True:
            status = _add_up(self._storm_run("storm_status", timeout=30, prefix="storm:"))
            now = time.monotonic()
            if status["back"] + status["gave_up"] >= total or now > deadline:
                status["all_back_s"] = round(now - ready_at, 2) if status["back"] >= total else None
                return status
            if now - said >= 5:
                said = now
                self.bench.say(f"   {now - ready_at:.0f} s: {status['back']:,}/{total:,} back")
            time.sleep(0.2)


def _add_up(results: list[dict]) -> dict:
    """Counts of several processes' answers added up; "seconds" the longest; "errors" merged."""
    total: dict = {}
    for result in results:
        for key, value in result.items():
            if key == "errors":
                merged = total.setdefault("errors", {})
                for error, count in value.items():
                    merged[error] = merged.get(error, 0) + count
            elif key == "seconds":
                total[key] = max(total.get(key, 0), value)
            else:
                total[key] = total.get(key, 0) + value
    return total


def _seconds(values: list[float]) -> dict:
    """p50/p90/p99/max in seconds, with the count."""

    def rounded(q):
        value = percentile(values, q)
        return None if value is None else round(value, 2)

    return {
        "p50_s": rounded(50),
        "p90_s": rounded(90),
        "p99_s": rounded(99),
        "max_s": round(max(values), 2) if values else None,
        "count": len(values),
    }


def storm_figures(records: list[dict], ready_at: float, stopped_at: float) -> dict:
    """What the sockets' records say: who came back, when, after how many attempts, what failed."""
    back = [r for r in records if r["connected"] and r["connected_at"] and r["synced_at"]]
    first = [r["first_synced_at"] for r in records if r["first_synced_at"]]
    from_ready = [r["synced_at"] - ready_at for r in back]
    # The attempt that succeeded, to its sync answer: how long the server took under the storm.
    last_try = [r["synced_at"] - r["tries"][-1][0] for r in back if r["tries"]]
    connect = [r["connected_at"] - r["tries"][-1][0] for r in back if r["tries"]]
    sync = [r["synced_at"] - r["connected_at"] for r in back]
    outage = [r["synced_at"] - r["downs"][0][0] for r in back if r["downs"]]
    failed_before, failed_after = {}, {}
    for record in records:
        for start, _end, outcome in record["tries"]:
            if outcome != "connected":
                bucket = failed_after if start >= ready_at else failed_before
                bucket[outcome] = bucket.get(outcome, 0) + 1
    tries = [len(r["tries"]) for r in records]
    sync_errors = Counter(error for record in records for error in record["sync_errors"])
    presence_errors = Counter(error for record in records for error in record["presence_errors"])
    first_downs = [r["downs"][0] for r in records if r["downs"]]
    return {
        "back": len(back),
        "all_synced_s": round(max(from_ready), 2) if records and len(back) == len(records) else None,
        "first_back_s": round(min(first) - ready_at, 2) if first else None,
        "ever_back": len(first),
        "from_ready": _seconds(from_ready),
        "last_attempt": _seconds(last_try),
        "connect": _seconds(connect),
        "sync": _seconds(sync),
        "outage": _seconds(outage),
        "told_to_leave": sum(1 for _at, told in first_downs if told),
        "dropped": sum(1 for _at, told in first_downs if not told),
        "disconnected_after_stop_s": _seconds([at - stopped_at for at, _told in first_downs]),
        "told_after_stop_s": _seconds([at - stopped_at for at, told in first_downs if told]),
        "dropped_after_stop_s": _seconds([at - stopped_at for at, told in first_downs if not told]),
        "dropped_again": sum(1 for r in records if len(r["downs"]) > 1),
        "later_downs": {
            "told to leave": sum(1 for r in records for _at, told in r["downs"][1:] if told),
            "connection dropped": sum(1 for r in records for _at, told in r["downs"][1:] if not told),
        },
        "never_back": len(records) - len(back),
        "gave_up": sum(1 for r in records if r["gave_up"]),
        "tries": {"total": sum(tries), "max_per_socket": max(tries, default=0)},
        "failed_tries": sum(failed_before.values()) + sum(failed_after.values()),
        "failed_while_down": failed_before,
        "failed_after_ready": failed_after,
        "sync_errors": dict(sync_errors.most_common()),
        "sync_messages": sum(r["sync_messages"] for r in records),
        "sync_rounds_max": max((r["sync_rounds"] for r in records), default=0),
        "presence_errors": dict(presence_errors.most_common()),
    }


def observer_figures(messages: list[dict], start: float, end: float) -> dict:
    """The observers' sends scheduled in [start, end]: what became of them, ack latency (scheduled to
    ack) and delivery latency (scheduled to the recipient's receipt, live or by its sync) of those
    whose recipient was connected when they were sent."""
    window = [m for m in messages if start <= m["scheduled"] <= end]
    acked = [m for m in window if m["ack"] == "ok"]
    delivered = [m for m in acked if m["recipient_up"] and m["received"] is not None]
    return {
        "window_s": round(end - start, 2),
        "scheduled": len(window),
        "outcomes": _outcomes(window),
        "ack": latency_summary([m["acked"] - m["scheduled"] for m in acked]),
        "delivery": latency_summary([m["received"] - m["scheduled"] for m in delivered]),
        "lost": sum(1 for m in acked if m["received"] is None),
        "via_sync": sum(1 for m in acked if m["via"] == "sync"),
    }


def _outcomes(messages) -> dict:
    counts: dict[str, int] = {}
    for message in messages:
        key = message["ack"] or "no ack"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _lag_summary(lags: list[float]) -> dict:
    """The client processes' event loop lag (how late a 50 ms sleep woke) in ms."""
    return {
        "p99_ms": None if not lags else round(percentile(lags, 99) * 1000, 1),
        "max_ms": None if not lags else round(max(lags) * 1000, 1),
    }
