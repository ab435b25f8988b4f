"""Checks the pinned and installed packages against a local copy of an OSV advisory database.

pip-audit asks the package index's JSON API or OSV's web service, and neither answers from every
machine (this project's machines reach only the package indexes' download routes). This reads the
same advisories from disk instead: a checkout of the Python Packaging Authority's advisory database
(`vulns/<package>/PYSEC-*.yaml`) or any folder of OSV files (`*.json`, `*.yaml`).

    python -m tests.dependency_audit --advisories PATH   # exit 1 when a package is affected

Only what the copy holds is checked: advisories published after its newest entry are not.
"""

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements-venv.txt", "requirements.txt", "requirements-dev.txt")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def normalize(name: str) -> str:
    """A package name as the index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(files=REQUIREMENTS, root: Path = ROOT) -> dict[str, str]:
    """name → version of every `name==version` line in the requirements files (following `-r`)."""
    pins: dict[str, str] = {}
    seen: set[Path] = set()

    def read(path: Path) -> None:
        if path in seen or not path.exists():
            return
        seen.add(path)
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line.startswith("-r "):
                read(path.parent / line[3:].strip())
            elif match := PIN.match(line):
                pins[normalize(match[1])] = match[2]

    for name in files:
        read(root / name)
    return pins


def installed() -> dict[str, str]:
    """name → version of every distribution in this interpreter's environment (the transitive set)."""
    return {
        normalize(dist.metadata["Name"]): dist.version for dist in metadata.distributions() if dist.metadata["Name"]
    }


@dataclass(frozen=True)
class Advisory:
    """One OSV record, reduced to what deciding 'affected' needs."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    modified: str
    affected: tuple[dict, ...]


def _read(path: Path) -> dict | None:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml  # a test-tool dependency (requirements-dev.txt)

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load(folder: Path) -> list[Advisory]:
    """Every OSV record below `folder` that concerns a PyPI package."""
    advisories = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in {".json", ".yaml", ".yml"} or not path.is_file():
            continue
        record = _read(path)
        # A withdrawn record was found to be no vulnerability (pip-audit skips them too).
        if not isinstance(record, dict) or "affected" not in record or record.get("withdrawn"):
            continue
        affected = tuple(
            entry for entry in record["affected"] if (entry.get("package") or {}).get("ecosystem") == "PyPI"
        )
        if affected:
            summary = record.get("summary") or (record.get("details") or "").strip().split("\n")[0][:160]
            advisories.append(
                Advisory(
                    id=record["id"],
                    aliases=tuple(record.get("aliases") or ()),
                    summary=summary,
                    modified=str(record.get("modified", "")),
                    affected=affected,
                )
            )
    return advisories


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def in_range(version: Version, events: list[dict]) -> bool:
    """Whether `version` falls in an OSV ECOSYSTEM range: events applied in version order, where
    `introduced` opens, `fixed` closes at that version and `last_affected` closes after it."""
    points = []
    for event in events:
        ((kind, value),) = event.items()
        bound = Version("0") if value == "0" else _version(str(value))
        if bound is not None and kind in {"introduced", "fixed", "last_affected"}:
            points.append((bound, kind))
    # At one version a fix takes effect before a re-introduction at that same version.
    order = {"fixed": 0, "last_affected": 1, "introduced": 2}
    affected = False
    for bound, kind in sorted(points, key=lambda point: (point[0], order[point[1]])):
        if kind == "introduced" and version >= bound:
            affected = True
        elif kind == "fixed" and version >= bound or kind == "last_affected" and version > bound:
            affected = False
    return affected


def affects(advisory: Advisory, name: str, version: str) -> bool:
    """Whether the advisory covers package `name` at `version` (its version list or its ranges)."""
    parsed = _version(version)
    for entry in advisory.affected:
        if normalize(entry["package"]["name"]) != name:
            continue
        if version in (entry.get("versions") or ()):
            return True
        if parsed is None:
            continue
        for span in entry.get("ranges") or ():
            if span.get("type") == "ECOSYSTEM" and in_range(parsed, span.get("events") or []):
                return True
    return False


def audit(packages: dict[str, str], advisories: list[Advisory]) -> list[dict]:
    """The findings: one dict per (package, advisory) where the advisory affects the version."""
    by_name: dict[str, list[Advisory]] = {}
    for advisory in advisories:
        for entry in advisory.affected:
            by_name.setdefault(normalize(entry["package"]["name"]), []).append(advisory)
    findings = []
    for name, version in sorted(packages.items()):
        for advisory in by_name.get(name, ()):
            if affects(advisory, name, version):
                findings.append(
                    {"package": name, "version": version, "id": advisory.id, "aliases": list(advisory.aliases)}
                )
    return findings


def database_date(folder: Path, advisories: list[Advisory]) -> str:
    """When the copy was made: its git commit date when it is a checkout, else its newest record."""
    result = subprocess.run(
        ["git", "-C", str(folder), "log", "-1", "--format=%cs"], capture_output=True, text=True, check=False
    )
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip()
    return max((advisory.modified[:10] for advisory in advisories), default="unknown")


def report(folder: Path | None) -> dict:
    """The audit as figures for docs/reliability.md; without a folder, says that nothing was checked."""
    pins = pinned()
    environment = installed()
    if folder is None or not folder.is_dir():
        return {"checked": False, "pins": len(pins), "installed": len(environment)}
    advisories = load(folder)
    return {
        "checked": True,
        "database": str(folder),
        "database date": database_date(folder, advisories),
        "advisories read": len(advisories),
        "pins": len(pins),
        "installed": len(environment),
        "findings": audit({**environment, **pins}, advisories),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the findings; exit 1 when any package is affected."""
    parser = argparse.ArgumentParser(prog="python -m tests.dependency_audit", description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=Path, required=True, help="a folder of OSV records")
    args = parser.parse_args(argv)
    if not args.advisories.is_dir():
        parser.error(f"{args.advisories} is not a folder")
    result = report(args.advisories)
    print(
        f"{result['pins']} pins and {result['installed']} installed packages against"
        f" {result['advisories read']} advisories (copy of {result['database date']})"
    )
    for finding in result["findings"]:
        print(f"AFFECTED {finding['package']}=={finding['version']}: {finding['id']} {' '.join(finding['aliases'])}")
    if not result["findings"]:
        print("no known advisory affects them")
    return 1 if result["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
