"""Scenario `users`: how many people one box holds (issue 16, item 6).

Simulated people (bench/user_client.py) each sign in, hold one socket and, after an idle time
(exponential above a minimum of 1 s, mean 20 s), do one action picked by Mattermost load-test-ng's
weights mapped onto ours. They arrive in steps; each step is held and measured. A step holds when
every action's p99 is under 1 s, under 0.1 % of actions and background requests fail, every person
is connected, and no acknowledged message is lost: all are in the database (exactly once) and
reached every recipient online. **Supported users** is the largest step that holds; the ramp stops
at the first that does not.

When the steps need more sockets than the load generator holds (Profile.users_sockets), or the
generator itself ran out of CPU at a step that held, the following steps keep the sockets and scale
the idle time down instead: a step of U users with S sockets has every idle time × S / U, the
action rate of U people. Each step reports the actions per second it sustained.

The browser's pages also make requests of their own (a chat marks what arrives read): the first
ramp makes them, as the browser does, and gives the headline; a second ramp of the actions alone
shows what they cost.

The world (bench/users_world.py) is its own SQLite database, served by one product worker of its own,
started afresh for each ramp.
"""

import time

from bench import seed as seeding
from bench.client import ClientPool
from bench.servers import CpuMeter, ProcessStats, ProductServer
from bench.stats import Persistence, latency_summary, percentile
from bench.user_client import BACKGROUND, MIX, PeopleWorker
from bench.users_world import BLOCK, DM_REACH, HISTORY, ROOM_MEMBERS, seed_world

MEAN_IDLE_S = 20.0
MIN_IDLE_S = 1.0
P99_LIMIT_MS = 1000.0
ERROR_LIMIT = 0.001
SETTLE_S = 5.0  # after the arrivals, before the window
DRAIN_S = 5.0  # after the window, for the last deliveries
ARRIVAL_CONCURRENCY = 40  # connects at once per client process
ARRIVAL_DEADLINE_S = 120.0
LAG_LIMIT_MS = 250.0  # a client process's loop this late (p99) is out of CPU
CLIENT_CPU_LIMIT = 90.0  # % of a core
HEADLINE = ("supported_users", "supported_actions_per_s", "supported_scaled", "limit")  # of the first ramp


