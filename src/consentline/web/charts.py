"""Charts drawn on the server as inline SVG: stacked bars or lines over labelled points.

Pure functions of their arguments (no I/O, no clock, no state), so a chart is the
same for the same numbers and is tested like any other function. What they return
is markup to put in a page as it is (``Markup``; every text in it is escaped here).

Accessibility: the ``<svg>`` is an image (``role="img"``) labelled by its ``<title>``
and a ``<desc>`` that says the figures in words (range, totals, the highest point);
every bar and point has a ``<title>`` of its own (a tooltip, and what a screen reader
reads); axes, ticks and the legend are ``<text>``; series differ by colour (each at
least 4.5:1 on white) and, on line charts, by dash pattern too. The page shows the
same numbers in a table beside the chart. Why SVG on the server and no charting
library: docs/web-ui.md.

>>> str(bar_chart(["Mon", "Tue"], [Series("opt-outs", (3, 5))], title="Opt-outs", ident="c"))[:4]
'<svg'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Final

from markupsafe import Markup

WIDTH: Final = 720
PLOT_TOP: Final = 16
PLOT_LEFT: Final = 64
PLOT_RIGHT: Final = 16
PLOT_HEIGHT: Final = 200
AXIS_GAP: Final = 34  # below the plot: the x labels
LEGEND_ROW: Final = 22
LEGEND_COLUMNS: Final = 2
LEGEND_CHARS: Final = 36
BAR_MAX: Final = 56.0  # a bar's widest (a few buckets are not slabs)
FONT: Final = 13
MAX_X_LABELS: Final = 8
MAX_SERIES: Final = 8  # more are summed into "other"
# Each at least 4.5:1 against white (text contrast, more than the 3:1 graphics need).
COLOURS: Final = (
    "#1f4fa3",
    "#b35c00",
    "#2e7d32",
    "#7b1fa2",
    "#a4161a",
    "#00695c",
    "#5d4037",
    "#455a64",
)
DASHES: Final = ("", "8 4", "2 4", "10 4 2 4", "4 4", "12 3", "2 2", "6 2 2 2")


@dataclass(frozen=True, slots=True)
class Series:
    """A named row of values, one per label of the chart."""

    name: str
    values: tuple[float, ...]

    @property
    def total(self) -> float:
        return sum(self.values)


def number(value: float) -> str:
    """``1,234`` for a whole number, three significant digits otherwise."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"


def scale(peak: float, *, whole: bool) -> tuple[float, int]:
    """The axis step (1, 2 or 5 × 10ⁿ; at least 1 for whole numbers) and how many
    steps reach ``peak`` (at most 5 or so): ``scale(5, whole=True) == (2.0, 3)``."""
    if peak <= 0 or not math.isfinite(peak):
        return 1.0, 1
    rough = peak / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(k * power for k in (1, 2, 5, 10) if rough <= k * power * (1 + 1e-9))
    if whole:
        step = max(1.0, float(round(step)))
    return float(step), max(1, math.ceil(peak / step - 1e-9))


def top(series: Sequence[Series], keep: int = MAX_SERIES, other: str = "other") -> list[Series]:
    """The ``keep - 1`` largest series (by total) in their order, the rest summed
    into one named ``other``; all of them when there are at most ``keep``."""
    if len(series) <= keep:
        return list(series)
    ranked = sorted(range(len(series)), key=lambda i: -series[i].total)
    kept = set(ranked[: keep - 1])
    rest = [s for i, s in enumerate(series) if i not in kept]
    summed = tuple(sum(values) for values in zip(*(s.values for s in rest), strict=True))
    return [s for i, s in enumerate(series) if i in kept] + [Series(other, summed)]


def fill(bucket: str | None, labels: Sequence[str]) -> list[str]:
    """The bucket labels from the first to the last, none missing: consecutive days
    (``2026-03-02``), weeks (their Mondays) or months (``2026-03``); other labels
    sorted as they are."""
    found = sorted(set(labels))
    if bucket not in ("day", "week", "month") or len(found) < 2:
        return found
    out: list[str] = []
    try:
        if bucket == "month":
            year, month = (int(part) for part in found[0].split("-"))
            while (label := f"{year:04d}-{month:02d}") <= found[-1]:
                out.append(label)
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            return out
        day, last = date.fromisoformat(found[0]), date.fromisoformat(found[-1])
    except ValueError:
        return found
    step = timedelta(days=7 if bucket == "week" else 1)
    while day <= last:
        out.append(day.isoformat())
        day += step
    return out


