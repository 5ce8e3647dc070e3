"""How an imported row becomes a consent change: the mapping, its presets, value maps,
times, the proof a row carries, and the row's idempotency key. Pure: no I/O.

A mapping says which column feeds which field (``address``, ``action``,
``occurred_at``, ``account``, ``line``, ``purpose``, ``topic``, ``channel``,
``source``, ``contact_ref``, ``proof.<field>``); a fixed value can stand in for a
column; value maps turn a column's words into actions. Two presets read the
opt-out fields CRMs keep:

- ``legacy-opt-out:COLUMN``: a "has opted out of SMS" checkbox. Checked is an
  ``opt_out``; unchecked an ``opt_in`` whose proof is
  ``{"legacy_field": COLUMN, "value": RAW, "proof_of_consent": false}`` — the CRM
  integrations treat the field this way, and ``proof_of_consent: false`` is what
  marks the opt-in as carrying no evidence of consent (C20): a hygiene report
  finds such opt-ins by that key.
- ``optout-status:COLUMN``: a Dynamics-style ``OptOut Status`` (``Subscribed`` /
  ``Unsubscribed``), read the same way.

>>> m = build_mapping({"address": "Phone"}, preset="legacy-opt-out:SMS Opt Out")
>>> plan_row({"Phone": "+14155550123", "SMS Opt Out": "true"}, m, 2).action
'opt_out'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consentline.domain.errors import InvalidImport
from consentline.domain.ledger import ACTIONS, EARLIEST, LATEST

FIELDS: Final = (
    "address",
    "action",
    "occurred_at",
    "account",
    "line",
    "purpose",
    "topic",
    "channel",
    "source",
    "contact_ref",
)
PROOF_PREFIX: Final = "proof."
REF_PREFIX: Final = "contact_ref."  # contact_ref.salesforce=Id: refs of that system
PRESETS: Final = ("legacy-opt-out", "optout-status")
DEFAULT_SOURCE: Final = "import"

# What counts as proof of consent on an imported opt_in (C25): the consent text shown,
# the form it was given on, or where it was captured. A legacy checkbox is none of these.
CONSENT_PROOF: Final = frozenset(
    {
        "consent_text",
        "disclosure",
        "disclosure_text",
        "form",
        "form_id",
        "form_url",
        "consent_source",
        "source_url",
        "recording_url",
    }
)

CHECKED: Final = frozenset({"true", "t", "1", "y", "yes", "checked", "x", "on"})
UNCHECKED: Final = frozenset({"false", "f", "0", "n", "no", "unchecked", "", "off"})
STATUS_WORDS: Final = {
    "subscribed": "opt_in",
    "opted in": "opt_in",
    "unsubscribed": "opt_out",
    "opted out": "opt_out",
}


def _fold(raw: str) -> str:
    return " ".join(raw.split()).casefold()


@dataclass(frozen=True, slots=True)
class ImportMapping:
    """A checked mapping (build it with :func:`build_mapping`)."""

    columns: Mapping[str, str]  # field -> column
    fixed: Mapping[str, str]  # field -> value
    values: Mapping[str, Mapping[str, str]]  # column -> folded raw -> action
    preset: tuple[str, str] | None  # (kind, column)
    time_format: str | None
    timezone: tzinfo | None
    timezone_name: str | None
    proof_columns: tuple[tuple[str, str], ...] = field(default=())  # (proof key, column)
    ref_columns: tuple[tuple[str, str], ...] = field(default=())  # (system, column)

    @property
    def action_column(self) -> str | None:
        if self.preset is not None:
            return self.preset[1]
        return self.columns.get("action")

    def digest(self) -> str:
        """A stable digest of everything that decides what a row becomes."""
        text = json.dumps(
            {
                "columns": dict(sorted(self.columns.items())),
                "fixed": dict(sorted(self.fixed.items())),
                "values": {k: dict(sorted(v.items())) for k, v in sorted(self.values.items())},
                "preset": self.preset,
                "time_format": self.time_format,
                "timezone": self.timezone_name,
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": dict(self.columns),
            "fixed": dict(self.fixed),
            "values": {k: dict(v) for k, v in self.values.items()},
            "preset": None if self.preset is None else ":".join(self.preset),
            "time_format": self.time_format,
            "timezone": self.timezone_name,
        }


def _check_field(name: str) -> str:
    if name in FIELDS:
        return name
    if name.startswith(PROOF_PREFIX) and len(name) > len(PROOF_PREFIX):
        return name
    if name.startswith(REF_PREFIX) and len(name) > len(REF_PREFIX):
        return name
    raise InvalidImport(
        f"cannot map to {name!r}: fields are {', '.join(FIELDS)}, proof.<name> and "
        "contact_ref.<system>",
        field=name,
    )


def parse_preset(text: str) -> tuple[str, str]:
    kind, sep, column = text.partition(":")
    if not sep or kind not in PRESETS or not column:
        raise InvalidImport(
            f"a preset is {' or '.join(p + ':COLUMN' for p in PRESETS)}", field="preset"
        )
    return kind, column


def parse_value_map(text: str) -> tuple[str, str, str]:
    """``COLUMN:RAW=ACTION`` (as the CLI takes it) -> (column, raw, action)."""
    left, sep, action = text.rpartition("=")
    column, colon, raw = left.partition(":")
    if not sep or not colon or not column:
        raise InvalidImport("a value map is COLUMN:RAW=ACTION", field="value")
    return column, raw, action


def build_mapping(
    columns: Mapping[str, str],
    *,
    fixed: Mapping[str, str] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    preset: str | tuple[str, str] | None = None,
    time_format: str | None = None,
    timezone: str | None = None,
) -> ImportMapping:
    """Check and assemble a mapping; :class:`InvalidImport` when it cannot work."""
    cols = {_check_field(k): v for k, v in columns.items()}
    fix = {_check_field(k): v for k, v in (fixed or {}).items()}
    for name, value in {**cols, **fix}.items():
        if not isinstance(value, str) or not value:
            raise InvalidImport(f"the mapping of {name!r} must be a non-empty text", field=name)
    both = set(cols) & set(fix)
    if both:
        raise InvalidImport(
            f"{', '.join(sorted(both))} given both as a column and as a fixed value",
            field=sorted(both)[0],
        )
    kind_column = parse_preset(preset) if isinstance(preset, str) else preset
    if kind_column is not None and ("action" in cols or "action" in fix):
        raise InvalidImport("a preset decides the action: do not map action too", field="action")
    if "address" not in cols:
        raise InvalidImport("map a column to address (--map address=COLUMN)", field="address")
    if kind_column is None and "action" not in cols and "action" not in fix:
        raise InvalidImport(
            "say where the action comes from: --map action=COLUMN, a fixed action or a preset",
            field="action",
        )
    if "action" in fix and fix["action"] not in ACTIONS:
        raise InvalidImport(f"unknown action {fix['action']!r}", field="action")
    folded: dict[str, dict[str, str]] = {}
    for column, table in (values or {}).items():
        for raw, action in table.items():
            if action not in ACTIONS:
                raise InvalidImport(
                    f"value map {column}:{raw}: unknown action {action!r}; "
                    f"expected one of {', '.join(ACTIONS)}",
                    field="value",
                )
            folded.setdefault(column, {})[_fold(raw)] = action
    zone: tzinfo | None = None
    if timezone is not None:
        try:
            zone = UTC if timezone.upper() in ("UTC", "Z") else ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidImport(f"unknown time zone {timezone!r}", field="timezone") from None
    if time_format is not None and "%" not in time_format:
        raise InvalidImport("a time format is strftime codes, e.g. %m/%d/%Y %H:%M", field="time")
    proof_columns = tuple(
        (name[len(PROOF_PREFIX) :], column)
        for name, column in cols.items()
        if name.startswith(PROOF_PREFIX)
    )
    ref_columns = tuple(
        (name[len(REF_PREFIX) :], column)
        for name, column in cols.items()
        if name.startswith(REF_PREFIX)
    )
    return ImportMapping(
        ref_columns=ref_columns,
        columns=cols,
        fixed=fix,
        values=folded,
        preset=kind_column,
        time_format=time_format,
        timezone=zone,
        timezone_name=timezone,
        proof_columns=proof_columns,
    )


# -- rows --------------------------------------------------------------------------------
class RowError(Exception):
    """One row that cannot be imported: its column, a stable code and a message.

    The message never holds the number (C23); the row number finds it in the file.
    """

    def __init__(self, column: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """What a row asks for, before the ledger is consulted."""

    address: str
    action: str
    account: str | None
    line: str | None
    purpose: str | None
    topic: str | None
    channel: str
    source: str
    proof: dict[str, Any]
    occurred_at: datetime | None  # None: the import's own time
    contact_refs: tuple[str, ...]
    proof_of_consent: bool  # C25: consent text, form or source on the row


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if type(value) is str:  # a CSV's cells: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip() if isinstance(value, str) else str(value)


def _value(row: Mapping[str, Any], mapping: ImportMapping, name: str) -> tuple[str, str | None]:
    """A field's text and the column it came from (None: a fixed value or absent)."""
    column = mapping.columns.get(name)
    if column is not None:
        return _cell(row, column), column
    return mapping.fixed.get(name, ""), None


