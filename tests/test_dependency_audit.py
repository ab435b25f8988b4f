"""The dependency audit (tests/dependency_audit.py) reads OSV records as the advisory databases write
them and decides 'affected' as OSV specifies: ranges of introduced/fixed/last_affected events, explicit
version lists, withdrawn records ignored."""

import json

import pytest
import yaml
from packaging.version import Version

from tests import dependency_audit

FLASK_2023 = {
    "id": "PYSEC-2023-62",
    "aliases": ["CVE-2023-30861"],
    "modified": "2023-06-05T01:12:52Z",
    "affected": [
        {
            "package": {"name": "flask", "ecosystem": "PyPI"},
            "ranges": [
                {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "70f906c5"}]},
                {
                    "type": "ECOSYSTEM",
                    "events": [{"introduced": "0"}, {"fixed": "2.2.5"}, {"introduced": "2.3.0"}, {"fixed": "2.3.2"}],
                },
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.12", True),
        ("2.2.4", True),
        ("2.2.5", False),
        ("2.2.9", False),
        ("2.3.0", True),
        ("2.3.1", True),
        ("2.3.2", False),
        ("3.1.3", False),
    ],
)
def test_ecosystem_ranges_open_at_introduced_and_close_at_fixed(version, affected):
    events = FLASK_2023["affected"][0]["ranges"][1]["events"]
    assert dependency_audit.in_range(Version(version), events) is affected


@pytest.mark.parametrize(("version", "affected"), [("1.0", True), ("1.4.2", True), ("1.4.3", False), ("0.9", False)])
def test_last_affected_includes_that_version_only(version, affected):
    events = [{"introduced": "1.0"}, {"last_affected": "1.4.2"}]
    assert dependency_audit.in_range(Version(version), events) is affected


def write_records(folder, *records):
    for index, record in enumerate(records):
        package = record["affected"][0]["package"]["name"]
        path = folder / "vulns" / package / f"{record['id']}.{'yaml' if index % 2 else 'json'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(record) if index % 2 else json.dumps(record))


def test_audit_finds_affected_pins_by_range_or_listed_version_and_skips_withdrawn(tmp_path):
    listed = {
        "id": "PYSEC-2099-1",
        "modified": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"name": "Some_Package", "ecosystem": "PyPI"}, "versions": ["1.2.3"]}],
    }
    withdrawn = {
        "id": "PYSEC-2099-2",
        "withdrawn": "2099-02-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": "redis", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ],
    }
    npm = {"id": "GHSA-x", "affected": [{"package": {"name": "flask", "ecosystem": "npm"}, "versions": ["3.1.3"]}]}
    write_records(tmp_path, FLASK_2023, listed, withdrawn, npm)

    advisories = dependency_audit.load(tmp_path)
    assert sorted(advisory.id for advisory in advisories) == ["PYSEC-2023-62", "PYSEC-2099-1"]
    findings = dependency_audit.audit(
        {"flask": "2.3.1", "some-package": "1.2.3", "redis": "8.1.0", "werkzeug": "3.1.9"}, advisories
    )
    assert [(finding["package"], finding["id"]) for finding in findings] == [
        ("flask", "PYSEC-2023-62"),
        ("some-package", "PYSEC-2099-1"),
    ]
    assert findings[0]["aliases"] == ["CVE-2023-30861"]
    assert dependency_audit.audit({"flask": "3.1.3", "some-package": "1.2.4"}, advisories) == []


def test_pins_follow_includes_and_normalize_names(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# runtime\nFlask_SQLAlchemy==3.1.1\nuvicorn[standard]==1.0 ; python_version>'3'\n"
    )
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.0.3  # tests\nloose>=1\n")
    assert dependency_audit.pinned(root=tmp_path) == {"flask-sqlalchemy": "3.1.1", "uvicorn": "1.0", "pytest": "9.0.3"}


def test_the_projects_pins_are_all_read():
    pins = dependency_audit.pinned()
    assert pins["flask"] and pins["sqlalchemy"] and pins["pytest"]
    requirement_lines = [
        line
        for name in dependency_audit.REQUIREMENTS
        for line in (dependency_audit.ROOT / name).read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-r"))
    ]
    assert len(pins) == len(requirement_lines)


def test_report_without_a_database_says_nothing_was_checked():
    result = dependency_audit.report(None)
    assert result["checked"] is False and result["pins"] > 0 and result["installed"] > 0
