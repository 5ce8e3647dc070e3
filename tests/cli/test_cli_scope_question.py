"""``account configure --scope-*`` and the scope questions in ``history`` (C17, C28)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

import consentline

LINE = "+18005550100"
ALICE = "+14155550101"
Run = Callable[..., Result]


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def ok_json(result: Result) -> Any:
    return json.loads(ok(result))


def assert_clean_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and fragment in result.stderr
    assert "Traceback" not in result.output


def inbound(cli: Run, text: str, message_id: str) -> Any:
    return ok_json(
        cli("inbound", "--from", ALICE, "--to", LINE, "--text", text, "--message-id", message_id,
            "--json")
    )  # fmt: skip


@pytest.fixture
def acme(cli: Run) -> Run:
    """A tenant ``acme`` (region US) with one line."""
    ok(cli("account", "create", "acme", "--region", "US"))
    ok(cli("line", "add", LINE, "--account", "acme"))
    return cli


ORDERS = "1=purpose:transactional:order updates"


def test_configure_turns_the_question_on_and_shows_it(acme: Run) -> None:
    out = ok(acme("account", "configure", "acme", "--scope-question", "--scope-category", ORDERS))
    assert "warning: the opt-out confirmation with its scope question (en) takes 2" in out
    assert "scope question        on: 1 → purpose transactional (order updates);" in out
    settings = ok_json(acme("account", "configure", "acme", "--scope-window", "12", "--json"))
    question = settings["settings"]["scope_question"]
    assert question["window_hours"] == 12 and question["categories"][0]["code"] == "1"  # kept
    off = ok(acme("account", "configure", "acme", "--no-scope-question"))
    assert "scope question        off: 1 → purpose transactional" in off


def test_a_bad_scope_setting_is_a_clean_error(acme: Run) -> None:
    def configure(*options: str) -> Result:
        return acme("account", "configure", "acme", *options)

    assert_clean_error(configure("--scope-category", "1:transactional"), "CODE=purpose:NAME:LABEL")
    on = "--scope-question"
    assert_clean_error(configure(on, "--scope-category", "1=purpose:loyalty:x"), "loyalty")
    assert_clean_error(configure(on, "--scope-category", "END=purpose:marketing:x"), "END")
    assert_clean_error(configure(on), "category")


def test_history_shows_the_question_and_its_answer(acme: Run, db_path: Path) -> None:
    ok(acme("account", "configure", "acme", "--scope-question", "--scope-category", ORDERS))
    stop = inbound(acme, "STOP", "SM1")
    assert "reply 1 for order updates" in stop["reply"]["body"]
    with consentline.connect(f"sqlite:///{db_path}") as cl:
        cl.mark_replies([stop["reply"]["id"]], "sent")  # as the reply worker does
    answer = inbound(acme, "1", "SM2")
    assert answer["decided_by"] == "scope_answer"
    assert [e["source"] for e in answer["events"]] == ["scope_answer"]

    out = ok(acme("history", ALICE, "--account", "acme"))
    assert "Scope questions" in out and "answered" in out
    assert "reply 1 for order updates" in out and "'1' (message SM2)" in out
    found = ok_json(acme("history", ALICE, "--account", "acme", "--json"))
    (question,) = found["scope_questions"]
    assert question["line"] == LINE and question["answer"]["text"] == "1"
    assert question["answer"]["events"] == [found["events"][-1]["id"]]