def _frame(
    labels: Sequence[str], series: Sequence[Series], title: str, ident: str, peak: float
) -> tuple[list[str], float, float]:
    """The ``<svg>`` opening, title, description, axes and legend; the plot's width
    and the top of its scale."""
    rows = math.ceil(len(series) / LEGEND_COLUMNS)
    height = PLOT_TOP + PLOT_HEIGHT + AXIS_GAP + rows * LEGEND_ROW + 4
    plot_w = WIDTH - PLOT_LEFT - PLOT_RIGHT
    whole = all(float(v).is_integer() for s in series for v in s.values)
    step, steps = scale(peak, whole=whole)
    ceiling = step * steps
    ident = escape(ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%"'
        f' viewBox="0 0 {WIDTH} {height}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(_describe(labels, series))}</desc>',
    ]
    base = PLOT_TOP + PLOT_HEIGHT
    for k in range(steps + 1):
        value = step * k
        y = base - PLOT_HEIGHT * k / steps
        parts.append(
            f'<line x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="{"#6b7280" if k == 0 else "#d4d7dc"}" stroke-width="1"/>'
            f'<text x="{PLOT_LEFT - 6}" y="{y + 4:.1f}" font-size="{FONT}" text-anchor="end"'
            f' fill="#1a1a1a">{escape(number(value))}</text>'
        )
    slot = plot_w / max(1, len(labels))
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    fits = max(3, int(slot * step / (FONT * 0.6)))
    for i, label in enumerate(labels):
        if i % step:
            continue
        x = PLOT_LEFT + slot * (i + 0.5)
        shown = label if len(label) <= fits else label[: fits - 1] + "…"
        parts.append(
            f'<text x="{x:.1f}" y="{base + 20}" font-size="{FONT}" text-anchor="middle"'
            f' fill="#1a1a1a">{escape(shown)}</text>'
        )
    for i, s in enumerate(series):
        col, row = i % LEGEND_COLUMNS, i // LEGEND_COLUMNS
        x = PLOT_LEFT + col * (plot_w / LEGEND_COLUMNS)
        y = base + AXIS_GAP + row * LEGEND_ROW
        name = s.name if len(s.name) <= LEGEND_CHARS else s.name[: LEGEND_CHARS - 1] + "…"
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="14" height="14" fill="{COLOURS[i % 8]}"/>'
            f'<text x="{x + 20:.1f}" y="{y + 12}" font-size="{FONT}" fill="#1a1a1a">'
            f"{escape(name)} ({escape(number(s.total))})</text>"
        )
    return parts, slot, ceiling


def _describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    if not labels or not series:
        return "No data."
    span = f"{len(labels)} points, {labels[0]} to {labels[-1]}" if len(labels) > 1 else labels[0]
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    high = max(range(len(labels)), key=lambda i: totals[i])
    parts = [f"{span}.", f"Total {number(sum(totals))}."]
    if totals[high] > 0:
        parts.append(f"Highest: {number(totals[high])} at {labels[high]}.")
    if len(series) > 1:
        parts.append("; ".join(f"{s.name}: {number(s.total)}" for s in series) + ".")
    return " ".join(parts)


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, ident: str) -> Markup:
    """Bars, one per label, each stacked from the series in order (negative values
    are drawn as 0)."""
    series = top(series)
    _check(labels, series)
    totals = [sum(max(0.0, s.values[i]) for s in series) for i in range(len(labels))]
    parts, slot, ceiling = _frame(labels, series, title, ident, max(totals, default=0))
    width = min(BAR_MAX, max(1.0, slot * 0.78))
    base = PLOT_TOP + PLOT_HEIGHT
    for i, label in enumerate(labels):
        x = PLOT_LEFT + slot * i + (slot - width) / 2
        y = float(base)
        for k, s in enumerate(series):
            value = max(0.0, s.values[i])
            if not value:
                continue
            h = PLOT_HEIGHT * value / ceiling
            y -= h
            named = f"{label} · {s.name}" if len(series) > 1 else label
            tip = f"{named}: {number(value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}"'
                f' fill="{COLOURS[k % 8]}" stroke="#fff" stroke-width="0.5">'
                f"<title>{escape(tip)}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, ident: str
) -> Markup:
    """One line per series (a colour and a dash pattern each), a marker per point."""
    series = top(series)
    _check(labels, series)
    peak = max((max(s.values, default=0) for s in series), default=0)
    parts, slot, ceiling = _frame(labels, series, title, ident, peak)
    base = PLOT_TOP + PLOT_HEIGHT
    for k, s in enumerate(series):
        points = [
            (PLOT_LEFT + slot * (i + 0.5), base - PLOT_HEIGHT * max(0.0, v) / ceiling)
            for i, v in enumerate(s.values)
        ]
        dash = f' stroke-dasharray="{DASHES[k % 8]}"' if DASHES[k % 8] else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{COLOURS[k % 8]}"'
            f' stroke-width="2"{dash}/>'
        )
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS[k % 8]}">'
                f"<title>{escape(f'{label} · {s.name}: {number(value)}')}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)}")