def parse_time(raw: str, mapping: ImportMapping, column: str | None) -> datetime:
    """A timestamp from the file: ISO 8601 or the mapping's format; a naive one is read
    in the mapping's zone, and is a row error without one (never silently UTC)."""
    try:
        if mapping.time_format is not None:
            moment = datetime.strptime(raw, mapping.time_format)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        expected = mapping.time_format or "ISO 8601"
        raise RowError(column, "invalid_time", f"not a time in {expected}") from None
    if moment.tzinfo is None:
        if mapping.timezone is None:
            raise RowError(
                column,
                "naive_time",
                "the time has no zone: give --timezone for the file's local times",
            )
        moment = moment.replace(tzinfo=mapping.timezone)
    if not EARLIEST <= moment <= LATEST:
        raise RowError(column, "invalid_time", "the time is out of range")
    return moment


def _action(row: Mapping[str, Any], mapping: ImportMapping) -> tuple[str, dict[str, Any]]:
    """The row's action, and the proof the preset adds (legacy opt-ins)."""
    if mapping.preset is not None:
        kind, column = mapping.preset
        raw = _cell(row, column)
        key = _fold(raw)
        table = mapping.values.get(column, {})
        if key in table:
            return table[key], {}
        if kind == "legacy-opt-out":
            if key in CHECKED:
                return "opt_out", {}
            if key in UNCHECKED:
                return "opt_in", {"legacy_field": column, "value": raw, "proof_of_consent": False}
        elif key in STATUS_WORDS:
            action = STATUS_WORDS[key]
            if action == "opt_in":
                return action, {"legacy_field": column, "value": raw, "proof_of_consent": False}
            return action, {}
        raise RowError(column, "unmapped_value", "a value the preset does not know (map it)")
    raw, action_column = _value(row, mapping, "action")
    if action_column is None:
        return raw, {}
    key = _fold(raw)
    table = mapping.values.get(action_column, {})
    if key in table:
        return table[key], {}
    if raw in ACTIONS:
        return raw, {}
    raise RowError(action_column, "unmapped_value", "a value no value map turns into an action")


