"""The export file format and its offline check (C21, C28): no I/O, no clock.

An export is a header line, one line per event and an end line. Each event
line carries the event's *stored* fields, exactly as the ledger holds them (the
names of :data:`~consentline.domain.ledger.EVENT_FIELDS`, read generically from
:class:`~consentline.domain.ledger.StoredEvent`), so anyone can rebuild the
event and recompute its chain hash with the ledger's own
:meth:`StoredEvent.payload` and :func:`chain_hash`: a field added to events, or
a change to what the chain covers, flows through with no change here.

>>> header = export_header(tenant_id=1, account="acme", scopes=None, since_us=None,
...     until_us=None, complete=True, head_seq=0, head_hash=GENESIS, exported_us=0)
>>> check_export([dump_line(header), dump_line(end_line(0, 0, GENESIS))]).ok
True
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final, Literal

from consentline.domain.ledger import EVENT_FIELDS, GENESIS, StoredEvent, chain_hash, from_us

FORMAT: Final = "consentline-export/1"
EXTRA_FIELDS: Final = ("n", "occurred_at", "recorded_at", "contact_refs")
# CSV: one row per event; the header and end records go in leading/trailing rows
# whose ``type`` column says what they are, their content as JSON in ``meta``.
CSV_COLUMNS: Final = ("type", "n", *EVENT_FIELDS, "occurred_at", "recorded_at", "contact_refs")


def export_header(
    *,
    tenant_id: int,
    account: str,
    scopes: Sequence[str] | None,
    since_us: int | None,
    until_us: int | None,
    complete: bool,
    head_seq: int,
    head_hash: str,
    exported_us: int,
) -> dict[str, Any]:
    """What an export is: whose events, which range, and whether it is the whole chain.

    ``complete`` is true only for a tenant's root account with no time range: then
    every event from the genesis to ``head`` is in the file, and a check can demand
    an unbroken chain. ``head`` is the tenant's chain head when the export began
    (later events are left out, so the file is one consistent cut).
    """
    return {
        "type": "header",
        "format": FORMAT,
        "tenant_id": tenant_id,
        "account": account,
        "scopes": None if scopes is None else sorted(scopes),
        "from": None if since_us is None else from_us(since_us).isoformat(),
        "to": None if until_us is None else from_us(until_us).isoformat(),
        "complete_chain": complete,
        "genesis": GENESIS,
        "head": {"seq": head_seq, "hash": head_hash},
        "exported_at": from_us(exported_us).isoformat(),
        "fields": list(EVENT_FIELDS),
    }


_stored_fields = attrgetter(*EVENT_FIELDS)


def event_line(
    event: StoredEvent, n: int, contact_refs: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """One event as an export record: position ``n`` (1-based), then every stored field."""
    out: dict[str, Any] = {"type": "event", "n": n}
    out.update(zip(EVENT_FIELDS, _stored_fields(event), strict=True))
    out["occurred_at"] = from_us(event.occurred_us).isoformat()  # readable copies,
    out["recorded_at"] = from_us(event.recorded_us).isoformat()  # not checked
    if contact_refs is not None:
        out["contact_refs"] = [dict(ref) for ref in contact_refs]
    return out


def end_line(events: int, last_seq: int, last_hash: str) -> dict[str, Any]:
    """The last record: how many events the file holds (a truncated file has none)."""
    return {"type": "end", "events": events, "last_seq": last_seq, "last_hash": last_hash}


def dump_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def csv_rows(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Export records as CSV text, row by row (the header row first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, "meta"])
    yield _flush(buffer)
    for record in records:
        if record["type"] == "event":
            row = [
                "" if record.get(name) is None else record.get(name)
                for name in CSV_COLUMNS
                if name != "contact_refs"
            ]
            refs = record.get("contact_refs")
            row.append("" if refs is None else json.dumps(refs, ensure_ascii=False))
            row.append("")
        else:
            row = [record["type"], *([""] * (len(CSV_COLUMNS) - 1)), dump_line(record)]
        writer.writerow(row)
        yield _flush(buffer)


def _flush(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return value


# -- reading an export back ---------------------------------------------------------------
_INT_FIELDS: Final = frozenset(
    name
    for name in EVENT_FIELDS
    if StoredEvent.__dataclass_fields__[name].type in ("int", "int | None")
)


def _from_csv(row: Mapping[str, str]) -> dict[str, Any]:
    kind = row.get("type", "")
    if kind != "event":
        meta = row.get("meta") or "{}"
        loaded = json.loads(meta)
        if not isinstance(loaded, dict):
            raise ValueError("meta is not a JSON object")
        return loaded
    out: dict[str, Any] = {"type": "event", "n": int(row["n"])}
    for name in EVENT_FIELDS:
        value: Any = row.get(name)
        if value is None:
            raise ValueError(f"no column {name}")
        annotation = StoredEvent.__dataclass_fields__[name].type
        if value == "" and "None" in str(annotation):
            value = None
        elif name in _INT_FIELDS:
            value = int(value)
        out[name] = value
    return out


def read_records(
    lines: Iterable[str], fmt: Literal["jsonl", "csv"] = "jsonl"
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, record or None, error)`` for each line of an export file."""
    if fmt == "csv":
        reader = csv.DictReader(lines)
        for row in reader:
            number = reader.line_num
            try:
                yield number, _from_csv(row), None
            except (ValueError, KeyError, TypeError) as exc:
                yield number, None, f"unreadable row: {exc}"
        return
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            yield number, None, f"not JSON: {exc.args[0] if exc.args else exc}"
            continue
        if not isinstance(record, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, record, None


# -- the check ------------------------------------------------------------------------------
ProblemKind = Literal["tampered", "missing", "reordered", "malformed", "truncated"]


@dataclass(frozen=True, slots=True)
class ExportProblem:
    kind: ProblemKind
    line: int | None  # the line of the file the problem was found at
    seq: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "seq": self.seq, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ExportCheck:
    """What :func:`check_export` found: ``ok`` when there is nothing to report."""

    header: Mapping[str, Any] | None
    events: int
    complete_chain: bool
    problems: tuple[ExportProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "format": None if self.header is None else self.header.get("format"),
            "tenant_id": None if self.header is None else self.header.get("tenant_id"),
            "account": None if self.header is None else self.header.get("account"),
            "complete_chain": self.complete_chain,
            "events": self.events,
            "problems": [p.as_dict() for p in self.problems],
        }


def _stored(record: Mapping[str, Any]) -> StoredEvent:
    values = {name: record[name] for name in EVENT_FIELDS}
    for name in _INT_FIELDS:
        value = values[name]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"{name} is not an integer")
    return StoredEvent(**values)


