"""Smoke test of the benchmark: `python -m bench --quick` runs every scenario and records figures.

No timing is asserted (the machine running the tests is busy with other tests); only that every
scenario produced numbers and that no acknowledged direct message was lost. The scale-out scenario
runs when TEST_POSTGRES_URL and TEST_REDIS_URL are set, and is skipped by the bench otherwise.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scenarios import QUICK, SCENARIOS
from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parent.parent


def _numbers(summary: dict, *keys: str) -> None:
    for key in keys:
        assert isinstance(summary[key]["median"], int | float), (key, summary[key])


def _no_loss(runs: list[dict]) -> None:
    assert runs and all(run["lost"] == 0 for run in runs), [run["lost"] for run in runs]


CORE = ("dm", "room", "history", "logins", "idle", "scale")


@pytest.mark.timeout(900)
def test_quick_benchmark_covers_the_transport_and_page_scenarios(tmp_path):
    services = bool(os.environ.get("TEST_POSTGRES_URL") and os.environ.get("TEST_REDIS_URL"))
    if not services and REQUIRE_SERVICES:
        pytest.fail("TEST_POSTGRES_URL and TEST_REDIS_URL are required (MESSANGER_REQUIRE_SERVICES=1)")
    env = {
        **os.environ,
        "BENCH_POSTGRES_URL": os.environ.get("TEST_POSTGRES_URL", "") if services else "",
        "BENCH_REDIS_URL": os.environ.get("TEST_REDIS_URL", "") if services else "",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", ",".join(CORE), "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert (tmp_path / "latency.png").stat().st_size > 0
    scenarios = json.loads((tmp_path / "latest.json").read_text())["scenarios"]
    assert set(scenarios) == set(CORE)

    dm = scenarios["dm"]
    for row in dm["closed"]:
        for target in ("product", "relay"):
            _numbers(row[target], "delivered_per_s", "p50_ms", "p99_ms", "server_cpu", "clients_cpu")
            _no_loss(row[target]["runs"])
        assert row["ratio"] > 0
    for target in ("product", "relay"):
        for row in dm["open"][target]:
            _numbers(row, "delivered_per_s", "p99_ms")
            _no_loss(row["runs"])
    assert dm["persistence"]["ok"] and dm["persistence"]["acked"] > 0, dm["persistence"]

    room = scenarios["room"]
    assert room["members_online"] > 2 * max(QUICK.dm_pairs), "the room has members beyond the DM users"
    for target in ("product", "relay"):
        _numbers(room[target], "acked_per_s", "deliveries_per_s", "p99_ms")
        _no_loss(room[target]["runs"])
    for row in scenarios["history"]["rows"]:
        _numbers(row["page"], "median_ms")
        _numbers(row["api"], "median_ms")
    for row in scenarios["idle"]["rows"]:
        assert row["all_connected"] and row["server_rss_mb"] > 0, row
    logins = scenarios["logins"]
    for key in ("without_logins", "with_logins"):
        _numbers(logins[key], "delivered_per_s", "p99_ms")
        _no_loss(logins[key]["runs"])
    assert logins["logins"]["ok"] > 0, logins["logins"]

    scale = scenarios["scale"]
    if services:
        for workers in ("workers_1", "workers_2"):
            _numbers(scale[workers], "delivered_per_s", "p99_ms")
            _no_loss(scale[workers]["runs"])
        assert scale["ratio"] > 0 and scale["persistence"]["ok"], scale
    else:
        assert "skipped" in scale, scale


@pytest.mark.timeout(600)
def test_quick_benchmark_runs_the_storm_the_async_modes_and_the_users(tmp_path):
    """The rest of SCENARIOS: a reconnect storm, eventlet beside gevent, simulated people."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "storm,modes,users", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    scenarios = json.loads((tmp_path / "latest.json").read_text())["scenarios"]
    assert set(CORE) | set(scenarios) == set(SCENARIOS)
    storm = scenarios["storm"]
    assert storm["back"] == storm["sockets"] > 0 and storm["all_synced_s"] > 0, storm["back"]
    modes = scenarios["modes"]
    assert {row["mode"] for row in modes["rows"]} == {"eventlet", "gevent"}
    assert all(row["ratio"] > 0 for row in modes["rows"])
    assert modes["persistence"]["ok"] and modes["persistence"]["acked"] > 0, modes["persistence"]
    users = scenarios["users"]
    assert users["ramps"] and all(ramp["steps"] for ramp in users["ramps"]), users["ramps"]
