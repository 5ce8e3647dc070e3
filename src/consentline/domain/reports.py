"""What a report is asked for and what it answers (C23: no personal data).

A report is a list of rows, each a flat mapping of *grouping keys* (``line``,
``account``, ``purpose``, ``topic``, ``source``, ``rule``, ``language``, ``campaign``,
``reason``, a time bucket such as ``day`` …) and *measures* (integer counts, or rates
derived from them). Summing a measure over the rows gives the window's total, so a
chart, a CSV and the JSON all read the same rows.

Rows carry counts and identifiers of lines, accounts, campaigns, rules and
reasons only: never an address, a message body or a proof field.

Each kind is built by a service function registered under its name
(``services.reports.KINDS``) and given a :class:`ReportQuery`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

BUCKETS: Final = ("hour", "day", "week", "month")
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A report's window and grouping, already validated.

    ``account`` is the account slug the report covers (its whole subtree);
    ``lines`` narrows it to those lines (E.164) when given. ``since`` is inclusive
    and ``until`` exclusive, both timezone-aware; ``bucket`` groups by calendar
    periods in ``timezone`` (an IANA name), ``None`` for one row per group over the
    whole window. ``by`` lists the grouping keys asked for, in order. ``at`` is the
    moment a point-in-time report (``snapshot``) is taken at.
    """

    kind: str
    account: str
    lines: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    bucket: str | None = None
    by: tuple[str, ...] = ()
    timezone: str = "UTC"
    at: datetime | None = None


@dataclass(slots=True)
class Report:
    """A report's rows, with the query that produced them."""

    kind: str
    rows: list[Row] = field(default_factory=list)
    query: ReportQuery | None = None
    # Figures that are not rows (summing would mean nothing), e.g. the review queue.
    summary: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "rows": self.rows}
        if self.summary is not None:
            out["summary"] = self.summary
        return out

    def columns(self) -> list[str]:
        """Every key of the rows, in the order they first appear (a table's header)."""
        return list(dict.fromkeys(name for row in self.rows for name in row))

    def as_csv(self) -> str:
        """The rows as CSV with a header of :meth:`columns` (an absent value or None is
        empty): what the CLI prints with ``--csv`` and the web UI downloads."""
        columns = self.columns()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        return buffer.getvalue()

    def totals(self) -> dict[str, int]:
        """Each integer measure summed over the rows: the window's totals."""
        out: dict[str, int] = {}
        for row in self.rows:
            for name, value in row.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    out[name] = out.get(name, 0) + value
        return out
