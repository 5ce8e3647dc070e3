"""A deactivation list: numbers that were disconnected, and the consents that end with them.

A carrier's disconnect file or a reassigned-numbers database answer lists numbers
and the date each was deactivated. Every opt-in (and pending request) a listed
number was given *before* that date, in the caller's subtree, lapses (source
``deactivation``, proof naming the list and the date); consents given on or after
it are kept, since they may come from the number's next holder. Opt-outs are never
touched: a lapse does not clear one (docs/lifecycle.md).

Each lapse is dated one microsecond before the deactivation instant, so in fold
order it comes after everything given before the date and before everything given
on or after it, and a point-in-time check before the date still shows the consent
as it then was.

The file is streamed and worked in chunks: one projection read and one transaction
per chunk, whatever the file's size. A re-run appends nothing (the consents are no
longer held, and each lapse carries an idempotency key). Bad rows are reported with
their row number and never stop the rest.

Times (the zone rule): a bare date (``2026-03-01``, ``20260301``, ``03/01/2026``)
means the start of that day in ``timezone`` (default UTC); a date and time must
carry its offset (``2026-03-01T09:30:00-05:00``) unless a ``timezone`` was given,
else the row is an error (``naive_time``), never silently UTC.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, islice
from typing import IO, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consentline.domain.addresses import check_channel, normalise_address
from consentline.domain.errors import ConsentlineError, InvalidInput, InvalidTime, mask
from consentline.domain.ledger import Entry, decode, from_us, to_us
from consentline.domain.lifecycle import DEACTIVATION_SOURCE, held_before, lapse_key
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Directory
from consentline.services import recording
from consentline.services.import_planning import RowProblem
from consentline.services.imports import open_source
from consentline.services.number_changes import lapse_request, subtree_filter
from consentline.services.ports import UnitOfWorkFactory

CHUNK: Final = 1000  # numbers per projection read and per transaction
FIRST_ERRORS: Final = 20

NUMBER_HEADERS: Final = (
    "number",
    "phone",
    "phone_number",
    "telephone_number",
    "tn",
    "msisdn",
    "mobile",
    "address",
)
DATE_HEADERS: Final = (
    "deactivation_date",
    "deactivated_on",
    "deactivated_at",
    "deactivated",
    "disconnect_date",
    "disconnected_on",
    "date",
)

Source = str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, Any]]


@dataclass(slots=True)
class DeactivationReport:
    """Counts of a deactivation import: ``rows == lapsed + unchanged + errors``.

    ``lapsed`` counts rows whose number lost at least one consent, ``events`` the
    lapse events appended; ``unchanged`` rows had nothing held before their date.
    """

    list_name: str
    rows: int = 0
    lapsed: int = 0
    unchanged: int = 0
    errors: int = 0
    events: int = 0
    first_errors: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "rows": self.rows,
            "lapsed": self.lapsed,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "events": self.events,
            "first_errors": [e.as_dict() for e in self.first_errors],
        }


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    address: str
    deactivated_us: int
    deactivated_on: str  # as recorded in the proof


def _header(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _pick(headers: Iterable[str], wanted: tuple[str, ...]) -> str | None:
    by_norm = {_header(h): h for h in headers}
    for name in wanted:
        if name in by_norm:
            return by_norm[name]
    return None


def read_rows(source: Source) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Numbered rows of the list, lazily: a path or binary file is read as an import
    reads it (:func:`imports.open_source`: CSV with its delimiter sniffed, UTF-8
    with or without a BOM, JSONL, gzip), a text file as CSV, dicts as they are. In
    a file the header is row 1."""
    if isinstance(source, io.TextIOBase):
        text: Any = source
        for number, row in enumerate(_csv_rows(text), start=2):
            yield number, row
        return
    opened = open_source(source)  # type: ignore[arg-type]
    try:
        header = opened.columns or ()
        for number, _raw, values in opened.rows:
            if isinstance(values, list):
                yield number, dict(zip(header, values, strict=True))
            else:
                yield number, values
    finally:
        opened.close()


