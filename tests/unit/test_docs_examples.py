"""docs/compliance.md shows how the classifier reads some real replies; this keeps it true.

Every reply quoted in that table (in backticks, first column) is classified and must
have the intent and the rule the table gives (C13: the rule is what is recorded).
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

from consentline.domain.classifier import classify

DOC = Path(__file__).resolve().parents[2] / "docs" / "compliance.md"
INTENTS = ("opt_out", "opt_in", "help", "ambiguous", "none")
_RULE = re.compile(r"C\d+\.[\w.*]+|none(?:\.\w+)?")
_QUOTE = re.compile(r"`([^`]*)`")


def _rows() -> list[tuple[str, str, list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## How the classifier reads some real replies", 1)[1]
    cases: list[tuple[str, str, list[str]]] = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        replies = _QUOTE.findall(cells[0])
        intents = [w for w in re.findall(r"[a-z_]+", cells[1]) if w in INTENTS]
        rules = _RULE.findall(cells[2])
        for i, reply in enumerate(replies):
            intent = intents[i] if len(intents) == len(replies) else intents[0]
            expected = [rules[i]] if len(rules) == len(replies) else rules
            cases.append((reply, intent, expected))
    return cases


def test_the_table_is_found_and_not_trivial() -> None:
    assert len(_rows()) >= 40


@pytest.mark.parametrize(("reply", "intent", "rules"), _rows(), ids=lambda v: str(v)[:40])
def test_every_reply_of_the_docs_table_classifies_as_shown_C13(
    reply: str, intent: str, rules: list[str]
) -> None:
    result = classify(reply)
    assert result.intent == intent, result
    if rules:
        assert any(fnmatch(result.rule, rule) for rule in rules), (result.rule, rules)
