"""``consentline subject erase`` and ``consentline retention``."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

X = "+14155550123"


@pytest.fixture(autouse=True)
def _erasure_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTLINE_ERASURE_KEY", "c" * 40)


def _setup(cli: Callable[..., Result]) -> None:
    for args in (
        ("account", "create", "acme", "--region", "US"),
        ("line", "add", "+18005550100", "--account", "acme"),
        ("purpose", "set", "marketing", "--account", "acme", "--model", "restrictive"),
        ("record", X, "opt_out", "--account", "acme", "--proof", "ip=203.0.113.9"),
    ):
        assert cli(*args).exit_code == 0


def test_subject_erase_asks_first_masks_the_number_and_keeps_the_opt_out(
    cli: Callable[..., Result],
) -> None:
    _setup(cli)
    refused = cli("subject", "erase", X, "--account", "acme", input="n\n")
    assert refused.exit_code != 0 and "+1415***0123" in refused.output
    done = cli("subject", "erase", X, "--account", "acme", input="y\n")
    assert done.exit_code == 0, done.output
    assert "Erased +1415***0123" in done.output and "4155550123" not in done.output
    check = cli("check", X, "--from", "+18005550100", "--purpose", "marketing", "--json")
    assert json.loads(check.output)["allowed"] is False
    again = cli("subject", "erase", X, "--account", "acme", "--yes", "--json")
    assert json.loads(again.output)["already_erased"] is True
    assert cli("verify").exit_code == 0


def test_subject_erase_errors(cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(cli)
    unknown = cli("subject", "erase", "+14155550000", "--account", "acme", "--yes")
    assert unknown.exit_code == 2 and "no data for +1415***0000" in unknown.output
    monkeypatch.delenv("CONSENTLINE_ERASURE_KEY")
    missing = cli("subject", "erase", X, "--account", "acme", "--yes", "--json")
    assert json.loads(missing.output)["error"]["code"] == "erasure_key_missing"


def test_retention_dry_run_lists_nothing_recent(cli: Callable[..., Result]) -> None:
    _setup(cli)
    result = cli("retention", "--account", "acme", "--dry-run")
    assert result.exit_code == 0 and "Nothing is past 4 years" in result.output
    shown = json.loads(cli("retention", "--account", "acme", "--dry-run", "--json").output)
    assert shown["years"] == 4 and shown["due"] == []


def test_the_help_ends_with_examples(cli: Callable[..., Result]) -> None:
    for command in (("subject", "erase"), ("retention",)):
        assert "Example:" in cli(*command, "--help").output
