"""A deactivation list lapses consents given before each number's date (docs/lifecycle.md)."""

from __future__ import annotations

import gc
import gzip
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consentline import Consentline, InvalidInput, InvalidTime
from consentline.services import deactivations
from tests.conftest import START, Clock, worked_setup

BEFORE = START - timedelta(days=30)
DATE = (START - timedelta(days=10)).date().isoformat()  # the deactivation date
AFTER = START - timedelta(days=5)


def _csv(*rows: str, header: str = "Phone Number,Deactivation Date") -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


def test_consents_before_the_date_lapse_and_later_ones_are_kept(cl: Consentline) -> None:
    w = worked_setup(cl)
    old = cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    new = cl.record(w.x, "opt_in", account="a", topic="volunteer", occurred_at=AFTER)
    report = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t", list_name="rnd.csv")
    assert (report.rows, report.lapsed, report.unchanged, report.errors) == (1, 1, 0, 0)
    assert report.events == 1
    (lapse,) = [e for e in cl.history(w.x, account="t") if e.action == "lapse"]
    assert lapse.source == "deactivation"
    assert lapse.proof == {"list": "rnd.csv", "deactivated_on": DATE, "lapsed_event": old.id}
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"
    kept = cl.check(w.x, from_=w.L1, purpose="marketing", topic="volunteer")
    assert kept.allowed and kept.event is not None and kept.event.id == new.id
    assert cl.verify().ok


def test_a_consent_given_on_the_date_itself_is_kept(cl: Consentline) -> None:
    w = worked_setup(cl)
    midnight = datetime.fromisoformat(DATE).replace(tzinfo=UTC)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=midnight)
    report = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t")
    assert (report.lapsed, report.unchanged) == (0, 1)
    assert cl.check(w.x, from_=w.L1, purpose="marketing").allowed


