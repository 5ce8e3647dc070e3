"""``check_many`` over invalid recipients stays cheap and exact (issue 8, defect 10).

Cheap is asserted by what is called, not by timing: a recipient that cannot be a
valid number never reaches ``phonenumbers.parse``, and a recipient that is not in
E.164 form is parsed once, not once to look its row up and again to decide it.
"""

from __future__ import annotations

from collections import Counter

import pytest

from consentline import Consentline
from consentline.domain import addresses
from consentline.services import gate

LINE = "+18005550100"
IMPOSSIBLE = [f"+10{i:09d}" for i in range(300)] + [f"+1212{i % 2}{i:06d}" for i in range(300)]


def _setup(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.record("+14155550123", "opt_in", account="acme", purpose="marketing", source="web_form")


@pytest.mark.parametrize("scan", [False, True])
def test_impossible_numbers_never_reach_the_parser(
    cl: Consentline, scan: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(cl)
    if scan:
        monkeypatch.setattr(gate, "SCAN_MIN", 1)
    real = addresses.phonenumbers.parse
    parsed: Counter[str] = Counter()

    def counting(text: str, region: str | None = None, *args: object, **kwargs: object) -> object:
        parsed[text] += 1
        return real(text, region, *args, **kwargs)

    monkeypatch.setattr(addresses.phonenumbers, "parse", counting)
    recipients = [*IMPOSSIBLE, "+14155550123", "n/a", ""]
    decisions = list(cl.check_many(recipients, from_=LINE, purpose="marketing"))
    assert [d.reason for d in decisions] == ["invalid_address"] * len(IMPOSSIBLE) + [
        "opted_in",
        "invalid_address",
        "invalid_address",
    ]
    assert [d.to for d in decisions][: len(IMPOSSIBLE)] == IMPOSSIBLE
    assert sum(parsed.values()) == 0  # the known number is found as it is, unparsed


def test_a_national_format_recipient_is_parsed_once(
    cl: Consentline, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(cl)
    addresses._parse_phone.cache_clear()
    real = addresses.phonenumbers.parse
    parsed: Counter[str] = Counter()

    def counting(text: str, region: str | None = None, *args: object, **kwargs: object) -> object:
        parsed[text] += 1
        return real(text, region, *args, **kwargs)

    monkeypatch.setattr(addresses.phonenumbers, "parse", counting)
    recipients = ["(415) 555-0123", "(012) 555-0101", "junk-0000001"]
    decisions = list(cl.check_many(recipients, from_=LINE, purpose="marketing"))
    assert [(d.to, d.reason) for d in decisions] == [
        ("+14155550123", "opted_in"),
        ("(012) 555-0101", "invalid_address"),
        ("junk-0000001", "invalid_address"),
    ]
    assert parsed == dict.fromkeys(recipients, 1)
