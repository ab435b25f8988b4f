"""Scenario 6: DM throughput with one worker, then two, on one PostgreSQL database and one Redis
(sessions, the Socket.IO message queue and the socket registry shared), clients split between the
workers. The database (bench_<pid>) and the Redis keys (a unique prefix) are removed afterwards."""

import os
import time

from bench import seed as seeding
from bench.client import ClientPool
from bench.http import cookie_header, login_all
from bench.servers import ProductServer
from bench.stats import Persistence, spread, summarise


class ScaleOut:
    """One run of the scale-out scenario for a Bench, cleaning up whatever it made."""

    def __init__(self, bench):
        self.bench = bench
        self.workers: list[ProductServer] = []
        self.admin = None
        self.database = f"bench_{os.getpid()}"
        self.database_url = ""
        self.redis = None
        self.prefix = ""
        self.persistence: Persistence | None = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        bench = self.bench
        if bench.pool:
            try:
                bench.pool.run([("disconnect", {"prefix": "pg"})] * bench.processes, timeout=60)
            except Exception:  # noqa: BLE001 - the pool is reset below
                bench._reset_pool()
        for worker in self.workers:
            worker.stop()
        if self.persistence:
            self.persistence.close()
        if self.admin is not None:
            with self.admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.admin.close()
        if self.redis is not None and self.prefix:
            keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
            for start in range(0, len(keys), 500):
                self.redis.delete(*keys[start : start + 500])
            self.redis.close()

    def _services(self) -> str | None:
        """Connect to PostgreSQL and Redis; the reason to skip when either is missing."""
        import psycopg2
        import redis
        from sqlalchemy.engine import make_url

        from bench.scenarios import service_urls

        postgres_url, redis_url = service_urls()
        if not postgres_url or not redis_url:
            return "BENCH_POSTGRES_URL or BENCH_REDIS_URL is empty"
        try:
            client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10)
            client.ping()
        except redis.RedisError as error:
            return f"Redis at {redis_url} is not reachable: {error}"
        try:
            self.admin = psycopg2.connect(postgres_url, connect_timeout=3)
        except psycopg2.Error as error:
            client.close()
            return f"PostgreSQL at {postgres_url} is not reachable: {str(error).strip()}"
        self.redis, self.redis_url = client, redis_url
        self.admin.autocommit = True
        with self.admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        self.database_url = make_url(postgres_url).set(database=self.database).render_as_string(hide_password=False)
        return None

    def _worker(self, log_path) -> ProductServer:
        return ProductServer(self.database_url, log_path, redis_url=self.redis_url, redis_prefix=self.prefix)

    def run(self) -> dict:
        """One worker, then two; the ratio of their median delivered msg/s."""
        from bench.scenarios import unique_prefix

        bench, profile = self.bench, self.bench.profile
        reason = self._services()
        if reason:
            bench.say(f"   skipped: {reason}")
            return {"skipped": reason}
        seeding.migrate(self.database_url)
        seeded = seeding.seed(self.database_url, dm_users=2 * profile.scale_pairs, room=False)
        self.persistence = Persistence(self.database_url)
        self.prefix = unique_prefix()
        folder = bench.folder
        self.workers.append(self._worker(folder / "worker-0.log"))
        bench.say(f"   PostgreSQL database {self.database}, Redis prefix {self.prefix}; logging in {len(seeded.users)}")
        sessions = login_all([(self.workers[0].url, user["username"]) for user in seeded.users])
        cookies = {name: cookie_header(http) for name, http in sessions.items()}
        usernames = [user["username"] for user in seeded.users]
        if bench.pool is None:
            bench.pool = ClientPool(profile.client_processes)
        out = {"pairs": profile.scale_pairs, "inflight": profile.scale_inflight}
        for workers in (1, 2):
            if workers == 2:
                self.workers.append(self._worker(folder / "worker-1.log"))
            target = f"pg{workers}"
            urls = [worker.url for worker in self.workers]

            def url_of(number: int, idx: int, urls=urls) -> str:
                # Pair k: sender on worker k % 2, recipient on worker (k // 2) % 2, so half the pairs cross.
                return urls[(number if idx % 2 == 0 else number // 2) % len(urls)]

            specs = bench._user_specs(target, seeded.pairs, url_of, cookie_of=lambda i: cookies[usernames[i]])
            counts = bench._connect(target, specs)
            if counts["connected"] != len(usernames):
                raise RuntimeError(f"{counts['connected']} of {len(usernames)} sockets connected: {counts['errors']}")
            time.sleep(1)
            servers = {f"worker_{i}": worker for i, worker in enumerate(self.workers)}
            runs = []
            for run in range(profile.runs):
                metrics = bench._dm_phase(
                    target, seeded.pairs, "closed", servers, self.persistence, inflight=profile.scale_inflight
                )
                runs.append(metrics)
                bench.say(
                    f"   {workers} worker(s), run {run + 1}: {metrics['delivered_per_s']:.0f} msg/s "
                    f"p99 {metrics['p99_ms']} ms lost {metrics['lost']} (servers {metrics['per_server_cpu']}, "
                    f"others {metrics['others_cpu']}%)"
                )
            bench.pool.run([("disconnect", {"prefix": target})] * bench.processes, timeout=60)
            out[f"workers_{workers}"] = {
                **summarise(
                    runs, ("delivered_per_s", "p50_ms", "p99_ms", "lost", "server_cpu", "clients_cpu", "others_cpu")
                ),
                "runs": runs,
            }
        one = out["workers_1"]["delivered_per_s"]["median"]
        two = out["workers_2"]["delivered_per_s"]["median"]
        out["ratio"] = round(two / one, 3) if one and two else None
        out["ratio_runs"] = spread(
            [
                round(b["delivered_per_s"] / a["delivered_per_s"], 3) if a["delivered_per_s"] else None
                for a, b in zip(out["workers_1"]["runs"], out["workers_2"]["runs"], strict=True)
            ]
        )
        out["persistence"] = self.persistence.summary()
        return out
