"""The ``consentline`` command line, end to end against a SQLite file per test."""

from __future__ import annotations

import importlib.metadata
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

import consentline
from consentline.cli import app
from consentline.cli.app import _where
from consentline.domain.addresses import normalise_phone
from consentline.domain.errors import InvalidAddress

LINE = "+18005550100"
OTHER_LINE = "+18005550111"
ALICE = "+14155550101"
BOB = "+14155550102"

Run = Callable[..., Result]


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit status 2, ``Error: ...`` on stderr, and no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def acme(cli: Run) -> Run:
    """A tenant ``acme`` (region US) with one line."""
    ok_json(cli("account", "create", "acme", "--region", "US", "--json"))
    ok_json(cli("line", "add", LINE, "--account", "acme", "--json"))
    return cli


def opt_in_alice(cli: Run, *extra: str) -> Any:
    return ok_json(
        cli(
            "record",
            ALICE,
            "opt_in",
            "--account",
            "acme",
            "--purpose",
            "marketing",
            "--source",
            "web_form",
            "--proof",
            "form_url=https://acme.example/join",
            "--proof",
            "ip=203.0.113.7",
            "--json",
            *extra,
        )
    )


def stop_alice(cli: Run, *extra: str) -> Any:
    return ok_json(
        cli("record", ALICE, "opt_out", "--via", LINE, "--source", "keyword", "--json", *extra)
    )


def check_alice(cli: Run, *extra: str) -> Result:
    return cli("check", ALICE, "--from", LINE, "--purpose", "marketing", *extra)


