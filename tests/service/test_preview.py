"""The deliverability preview counts exactly what check_many decides (both databases).

A seeded property test: one varied ledger (opt-ins and opt-outs at line and account
scope, by purpose and topic, pendings, lapses, resumes, at many dates; a purpose with
a TTL, one with quiet hours, one disabled; the C16 revoke-all date), and bounded
examples of questions and recipient lists (known, unknown, non-canonical, invalid and
repeated numbers), each previewed on the small-list path and on the campaign-sized
one, against counting the decisions of ``check_many``.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest

from consentline import Consentline
from consentline.domain.errors import ConsentlineError
from consentline.services import gate
from tests.conftest import START

LINES = ("+18005550100", "+18005550109")
AREAS = ("415", "212", "305", "808", "907")  # five US time zones, for quiet hours
LEDGER = [f"+1{AREAS[i % 5]}555{1000 + i:04d}" for i in range(60)]
PURPOSES = ("marketing", "alerts", "renewals", "paused")
TOPICS = (None, "deals")
EXAMPLES = 20


def _national(number: str) -> str:
    return f"({number[2:5]}) {number[5:8]}-{number[8:]}"


@pytest.fixture
def varied(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    for line in LINES:
        cl.add_line(line, account="acme")
    cl.set_purpose("acme", "alerts", "non_restrictive", quiet_hours="09:00-13:00")
    cl.set_purpose("acme", "renewals", "restrictive", consent_ttl=timedelta(days=30))
    cl.set_purpose("acme", "paused", "disabled")
    cl.set_policy("acme", revoke_all_from=date(2026, 2, 1))
    rng = random.Random(20260302)
    for number in LEDGER:
        for _ in range(rng.randrange(0, 5)):
            action = rng.choice(("opt_in", "opt_in", "opt_out", "pending", "resume", "lapse"))
            scope = {"account": "acme"} if rng.random() < 0.5 else {"line": rng.choice(LINES)}
            purpose = rng.choice((None, "marketing", "alerts", "renewals"))
            topic = rng.choice(TOPICS) if purpose else None
            try:
                cl.record(
                    number,
                    action,
                    purpose=purpose,
                    topic=topic,
                    source="api",
                    occurred_at=START - timedelta(days=rng.randrange(0, 90), hours=rng.random()),
                    **scope,  # type: ignore[arg-type]
                )
            except ConsentlineError:
                continue  # a combination the ledger refuses (e.g. no purpose for an opt-in)
    return cl


def _recipients(rng: random.Random) -> list[str]:
    pool = [
        *LEDGER,
        *(_national(n) for n in LEDGER[:10]),
        *(f"+1415555{n:04d}" for n in range(9000, 9010)),  # valid, not in the ledger
        "nope",
        "+1",
        "",
        "+1 415 555 1000",
    ]
    chosen = rng.sample(pool, rng.randrange(1, len(pool) // 2))
    return chosen + rng.choices(chosen, k=rng.randrange(0, 4))  # some listed twice


@pytest.mark.parametrize("campaign_sized", [False, True], ids=["chunks", "shape-groups"])
def test_the_preview_equals_counting_the_decisions(
    varied: Consentline, campaign_sized: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if campaign_sized:  # lists of 5 or more take the campaign-sized path on this ledger
        monkeypatch.setattr(gate, "SCAN_MIN", 5)
    cl = varied
    rng = random.Random(12 + campaign_sized)
    paths: Counter[str] = Counter()
    for _ in range(EXAMPLES):
        recipients = _recipients(rng)
        question = {
            "from_": rng.choice(LINES),
            "purpose": rng.choice(PURPOSES),
            "topic": rng.choice(TOPICS),
            "at": None if rng.random() < 0.8 else START - timedelta(days=rng.randrange(1, 60)),
        }
        preview = cl.check_many(recipients, summary=True, **question)  # type: ignore[call-overload]
        decisions = list(cl.check_many(recipients, **question))  # type: ignore[call-overload]
        reasons = Counter(d.reason for d in decisions)
        assert preview == {
            "total": len(recipients),
            "allowed": sum(d.allowed for d in decisions),
            "by_reason": dict(sorted(reasons.items())),
        }, (question, recipients)
        paths.update(reasons)
    # The examples reach the decisions that matter (else the test proves little).
    for reason in (
        "opted_in",
        "opted_out",
        "no_consent",
        "not_opted_out",
        "consent_expired",
        "quiet_hours",
        "enforcement_disabled",
        "invalid_address",
    ):
        assert paths[reason] > 0, paths
