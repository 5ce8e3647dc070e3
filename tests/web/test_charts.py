"""The server-drawn SVG charts: well-formed, escaped, labelled for screen readers, and
the numbers they draw are the numbers they are given."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from consentline.web.charts import Series, bar_chart, fill, line_chart, scale, top

SVG = "{http://www.w3.org/2000/svg}"
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # raises on anything that is not well-formed XML


def test_a_bar_chart_is_an_image_named_by_its_title_and_described_in_words() -> None:
    svg = _parse(
        bar_chart(DAYS, [Series("+18005550100", (1, 0, 7, 2))], title="Opt-outs", ident="c1")
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{SVG}title").text == "Opt-outs"  # type: ignore[union-attr]
    desc = svg.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "4 points, 2026-03-01 to 2026-03-04" in desc and "Total 10" in desc
    assert "Highest: 7 at 2026-03-03" in desc


def test_every_bar_carries_its_label_and_value_and_heights_follow_the_values() -> None:
    series = [Series("a", (1, 0, 4, 2)), Series("b", (1, 1, 0, 2))]
    svg = _parse(bar_chart(DAYS, series, title="t", ident="c"))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    tips = [r.find(f"{SVG}title").text for r in bars]  # type: ignore[union-attr]
    assert tips == [
        "2026-03-01 · a: 1",
        "2026-03-01 · b: 1",
        "2026-03-02 · b: 1",
        "2026-03-03 · a: 4",
        "2026-03-04 · a: 2",
        "2026-03-04 · b: 2",
    ]
    heights = [float(r.get("height") or 0) for r in bars]
    assert heights[3] == pytest.approx(4 * heights[0]) and heights[4] == heights[5]


def test_text_from_the_data_is_escaped() -> None:
    name = '<script>alert("x")</script> & co'
    markup = str(bar_chart(["<b>"], [Series(name, (3,))], title="a < b", ident='x"y'))
    assert "<script>" not in markup and "<b>" not in markup
    svg = _parse(markup)
    assert svg.find(f"{SVG}title").text == "a < b"  # type: ignore[union-attr]
    assert any(name in (t.text or "") for t in svg.iter(f"{SVG}text"))


def test_a_line_chart_has_a_line_and_a_dash_pattern_per_series_and_a_point_per_value() -> None:
    series = [Series(f"s{i}", (i, i + 1, 0, 2)) for i in range(3)]
    svg = _parse(line_chart(DAYS, series, title="t", ident="l"))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 3 and len({line.get("stroke") for line in lines}) == 3
    assert len({line.get("stroke-dasharray") for line in lines}) == 3
    points = [c.find(f"{SVG}title").text for c in svg.iter(f"{SVG}circle")]  # type: ignore[union-attr]
    assert len(points) == 12 and "2026-03-02 · s2: 3" in points


def test_nothing_to_show_still_draws_an_empty_labelled_chart() -> None:
    svg = _parse(bar_chart([], [], title="Nothing", ident="e"))
    assert svg.find(f"{SVG}desc").text == "No data."  # type: ignore[union-attr]
    zero = _parse(bar_chart(DAYS, [Series("a", (0, 0, 0, 0))], title="z", ident="z"))
    assert not [r for r in zero.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


def test_a_series_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="3 values for 4"):
        bar_chart(DAYS, [Series("a", (1, 2, 3))], title="t", ident="t")


@pytest.mark.parametrize(
    ("peak", "whole", "expected"),
    [(5, True, (2.0, 3)), (3, True, (1.0, 3)), (0, True, (1.0, 1)), (0.7, True, (1.0, 1))],
)
def test_the_scale_steps_are_round_and_whole_for_counts(
    peak: float, whole: bool, expected: tuple[float, int]
) -> None:
    assert scale(peak, whole=whole) == expected
    step, steps = scale(0.0123, whole=False)
    assert step == pytest.approx(0.005) and step * steps >= 0.0123


def test_the_axis_labels_of_a_count_chart_are_whole_numbers() -> None:
    markup = str(bar_chart(DAYS, [Series("a", (1, 5, 2, 0))], title="t", ident="w"))
    ticks = re.findall(r'text-anchor="end" fill="#1a1a1a">([^<]+)<', markup)
    assert ticks == ["0", "2", "4", "6"]


def test_the_smallest_series_are_summed_into_other_and_the_totals_stay() -> None:
    series = [Series(f"s{i}", (i, 1)) for i in range(12)]
    kept = top(series, keep=5)
    assert [s.name for s in kept] == ["s8", "s9", "s10", "s11", "other"]
    assert sum(s.total for s in kept) == sum(s.total for s in series)
    assert top(series[:3], keep=5) == series[:3]


H13, H15 = "2026-03-02T13:00+0000", "2026-03-02T15:00+0000"


@pytest.mark.parametrize(
    ("bucket", "labels", "expected"),
    [
        ("day", ["2026-03-02", "2026-02-28"], ["2026-02-28", "2026-03-01", "2026-03-02"]),
        ("week", ["2026-03-16", "2026-03-02"], ["2026-03-02", "2026-03-09", "2026-03-16"]),
        ("month", ["2026-02", "2025-11", "2026-02"], ["2025-11", "2025-12", "2026-01", "2026-02"]),
        ("hour", [H15, H13], [H13, H15]),
        (None, ["b", "a"], ["a", "b"]),
        ("day", ["not-a-day", "2026-03-01"], ["2026-03-01", "not-a-day"]),
    ],
)  # fmt: skip
def test_fill_lists_every_bucket_between_the_first_and_the_last(
    bucket: str | None, labels: list[str], expected: list[str]
) -> None:
    assert fill(bucket, labels) == expected