# -- documentation ---------------------------------------------------------------------
def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``command`` (Typer >= 0.29 ships its own copy of Click)."""
    yield prefix
    if isinstance(command, typer.core.TyperGroup):
        for name, sub in command.commands.items():
            yield from _command_paths(sub, (*prefix, name))


ROOT = typer.main.get_command(app)
COMMAND_PATHS = list(_command_paths(ROOT))


def _is_group(path: tuple[str, ...]) -> bool:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return isinstance(command, typer.core.TyperGroup)


LEAF_PATHS = [path for path in COMMAND_PATHS if not _is_group(path)]


def test_the_walk_finds_every_command() -> None:
    expected = {
        (),
        ("init",),
        ("account",),
        ("account", "create"),
        ("account", "update"),
        ("account", "list"),
        ("line", "add"),
        ("purpose", "set"),
        ("purpose", "list"),
        ("record",),
        ("check",),
        ("check-many",),
        ("history",),
        ("import",),
        ("verify",),
        ("classify",),
        ("inbound",),
        ("review", "list"),
        ("review", "decide"),
        ("outbox", "list"),
        ("account", "configure"),
        ("serve",),
        ("change-number",),
        ("import-deactivations",),
        ("policy",),
        ("export",),
        ("snapshot",),
        ("subject", "export"),
        ("subject", "erase"),
        ("retention",),
        ("report",),
        ("hygiene", "reconfirm"),
        ("operator",),
        ("operator", "create"),
        ("operator", "list"),
        ("operator", "disable"),
    }
    assert expected <= set(COMMAND_PATHS)
    assert len(LEAF_PATHS) == 33  # a new command must be added to `expected` above


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "consentline")
def test_every_command_is_documented_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "consentline " in result.stdout.split("Example:", 1)[1]


@pytest.mark.parametrize("path", LEAF_PATHS, ids=" ".join)
def test_every_leaf_command_offers_json(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert "--json" in result.stdout


def test_version_is_the_one_version_string() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"consentline {consentline.__version__}\n"
    assert importlib.metadata.version("consentline") == consentline.__version__


# -- init and accounts -------------------------------------------------------------------
def test_init_creates_the_database_and_says_where(cli: Run, db_path: Path) -> None:
    info = ok_json(cli("init", "--json"))
    assert db_path.exists()
    assert info == {"url": f"sqlite:///{db_path}", "path": str(db_path), "accounts": 0, "lines": 0}
    human = cli("init")
    assert human.exit_code == 0
    assert f"Database ready at {db_path}" in human.stdout


def test_init_never_prints_a_database_password() -> None:
    where = _where("postgresql+psycopg://consent:s3cret@db.example/consent")
    assert where == {"url": "postgresql+psycopg://consent:***@db.example/consent", "path": None}


def test_the_database_url_comes_from_the_environment(db_path: Path) -> None:
    env = {"CONSENTLINE_DATABASE_URL": f"sqlite:///{db_path}"}
    result = CliRunner().invoke(app, ["init", "--json"], env=env)
    assert ok_json(result)["path"] == str(db_path)


def test_account_create_shows_inherited_reach_and_boundary(acme: Run) -> None:
    child = ok_json(acme("account", "create", "acme-eu", "--parent", "acme", "--json"))
    assert child == {
        "slug": "acme-eu",
        "parent": "acme",
        "tenant": "acme",
        "reach": None,
        "effective_reach": "tree",
        "isolated": False,
        "boundary": "acme",
        "default_region": "US",  # inherited from the parent
        "lines": [],
    }
    human = acme("account", "create", "shop", "--reach", "line", "--isolated", "--parent", "acme")
    assert human.exit_code == 0, human.output
    assert "Created account shop" in human.stdout
    assert "reach line" in human.stdout
    assert "isolated, boundary" in human.stdout


def test_account_update_changes_reach_and_isolation(acme: Run) -> None:
    ok_json(acme("account", "create", "acme-eu", "--parent", "acme", "--json"))
    updated = ok_json(
        acme("account", "update", "acme-eu", "--reach", "account", "--isolated", "--json")
    )
    assert (updated["reach"], updated["isolated"], updated["boundary"]) == (
        "account",
        True,
        "acme-eu",
    )
    back = ok_json(
        acme("account", "update", "acme-eu", "--reach", "inherit", "--not-isolated", "--json")
    )
    assert (back["reach"], back["effective_reach"], back["isolated"]) == (None, "tree", False)
    human = acme("account", "update", "acme", "--region", "CA")
    assert human.exit_code == 0
    assert "Updated account acme" in human.stdout
    assert "region CA" in human.stdout


def test_account_list_draws_the_tree_with_lines(acme: Run) -> None:
    ok_json(acme("account", "create", "acme-eu", "--parent", "acme", "--isolated", "--json"))
    listed = ok_json(acme("account", "list", "--json"))
    assert [(a["slug"], a["parent"], a["lines"]) for a in listed] == [
        ("acme", None, [LINE]),
        ("acme-eu", "acme", []),
    ]
    human = acme("account", "list")
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    assert lines[0] == "accounts"
    acme_row = next(i for i, line in enumerate(lines) if "acme  reach tree" in line)
    eu_row = next(i for i, line in enumerate(lines) if "acme-eu" in line)
    assert eu_row > acme_row
    assert "tenant, boundary" in lines[acme_row]
    assert "isolated, boundary" in lines[eu_row]
    assert f"line {LINE}" in human.stdout


def test_account_list_of_an_empty_database_says_how_to_start(cli: Run) -> None:
    assert ok_json(cli("account", "list", "--json")) == []
    assert "consentline account create" in cli("account", "list").stdout


def test_line_add_normalises_the_number(acme: Run) -> None:
    added = ok_json(acme("line", "add", "(800) 555-0111", "--account", "acme", "--json"))
    assert added["number"] == OTHER_LINE
    assert added["account"] == "acme"
    human = acme("line", "add", "40404", "--account", "acme")
    assert human.stdout.strip() == "Added line 40404 to account acme"


def test_purpose_set_and_list(acme: Run) -> None:
    rule = ok_json(
        acme(
            "purpose",
            "set",
            "promos",
            "--account",
            "acme",
            "--model",
            "restrictive",
            "--quiet-hours",
            "21:00-08:00",
            "--ttl-days",
            "30",
            "--json",
        )
    )
    assert rule == {
        "name": "promos",
        "model": "restrictive",
        "quiet_hours": "21:00-08:00",
        "consent_ttl_seconds": 30 * 86_400,
    }
    listed = ok_json(acme("purpose", "list", "--account", "acme", "--json"))
    assert [r["name"] for r in listed] == ["informational", "marketing", "promos", "transactional"]
    human = acme("purpose", "set", "alerts", "--account", "acme", "--model", "disabled")
    assert "Set purpose alerts: disabled" in human.stdout
    assert (
        "promos: restrictive (quiet hours 21:00-08:00"
        in acme("purpose", "list", "--account", "acme").stdout
    )


# -- record, check, history --------------------------------------------------------------
def test_record_stores_the_proof_and_returns_the_chained_event(acme: Run) -> None:
    event = opt_in_alice(acme, "--proof-json", '{"consent_text_version": 3, "ip": "x"}')
    assert event["address"] == ALICE
    assert event["action"] == "opt_in"
    assert event["where"] == "account acme"
    assert event["purpose"] == "marketing"
    # --proof pairs override the same keys of --proof-json
    assert event["proof"] == {
        "consent_text_version": 3,
        "form_url": "https://acme.example/join",
        "ip": "203.0.113.7",
    }
    assert event["prev_hash"] == "0" * 64
    assert len(event["hash"]) == 64
    assert event["occurred_at"].endswith("+00:00")


def test_record_prints_what_where_when_and_how(acme: Run) -> None:
    result = acme(
        "record", "(415) 555-0102", "opt_in", "--line", LINE, "--proof", "form_url=[x]", "--topic",
        "volunteer", "--occurred-at", "2025-01-31T12:00:00+01:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Recorded opt_in #1 for {BOB} (sms)" in result.stdout
    assert f"line {LINE}, all purposes, topic volunteer" in result.stdout
    assert "2025-01-31T11:00:00Z" in result.stdout
    assert "api; form_url=[x]" in result.stdout  # user text is not taken for Rich markup


def test_record_with_an_idempotency_key_appends_once(acme: Run) -> None:
    first = opt_in_alice(acme, "--idempotency-key", "form-42")
    again = opt_in_alice(acme, "--idempotency-key", "form-42")
    assert again["id"] == first["id"]
    assert len(ok_json(acme("history", ALICE, "--account", "acme", "--json"))["events"]) == 1


def test_check_without_consent_is_denied_but_exits_zero(acme: Run) -> None:
    decision = ok_json(check_alice(acme, "--json"))
    assert decision == {"to": ALICE, "allowed": False, "reason": "no_consent", "event": None}
    human = check_alice(acme)
    assert human.exit_code == 0
    assert "DENIED  no_consent" in human.stdout
    assert "none: nothing in the ledger covers this send" in human.stdout


def test_opt_in_then_stop_via_the_line_is_opted_out(acme: Run) -> None:
    opted_in = opt_in_alice(acme)
    allowed = ok_json(check_alice(acme, "--json"))
    assert (allowed["allowed"], allowed["reason"]) == (True, "opted_in")
    assert allowed["event"]["id"] == opted_in["id"]
    assert allowed["event"]["where"] == "account acme"

    stop = stop_alice(acme)
    assert stop["where"] == "account acme"  # reach "tree": the opt-out covers the tenant
    denied = ok_json(check_alice(acme, "--json"))
    assert (denied["allowed"], denied["reason"]) == (False, "opted_out")
    assert denied["event"] == {
        "id": stop["id"],
        "action": "opt_out",
        "scope": stop["scope"],
        "purpose": None,
        "topic": None,
        "occurred_at": stop["occurred_at"],
        "source": "keyword",
        "where": "account acme",
    }

    human = check_alice(acme)
    assert human.exit_code == 0
    assert "DENIED  opted_out" in human.stdout
    assert f"to       {ALICE}" in human.stdout
    assert f"#{stop['id']} opt_out for all purposes" in human.stdout
    assert "where    account acme" in human.stdout
    assert "how      keyword" in human.stdout


def test_check_exit_code_flag_makes_a_denial_exit_one(acme: Run) -> None:
    assert check_alice(acme, "--exit-code").exit_code == 1
    opt_in_alice(acme)
    assert check_alice(acme, "--exit-code").exit_code == 0


def test_check_at_a_past_moment_uses_the_events_of_that_moment(acme: Run) -> None:
    opt_in_alice(acme, "--occurred-at", "2025-01-01T00:00:00Z")
    stop_alice(acme, "--occurred-at", "2025-02-01T00:00:00Z")
    then = ok_json(check_alice(acme, "--at", "2025-01-15T00:00:00Z", "--json"))
    assert then["reason"] == "opted_in"
    assert then["event"]["occurred_at"] == "2025-01-01T00:00:00+00:00"
    assert ok_json(check_alice(acme, "--json"))["reason"] == "opted_out"


def test_check_many_writes_one_json_line_per_recipient(acme: Run, tmp_path: Path) -> None:
    stop_alice(acme)
    recipients = tmp_path / "campaign.txt"
    recipients.write_text(f"# campaign\n{ALICE}\n\n(415) 555-0102\nnot-a-number\n")
    result = acme("check-many", str(recipients), "--from", LINE, "--purpose", "transactional")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [
        {"to": ALICE, "allowed": False, "reason": "opted_out"},
        {"to": BOB, "allowed": True, "reason": "not_opted_out"},
        {"to": "not-a-number", "allowed": False, "reason": "invalid_address"},
    ]
    assert result.stderr.strip() == "3 checked: 1 allowed, 2 denied"


def test_check_many_reads_standard_input(acme: Run) -> None:
    result = acme(
        "check-many", "-", "--from", LINE, "--purpose", "marketing", "--json", input=f"{BOB}\n"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"to": BOB, "allowed": False, "reason": "no_consent"}
    assert result.stderr == ""


def test_history_shows_events_with_proof_and_marks_the_deciding_one(acme: Run) -> None:
    opted_in = opt_in_alice(acme)
    stop = stop_alice(acme)
    found = ok_json(
        acme(
            "history", ALICE, "--account", "acme", "--from", LINE, "--purpose", "marketing",
            "--json",
        )
    )  # fmt: skip
    assert [(e["id"], e["decides"]) for e in found["events"]] == [
        (opted_in["id"], False),
        (stop["id"], True),
    ]
    assert found["events"][0]["proof"]["form_url"] == "https://acme.example/join"
    assert found["events"][1]["prev_hash"] == found["events"][0]["hash"]
    assert found["decision"]["reason"] == "opted_out"

    human = acme("history", ALICE, "--account", "acme", "--from", LINE, "--purpose", "marketing")
    assert human.exit_code == 0, human.output
    out = human.stdout
    assert f"History of {ALICE} (sms)" in out
    assert "proof form_url=https://acme.example/join" in out
    assert "ip=203.0.113.7" in out
    assert "scope account acme · purpose marketing" in out
    assert f"hash {opted_in['hash'][:12]}" in out
    marked = [line for line in out.splitlines() if line.startswith("→")]
    assert len(marked) == 1
    assert f"#{stop['id']}" in marked[0]
    assert "decides the check" in marked[0]
    assert "DENIED  opted_out" in out


def test_history_without_a_check_has_no_decision(acme: Run) -> None:
    opt_in_alice(acme)
    found = ok_json(acme("history", "(415) 555-0101", "--account", "acme", "--json"))
    assert found["decision"] is None
    assert [e["decides"] for e in found["events"]] == [False]
    assert "No events for" in acme("history", BOB, "--account", "acme").stdout


# -- verify ------------------------------------------------------------------------------
def test_verify_passes_on_an_intact_ledger(acme: Run) -> None:
    opt_in_alice(acme)
    report = ok_json(acme("verify", "--json"))
    assert report == {"ok": True, "tenants": 1, "events": 1, "problems": []}
    human = acme("verify")
    assert human.exit_code == 0
    assert human.stdout.startswith("OK: 1 tenant, 1 event;")


def test_verify_exits_one_when_an_event_was_altered(acme: Run, db_path: Path) -> None:
    opt_in_alice(acme)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE events SET proof = '{}' WHERE id = 1")
    result = acme("verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {p["kind"] for p in report["problems"]} == {"modified"}
    human = acme("verify")
    assert human.exit_code == 1
    assert "modified" in human.stdout
    assert "content does not match hash" in human.stdout


# -- errors ------------------------------------------------------------------------------
ERROR_CASES: list[tuple[str, list[str], str, str]] = [
    # (id, arguments, error code, fragment of the message)
    ("bad number", ["record", "+1415555", "opt_in", "--account", "acme"], "invalid_address", ""),
    ("bad line", ["line", "add", "+1800555", "--account", "acme"], "invalid_address", ""),
    ("unknown account", ["line", "add", OTHER_LINE, "--account", "nope"], "unknown_account",
     "nope"),
    ("unknown line", ["check", ALICE, "--from", OTHER_LINE, "--purpose", "marketing"],
     "unknown_line", ""),
    ("unknown purpose", ["record", ALICE, "opt_in", "--account", "acme", "--purpose", "promo"],
     "unknown_purpose", "promo"),
    ("unknown purpose in check", ["check", ALICE, "--from", LINE, "--purpose", "promo"],
     "unknown_purpose", "promo"),
    ("naive time", ["record", ALICE, "opt_in", "--account", "acme", "--occurred-at",
     "2025-01-01T00:00:00"], "invalid_time", "no time zone"),
    ("invalid time", ["check", ALICE, "--from", LINE, "--purpose", "marketing", "--at",
     "yesterday"], "invalid_time", "not an ISO-8601 time"),
    ("future time", ["record", ALICE, "opt_in", "--account", "acme", "--occurred-at",
     "2999-01-01T00:00:00Z"], "invalid_time", "future"),
    ("proof without =", ["record", ALICE, "opt_in", "--account", "acme", "--proof", "ip"],
     "invalid_input", "key=value"),
    ("proof with empty key", ["record", ALICE, "opt_in", "--account", "acme", "--proof", "=x"],
     "invalid_input", "key=value"),
    ("proof json broken", ["record", ALICE, "opt_in", "--account", "acme", "--proof-json", "{"],
     "invalid_input", "not valid JSON"),
    ("proof json not object", ["record", ALICE, "opt_in", "--account", "acme", "--proof-json",
     "[1]"], "invalid_input", "JSON object"),
    ("unknown action", ["record", ALICE, "subscribe", "--account", "acme"], "invalid_action",
     "subscribe"),
    ("no scope", ["record", ALICE, "opt_in"], "invalid_input", "--account, --line or --via"),
    ("two scopes", ["record", ALICE, "opt_in", "--account", "acme", "--line", LINE],
     "invalid_input", "exactly one"),
    ("bad channel", ["check", ALICE, "--from", LINE, "--purpose", "marketing", "--channel", "fax"],
     "invalid_channel", "fax"),
    ("bad slug", ["account", "create", "Acme Corp"], "invalid_slug", "Acme Corp"),
    ("bad reach", ["account", "create", "shop", "--reach", "galaxy"], "invalid_reach", "galaxy"),
    ("bad region", ["account", "create", "shop", "--region", "usa"], "invalid_config", "usa"),
    ("account exists", ["account", "create", "acme"], "account_exists", "acme"),
    ("line exists", ["line", "add", LINE, "--account", "acme"], "line_exists", ""),
    ("tenant cannot move", ["account", "update", "acme", "--parent", "acme"], "cross_tenant", ""),
    ("nothing to update", ["account", "update", "acme"], "invalid_input", "nothing to change"),
    ("unknown model", ["purpose", "set", "promos", "--account", "acme", "--model", "strict"],
     "invalid_config", "strict"),
    ("bad quiet hours", ["purpose", "set", "promos", "--account", "acme", "--model",
     "restrictive", "--quiet-hours", "late"], "invalid_time", "21:00-08:00"),
    ("bad ttl", ["purpose", "set", "promos", "--account", "acme", "--model", "restrictive",
     "--ttl-days", "0"], "invalid_time", "positive"),
    ("history half a check", ["history", ALICE, "--account", "acme", "--from", LINE],
     "invalid_input", "--from and --purpose"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "fragment"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_bad_input_is_a_clean_error_with_exit_two(
    acme: Run, args: list[str], code: str, fragment: str
) -> None:
    assert_clean_error(acme(*args), fragment)
    result = acme(*args, "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code
    assert fragment in error["message"]


def test_an_error_about_a_typed_number_shows_it_to_whoever_typed_it(acme: Run) -> None:
    # Masking (C23) protects logs and HTTP answers; the operator needs the value whole
    # to see the typo. The library's own message stays masked.
    result = acme("record", "+1415555012", "opt_in", "--account", "acme")
    assert_clean_error(result, "Error: +1415555012 is not a valid phone number")
    assert "***" not in result.output
    as_json = json.loads(acme("record", "+1415555012", "opt_in", "--account", "acme", "--json")
                         .stdout)["error"]  # fmt: skip
    assert as_json["address"] == "+1415555012" and "***" not in as_json["message"]
    with pytest.raises(InvalidAddress) as raised:
        normalise_phone("+1415555012")
    assert "+1415555012" not in str(raised.value) and "+1415***5012" in str(raised.value)


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["line", "add", "+1800555010", "--account", "acme"], "line +1800555010 is not"),
        (["check", "+1415555012", "--from", LINE, "--purpose", "marketing"], "+1415555012 is not"),
        (["record", "ann@", "opt_in", "--account", "acme", "--channel", "email"], "ann@ is not"),
    ],
)
def test_every_kind_of_typed_address_is_shown_unmasked(
    acme: Run, args: list[str], shown: str
) -> None:
    assert_clean_error(acme(*args), shown)


def test_an_account_cycle_is_refused(acme: Run) -> None:
    ok_json(acme("account", "create", "eu", "--parent", "acme", "--json"))
    ok_json(acme("account", "create", "fr", "--parent", "eu", "--json"))
    assert_clean_error(acme("account", "update", "eu", "--parent", "fr"), "descendant")


def test_history_refuses_to_explain_a_check_from_another_tenant(acme: Run) -> None:
    ok_json(acme("account", "create", "globex", "--region", "US", "--json"))
    ok_json(acme("line", "add", OTHER_LINE, "--account", "globex", "--json"))
    args = ["history", ALICE, "--account", "acme", "--from", OTHER_LINE, "--purpose", "marketing"]
    assert_clean_error(acme(*args), "not in the tenant of account 'acme'")
    assert json.loads(acme(*args, "--json").stdout)["error"]["code"] == "cross_tenant"


def test_check_many_with_an_unknown_line_is_a_clean_error(acme: Run) -> None:
    result = acme("check-many", "-", "--from", OTHER_LINE, "--purpose", "marketing", input=ALICE)
    assert_clean_error(result)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nonsense://x", "unsupported database"),
        ("sqlite:////proc/none/x.db", "cannot create the database folder"),
    ],
)
def test_a_bad_database_url_is_a_clean_error(url: str, fragment: str) -> None:
    assert_clean_error(CliRunner().invoke(app, ["--db", url, "init"]), fragment)


def test_a_file_that_is_not_a_database_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello")
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{path}", "init"])
    assert_clean_error(result, "database error", "file is not a database")