class UsersScenario:
    """One run of the scenario for a Bench (bench/scenarios.py), cleaning up what it started."""

    def __init__(self, bench):
        self.bench = bench
        self.profile = bench.profile
        self.say = bench.say
        self.database_url = f"sqlite:///{bench.folder / 'users.db'}"
        self.server: ProductServer | None = None
        self.pool: ClientPool | None = None
        self.persistence: Persistence | None = None
        self.world = None
        self.online: set[int] = set()
        self.process_of: dict[int, int] = {}
        self.collected_at = 0.0  # when the client processes were last collected

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        if self.pool:
            self.pool.close()
        if self.server:
            self.server.stop()
        if self.persistence:
            self.persistence.close()

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> dict:
        """Seed once, then one ramp per setting of Profile.users_reactions (the first, with the pages'
        own requests, is the headline), each on a freshly started server; the figures."""
        profile = self.profile
        steps = list(profile.users_steps)
        people = min(max(steps), profile.users_sockets)
        seeding.migrate(self.database_url)
        self.world = seed_world(self.database_url, people, progress=self.say)
        self.persistence = Persistence(self.database_url)
        ramps = []
        for reactions in profile.users_reactions:
            # Less load holds wherever more did: a later ramp begins at the step the previous one failed.
            failed = [row["users"] for ramp in ramps for row in ramp["steps"] if not row["holds"]]
            todo = [users for users in steps if users >= min(failed)] if failed else steps
            below = [users for users in steps if users < todo[0]] if todo else []
            self.say(f"   ramp {'with the pages’ own requests' if reactions else 'of the actions alone'}")
            ramps.append(self._ramp(todo, reactions, held_before=max(below, default=0)))
        headline = ramps[0]
        return {
            "mix_percent": {name: round(100 * weight / sum(MIX.values()), 2) for name, weight in MIX.items()},
            "mean_idle_s": MEAN_IDLE_S,
            "min_idle_s": MIN_IDLE_S,
            "hold_s": profile.users_hold,
            "client_processes": profile.client_processes,
            "world": self._world_summary(),
            "setup_s": {key: round(value, 1) for key, value in self.world.seconds.items()},
            "ramps": ramps,
            **{key: headline[key] for key in HEADLINE},
        }

    def _ramp(self, steps: list[int], reactions: bool, held_before: int = 0) -> dict:
        """A server and client processes of their own, the steps until one does not hold
        (held_before: the largest step below these that a heavier ramp held)."""
        profile = self.profile
        processes = profile.client_processes
        self.server = ProductServer(self.database_url, self.bench.folder / "product-users.log")
        self.pool = ClientPool(processes, worker_class=PeopleWorker)
        self.online, self.process_of = set(), {}
        tag = self.bench._tag("u")
        settings = {"url": self.server.url, "mean_idle": MEAN_IDLE_S, "min_idle": MIN_IDLE_S, "reactions": reactions}
        self.pool.run(
            [("configure", {**settings, "seed": number, "tag": tag}) for number in range(processes)], timeout=60
        )
        self.collected_at = time.monotonic()
        rows, cap = [], profile.users_sockets
        try:
            for users in steps:
                sockets = min(users, cap)
                next_tag = self.bench._tag("u")
                row = self._step(users, sockets, tag, next_tag)
                tag = next_tag
                rows.append(row)
                self._say_row(row)
                if not row["holds"]:
                    break
                if row["generator_saturated"]:
                    cap = min(cap, sockets)
        finally:
            self.pool.close()
            self.pool = None
            self.server.stop()
            self.server = None
        held = [row for row in rows if row["holds"]]
        best = max(held, key=lambda row: row["users"]) if held else None
        return {
            "page_reactions": reactions,
            "steps": rows,
            "held_before": held_before,
            "supported_users": best["users"] if best else held_before,
            "supported_actions_per_s": best["actions_per_s"] if best else None,
            "supported_scaled": bool(best and best["pace"] < 1),
            "limit": _limit(rows),
        }

    def _world_summary(self) -> dict:
        kinds: dict[str, int] = {}
        for info in self.world.conversations.values():
            kinds[info["kind"]] = kinds.get(info["kind"], 0) + 1
        people = len(self.world.people)
        return {
            "people": people,
            "conversations": kinds,
            "per_person": f"{2 * DM_REACH} direct chats, 2 groups of {min(BLOCK, people)}, "
            f"1 room of {min(ROOM_MEMBERS, people)}",
            "history": dict(HISTORY),
        }

    def _arrive(self, sockets: int) -> dict:
        """People up to `sockets` (by index) open their sockets, spread over the processes."""
        processes = self.profile.client_processes
        newcomers = [idx for idx in range(sockets) if idx not in self.online and idx not in self.process_of]
        batches: list[list[dict]] = [[] for _ in range(processes)]
        for idx in newcomers:
            self.process_of[idx] = idx % processes
            batches[idx % processes].append(self.world.spec(idx))
        commands = [
            ("arrive", {"people": batch, "concurrency": ARRIVAL_CONCURRENCY, "deadline_s": ARRIVAL_DEADLINE_S})
            for batch in batches
        ]
        results = self.pool.run(commands, timeout=ARRIVAL_DEADLINE_S + 60)
        errors: dict[str, int] = {}
        for result in results:
            self.online.update(result["arrived"])
            for error, count in result["errors"].items():
                errors[error] = errors.get(error, 0) + count
        times = [t for result in results for t in result["times"]]
        return {
            "new": len(newcomers),
            "failed": sum(errors.values()),
            "errors": errors,
            "seconds": max((result["seconds"] for result in results), default=0.0),
            **latency_summary(times),
        }

    def _step(self, users: int, sockets: int, tag: str, next_tag: str) -> dict:
        """Arrivals, then a measured hold, then the figures of one step."""
        bench, profile = self.bench, self.profile
        pace = sockets / users
        self.say(f"   step {users:,} users: {sockets:,} sockets, idle × {pace:.2f}")
        arrival = self._arrive(sockets)
        self.pool.run([("set_pace", {"pace": pace})] * profile.client_processes, timeout=30)
        time.sleep(SETTLE_S)
        meter = CpuMeter(
            {
                "server": self.server.stats,
                **{f"client_{i}": ProcessStats(pid) for i, pid in enumerate(self.pool.pids)},
                "bench": bench.bench_stats,
            }
        )
        start = time.monotonic()
        meter.start()
        time.sleep(profile.users_hold)
        used = meter.stop()
        end = time.monotonic()
        time.sleep(DRAIN_S)
        results = self.pool.run([("collect", {"tag": tag, "next_tag": next_tag})] * profile.client_processes, 120)
        since, self.collected_at = self.collected_at, time.monotonic()
        row = {"users": users, "sockets": sockets, "pace": round(pace, 3), "arrival": arrival}
        row.update(self._figures(results, (start, end), tag, self.collected_at - since))
        clients = [value for name, value in used.items() if name.startswith("client_")]
        row["cpu"] = {
            "server_cpu": used["server"],
            "clients_cpu": round(sum(clients), 1),
            "client_max_cpu": max(clients),
            "bench_cpu": used["bench"],
            "others_cpu": used["others"],
            "steal": used["steal"],
        }
        row["generator_saturated"] = bool(
            (row["lag_p99_ms"] or 0) > LAG_LIMIT_MS or row["cpu"]["client_max_cpu"] > CLIENT_CPU_LIMIT
        )
        row["server_saturated"] = used["server"] > 90
        row["failed_because"] = self._verdict(row)
        row["holds"] = not row["failed_because"]
        return row

    def _figures(self, results: list[dict], window: tuple[float, float], tag: str, step_s: float) -> dict:
        """Actions, background requests, sends and deliveries, the loops' lag, and the events the
        sockets received over the whole step (step_s seconds, arrivals included)."""
        start, end = window
        seconds = end - start
        by_name: dict[str, dict] = {}
        for result in results:
            for name, began, took, error in result["records"]:
                if not start <= began <= end:
                    continue
                entry = by_name.setdefault(name, {"times": [], "errors": {}, "skipped": 0})
                if error == "skipped":
                    entry["skipped"] += 1
                elif error:
                    entry["errors"][error] = entry["errors"].get(error, 0) + 1
                else:
                    entry["times"].append(took)
        actions, background = {}, {}
        for name, entry in by_name.items():
            failed = sum(entry["errors"].values())
            figure = {
                "count": len(entry["times"]) + failed,
                "failed": failed,
                "skipped": entry["skipped"],
                **latency_summary(entry["times"]),
                "errors": dict(sorted(entry["errors"].items(), key=lambda item: -item[1])[:3]),
            }
            (background if name in BACKGROUND else actions)[name] = figure
        done = sum(figure["count"] for figure in actions.values())
        requests = done + sum(figure["count"] for figure in background.values())
        failed = sum(figure["failed"] for figure in (*actions.values(), *background.values()))
        lags = [lag for result in results for lag in result["lags"]]
        events: dict[str, int] = {}
        for result in results:
            for name, count in result["events"].items():
                events[name] = events.get(name, 0) + count
        return {
            "actions_per_s": round(done / seconds, 1),
            "background_per_s": round((requests - done) / seconds, 1),
            "actions": {name: actions[name] for name in MIX if name in actions},
            "background": background,
            "failed": failed,
            "error_rate": round(failed / requests, 5) if requests else None,
            "messages": self._deliveries(results, window, tag),
            "lag_p99_ms": _ms(percentile(lags, 99)),
            "lag_max_ms": _ms(max(lags) if lags else None),
            "events_per_s": {name: round(count / step_s, 1) for name, count in events.items()},
            "open_sockets": sum(result["open"] for result in results),
            "online": len(self.online),
            "dropped": sum(result["dropped"] for result in results),
        }

    def _deliveries(self, results: list[dict], window: tuple[float, float], tag: str) -> dict:
        """The step's sends: acked, stored (exactly once), and delivered to each recipient online."""
        start, end = window
        sends, received = {}, {}
        for result in results:
            sends.update(result["sends"])
            for client_id, recipients in result["received"].items():
                received.setdefault(client_id, {}).update(recipients)
        acked = {client_id: record[1] for client_id, record in sends.items() if record[1] is not None}
        stored = self.persistence.check(tag, acked, {client_id: record[0] for client_id, record in sends.items()})
        latencies, undelivered, in_window = [], 0, 0
        for client_id, (sent, ack, conversation, sender) in sends.items():
            if ack is None or not start <= sent <= end:
                continue
            in_window += 1
            expected = [idx for idx in self.world.conversations[conversation]["members"] if idx in self.online]
            expected = [idx for idx in expected if idx != sender]
            got = received.get(client_id, {})
            times = [got[idx] for idx in expected if idx in got]
            if len(times) < len(expected):
                undelivered += 1
            elif times:
                latencies.append(max(times) - sent)
        return {
            "sent": len(sends),
            "acked": len(acked),
            "unacked": len(sends) - len(acked),
            "sent_in_window": in_window,
            "stored_missing": stored["missing"],
            "stored_twice": stored["duplicated"],
            "undelivered": undelivered,
            "delivery": latency_summary(latencies),
        }

    def _verdict(self, row: dict) -> list[str]:
        """Why the step does not hold (empty: it holds)."""
        reasons = []
        slow = [
            f"{name} p99 {figure['p99_ms']:.0f} ms"
            for name, figure in row["actions"].items()
            if figure["p99_ms"] is not None and figure["p99_ms"] >= P99_LIMIT_MS
        ]
        reasons += slow
        if row["error_rate"] is not None and row["error_rate"] >= ERROR_LIMIT:
            reasons.append(f"{100 * row['error_rate']:.2f} % failed")
        messages = row["messages"]
        if messages["stored_missing"] or messages["stored_twice"]:
            reasons.append(f"{messages['stored_missing']} acked messages not stored, {messages['stored_twice']} twice")
        if messages["undelivered"]:
            reasons.append(f"{messages['undelivered']} acked messages missed a recipient")
        if row["arrival"]["failed"] or row["online"] < row["sockets"]:
            reasons.append(f"{row['sockets'] - row['online']} people could not connect")
        if not row["actions"]:
            reasons.append("no action completed")
        return reasons

    def _say_row(self, row: dict) -> None:
        slowest = max(row["actions"].items(), key=lambda item: item[1]["p99_ms"] or 0, default=(None, {}))
        verdict = "holds" if row["holds"] else "fails: " + "; ".join(row["failed_because"])
        self.say(
            f"   {row['users']:,} users ({row['sockets']:,} sockets): {row['actions_per_s']} actions/s "
            f"+ {row['background_per_s']} background/s, slowest p99 {slowest[0]} {slowest[1].get('p99_ms')} ms, "
            f"failed {row['failed']}, delivery p99 {row['messages']['delivery']['p99_ms']} ms, "
            f"undelivered {row['messages']['undelivered']}, missing {row['messages']['stored_missing']}; "
            f"CPU server {row['cpu']['server_cpu']}% clients {row['cpu']['clients_cpu']}% "
            f"(loop lag p99 {row['lag_p99_ms']} ms) -> {verdict}"
        )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _limit(rows: list[dict]) -> str:
    """What stopped the ramp, in words."""
    if not rows:
        return "no step ran"
    last = rows[-1]
    if last["holds"]:
        return "every step held: the ramp ended before the box did"
    who = []
    if last["server_saturated"]:
        who.append(f"the server was out of CPU ({last['cpu']['server_cpu']}% of a core)")
    if last["generator_saturated"]:
        who.append(
            f"the load generator was out of CPU (a client process at {last['cpu']['client_max_cpu']}%, "
            f"loop lag p99 {last['lag_p99_ms']} ms)"
        )
    if last["cpu"]["others_cpu"] > 25:
        who.append(f"other processes on the machine used {last['cpu']['others_cpu']}% of a core")
    if not who:
        who.append(
            f"neither the server ({last['cpu']['server_cpu']}% of a core on average) nor the load generator "
            f"({last['cpu']['client_max_cpu']}% at most) was out of CPU: requests waited behind bursts of work on "
            "the one worker"
        )
    return f"{last['users']:,} users failed ({'; '.join(last['failed_because'])}); " + " and ".join(who)
