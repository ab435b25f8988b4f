"""`python -m bench`: parse the options, run the scenarios, write the results."""

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from bench import report
from bench.scenarios import FULL, QUICK, SCENARIOS, Bench, raise_file_limit

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results"


def parse_args(argv=None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmark Messanger against a bare relay.")
    parser.add_argument("--quick", action="store_true", help="tiny counts, one run, short phases (a smoke test)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios to run (default: all): {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--runs", type=int, help="repeats of each measurement (default 3; 1 with --quick)")
    parser.add_argument("--client-processes", type=int, help="load-generator processes (default 2)")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="folder for latest.json and latency.png (default bench/results; only then is docs/performance.md "
        "rewritten)",
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary database and server logs")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rewrite docs/performance.md from bench/results/latest.json (after editing the text)",
    )
    args = parser.parse_args(argv)
    only = tuple(name.strip() for name in args.only.split(",") if name.strip()) or SCENARIOS
    unknown = [name for name in only if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.only = only
    return args


def main(argv=None) -> None:
    """Run the benchmark and write its outputs."""
    args = parse_args(argv)
    if args.report_only:
        results = json.loads((DEFAULT_OUTPUT / "latest.json").read_text())
        for path in report.write_outputs(results, DEFAULT_OUTPUT, write_docs=True):
            print(f"wrote {path}")
        return
    profile = QUICK if args.quick else FULL
    if args.runs:
        profile = dataclasses.replace(profile, runs=max(args.runs, 1))
    if args.client_processes:
        profile = dataclasses.replace(profile, client_processes=max(args.client_processes, 1))
    soft, _hard = raise_file_limit()
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    machine = report.machine_info()
    progress(
        f"bench: {'quick' if args.quick else 'full'} run of {', '.join(args.only)} on {machine['cpu_count']} CPUs, "
        f"load average {machine['loadavg_start']}, open files limit {soft}"
    )
    bench = Bench(profile, args.only, progress)
    try:
        scenarios = bench.run()
    finally:
        if not args.keep_temp:
            bench.remove_files()
    machine["loadavg_end"] = [round(value, 2) for value in os.getloadavg()]
    machine["git_end"] = report.machine_info()["git"]
    results = {
        "machine": machine,
        "quick": args.quick,
        "profile": dataclasses.asdict(profile),
        "scenarios": scenarios,
        "server_errors": bench.server_errors,
        "duration_s": round(time.monotonic() - started, 1),
    }
    results["targets"] = report.targets(scenarios)
    results["noise"] = report.noise(scenarios)
    written = report.write_outputs(results, args.output, write_docs=args.output.resolve() == DEFAULT_OUTPUT)
    print()
    for row in results["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "-"}[row["met"]]
        print(f"  {verdict:8} {row['name']}: {row['value']} (target {row['target']}) {row['note']}")
    noise = results["noise"]
    if noise["phases_over_25pct"]:
        print(
            f"  WARNING: other processes used over 25% of a core in {noise['phases_over_25pct']} of "
            f"{noise['phases']} measured phases (up to {noise['others_cpu_max']}%): the machine was busy."
        )
    if machine["git_end"] != machine["git"]:
        print(f"  WARNING: the code changed during the run ({machine['git']} -> {machine['git_end']}).")
    for log, errors in bench.server_errors.items():
        for error in errors[:3]:
            print(f"  {log}: {error['count']} × {error['line'][:150]}")
    print()
    for path in written:
        print(f"wrote {path}")
    progress("done")
    failed = [name for name, scenario in scenarios.items() if scenario.get("error")]
    if failed:
        sys.exit(f"scenario(s) failed: {', '.join(failed)}")
