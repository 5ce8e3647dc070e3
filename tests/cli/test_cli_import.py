"""``consentline import``: presets, mappings, --dry-run, --errors, --json; no progress
bar when stdout is not a terminal."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

X, Y = "+14155550101", "+14155550102"


@pytest.fixture
def acme(cli: Callable[..., Result]) -> Callable[..., Result]:
    assert cli("account", "create", "acme", "--region", "US").exit_code == 0
    assert cli("line", "add", "+18005550100", "--account", "acme").exit_code == 0
    return cli


def test_the_legacy_preset_with_an_error_file_and_json(
    acme: Callable[..., Result], tmp_path: Path
) -> None:
    source = tmp_path / "crm.csv"
    source.write_text(f"Id,Mobile,SMS Opt Out\n003A,{X},true\n003B,{Y},false\n003C,555-01,false\n")
    rejected = tmp_path / "rejected.csv"
    args = ["import", str(source), "--account", "acme", "--map", "address=Mobile"]
    args += ["--map", "contact_ref.salesforce=Id", "--preset", "legacy-opt-out:SMS Opt Out"]
    result = acme(*args, "--purpose", "marketing", "--errors", str(rejected))
    assert result.exit_code == 0, result.output
    assert "3 rows: 2 written (1 opt_in, 1 opt_out), 0 unchanged" in result.stdout
    assert "importing" not in result.stdout  # no progress bar off a terminal
    with rejected.open() as f:
        assert list(csv.reader(f)) == [
            ["row", "column", "code", "message"],
            ["4", "Mobile", "invalid_address", "*** is not a valid phone number"],
        ]
    again = acme(*args, "--purpose", "marketing", "--json")
    report = json.loads(again.stdout)
    assert (report["written"], report["unchanged"], report["errors"]) == (0, 2, 1)


def test_value_maps_times_and_a_dry_run(acme: Callable[..., Result], tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(f"Mobile;Status;Date\n{X};Yes;01/15/2026 09:30\n{Y};No;01/15/2026 10:00\n")
    args = ["import", str(source), "--account", "acme", "--map", "address=Mobile"]
    args += [
        "--map",
        "action=Status",
        "--value",
        "Status:Yes=opt_in",
        "--value",
        "Status:No=opt_out",
    ]
    args += ["--map", "occurred_at=Date", "--time-format", "%m/%d/%Y %H:%M"]
    naive = json.loads(acme(*args, "--dry-run", "--json").stdout)
    assert {e["code"] for e in naive["first_errors"]} == {"naive_time"}
    zoned = acme(*args, "--timezone", "America/New_York", "--dry-run")
    assert "Dry run: 2 rows: 2 would write" in zoned.stdout
    done = json.loads(acme(*args, "--timezone", "America/New_York", "--json").stdout)
    assert done["written"] == 2


def test_a_bad_mapping_is_an_error_exit(acme: Callable[..., Result], tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text(f"Mobile\n{X}\n")
    result = acme("import", str(source), "--account", "acme", "--map", "phone")
    assert result.exit_code == 2
    assert "FIELD=COLUMN" in result.stderr


def test_record_takes_contact_refs(acme: Callable[..., Result]) -> None:
    result = acme(
        "record", X, "opt_out", "--account", "acme", "--source", "crm",
        "--contact-ref", "salesforce:003A", "--contact-ref", "42", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bad = acme("record", X, "opt_out", "--account", "acme", "--contact-ref", "+14155550123")
    assert bad.exit_code == 2 and "contact reference" in bad.stderr
