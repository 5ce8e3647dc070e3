"""``consentline report`` and ``consentline hygiene``: tables, --json, --csv, no number."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import consentline
from consentline.cli.app import app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from typer.testing import CliRunner

X = "+14155550123"
LINE = "+18005550100"


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with consentline.connect(url) as cl:
        cl.create_account("acme", default_region="US")
        cl.add_line(LINE, "acme")
        cl.record(X, "opt_in", line=LINE, source="import", proof={"proof_of_consent": False})
        cl.handle_inbound(from_=X, to=LINE, text="stop")
    return url


def test_report_prints_a_table_json_and_csv(tmp_path: Path) -> None:
    url = _db(tmp_path)
    runner = CliRunner()
    base = ["--db", url, "report", "opt_outs", "--account", "acme", "--by", "line,source"]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "opt_outs — acme" in table.output
    doc = json.loads(runner.invoke(app, [*base, "--json"]).output)
    assert sum(r["opt_outs"] for r in doc["rows"]) == 1
    csv_out = runner.invoke(app, [*base, "--csv"]).output
    assert csv_out.splitlines()[0].startswith("line,source,opt_outs")
    for out in (table.output, csv_out):
        assert X[2:] not in out
    bad = runner.invoke(app, ["--db", url, "report", "opt_outs", "--account", "acme", "--by", "x"])
    assert bad.exit_code == 2


def test_hygiene_and_reconfirm_dry_run(tmp_path: Path) -> None:
    url = _db(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(app, ["--db", url, "hygiene", "--account", "acme", "--json"])
    assert shown.exit_code == 0, shown.output
    assert X not in shown.output
    dry = runner.invoke(
        app,
        [
            "--db",
            url,
            "hygiene",
            "reconfirm",
            "--account",
            "acme",
            "--older-than",
            "18mo",
            "--dry-run",
            "--json",
        ],
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["queued"] == 0
