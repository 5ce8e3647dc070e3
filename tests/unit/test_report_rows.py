"""A report's rows as a table: the columns in first-seen order and the one CSV writer."""

from __future__ import annotations

import csv
import io

from consentline.domain.reports import Report


def test_the_columns_are_every_key_in_the_order_it_first_appears() -> None:
    report = Report("x", rows=[{"day": "d1", "n": 1}, {"day": "d2", "line": "+1800", "n": 2}])
    assert report.columns() == ["day", "n", "line"]


def test_the_csv_has_a_header_and_an_empty_cell_for_none_or_absent() -> None:
    rows = [
        {"line": None, "opt_outs": 3, "spike": False, "rate": 0.25},
        {"line": "+18005550100", "opt_outs": 0, "campaign": 'say "hi", ok'},
    ]
    text = Report("x", rows=rows).as_csv()
    assert text.splitlines()[0] == "line,opt_outs,spike,rate,campaign"
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1] == ["", "3", "False", "0.25", ""]
    assert parsed[2] == ["+18005550100", "0", "", "", 'say "hi", ok']
    assert Report("x").as_csv() == "\n"
