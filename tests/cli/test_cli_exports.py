"""``export``, ``snapshot``, ``verify --file`` and ``subject export`` from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Run = Callable[..., Result]
L1, L2 = "+18005550100", "+18005550101"
X, Y = "+14155550123", "+14155550124"


@pytest.fixture
def ledger(cli: Run) -> Run:
    for args in (
        ("account", "create", "acme", "--region", "US"),
        ("account", "create", "shop", "--parent", "acme"),
        ("line", "add", L1, "--account", "acme"),
        ("line", "add", L2, "--account", "shop"),
    ):
        assert cli(*args).exit_code == 0, cli(*args).output
    for address, scope in ((X, ("--account", "acme")), (Y, ("--line", L2)), (X, ("--line", L2))):
        result = cli(
            "record",
            address,
            "opt_in",
            *scope,
            "--purpose",
            "marketing",
            "--source",
            "web_form",
            "--proof",
            "form_url=https://acme.example/join",
        )
        assert result.exit_code == 0, result.output
    assert cli("record", Y, "opt_out", "--via", L2, "--source", "keyword").exit_code == 0
    return cli


def exported(cli: Run, tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "export.jsonl"
    result = cli("export", "--account", "acme", "--output", str(path), *args)
    assert result.exit_code == 0, result.output
    return path


def test_export_then_verify_file_passes(ledger: Run, tmp_path: Path) -> None:
    path = exported(ledger, tmp_path)
    result = ledger("verify", "--file", str(path))
    assert result.exit_code == 0, result.output
    assert "OK: export.jsonl (complete chain of acme), 4 events" in result.stdout
    report = json.loads(ledger("verify", "--file", str(path), "--json").stdout)
    assert report["ok"] is True and report["complete_chain"] is True


def test_export_to_stdout_is_jsonl_with_a_header_and_an_end(ledger: Run) -> None:
    result = ledger("export", "--account", "shop")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["type"] == "header" and records[0]["complete_chain"] is False
    # Y's keyword opt-out lands at the tenant (reach "tree"), outside shop's subtree.
    assert [r["address"] for r in records[1:-1]] == [Y, X]
    assert records[-1]["events"] == 2


def test_verify_file_catches_a_tampered_line(ledger: Run, tmp_path: Path) -> None:
    path = exported(ledger, tmp_path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("opt_in", "opt_out")
    path.write_text("\n".join(lines) + "\n")
    result = ledger("verify", "--file", str(path), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["kind"], p["line"]) for p in problems] == [("tampered", 3)]


def test_verify_file_catches_a_deleted_line(ledger: Run, tmp_path: Path) -> None:
    path = exported(ledger, tmp_path)
    lines = path.read_text().splitlines()
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    result = ledger("verify", "--file", str(path))
    assert result.exit_code == 1
    assert "missing" in result.stdout and "n=2" in result.stdout


def test_verify_file_catches_reordered_lines(ledger: Run, tmp_path: Path) -> None:
    path = exported(ledger, tmp_path)
    lines = path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("\n".join(lines) + "\n")
    result = ledger("verify", "--file", str(path), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["kind"], p["line"]) for p in problems] == [("reordered", 4)]


def test_verify_file_reads_csv_exports(ledger: Run, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    assert ledger("export", "--account", "acme", "--format", "csv", "-o", str(path)).exit_code == 0
    assert '"{""form_url"":""https://acme.example/join""}"' in path.read_text()
    assert ledger("verify", "--file", str(path)).exit_code == 0
    path.write_text(path.read_text().replace("acme.example", "evil.example", 1))
    assert ledger("verify", "--file", str(path)).exit_code == 1


def test_verify_without_file_still_checks_the_database(ledger: Run) -> None:
    result = ledger("verify")
    assert result.exit_code == 0 and "every hash chain" in result.stdout


def test_snapshot_lists_a_line_as_csv(ledger: Run, tmp_path: Path) -> None:
    result = ledger("snapshot", "--line", L2, "--purpose", "marketing")
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert rows[0].startswith("line,account,address,channel,purpose,topic,status,allowed")
    assert [r.split(",")[2:7:4] for r in rows[1:]] == [[X, "opted_in"], [Y, "opted_out"]]
    out = tmp_path / "snap.jsonl"
    written = ledger("snapshot", "--line", L1, "--format", "jsonl", "-o", str(out), "--json")
    # X's marketing opt-in, and Y's opt-out of every purpose at the tenant
    assert json.loads(written.stdout)["rows"] == 4
    assert ledger("snapshot", "--line", "+18005550999").exit_code == 2
    nothing = tmp_path / "nothing.csv"
    refused = ledger("snapshot", "--line", L1, "--purpose", "nope", "-o", str(nothing))
    assert refused.exit_code == 2 and not nothing.exists()  # no half-written file


def test_subject_export_writes_one_document(ledger: Run, tmp_path: Path) -> None:
    out = tmp_path / "dsar.json"
    result = ledger("subject", "export", X, "--account", "shop", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "2 events" in result.stdout
    document = json.loads(out.read_text())
    assert document["address"] == X and len(document["events"]) == 2
    assert json.loads(ledger("subject", "export", X, "--account", "acme").stdout)["events"]
    bad = ledger("subject", "export", "not-a-number", "--account", "acme")
    assert bad.exit_code == 2 and "Error:" in bad.stderr