def _csv_rows(handle: IO[str]) -> Iterator[Mapping[str, Any]]:
    # Sniff the delimiter on the first lines, then read on: the file is never held.
    head = list(islice(handle, 5))
    try:
        dialect: Any = csv.Sniffer().sniff("".join(head), delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    yield from csv.DictReader(chain(head, handle), dialect=dialect)


def parse_when(raw: str, zone: ZoneInfo | None) -> tuple[datetime, str]:
    """A deactivation date or time -> (aware instant, its text for the proof)."""
    value = raw.strip()
    day: date | None = None
    for form in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            day = datetime.strptime(value, form).date()
            break
        except ValueError:
            continue
    if day is not None:
        moment = datetime.combine(day, time(0), tzinfo=zone or UTC)
        return moment, day.isoformat()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        # A shifted column could put a phone number here: never shown in full (C23).
        shown = mask(value) if sum(c.isdigit() for c in value) > 8 else value[:40]
        raise InvalidTime(f"{shown!r} is not a date or an ISO date and time") from None
    if moment.tzinfo is None:
        if zone is None:
            raise InvalidTime("a date and time without an offset needs --timezone")
        moment = moment.replace(tzinfo=zone)
    return moment, moment.isoformat()


def import_deactivations(
    units: UnitOfWorkFactory,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    source: Source,
    *,
    account: str,
    list_name: str,
    channel: str = "sms",
    timezone: str | None = None,
    on_error: Callable[[RowProblem], None] | None = None,
    now: datetime,
) -> DeactivationReport:
    """Lapse every consent given before each listed number's deactivation date.

    The report keeps the first :data:`FIRST_ERRORS` bad rows; ``on_error`` is
    called with every one, as it is found (the CLI writes them to ``--errors``).

    >>> cl.import_deactivations("rnd-2026-11.csv", account="acme").as_dict()  # doctest: +SKIP
    {'list': 'rnd-2026-11.csv', 'rows': 3, 'lapsed': 1, 'unchanged': 1, 'errors': 1, ...}
    """
    home = directory.account(account)
    checked = check_channel(channel)
    if checked == "email":
        raise InvalidInput("a deactivation list needs a phone channel (sms or whatsapp)")
    zone: ZoneInfo | None = None
    if timezone is not None:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidTime(f"unknown time zone {timezone!r}", timezone=timezone) from None
    now_us = to_us(now)
    keep = subtree_filter(directory, home)
    report = DeactivationReport(list_name)
    rows = iter(read_rows(source))
    columns: tuple[str | None, str | None] | None = None
    while raws := list(islice(rows, CHUNK)):
        chunk: list[_Row] = []
        for index, raw in raws:
            report.rows += 1
            broken = raw.get("\x00error")  # a row the reader could not make out
            parsed: _Row | RowProblem
            if broken is not None:
                parsed = RowProblem(index, None, "invalid_row", str(broken))
            else:
                if columns is None:
                    columns = _columns(raw)
                parsed = _parse(raw, index, columns, home.default_region, checked, zone, now_us)
            if isinstance(parsed, RowProblem):
                _error(report, parsed)
                if on_error is not None:
                    on_error(parsed)
            else:
                chunk.append(parsed)
        if chunk:
            _apply(units, directory, policies, home.slug, checked, chunk, keep, report, now)
    return report


def _columns(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    number, when = _pick(raw, NUMBER_HEADERS), _pick(raw, DATE_HEADERS)
    if number is None or when is None:
        names = NUMBER_HEADERS if number is None else DATE_HEADERS
        kind = "number" if number is None else "deactivation date"
        raise InvalidInput(
            f"the list has no {kind} column; expected one of {', '.join(names)}", field="header"
        )
    return number, when


def _error(report: DeactivationReport, error: RowProblem) -> None:
    report.errors += 1
    if len(report.first_errors) < FIRST_ERRORS:
        report.first_errors.append(error)


def _parse(
    raw: Mapping[str, Any],
    index: int,
    columns: tuple[str | None, str | None],
    region: str | None,
    channel: str,
    zone: ZoneInfo | None,
    now_us: int,
) -> _Row | RowProblem:
    number_column, date_column = columns
    assert number_column is not None and date_column is not None
    number = str(raw.get(number_column) or "").strip()
    when = str(raw.get(date_column) or "").strip()
    if not number:
        return RowProblem(index, number_column, "missing_number", "the row has no number")
    if not when:
        return RowProblem(index, date_column, "missing_date", "the row has no deactivation date")
    try:
        address = normalise_address(number, channel, region)
    except ConsentlineError:
        return RowProblem(
            index, number_column, "invalid_address", f"{mask(number)!r} is not a valid number"
        )
    try:
        moment, shown = parse_when(when, zone)
        moment_us = to_us(moment)
    except InvalidTime as error:
        code = "naive_time" if "offset" in error.message else "bad_date"
        return RowProblem(index, date_column, code, error.message)
    if moment_us > now_us:
        return RowProblem(index, date_column, "future_date", f"{shown} is in the future")
    return _Row(index, address, moment_us, shown)


def _apply(
    units: UnitOfWorkFactory,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    home: str,
    channel: str,
    chunk: list[_Row],
    keep: Callable[[str], bool],
    report: DeactivationReport,
    now: datetime,
) -> None:
    # A number listed twice in a chunk: the later date covers the earlier one
    # (everything before the earlier date is also before the later).
    latest: dict[str, _Row] = {}
    for row in chunk:
        seen = latest.get(row.address)
        if seen is None or row.deactivated_us > seen.deactivated_us:
            latest[row.address] = row
    tenant_id = directory.account(home).tenant_id
    with units() as uow:
        keys = [(tenant_id, channel, a) for a in latest]
        state = uow.store.load_state(keys)
        requests = []
        lapsing: dict[int, int] = {}  # row number -> lapses asked for
        for address, row in latest.items():
            found = state.get((tenant_id, channel, address))
            entries: list[Entry] = decode(found.shape, found.ids, found.times) if found else []
            ending = held_before(entries, row.deactivated_us, keep)
            for entry in ending:
                requests.append(
                    lapse_request(
                        directory,
                        address,
                        channel,
                        entry,
                        source=DEACTIVATION_SOURCE,
                        proof={
                            "list": report.list_name,
                            "deactivated_on": row.deactivated_on,
                            "lapsed_event": entry.id,
                        },
                        key=lapse_key(
                            "deactivation",
                            tenant_id,
                            channel,
                            address,
                            row.deactivated_us,
                            entry.scope,
                            entry.purpose,
                            entry.topic,
                            entry.id,
                        ),
                        # Just before the deactivation instant (see the module docstring).
                        occurred_at=from_us(row.deactivated_us) - timedelta(microseconds=1),
                        within=home,
                    )
                )
            if ending:
                lapsing[row.number] = len(ending)
        results = recording.append_results(uow, directory, policies, requests, now=now)
        uow.commit()
    report.events += sum(1 for r in results if not r.replayed)
    report.lapsed += len(lapsing)
    report.unchanged += len(chunk) - len(lapsing)
