"""The import mapping (pure): presets, value maps, times, proof of consent, row keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consentline.domain.errors import InvalidImport
from consentline.domain.import_mapping import (
    RowError,
    batch_digest,
    build_mapping,
    parse_value_map,
    plan_row,
    row_key,
)


def test_the_legacy_preset_reads_checked_and_unchecked_words() -> None:
    m = build_mapping({"address": "p"}, preset="legacy-opt-out:box")
    for word in ("true", "1", "Y", "checked", " YES "):
        assert plan_row({"p": "x", "box": word}, m, 2).action == "opt_out"
    unchecked = plan_row({"p": "x", "box": "0"}, m, 2)
    assert unchecked.action == "opt_in" and not unchecked.proof_of_consent
    assert unchecked.proof["legacy_field"] == "box" and unchecked.proof["value"] == "0"
    assert unchecked.proof["proof_of_consent"] is False
    with pytest.raises(RowError) as caught:
        plan_row({"p": "x", "box": "perhaps"}, m, 2)
    assert (caught.value.column, caught.value.code) == ("box", "unmapped_value")


def test_consent_text_on_a_legacy_row_is_proof_and_drops_the_mark() -> None:
    m = build_mapping({"address": "p", "proof.consent_text": "t"}, preset="legacy-opt-out:box")
    row = plan_row({"p": "x", "box": "false", "t": "Yes, text me"}, m, 2)
    assert row.proof_of_consent and "proof_of_consent" not in row.proof


def test_times_need_a_zone_and_read_a_format() -> None:
    m = build_mapping({"address": "p", "occurred_at": "t"}, fixed={"action": "opt_out"})
    assert plan_row({"p": "x", "t": "2026-01-01T00:00:00Z"}, m, 2).occurred_at == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    with pytest.raises(RowError, match="no zone"):
        plan_row({"p": "x", "t": "2026-01-01T00:00:00"}, m, 2)
    zoned = build_mapping(
        {"address": "p", "occurred_at": "t"},
        fixed={"action": "opt_out"},
        time_format="%d.%m.%Y",
        timezone="Europe/Paris",
    )
    assert plan_row({"p": "x", "t": "01.07.2026"}, zoned, 2).occurred_at == datetime(
        2026, 6, 30, 22, tzinfo=UTC
    )
    none = plan_row({"p": "x", "t": ""}, m, 2)
    assert none.occurred_at is None and none.proof == {"time_source": "import"}


def test_bad_mappings_are_refused() -> None:
    for kwargs in (
        {"columns": {"address": "p", "colour": "c"}, "fixed": {"action": "opt_in"}},
        {"columns": {"address": "p", "action": "a"}, "preset": "legacy-opt-out:b"},
        {"columns": {"address": "p"}, "fixed": {"action": "subscribe"}},
        {
            "columns": {"address": "p", "purpose": "x"},
            "fixed": {"action": "opt_in", "purpose": "y"},
        },
        {"columns": {"address": "p"}, "fixed": {"action": "opt_in"}, "time_format": "YYYY"},
    ):
        columns = kwargs.pop("columns")
        with pytest.raises(InvalidImport):
            build_mapping(columns, **kwargs)  # type: ignore[arg-type]
    assert parse_value_map("Status:Do Not Text=opt_out") == ("Status", "Do Not Text", "opt_out")
    with pytest.raises(InvalidImport):
        parse_value_map("Status=opt_out")


def test_keys_depend_on_the_batch_and_the_raw_row_only() -> None:
    m = build_mapping({"address": "p"}, fixed={"action": "opt_in"})
    other = build_mapping({"address": "p"}, fixed={"action": "opt_out"})
    batch = batch_digest("abc", m, ["acme", None, None])
    assert batch == batch_digest("abc", m, ["acme", None, None])
    assert batch != batch_digest("abc", other, ["acme", None, None])
    assert batch != batch_digest("abd", m, ["acme", None, None])
    assert row_key(batch, b"a") == row_key(batch, b"a") != row_key(batch, b"b")
    assert len(row_key(batch, b"a")) < 255