def test_a_check_before_the_date_still_shows_the_consent(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t")
    then = BEFORE + timedelta(days=1)
    assert cl.check(w.x, from_=w.L1, purpose="marketing", at=then).allowed


def test_opt_outs_are_never_touched(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword", occurred_at=BEFORE + timedelta(days=1))
    report = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t")
    assert report.lapsed == 1  # the opt-in masked under the opt-out
    assert cl.check(w.x, from_=w.L1, purpose="transactional").reason == "opted_out"
    cl.record(w.x, "resume", via=w.L1, source="keyword")  # the next holder texts START
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_a_re_run_appends_nothing(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    first = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t", list_name="a.csv")
    clock.advance(minutes=5)
    events = len(cl.history(w.x, account="t"))
    again = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t", list_name="b.csv")
    assert (first.lapsed, again.lapsed, again.unchanged, again.events) == (1, 0, 1, 0)
    assert len(cl.history(w.x, account="t")) == events


def test_bad_rows_are_reported_and_never_stop_the_rest(cl: Consentline) -> None:
    w = worked_setup(cl)
    y = "+14155550124"
    cl.record(y, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    future = (START + timedelta(days=3)).date().isoformat()
    report = cl.import_deactivations(
        _csv(
            f"not-a-number,{DATE}",
            f"{w.x},",
            f",{DATE}",
            f"{w.x},31/31/2026",
            f"{w.x},{future}",
            f"{w.x},2026-02-01T09:00:00",
            f"{y},{DATE}",
        ),
        account="t",
    )
    assert (report.rows, report.errors, report.lapsed) == (7, 6, 1)
    assert [(e.row, e.code) for e in report.first_errors] == [
        (2, "invalid_address"),  # the header is row 1, as in an import's report
        (3, "missing_date"),
        (4, "missing_number"),
        (5, "bad_date"),
        (6, "future_date"),
        (7, "naive_time"),
    ]
    assert all(w.x not in e.message for e in report.first_errors)
    assert cl.check(y, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_header_names_delimiters_and_a_bom_are_accepted(cl: Consentline, tmp_path: Path) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    path = tmp_path / "disconnects.csv"
    compact = DATE.replace("-", "")
    path.write_bytes(f"\ufeffTN;Disconnect Date\n{w.x};{compact}\n".encode())
    report = cl.import_deactivations(path, account="t")
    assert (report.list_name, report.lapsed) == ("disconnects.csv", 1)


def test_a_datetime_with_an_offset_and_the_timezone_of_bare_dates(cl: Consentline) -> None:
    w = worked_setup(cl)
    y = "+14155550124"
    day = datetime.fromisoformat(DATE).replace(tzinfo=UTC)
    # Given at 02:00 UTC on the date: after midnight UTC, before midnight in New York.
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=day + timedelta(hours=2))
    cl.record(y, "opt_in", account="a", purpose="marketing", occurred_at=day + timedelta(hours=2))
    utc = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="t")
    assert utc.lapsed == 0  # on the date in UTC: kept
    local = cl.import_deactivations(_csv(f"{y},{DATE}"), account="t", timezone="America/New_York")
    assert local.lapsed == 1  # before the date in New York: lapsed
    offset = cl.import_deactivations(_csv(f"{w.x},{DATE}T03:00:00+00:00"), account="t")
    assert offset.lapsed == 1


def test_only_the_callers_subtree_is_touched(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_in", line=w.L3, purpose="marketing", occurred_at=BEFORE)
    report = cl.import_deactivations(_csv(f"{w.x},{DATE}"), account="b")
    assert report.events == 1
    assert cl.check(w.x, from_=w.L1, purpose="marketing").allowed


def test_a_list_without_the_columns_is_refused(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(InvalidInput, match="number column"):
        cl.import_deactivations(_csv("x,y", header="name,when"), account="t")
    with pytest.raises(InvalidInput, match="date column"):
        cl.import_deactivations(_csv("x,y", header="number,name"), account="t")
    with pytest.raises(InvalidTime):
        cl.import_deactivations(_csv(), account="t", timezone="Mars/Olympus")


def test_an_iterable_of_dicts_is_streamed_in_chunks(
    cl: Consentline, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked_setup(cl)
    monkeypatch.setattr(deactivations, "CHUNK", 3)
    numbers = [f"+1415555{n:04d}" for n in range(200, 210)]
    for number in numbers:
        cl.record(number, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    loads: list[int] = []
    real = deactivations._apply

    def counting(*args: object, **kwargs: object) -> None:
        loads.append(len(args[5]))  # type: ignore[arg-type]
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deactivations, "_apply", counting)
    consumed: list[str] = []

    def rows() -> Iterator[dict[str, str]]:
        for number in numbers:
            consumed.append(number)
            yield {"number": number, "deactivation_date": DATE}

    report = cl.import_deactivations(rows(), account="t")
    assert (report.rows, report.lapsed) == (10, 10)
    assert loads == [3, 3, 3, 1]  # one projection read per chunk


def test_memory_stays_flat_for_a_long_file(cl: Consentline) -> None:
    worked_setup(cl)

    def rows(count: int) -> Iterator[dict[str, str]]:
        for n in range(count):
            yield {"number": f"+1415{n % 10_000_000:07d}", "date": DATE}

    gc.collect()
    tracemalloc.start()
    cl.import_deactivations(rows(5000), account="t")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000


def test_a_binary_file_object_is_read_as_utf8(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    data = io.BytesIO(f"\ufeffmsisdn,deactivated_on\n{w.x},{DATE}\n".encode())
    assert cl.import_deactivations(data, account="t").lapsed == 1


def test_a_crash_part_way_keeps_whole_chunks_and_a_re_run_finishes(
    cl: Consentline, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked_setup(cl)
    monkeypatch.setattr(deactivations, "CHUNK", 2)
    numbers = [f"+1415555030{n}" for n in range(6)]
    for number in numbers:
        cl.record(number, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    rows = [{"number": n, "date": DATE} for n in numbers]
    real = deactivations._apply
    calls: list[int] = []

    def crashing(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the process died")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deactivations, "_apply", crashing)
    with pytest.raises(RuntimeError):
        cl.import_deactivations(rows, account="t")
    monkeypatch.setattr(deactivations, "_apply", real)
    lapsed = [
        n for n in numbers if not cl.check(n, from_="+18005550101", purpose="marketing").allowed
    ]
    assert lapsed == numbers[:2]  # the first chunk, whole
    again = cl.import_deactivations(rows, account="t")
    assert (again.lapsed, again.unchanged) == (4, 2)
    assert cl.verify().ok


def test_a_number_in_the_date_column_is_never_shown_in_full(cl: Consentline) -> None:
    w = worked_setup(cl)
    report = cl.import_deactivations(_csv(f"{w.x},+14155550177"), account="t")
    (error,) = report.first_errors
    assert error.code == "bad_date" and "+14155550177" not in error.message


def test_a_list_is_read_as_an_import_reads_it_gzip_and_jsonl(
    cl: Consentline, tmp_path: Path
) -> None:
    w = worked_setup(cl)
    others = ["+14155550141", "+14155550142"]
    for number in [w.x, *others]:
        cl.record(number, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    zipped = tmp_path / "rnd.csv.gz"
    zipped.write_bytes(gzip.compress(f"number;deactivation_date\n{w.x};{DATE}\n".encode()))
    lines = tmp_path / "rnd.jsonl"
    lines.write_text(
        "\n".join(json.dumps({"msisdn": n, "deactivated_on": DATE}) for n in others) + "\n"
    )
    assert cl.import_deactivations(zipped, account="t").lapsed == 1
    report = cl.import_deactivations(lines, account="t")
    assert (report.rows, report.lapsed) == (2, 2)


def test_a_row_the_reader_cannot_make_out_is_reported_by_its_row(
    cl: Consentline, tmp_path: Path
) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    listed = tmp_path / "rnd.csv"
    listed.write_bytes(f"number,date\n{w.x},{DATE},extra\n{w.x},{DATE}\n".encode())
    report = cl.import_deactivations(listed, account="t")
    (error,) = report.first_errors
    assert (error.row, error.code) == (2, "invalid_row")
    assert (report.rows, report.lapsed, report.errors) == (2, 1, 1)
