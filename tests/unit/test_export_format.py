"""The export format and its offline check (domain/exports.py): no database.

A chain is built here with the ledger's own payload and hash, so the check is
tested against exactly what ``record`` writes.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from consentline.domain.exports import (
    check_export,
    csv_rows,
    dump_line,
    end_line,
    event_line,
    export_header,
)
from consentline.domain.ledger import EVENT_FIELDS, GENESIS, StoredEvent, chain_hash


def chain(length: int, tenant_id: int = 1) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    previous = GENESIS
    for seq in range(1, length + 1):
        draft = StoredEvent(
            id=seq,
            tenant_id=tenant_id,
            seq=seq,
            address=f"+1415555{seq:04d}",
            channel="sms",
            action="opt_in" if seq % 3 else "opt_out",
            scope="A1" if seq % 2 else "L2",
            purpose="marketing" if seq % 2 else None,
            topic=None,
            occurred_us=1_700_000_000_000_000 + seq,
            recorded_us=1_700_000_000_000_000 + seq,
            source="web_form",
            proof=json.dumps({"form": f"f{seq}"}, separators=(",", ":")),
            idempotency_key=None,
            prev_hash=previous,
            hash="",
        )
        event = replace(draft, hash=chain_hash(previous, draft.payload()))
        events.append(event)
        previous = event.hash
    return events


def export(events: list[StoredEvent], *, complete: bool = True) -> list[str]:
    head = events[-1] if events else None
    header = export_header(
        tenant_id=1,
        account="acme",
        scopes=None if complete else ["L2"],
        since_us=None,
        until_us=None,
        complete=complete,
        head_seq=head.seq if head else 0,
        head_hash=head.hash if head else GENESIS,
        exported_us=0,
    )
    lines = [dump_line(header)]
    lines += [dump_line(event_line(e, n)) for n, e in enumerate(events, 1)]
    last = events[-1] if events else None
    lines.append(
        dump_line(end_line(len(events), last.seq if last else 0, last.hash if last else GENESIS))
    )
    return lines


def kinds(lines: list[str]) -> list[tuple[str, int | None]]:
    return [(p.kind, p.line) for p in check_export(lines).problems]


def test_an_untouched_complete_chain_checks_out() -> None:
    report = check_export(export(chain(7)))
    assert report.ok and report.events == 7 and report.complete_chain


def test_every_stored_field_is_in_an_event_line() -> None:
    record = event_line(chain(1)[0], 1)
    assert set(EVENT_FIELDS) <= set(record)


def test_an_edited_field_is_tampered_at_its_line() -> None:
    lines = export(chain(5))
    record = json.loads(lines[3])
    record["purpose"] = "transactional"
    lines[3] = json.dumps(record)
    assert kinds(lines) == [("tampered", 4)]


@pytest.mark.parametrize("name", ["address", "action", "scope", "occurred_us", "proof", "source"])
def test_each_chained_field_is_covered(name: str) -> None:
    lines = export(chain(3))
    record = json.loads(lines[2])
    record[name] = record[name] + 1 if isinstance(record[name], int) else record[name] + "x"
    lines[2] = json.dumps(record)
    assert ("tampered", 3) in kinds(lines)


def test_an_edit_that_is_re_hashed_breaks_the_next_link() -> None:
    events = chain(5)
    edited = replace(events[2], address="+14155559999")
    events[2] = replace(edited, hash=chain_hash(edited.prev_hash, edited.payload()))
    assert kinds(export(events)) == [("tampered", 4)]  # line 4 holds seq 3


def test_a_deleted_line_is_missing_where_the_gap_is() -> None:
    lines = export(chain(6))
    del lines[3]  # seq 3: noticed at the line that now follows seq 2
    problems = check_export(lines).problems
    assert [(p.kind, p.line) for p in problems] == [("missing", 4)]
    assert "n=3" in problems[0].detail


def test_swapped_lines_are_reordered_once() -> None:
    lines = export(chain(6))
    lines[3], lines[4] = lines[4], lines[3]
    assert kinds(lines) == [("reordered", 5)]


def test_a_line_moved_far_is_reordered() -> None:
    lines = export(chain(8))
    moved = lines.pop(2)
    lines.insert(7, moved)
    assert [k for k, _ in kinds(lines)] == ["reordered"]


def test_a_cut_file_is_truncated_or_missing_its_tail() -> None:
    lines = export(chain(5))
    assert [k for k, _ in kinds(lines[:-1])] == ["truncated"]
    assert [k for k, _ in kinds(lines[:-3])] == ["truncated", "missing"]  # head not reached
    lines_without_last_event = lines[:-2] + lines[-1:]
    assert ("missing", len(lines_without_last_event)) in kinds(lines_without_last_event)


def test_a_renumbered_deletion_is_still_caught_in_a_complete_chain() -> None:
    events = chain(6)
    kept = events[:2] + events[3:]
    lines = export(kept)
    header = json.loads(lines[0])
    header["head"] = {"seq": 6, "hash": events[-1].hash}
    lines[0] = json.dumps(header)
    assert [k for k, _ in kinds(lines)] == ["missing"]


def test_a_subtree_export_checks_each_event_against_its_stated_predecessor() -> None:
    events = chain(9)
    subtree = [e for e in events if e.scope == "L2"]  # seqs 2, 4, 6, 8: not a chain
    assert check_export(export(subtree, complete=False)).ok
    lines = export(subtree, complete=False)
    record = json.loads(lines[2])
    record["action"] = "opt_in" if record["action"] == "opt_out" else "opt_out"
    lines[2] = json.dumps(record)
    assert kinds(lines) == [("tampered", 3)]


def test_garbage_lines_are_malformed_and_a_missing_header_is_said() -> None:
    lines = export(chain(2))
    assert kinds(["not json", *lines]) == [("malformed", 1)]
    assert ("malformed", None) in kinds(lines[1:])


def test_csv_round_trip_checks_out_and_catches_an_edit() -> None:
    records = [json.loads(line) for line in export(chain(4))]
    text = "".join(csv_rows(records))
    assert check_export(text.splitlines(keepends=True), "csv").ok
    edited = text.replace('"{""form"":""f2""}"', '"{""form"":""f9""}"')
    assert edited != text
    assert [k for k, _ in kinds_csv(edited)] == ["tampered"]


def kinds_csv(text: str) -> list[tuple[str, int | None]]:
    return [(p.kind, p.line) for p in check_export(text.splitlines(keepends=True), "csv").problems]
