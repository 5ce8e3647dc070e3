"""``change-number`` and ``import-deactivations`` from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.cli.test_cli import ALICE, BOB, LINE, Run, assert_clean_error, ok_json

NEW = "+14155550199"


@pytest.fixture
def acme(cli: Run) -> Run:
    ok_json(cli("account", "create", "acme", "--region", "US", "--json"))
    ok_json(cli("line", "add", LINE, "--account", "acme", "--json"))
    return cli


def _opt_in(cli: Run, who: str, when: str | None = None) -> None:
    args = ["record", who, "opt_in", "--account", "acme", "--purpose", "marketing"]
    ok_json(cli(*args, *(["--occurred-at", when] if when else []), "--json"))


def test_change_number_lapses_and_says_what(acme: Run) -> None:
    _opt_in(acme, ALICE)
    result = acme("change-number", ALICE, NEW, "--account", "acme")
    assert result.exit_code == 0, result.output
    assert f"Lapsed 1 consent of {ALICE} (changed to {NEW}):" in result.stdout
    assert "lapse at account acme: purpose marketing (ends event #1)" in result.stdout
    again = acme("change-number", ALICE, NEW, "--account", "acme")
    assert "no consent lapsed" in again.stdout
    body = ok_json(acme("change-number", ALICE, NEW, "--account", "acme", "--json"))
    assert (body["lapsed"], body["old"], body["new"]) == ([], ALICE, NEW)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["nonsense", NEW, "--account", "acme"], "nonsense"),
        ([ALICE, ALICE, "--account", "acme"], "same number"),
        ([ALICE, NEW, "--account", "nope"], "nope"),
        ([ALICE, NEW, "--account", "acme", "--channel", "pigeon"], "pigeon"),
    ],
)
def test_change_number_refuses_bad_input_cleanly(acme: Run, args: list[str], fragment: str) -> None:
    assert_clean_error(acme("change-number", *args), fragment)


def test_import_deactivations_reports_and_writes_the_bad_rows(acme: Run, tmp_path: Path) -> None:
    _opt_in(acme, ALICE, "2026-01-15T12:00:00Z")
    _opt_in(acme, BOB, "2026-02-20T12:00:00Z")
    listed = tmp_path / "disconnects.csv"
    listed.write_text(
        f"number,deactivation_date\n{ALICE},2026-02-01\n{BOB},2026-02-01\nbogus,2026-02-01\n"
        f"{ALICE},someday\n"
    )
    bad = tmp_path / "bad.csv"
    result = acme("import-deactivations", str(listed), "--account", "acme", "--errors", str(bad))
    assert result.exit_code == 0, result.output
    assert "4 rows: 1 lapsed (1 consent), 1 unchanged, 2 errors" in result.stdout
    assert "row 4 number: invalid_address" in result.stdout
    with bad.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["code"]) for r in rows] == [("4", "invalid_address"), ("5", "bad_date")]
    again = ok_json(acme("import-deactivations", str(listed), "--account", "acme", "--json"))
    assert (again["lapsed"], again["unchanged"], again["errors"]) == (0, 2, 2)
    assert again["list"] == "disconnects.csv"


def test_import_deactivations_refuses_a_file_without_the_columns(acme: Run, tmp_path: Path) -> None:
    listed = tmp_path / "x.csv"
    listed.write_text("name,when\na,b\n")
    assert_clean_error(acme("import-deactivations", str(listed), "--account", "acme"), "column")
    result = acme("import-deactivations", str(listed), "--account", "acme", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_input"
    missing = acme("import-deactivations", str(tmp_path / "none.csv"), "--account", "acme")
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_policy_shows_and_sets_the_revoke_all_date(acme: Run) -> None:
    shown = acme("policy", "--account", "acme")
    assert shown.exit_code == 0, shown.output
    assert "revoke-all: from 2027-01-31" in shown.stdout
    body = ok_json(acme("policy", "--account", "acme", "--revoke-all-from", "2026-02-01", "--json"))
    assert body["revoke_all_from"] == "2026-02-01"
    off = acme("policy", "--account", "acme", "--revoke-all-off")
    assert "revoke-all: off" in off.stdout
    assert ok_json(acme("policy", "--account", "acme", "--json"))["revoke_all_from"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--revoke-all-from", "tomorrow"], "tomorrow"),
        (["--revoke-all-from", "2026-02-30"], "2026-02-30"),
        (["--revoke-all-from", "2026-02-01", "--revoke-all-off"], "not both"),
    ],
)
def test_policy_refuses_bad_dates_cleanly(acme: Run, args: list[str], fragment: str) -> None:
    assert_clean_error(acme("policy", "--account", "acme", *args), fragment)


def test_policy_of_an_unknown_account_is_a_clean_error(acme: Run) -> None:
    assert_clean_error(acme("policy", "--account", "nope"), "nope")
