"""``check-many --summary`` (the deliverability preview) and ``--campaign``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import ALICE, BOB, LINE, Run, acme, stop_alice  # noqa: F401


def test_check_many_summary_prints_counts_including_invalid_numbers(
    acme: Run,  # noqa: F811
    tmp_path: Path,
) -> None:
    stop_alice(acme)
    recipients = tmp_path / "campaign.txt"
    recipients.write_text(f"{ALICE}\n{BOB}\n(415) 555-0102\nnot-a-number\n")
    result = acme(
        "check-many", str(recipients), "--from", LINE, "--purpose", "transactional", "--summary"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "total": 4,
        "allowed": 2,
        "by_reason": {"invalid_address": 1, "not_opted_out": 2, "opted_out": 1},
    }


def test_check_many_refuses_a_bad_campaign_name(acme: Run, tmp_path: Path) -> None:  # noqa: F811
    recipients = tmp_path / "campaign.txt"
    recipients.write_text(f"{BOB}\n")
    result = acme(
        "check-many",
        str(recipients),
        "--from",
        LINE,
        "--purpose",
        "marketing",
        "--campaign",
        "Bad Name",
    )
    assert result.exit_code == 2
    good = acme(
        "check-many",
        str(recipients),
        "--from",
        LINE,
        "--purpose",
        "marketing",
        "--campaign",
        "spring-sale",
    )
    assert good.exit_code == 0, good.output
