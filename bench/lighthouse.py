"""`python -m bench.lighthouse` (make audit): Lighthouse on the login, home and chat pages, mobile and
desktop. Starts `run.py` on a temporary SQLite database seeded with bench users and a 200-message
direct chat, signs in over HTTP (the form, with its CSRF token), runs bench/lighthouse.mjs with the
session cookie, prints the table, writes the reports to bench/results/lighthouse/ (not committed)
and the table to bench/results/lighthouse.md and to its section of docs/performance.md."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.seed import PASSWORD, migrate, seed
from bench.servers import ROOT, ProductServer

REPORTS = ROOT / "bench" / "results" / "lighthouse"
TABLE = ROOT / "bench" / "results" / "lighthouse.md"
DOC = ROOT / "docs" / "performance.md"
NOTES = ROOT / "bench" / "lighthouse_notes.md"  # hand-written: what the figures show, what stands in the way
START, END = "<!-- lighthouse -->", "<!-- /lighthouse -->"
HISTORY = 200


def sign_in(base_url: str, username: str) -> str:
    """The Cookie header of a session signed in through the login form."""
    http = requests.Session()
    page = http.get(f"{base_url}/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = http.post(
        f"{base_url}/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, timeout=30
    )
    assert response.ok and "/login" not in response.url, response.text[:500]
    return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


def load_average() -> str:
    """The machine's 1-minute load average and its core count, as the section quotes them."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def run(chrome: str) -> list[dict]:
    """Seed, serve, sign in and run Lighthouse; the summary rows of bench/lighthouse.mjs."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as folder:
        database_url = f"sqlite:///{folder}/lighthouse.db"
        migrate(database_url)
        seeded = seed(database_url, dm_users=2, room=True, history_sizes=(HISTORY,))
        server = ProductServer(database_url, Path(folder) / "server.log")
        try:
            cookie = sign_in(server.url, seeded.viewer)
            plan = {
                "cookie": cookie,
                "output": str(REPORTS),
                "pages": [
                    {"name": "login", "url": f"{server.url}/login", "signedIn": False},
                    {"name": "home", "url": f"{server.url}/", "signedIn": True},
                    {"name": "chat", "url": f"{server.url}/c/{seeded.histories[HISTORY]}", "signedIn": True},
                ],
            }
            plan_path = Path(folder) / "plan.json"
            plan_path.write_text(json.dumps(plan))
            environment = {**os.environ, "CHROME_PATH": chrome}
            script = ROOT / "bench" / "lighthouse.mjs"
            subprocess.run(["node", str(script), str(plan_path)], env=environment, check=True)
        finally:
            server.stop()
    return json.loads((REPORTS / "summary.json").read_text())


def _score(value) -> str:
    return "–" if value is None else str(round(value * 100))


def table(rows: list[dict]) -> str:
    """The Markdown table of the rows: scores, CLS, LCP and TBT per page and form factor."""
    lines = [
        "| page | form factor | performance | accessibility | best practices | CLS | LCP | TBT |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        scores = row["scores"]
        lines.append(
            f"| {row['page']} | {row['formFactor']} | {_score(scores['performance'])} "
            f"| {_score(scores['accessibility'])} | {_score(scores['best-practices'])} "
            f"| {row['cls']:.3f} | {row['lcp'] / 1000:.1f} s | {row['tbt']:.0f} ms |"
        )
    return "\n".join(lines)


def section(rows: list[dict], loads: tuple[str, str]) -> str:
    """docs/performance.md's Lighthouse section, between its markers."""
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            START,
            "## Page loads: Lighthouse",
            "",
            "Lighthouse 12.2.3 (`make audit`, i.e. `python -m bench.lighthouse`) on the sign-in page and, signed",
            f"in, the home page and a direct chat of {HISTORY} messages, served by `run.py` on SQLite on this",
            "machine. Mobile is Lighthouse's default (a mid-range phone emulated, 4× CPU slowdown, simulated",
            "slow 4G); desktop its desktop preset. Targets: mobile performance ≥ 90, accessibility 100, CLS < 0.1.",
            "",
            table(rows),
            "",
            f"Run {when} on {revision.stdout.strip() or 'an unknown revision'}, load average {loads[0]} at the",
            f"start and {loads[1]} at the end (Lighthouse scales the CPU time it observes, so a busy machine",
            "lowers performance, TBT above all); the full reports are in bench/results/lighthouse/ (not committed).",
            "",
            NOTES.read_text().strip() if NOTES.exists() else "",
            END,
        ]
    )


def write_docs(rows: list[dict], loads: tuple[str, str]) -> None:
    """The section into bench/results/lighthouse.md (the bench's docs render it) and docs/performance.md."""
    text = section(rows, loads)
    TABLE.write_text(text + "\n")
    doc = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + text + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    DOC.write_text(doc)


def main() -> None:
    """Parse the options, run, print the table and write the docs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    options = parser.parse_args()
    before = load_average()
    rows = run(options.chrome)
    loads = (before, load_average())
    print(table(rows))
    failed = [row for row in rows if row["error"]]
    for row in failed:
        print(f"{row['page']} ({row['formFactor']}): {row['error']}", file=sys.stderr)
    if not options.no_docs and not failed:
        write_docs(rows, loads)


if __name__ == "__main__":
    main()