class _Gaps:
    """Positions not seen yet below the highest seen, as ranges (few in practice),
    each with the file line where it was noticed: memory stays flat for any size."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int, int]] = []  # (first, last, line)

    def add(self, first: int, last: int, line: int) -> None:
        self.ranges.append((first, last, line))

    def take(self, value: int) -> bool:
        """Remove ``value`` if it was missing; True when it was."""
        for index, (first, last, line) in enumerate(self.ranges):
            if first <= value <= last:
                parts = [(first, value - 1, line), (value + 1, last, line)]
                self.ranges[index : index + 1] = [p for p in parts if p[0] <= p[1]]
                return True
        return False


def check_export(lines: Iterable[str], fmt: Literal["jsonl", "csv"] = "jsonl") -> ExportCheck:
    """Re-verify an export file offline (C21): the lines of a file, no database.

    Every event's hash is recomputed from its fields and its stated predecessor
    (``prev_hash``): a mismatch is ``tampered``. Events that follow each other in
    the tenant's chain (``seq`` and ``seq + 1``) must link; an event re-hashed
    after an edit breaks the link of the next one and is reported ``tampered``
    too. The position ``n`` of each event finds lines deleted (``missing``) or
    moved (``reordered``) anywhere in the file; a file that stops before its end
    line is ``truncated``. For a complete chain (a tenant-wide export) the check
    also demands every sequence number from 1, the genesis link and the head the
    header states. ``n`` is not covered by any hash: an editor who renumbers the
    lines hides a deletion from a subtree export, never from a complete chain.
    """
    problems: list[ExportProblem] = []
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    end_line_no = 0
    count = 0
    max_n = 0
    n_gaps = _Gaps()
    max_seq = 0
    hash_at_max = GENESIS
    seq_gaps = _Gaps()
    previous: StoredEvent | None = None
    previous_line = 0
    complete = False
    for number, record, error in read_records(lines, fmt):
        if record is None:
            problems.append(ExportProblem("malformed", number, None, error or "unreadable"))
            continue
        kind = record.get("type")
        if kind == "header":
            if header is not None or count:
                problems.append(ExportProblem("malformed", number, None, "a second header"))
                continue
            header = record
            if record.get("format") != FORMAT:
                problems.append(
                    ExportProblem(
                        "malformed", number, None, f"unknown format {record.get('format')!r}"
                    )
                )
            complete = record.get("complete_chain") is True
            continue
        if kind == "end":
            end, end_line_no = record, number
            continue
        if kind != "event":
            problems.append(ExportProblem("malformed", number, None, f"unknown record {kind!r}"))
            continue
        if header is None and not count:
            problems.append(ExportProblem("malformed", number, None, "no header before events"))
        if end is not None:
            problems.append(ExportProblem("malformed", number, None, "an event after the end"))
        try:
            event = _stored(record)
            n = record["n"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise TypeError("n is not a positive integer")
        except (KeyError, TypeError) as exc:
            problems.append(ExportProblem("malformed", number, None, f"not an event: {exc}"))
            continue
        count += 1
        seq = event.seq
        if chain_hash(event.prev_hash, event.payload()) != event.hash:
            problems.append(
                ExportProblem("tampered", number, seq, "content does not match its hash")
            )
        # Where the event sits in the file.
        moved = False
        if n > max_n + 1:
            n_gaps.add(max_n + 1, n - 1, number)
        elif n <= max_n:
            moved = True
            detail = "is out of place" if n_gaps.take(n) else "appears twice"
            problems.append(ExportProblem("reordered", number, seq, f"event n={n} {detail}"))
        jumped = n > max_n + 1
        max_n = max(max_n, n)
        # Where it sits in the tenant's chain.
        if previous is not None and seq == previous.seq + 1 and event.prev_hash != previous.hash:
            problems.append(
                ExportProblem(
                    "tampered",
                    previous_line,
                    previous.seq,
                    f"the next event (line {number}) does not link to it: altered and re-hashed",
                )
            )
        if seq > max_seq:
            if complete and seq > max_seq + 1:
                seq_gaps.add(max_seq + 1, seq - 1, number)
                if jumped:  # the same lines, already counted by their positions
                    seq_gaps.ranges.pop()
            if complete and seq == 1 and event.prev_hash != GENESIS:
                problems.append(
                    ExportProblem(
                        "tampered", number, seq, "the first event is not linked to the genesis"
                    )
                )
            max_seq, hash_at_max = seq, event.hash
        elif not moved:
            detail = "is out of place" if seq_gaps.take(seq) else "comes after a later one"
            problems.append(ExportProblem("reordered", number, seq, f"seq {seq} {detail}"))
        else:
            seq_gaps.take(seq)
        previous, previous_line = event, number
    for first, last, line in n_gaps.ranges:
        detail = _missing("events n=", first, last) + " before this line"
        problems.append(ExportProblem("missing", line, None, detail))
    for first, last, line in seq_gaps.ranges:
        problems.append(ExportProblem("missing", line, first, _missing("seq ", first, last)))
    if header is None:
        problems.append(ExportProblem("malformed", None, None, "no header line"))
    if end is None:
        problems.append(
            ExportProblem(
                "truncated", None, None, f"no end line: the file stops after {count} events"
            )
        )
    else:
        stated = end.get("events")
        if isinstance(stated, int) and stated > max_n:
            problems.append(
                ExportProblem(
                    "missing",
                    end_line_no,
                    None,
                    _missing("events n=", max_n + 1, stated) + " (at the end)",
                )
            )
        elif stated != count and not any(p.kind in ("missing", "reordered") for p in problems):
            problems.append(
                ExportProblem(
                    "missing",
                    end_line_no,
                    None,
                    f"the end line counts {stated} events, found {count}",
                )
            )
    if complete and header is not None:
        head = header.get("head") or {}
        if head.get("seq") != max_seq or head.get("hash") != hash_at_max:
            problems.append(
                ExportProblem(
                    "missing",
                    end_line_no or None,
                    max_seq,
                    f"the chain ends at seq {max_seq}; the header's head is seq {head.get('seq')}",
                )
            )
    return ExportCheck(header, count, complete, tuple(problems))


def _missing(prefix: str, first: int, last: int) -> str:
    what = f"{prefix}{first}" if first == last else f"{prefix}{first}..{last}"
    return f"{what} missing"
