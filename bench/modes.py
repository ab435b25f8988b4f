"""Scenario `modes`: both async modes side by side. The DM closed loop (the largest pair count of the
profile, each in-flight setting) against the product on eventlet and on gevent, each next to the
bare relay on the same green library, phases interleaved run by run. All four servers stay up for
the scenario (the product processes share the bench's SQLite database); only one carries load at a
time, the others hold their idle sockets.
"""

from bench.scenarios import CPU_KEYS, PHASE_KEYS
from bench.servers import ProductServer, RelayServer
from bench.stats import Persistence, spread, summarise

MODES = ("eventlet", "gevent")


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


class AsyncModes:
    """One run of the modes scenario for a Bench; the gevent servers are its own."""

    def __init__(self, bench):
        self.bench = bench
        self.started: list = []
        self.targets: dict[tuple[str, str], tuple[str, object]] = {}  # (mode, kind) -> (socket key, server)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        bench = self.bench
        for (mode, _kind), (target, _server) in self.targets.items():
            if mode != "eventlet" and bench.pool is not None:
                try:
                    bench.pool.run([("disconnect", {"prefix": f"{target}:"})] * bench.processes, timeout=60)
                except Exception:  # noqa: BLE001 - the pool is reset instead
                    bench._reset_pool()
                bench.connected.discard(target)
        for server in self.started:
            server.stop()

    def _servers(self) -> None:
        """The eventlet product and relay of the bench (the relay started if no scenario needed it
        yet), and gevent's, started here."""
        bench = self.bench
        if bench.relay is None:
            bench.relay = RelayServer(bench.folder / "relay.log")
        gevent_product = ProductServer(bench.database_url, bench.folder / "product-gevent.log", async_mode="gevent")
        self.started.append(gevent_product)
        gevent_relay = RelayServer(bench.folder / "relay-gevent.log", async_mode="gevent")
        self.started.append(gevent_relay)
        self.targets = {
            ("eventlet", "product"): ("product", bench.product),
            ("eventlet", "relay"): ("relay", bench.relay),
            ("gevent", "product"): ("gevent-product", gevent_product),
            ("gevent", "relay"): ("gevent-relay", gevent_relay),
        }

    def _connect(self, pairs: list) -> None:
        bench = self.bench
        for target in ("product", "relay"):
            bench._ensure_connected(target)
        for kind in ("product", "relay"):
            target, server = self.targets[("gevent", kind)]
            url = server.url
            if kind == "product":
                specs = bench._user_specs(
                    target,
                    pairs,
                    lambda _n, _i, url=url: url,
                    cookie_of=lambda i: bench.cookies[bench.seeded.users[i]["username"]],
                )
            else:
                specs = bench._user_specs(target, pairs, lambda _n, _i, url=url: url, auth=True)
            counts = bench._connect(target, specs)
            if counts["connected"] != 2 * len(pairs):
                raise RuntimeError(f"{target}: {counts['connected']} of {2 * len(pairs)} connected: {counts['errors']}")
        bench.say(f"   {2 * len(pairs)} sockets to each of the 4 servers")

    def run(self) -> dict:
        """Each run: for each in-flight setting, each mode's relay then product."""
        bench, profile = self.bench, self.bench.profile
        pairs = bench.seeded.pairs[: max(profile.dm_pairs)]  # as scenario_dm's largest closed loop
        self._servers()
        self._connect(bench.seeded.pairs)  # every seeded pair, as _ensure_connected does
        persistence = Persistence(bench.database_url)
        kinds = ("relay", "product")
        runs = {(mode, inflight, kind): [] for mode in MODES for inflight in profile.dm_inflight for kind in kinds}
        order = [(inflight, mode, kind) for inflight in profile.dm_inflight for mode in MODES for kind in kinds]
        try:
            for run in range(profile.runs):
                for inflight, mode, kind in order:
                    target, server = self.targets[(mode, kind)]
                    checked = persistence if kind == "product" else None
                    metrics = bench._dm_phase(target, pairs, "closed", {"server": server}, checked, inflight=inflight)
                    runs[(mode, inflight, kind)].append(metrics)
                    bench.say(
                        f"   run {run + 1} {mode} {kind}, {inflight} in flight: {metrics['delivered_per_s']:.0f} msg/s "
                        f"p50 {metrics['p50_ms']} p99 {metrics['p99_ms']} ms lost {metrics['lost']} "
                        f"(server {metrics['server_cpu']}%)"
                    )
            summary = persistence.summary()
        finally:
            persistence.close()
        rows = []
        for inflight in profile.dm_inflight:
            for mode in MODES:
                product, relay = runs[(mode, inflight, "product")], runs[(mode, inflight, "relay")]
                row = {
                    "mode": mode,
                    "inflight": inflight,
                    "product": {**summarise(product, PHASE_KEYS + CPU_KEYS), "runs": product},
                    "relay": {**summarise(relay, PHASE_KEYS + CPU_KEYS), "runs": relay},
                }
                row["ratio"] = _ratio(
                    row["product"]["delivered_per_s"]["median"], row["relay"]["delivered_per_s"]["median"]
                )
                row["ratio_runs"] = spread(
                    [_ratio(p["delivered_per_s"], r["delivered_per_s"]) for p, r in zip(product, relay, strict=True)]
                )
                rows.append(row)
        gevent_vs_eventlet = []
        for inflight in profile.dm_inflight:
            by_mode = {row["mode"]: row for row in rows if row["inflight"] == inflight}
            gevent_vs_eventlet.append(
                {
                    "inflight": inflight,
                    **{
                        kind: _ratio(
                            by_mode["gevent"][kind]["delivered_per_s"]["median"],
                            by_mode["eventlet"][kind]["delivered_per_s"]["median"],
                        )
                        for kind in ("product", "relay")
                    },
                }
            )
        return {"pairs": len(pairs), "rows": rows, "gevent_vs_eventlet": gevent_vs_eventlet, "persistence": summary}
