"""``classify``, ``inbound``, ``review``, ``outbox`` and ``account configure``, end to end.

Each test runs the real command line against a SQLite file of its own.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from consentline.cli import app
from consentline.cli.classify import classify_lines

LINE = "+18005550100"
OTHER_LINE = "+18005550111"
ALICE = "+14155550101"
BOB = "+14155550102"

Run = Callable[..., Result]


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ok_text(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit status 2, ``Error: ...`` on stderr, and no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


def json_error(result: Result) -> dict[str, Any]:
    assert result.exit_code == 2, result.output
    error: dict[str, Any] = json.loads(result.stdout)["error"]
    return error


@pytest.fixture
def acme(cli: Run) -> Run:
    """A tenant ``acme`` (region US) with one line and its program details."""
    ok_json(cli("account", "create", "acme", "--region", "US", "--json"))
    ok_json(cli("line", "add", LINE, "--account", "acme", "--json"))
    ok_json(
        cli(
            "account", "configure", "acme", "--program-name", "Acme Alerts", "--support-contact",
            "help@acme.example", "--frequency", "4 msgs/month", "--json",
        )
    )  # fmt: skip
    return cli


def inbound(cli: Run, text: str, *extra: str, sender: str = ALICE) -> Any:
    return ok_json(cli("inbound", "--from", sender, "--to", LINE, "--text", text, "--json", *extra))


def opt_in_alice(cli: Run) -> Any:
    return ok_json(
        cli("record", ALICE, "opt_in", "--account", "acme", "--purpose", "marketing", "--json")
    )


def marketing_check(cli: Run, to: str = ALICE) -> Any:
    return ok_json(cli("check", to, "--from", LINE, "--purpose", "marketing", "--json"))


def outbox(cli: Run, *extra: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok_json(cli("outbox", "list", "--json", *extra))
    return found


# -- documentation ---------------------------------------------------------------------
NEW_COMMANDS = [
    ["classify"],
    ["inbound"],
    ["review"],
    ["review", "list"],
    ["review", "decide"],
    ["outbox"],
    ["outbox", "list"],
    ["account", "configure"],
]


@pytest.mark.parametrize("path", NEW_COMMANDS, ids=" ".join)
def test_every_new_command_is_registered_and_documented(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "consentline " in result.stdout.split("Example:", 1)[1]
    if path[-1] not in ("review", "outbox"):
        assert "--json" in result.stdout


def test_configure_joins_the_existing_account_group() -> None:
    result = CliRunner().invoke(app, ["account", "--help"], env={"COLUMNS": "200"})
    for command in ("create", "update", "list", "configure"):
        assert command in result.stdout


# -- classify --------------------------------------------------------------------------
CLASSIFY_CASES: list[tuple[str, str, str, str | None, str | None, str]] = [
    # (text, intent, rule, keyword, language, what an exact-match provider does)
    ("STOP", "opt_out", "C2.per_se", "STOP", "en", "opt_out"),
    ("ARRET", "opt_out", "C4.pack.fr", "ARRET", "fr", "none"),
    ("S T O P", "opt_out", "C2.per_se", "STOP", "en", "none"),
    ("cancel my appointment", "ambiguous", "C8.contains_opt_out_word", "CANCEL", "en", "none"),
    ("HELP", "help", "C11.help", "HELP", "en", "help"),
]


@pytest.mark.parametrize(
    ("message", "intent", "rule", "keyword", "language", "provider"),
    CLASSIFY_CASES,
    ids=[case[0] for case in CLASSIFY_CASES],
)
def test_classify_prints_the_classification(
    cli: Run,
    message: str,
    intent: str,
    rule: str,
    keyword: str | None,
    language: str | None,
    provider: str,
) -> None:
    found = ok_json(cli("classify", message, "--json"))
    assert list(found)[:9] == [
        "intent", "rule", "keyword", "language", "scope", "provider_exact", "version",
        "normalised", "topic",
    ]  # fmt: skip
    assert (found["intent"], found["rule"], found["keyword"], found["language"]) == (
        intent,
        rule,
        keyword,
        language,
    )
    assert found["scope"] == {"kind": "default", "name": None}
    assert found["provider_exact"] == provider
    assert found["version"]
    assert found["topic"] is None

    human = ok_text(cli("classify", message))
    assert human.startswith(intent)
    assert f"rule        {rule}" in human
    assert f"keyword     {keyword}" in human
    assert f"language    {language}" in human
    assert "scope       default (the account's keyword reach)" in human
    assert f"provider    {provider}" in human
    assert f'normalised  "{found["normalised"]}"' in human
    assert f"version     {found['version']}" in human


def test_classify_says_when_an_exact_matcher_misses_an_opt_out(cli: Run) -> None:
    human = ok_text(cli("classify", "ＳＴＯＰ"))  # full-width letters (C1)
    assert human.startswith("opt_out")
    assert "provider    none: an exact matcher misses this opt-out" in human
    assert 'normalised  "stop"' in human


def test_classify_shows_a_parsed_scope(cli: Run) -> None:
    found = ok_json(cli("classify", "STOP MARKETING", "--json"))
    assert found["scope"] == {"kind": "purpose", "name": "marketing"}
    assert "scope       purpose marketing" in ok_text(cli("classify", "STOP MARKETING"))


def test_classify_locale_picks_the_language_of_a_shared_word(cli: Run) -> None:
    assert ok_json(cli("classify", "CANCELAR", "--json"))["language"] == "es"
    found = ok_json(cli("classify", "CANCELAR", "--locale", "pt-BR", "--json"))
    assert (found["language"], found["rule"]) == ("pt", "C4.pack.pt")


def test_classify_jsonl_streams_one_line_per_input_line(cli: Run) -> None:
    lines = [
        '{"text": "ARRET"}',
        '{"text": "CANCELAR", "locale": "pt-BR"}',
        "{not json",
        '{"text": "yes please", "locale": "en"}',
        '["STOP"]',
        '{"text": "Stop."}',
    ]
    result = cli("classify", "--jsonl", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    assert [(r.get("intent"), r.get("language")) for r in rows] == [
        ("opt_out", "fr"),
        ("opt_out", "pt"),
        (None, None),
        ("opt_in", "en"),
        (None, None),
        ("opt_out", "en"),
    ]
    assert rows[2]["error"]["code"] == "invalid_input"
    assert rows[2]["error"]["line"] == 3
    assert "not valid JSON" in rows[2]["error"]["message"]
    assert rows[4]["error"]["line"] == 5
    assert list(rows[0]) == list(ok_json(cli("classify", "ARRET", "--json")))
    assert result.stderr.strip() == "6 lines: 4 classified, 2 malformed"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("", "empty line"),
        ('{"locale": "fr"}', 'missing "text"'),
        ('{"text": 42}', "must be a string"),
        ('{"text": "STOP", "locale": "french please"}', "not a language tag"),
        ('{"text": "' + "a" * 10_001 + '"}', "longer than 10000"),
        ("[" * 100_000, "not valid JSON"),
    ],
    ids=["blank", "no text", "text not a string", "bad locale", "too long", "too deep"],
)
def test_classify_jsonl_reports_each_kind_of_malformed_line(
    cli: Run, line: str, fragment: str
) -> None:
    result = cli("classify", "--jsonl", "-", "--json", input=f'{line}\n{{"text": "STOP"}}\n')
    assert result.exit_code == 2
    error, fine = (json.loads(row) for row in result.stdout.splitlines())
    assert error["error"]["line"] == 1
    assert fragment in error["error"]["message"]
    assert fine["intent"] == "opt_out"
    assert result.stderr == ""  # --json: no summary


def test_classify_jsonl_reads_a_file_and_applies_the_default_locale(
    cli: Run, tmp_path: Path
) -> None:
    source = tmp_path / "replies.jsonl"
    source.write_bytes('{"text": "CANCELAR"}\n{"text": "ARRÊT"}\n'.encode())
    result = cli("classify", "--jsonl", str(source), "--locale", "pt")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["keyword"], r["language"]) for r in rows] == [("CANCELAR", "pt"), ("ARRET", "fr")]
    assert result.stderr.strip() == "2 lines: 2 classified, 0 malformed"


def test_classify_jsonl_answers_each_line_before_reading_the_next() -> None:
    out = io.StringIO()

    def source() -> Iterator[bytes]:
        yield b'{"text": "STOP"}\n'
        assert out.getvalue().count("\n") == 1  # the first answer is out already
        yield b'{"text": "HELP"}\n'

    assert classify_lines(source(), out, None) == (2, 0)
    assert [json.loads(line)["intent"] for line in out.getvalue().splitlines()] == [
        "opt_out",
        "help",
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["classify", "STOP", "--jsonl", "-"], "not both"),
        (["classify"], "give TEXT"),
        (["classify", "STOP", "--locale", "fr CA"], "not a language tag"),
    ],
    ids=["text and jsonl", "neither", "bad locale"],
)
def test_classify_usage_mistakes_are_clean_errors(cli: Run, args: list[str], fragment: str) -> None:
    assert_clean_error(cli(*args, input=""), fragment)
    error = json_error(cli(*args, "--json", input=""))
    assert error["code"] == "invalid_input"
    assert fragment in error["message"]


# -- inbound ---------------------------------------------------------------------------
def test_inbound_stop_records_the_opt_out_and_queues_one_confirmation(acme: Run) -> None:
    opt_in_alice(acme)
    result = inbound(acme, "Stop.", "--message-id", "SM1", "--provider", "twilio")
    assert (result["duplicate"], result["decided_by"], result["review_id"]) == (
        False,
        "classifier",
        None,
    )
    assert result["classification"]["intent"] == "opt_out"
    assert result["classification"]["rule"] == "C2.per_se"
    [event] = result["events"]
    assert (event["action"], event["where"], event["source"]) == (
        "opt_out",
        "account acme",
        "keyword",
    )
    assert event["proof"]["message_id"] == "SM1"
    assert event["proof"]["text"] == "Stop."  # the raw body is the evidence (C1)
    reply = result["reply"]
    assert (reply["kind"], reply["status"], reply["to"], reply["from"]) == (
        "opt_out_confirmation",
        "pending",
        ALICE,
        LINE,
    )
    assert reply["body"].startswith("Acme Alerts: you are unsubscribed")
    assert reply["not_after"] is not None  # C17: within 5 minutes or never
    assert marketing_check(acme)["reason"] == "opted_out"


def test_inbound_prints_what_it_did(acme: Run) -> None:
    human = ok_text(acme("inbound", "--from", ALICE, "--to", LINE, "--text", "STOP"))
    assert "Message #1 handled" in human
    assert "intent    opt_out  rule C2.per_se, keyword STOP, language en" in human
    assert "event     #1 opt_out · account acme · all purposes" in human
    assert "reply     #1 opt_out_confirmation (en), pending, send by" in human
    assert "Acme Alerts: you are unsubscribed" in human


def test_a_repeated_message_id_is_a_duplicate_with_no_second_reply(acme: Run) -> None:
    first = inbound(acme, "STOP", "--message-id", "SM1")
    again = inbound(acme, "STOP", "--message-id", "SM1")
    assert again["duplicate"] is True
    assert again["id"] == first["id"]
    assert [e["id"] for e in again["events"]] == [e["id"] for e in first["events"]]
    assert len(outbox(acme)) == 1  # C27
    human = ok_text(acme("inbound", "--from", ALICE, "--to", LINE, "--text", "STOP",
                         "--message-id", "SM1"))  # fmt: skip
    assert f"Duplicate of message #{first['id']} (message id SM1)" in human
    first_reply = first["reply"]["id"]
    assert (
        f"none: a duplicate is never answered again (the first reply was #{first_reply})" in human
    )
    assert len(ok_json(acme("history", ALICE, "--account", "acme", "--json"))["events"]) == 1


def test_a_second_stop_is_recorded_but_not_confirmed_again(acme: Run) -> None:
    inbound(acme, "STOP")
    human = ok_text(acme("inbound", "--from", ALICE, "--to", LINE, "--text", "stop please"))
    assert "event     #2 opt_out" in human
    assert "reply     none: already opted out, no second confirmation (C27)" in human
    assert len(outbox(acme)) == 1


def test_start_restores_what_stop_revoked(acme: Run) -> None:
    opt_in_alice(acme)
    inbound(acme, "STOP")
    assert marketing_check(acme)["reason"] == "opted_out"
    start = inbound(acme, "START")
    assert start["classification"]["intent"] == "opt_in"
    assert [e["action"] for e in start["events"]] == ["resume"]
    assert start["reply"]["kind"] == "welcome"
    assert marketing_check(acme)["reason"] == "opted_in"


def test_start_from_a_number_that_never_consented_creates_nothing(acme: Run) -> None:
    result = inbound(acme, "START", sender=BOB)
    assert (result["events"], result["reply"]) == ([], None)
    human = ok_text(acme("inbound", "--from", BOB, "--to", LINE, "--text", "START"))
    assert "event     none: no opt-out to restore and no double opt-in to confirm (C12)" in human


def test_a_late_stop_is_recorded_but_its_confirmation_is_dropped(acme: Run) -> None:
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    result = inbound(acme, "STOP", "--received-at", an_hour_ago)
    assert result["events"][0]["occurred_at"] == datetime.fromisoformat(an_hour_ago).isoformat()
    assert result["reply"]["status"] == "dropped"  # C17
    assert outbox(acme, "--status", "pending") == []
    assert [m["status"] for m in outbox(acme, "--status", "dropped")] == ["dropped"]


def test_a_provider_stop_hint_is_honoured_without_a_reply(acme: Run) -> None:
    result = inbound(acme, "ok thanks", "--provider-hint", "STOP")
    assert result["classification"]["intent"] == "none"
    assert result["decided_by"] == "provider_hint"
    assert [e["action"] for e in result["events"]] == ["opt_out"]
    assert result["reply"] is None  # the provider answered already
    human = ok_text(acme("inbound", "--from", BOB, "--to", LINE, "--text", "x",
                         "--provider-hint", "STOP"))  # fmt: skip
    assert "decided   by the provider_hint: opt_out" in human
    assert "reply     none: the provider already answered this keyword" in human


def test_help_queues_the_help_reply(acme: Run) -> None:
    result = inbound(acme, "HELP")
    assert result["events"] == []
    assert result["reply"]["kind"] == "help"
    assert "help@acme.example" in result["reply"]["body"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--to", OTHER_LINE], "unknown_line"),
        (["--from", "+1415555"], "invalid_address"),
        (["--received-at", "yesterday"], "invalid_time"),
        (["--channel", "fax"], "invalid_channel"),
    ],
    ids=["unknown line", "bad number", "bad time", "bad channel"],
)
def test_inbound_bad_input_is_a_clean_error(acme: Run, args: list[str], code: str) -> None:
    base = {"--from": ALICE, "--to": LINE, "--text": "STOP"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [item for pair in {**base, **given}.items() for item in pair]
    assert_clean_error(acme("inbound", *argv))
    assert json_error(acme("inbound", *argv, "--json"))["code"] == code


# -- review ----------------------------------------------------------------------------
def test_an_ambiguous_reply_waits_for_review_and_the_decision_writes_an_event(acme: Run) -> None:
    opt_in_alice(acme)
    result = inbound(acme, "cancel my appointment")
    assert result["classification"]["intent"] == "ambiguous"
    assert (result["events"], result["reply"]) == ([], None)
    item_id = result["review_id"]
    assert item_id is not None
    assert marketing_check(acme)["reason"] == "opted_in"  # nothing changed yet (C8)

    [item] = ok_json(acme("review", "list", "--json"))
    assert (item["id"], item["account"], item["address"], item["text"], item["status"]) == (
        item_id,
        "acme",
        ALICE,
        "cancel my appointment",
        "open",
    )
    table = ok_text(acme("review", "list"))
    assert "1 review item (open)" in table
    assert "cancel my appointment" in table
    assert "C8.contains_opt_out_word" in table

    decided = ok_json(
        acme("review", "decide", str(item_id), "--decision", "opt_out", "--reviewer", "alice",
             "--note", "asked to be removed", "--json")
    )  # fmt: skip
    assert decided["item"]["status"] == "decided"
    assert (decided["item"]["decision"], decided["item"]["reviewer"]) == ("opt_out", "alice")
    event = decided["event"]
    assert (event["action"], event["source"], event["proof"]["actor"]) == (
        "opt_out",
        "agent",
        "alice",
    )
    assert decided["item"]["event_id"] == event["id"]
    assert marketing_check(acme)["reason"] == "opted_out"
    assert [m["kind"] for m in outbox(acme)] == ["opt_out_confirmation"]

    assert ok_json(acme("review", "list", "--json")) == []
    assert "No open review items." in ok_text(acme("review", "list"))
    assert "opt_out by alice" in ok_text(acme("review", "list", "--status", "all"))
    again = acme("review", "decide", str(item_id), "--decision", "none", "--reviewer", "bob")
    assert_clean_error(again, "already decided")


def test_review_decide_prints_the_event_and_whether_a_confirmation_went_out(acme: Run) -> None:
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    late = inbound(acme, "don't stop", "--received-at", an_hour_ago)["review_id"]
    fresh = inbound(acme, "cancel my appointment", sender=BOB)["review_id"]
    human = ok_text(
        acme("review", "decide", str(late), "--decision", "opt_out", "--reviewer", "alice")
    )
    assert f"Review #{late} decided: opt_out by alice" in human
    assert "event     #1 opt_out · account acme · all purposes" in human
    assert "reply     none: more than 5 minutes after receipt (C17)" in human
    human = ok_text(
        acme("review", "decide", str(fresh), "--decision", "opt_out", "--reviewer", "alice")
    )
    assert "reply     opt_out_confirmation queued (within 5 minutes of receipt, C17)" in human
    assert [m["to"] for m in outbox(acme)] == [BOB]


def test_review_decide_none_changes_no_consent(acme: Run) -> None:
    item_id = inbound(acme, "NO")["review_id"]
    decided = ok_json(
        acme("review", "decide", str(item_id), "--decision", "none", "--reviewer", "bob",
             "--json")
    )  # fmt: skip
    assert decided["event"] is None
    assert decided["item"]["decision"] == "none"
    assert outbox(acme) == []


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["review", "list", "--status", "closed"], "invalid_input", "open, decided or all"),
        (["review", "list", "--limit", "0"], "invalid_input", "at least 1"),
        (["review", "list", "--account", "nope"], "unknown_account", "nope"),
        (["review", "decide", "99", "--decision", "opt_out", "--reviewer", "alice"],
         "unknown_review_item", "#99"),
        (["review", "decide", "1", "--decision", "maybe", "--reviewer", "alice"],
         "invalid_input", "opt_out or none"),
        (["outbox", "list", "--status", "queued"], "invalid_input", "pending, sent"),
        (["outbox", "list", "--limit", "-1"], "invalid_input", "at least 1"),
    ],
    ids=["review status", "review limit", "review account", "unknown item", "bad decision",
         "outbox status", "outbox limit"],
)  # fmt: skip
def test_review_and_outbox_bad_input_is_a_clean_error(
    acme: Run, args: list[str], code: str, fragment: str
) -> None:
    assert_clean_error(acme(*args), fragment)
    error = json_error(acme(*args, "--json"))
    assert error["code"] == code
    assert fragment in error["message"]


# -- account configure -----------------------------------------------------------------
def test_a_configured_topic_keyword_opts_in_to_the_topic(acme: Run) -> None:
    configured = ok_json(
        acme("account", "configure", "acme", "--topic-keyword", "VOLUNTEER=volunteer", "--json")
    )
    assert configured["account"] == "acme"
    assert configured["settings"]["topic_keywords"] == {"VOLUNTEER": "volunteer"}
    assert configured["settings"]["program_name"] == "Acme Alerts"  # kept from before
    result = inbound(acme, "volunteer")
    assert result["classification"]["scope"] == {"kind": "topic", "name": "volunteer"}
    [event] = result["events"]
    assert (event["action"], event["topic"], event["where"]) == (
        "opt_in",
        "volunteer",
        "account acme",
    )
    assert result["reply"]["kind"] == "welcome"


def test_configure_prints_warnings_and_the_effective_settings(acme: Run) -> None:
    human = ok_text(
        acme("account", "configure", "acme", "--opt-in-keyword", "GO", "--keyword-reach",
             "STOPALL=line", "--no-typo-tolerance", "--language", "fr")
    )  # fmt: skip
    assert "Configured account acme" in human
    assert "warning: GO is shorter than 4 characters" in human
    assert "opt-in keywords       GO" in human
    assert "keyword reach         STOPALL → line" in human
    assert "typo tolerance        no" in human
    assert "start creates opt-in  no (default)" in human
    assert "program name          Acme Alerts" in human
    assert "reply language        fr" in human


def test_configure_show_prints_the_effective_settings_inherited_down_the_tree(acme: Run) -> None:
    ok_json(acme("account", "create", "acme-eu", "--parent", "acme", "--json"))
    ok_json(acme("account", "configure", "acme-eu", "--frequency", "2 msgs/week", "--json"))
    shown = ok_json(acme("account", "configure", "acme-eu", "--show", "--json"))
    assert shown == {
        "program_name": "Acme Alerts",
        "support_contact": "help@acme.example",
        "frequency": "2 msgs/week",
    }
    human = ok_text(acme("account", "configure", "acme-eu", "--show"))
    assert "Configured" not in human
    assert "Effective inbound settings of acme-eu:" in human
    assert "frequency             2 msgs/week" in human


def test_a_configured_template_is_used_in_replies(acme: Run) -> None:
    template = (
        "en:help={program}: help at {support}. Up to {frequency}."
        " Msg & data rates may apply. Reply STOP to quit."
    )
    ok_json(acme("account", "configure", "acme", "--template", template, "--json"))
    assert inbound(acme, "HELP")["reply"]["body"].endswith("Reply STOP to quit.")


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--opt-out-keyword", "OK"], "invalid_keyword", "everyday word"),
        (["--opt-in-keyword", "STOP"], "invalid_keyword", "built-in opt_out keyword"),
        (["--template", "en:opt_out_confirmation={program}: unsubscribed. Get 20% off today!"],
         "invalid_config", "promotional"),
        (["--template", "en:welcome={program}: welcome!"], "invalid_config", "missing"),
        (["--template", "en-help=text"], "invalid_input", "LANG:KIND"),
        (["--topic-keyword", "VOLUNTEER"], "invalid_input", "WORD=topic"),
        (["--keyword-reach", "STOPALL=galaxy"], "invalid_reach", "galaxy"),
        (["--language", "de"], "invalid_config", "de"),
        ([], "invalid_input", "nothing to configure"),
    ],
    ids=["everyday word", "built-in collision", "promotional confirmation", "welcome lacks CTIA",
         "template form", "topic form", "bad reach", "bad language", "nothing"],
)  # fmt: skip
def test_configure_refuses_bad_settings_cleanly(
    acme: Run, args: list[str], code: str, fragment: str
) -> None:
    assert_clean_error(acme("account", "configure", "acme", *args), fragment)
    error = json_error(acme("account", "configure", "acme", *args, "--json"))
    assert error["code"] == code
    assert fragment in error["message"]
    shown = ok_json(acme("account", "configure", "acme", "--show", "--json"))
    assert shown == {
        "program_name": "Acme Alerts",
        "support_contact": "help@acme.example",
        "frequency": "4 msgs/month",
    }  # nothing was saved


def test_configure_an_unknown_account_is_a_clean_error(cli: Run) -> None:
    assert_clean_error(cli("account", "configure", "nope", "--show"), "nope")


# -- outbox ----------------------------------------------------------------------------
def test_outbox_list_shows_the_queued_replies(acme: Run) -> None:
    opt_in_alice(acme)
    inbound(acme, "STOP")
    inbound(acme, "START")
    inbound(acme, "HELP", sender=BOB)
    listed = outbox(acme)
    assert [(m["kind"], m["to"], m["status"]) for m in listed] == [
        ("opt_out_confirmation", ALICE, "pending"),
        ("welcome", ALICE, "pending"),
        ("help", BOB, "pending"),
    ]
    assert set(listed[0]) >= {"id", "from", "body", "created_at", "not_after", "attempts"}
    assert outbox(acme, "--status", "sent") == []
    assert len(outbox(acme, "--limit", "2")) == 2
    table = ok_text(acme("outbox", "list"))
    assert "3 replies" in table
    for kind in ("opt_out_confirmation", "welcome", "help"):
        assert kind in table
    assert "Acme Alerts: you are" in table
    assert ok_text(acme("outbox", "list", "--status", "failed")).strip() == (
        "No failed replies in the outbox."
    )