def plan_row(row: Mapping[str, Any], mapping: ImportMapping, number: int) -> PlannedRow:
    """Turn one row into what it asks for; :class:`RowError` when it cannot be."""
    return compile_plan(mapping)(row, number)


def compile_plan(mapping: ImportMapping) -> Callable[[Mapping[str, Any], int], PlannedRow]:
    """:func:`plan_row` for one mapping, its lookups done once (an import plans
    every row of a file with the same mapping)."""

    def source_of(name: str) -> tuple[str | None, str]:
        """(column, None) for a mapped field, (None, fixed text or "") otherwise."""
        column = mapping.columns.get(name)
        return (column, "") if column is not None else (None, mapping.fixed.get(name, ""))

    address_column, _ = source_of("address")
    time_column, time_fixed = source_of("occurred_at")
    refs_column, refs_fixed = source_of("contact_ref")
    source_column, source_fixed = source_of("source")
    optional = tuple(source_of(name) for name in ("account", "line", "purpose", "topic"))
    channel_column, channel_fixed = source_of("channel")
    proof_columns = mapping.proof_columns
    ref_columns = mapping.ref_columns
    consent_proof = CONSENT_PROOF
    cell = _cell

    def plan(row: Mapping[str, Any], number: int) -> PlannedRow:
        address = cell(row, address_column) if address_column is not None else ""
        if not address:
            raise RowError(address_column, "missing_address", "no address on this row")
        action, preset_proof = _action(row, mapping)
        proof: dict[str, Any] = {}
        for key, proof_column in proof_columns:
            text = cell(row, proof_column)
            if text:
                proof[key] = text
        if preset_proof:
            proof.update(preset_proof)
        raw_time = cell(row, time_column) if time_column is not None else time_fixed
        occurred = parse_time(raw_time, mapping, time_column) if raw_time else None
        if occurred is None:
            proof["time_source"] = "import"  # no time in the file: the import's own
        refs_text = cell(row, refs_column) if refs_column is not None else refs_fixed
        refs = [r for r in (p.strip() for p in refs_text.split(";")) if r] if refs_text else []
        for system, ref_column in ref_columns:
            refs.extend(
                f"{system}:{r}" for r in (p.strip() for p in cell(row, ref_column).split(";")) if r
            )
        source_text = cell(row, source_column) if source_column is not None else source_fixed
        source = source_text or DEFAULT_SOURCE
        # A legacy checkbox is no proof of consent; consent text, a form or a capture
        # source on the row is (C25), and then the opt-in is not marked as lacking it.
        evidence = any(proof.get(key) for key in consent_proof) or bool(
            source_column and source_text
        )
        if evidence:
            proof.pop("proof_of_consent", None)
        account, line, purpose, topic = (
            (cell(row, column) if column is not None else fixed) or None
            for column, fixed in optional
        )
        channel = cell(row, channel_column) if channel_column is not None else channel_fixed
        return PlannedRow(
            address=address,
            action=action,
            account=account,
            line=line,
            purpose=purpose,
            topic=topic,
            channel=channel or ("email" if "@" in address else "sms"),
            source=source,
            proof=proof,
            occurred_at=occurred,
            contact_refs=tuple(refs),
            proof_of_consent=evidence,
        )

    return plan


# -- idempotency keys --------------------------------------------------------------------
def batch_digest(content_digest: str, mapping: ImportMapping, scope: Sequence[str | None]) -> str:
    """The default batch id: the file's digest, the mapping's and the call's scope."""
    text = json.dumps([content_digest, mapping.digest(), list(scope)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def row_key(batch_id: str, raw: bytes) -> str:
    """A row's idempotency key, from the batch and the row's raw bytes alone, so that a
    re-run finds it before parsing anything. Two identical rows of one batch are one."""
    return f"import:{batch_id}:{hashlib.sha256(raw).hexdigest()[:32]}"
