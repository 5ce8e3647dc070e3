"""Imports at the service layer (on SQLite): the presets, a mapped proof-rich file,
JSONL, gzip, BOM, delimiters, every kind of bad row, dry runs, re-runs, a crash
half-way, never re-subscribing (C25), times with and without zones, contact refs."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import consentline
from consentline import Consentline
from consentline.domain.errors import InvalidImport
from consentline.services.import_planning import RowProblem
from consentline.services.imports import error_writer, preview
from tests.conftest import Clock

X, Y, Z = "+14155550101", "+14155550102", "+14155550103"
LINE = "+18005550100"
LEGACY = {"address": "Phone"}


@pytest.fixture
def cl(tmp_path: Path, clock: Clock) -> Iterator[Consentline]:
    client = consentline.connect(f"sqlite:///{tmp_path / 'c.db'}", clock=clock, cache_seconds=0.0)
    client.create_account("acme", default_region="US")
    client.create_account("shop", parent="acme")
    client.add_line(LINE, account="acme")
    client.create_account("globex", default_region="US")
    try:
        yield client
    finally:
        client.close()


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def events(cl: Consentline) -> list[Any]:
    return cl.events_after(0, 1000)


def test_the_legacy_checkbox_preset(cl: Consentline, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "crm.csv",
        f"Id,Phone,SMS Opt Out\n003A,{X},true\n003B,(415) 555-0102,False\n003C,{Z},checked\n",
    )
    report = cl.import_records(
        path,
        account="acme",
        mapping={"address": "Phone", "contact_ref.salesforce": "Id"},
        preset="legacy-opt-out:SMS Opt Out",
    )
    assert report.as_dict()["by_action"] == {"opt_in": 1, "opt_out": 2}
    assert (report.rows, report.written, report.errors) == (3, 3, 0)
    found = {e.address: e for e in events(cl)}
    assert found[X].action == "opt_out" and found[Z].action == "opt_out"
    opt_in = found[Y]
    assert opt_in.action == "opt_in" and opt_in.source == "import"
    # No proof of consent: the CRM field, its value, and the mark hygiene finds (C20).
    assert opt_in.proof == {
        "legacy_field": "SMS Opt Out",
        "value": "False",
        "proof_of_consent": False,
        "time_source": "import",
    }
    assert opt_in.occurred_at == cl.now()
    assert cl.contact_refs([opt_in])[opt_in.id] == [{"system": "salesforce", "ref": "003B"}]
    assert cl.verify().ok


def test_the_optout_status_preset_and_value_maps(cl: Consentline, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dyn.csv",
        f"Mobile,OptOut Status\n{X},Unsubscribed\n{Y},Subscribed\n{Z},Do Not Text\n",
    )
    report = cl.import_records(
        path,
        account="acme",
        mapping={"address": "Mobile"},
        preset="optout-status:OptOut Status",
        values={"OptOut Status": {"do not text": "opt_out"}},
    )
    assert report.by_action == {"opt_out": 2, "opt_in": 1}
    assert report.errors == 0


def test_a_mapped_proof_rich_file(cl: Consentline, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "forms.csv",
        "Number;Consent;When;Text;Form;IP;Purpose\n"
        f"{X};yes;2026-01-05T10:00:00Z;Send me offers;https://acme.example/f;203.0.113.7;marketing\n"
        f"{Y};no;2026-01-06T10:00:00+01:00;;;;marketing\n",
    )
    report = cl.import_records(
        path,
        account="acme",
        mapping={
            "address": "Number",
            "action": "Consent",
            "occurred_at": "When",
            "purpose": "Purpose",
            "proof.consent_text": "Text",
            "proof.form_url": "Form",
            "proof.ip": "IP",
        },
        values={"Consent": {"Yes": "opt_in", "No": "opt_out"}},
        fixed={"source": "web_form"},
    )
    assert report.written == 2, report.as_dict()
    first, second = events(cl)
    assert first.proof == {
        "consent_text": "Send me offers",
        "form_url": "https://acme.example/f",
        "ip": "203.0.113.7",
    }
    assert first.occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert (first.purpose, first.source) == ("marketing", "web_form")
    assert second.occurred_at == datetime(2026, 1, 6, 9, tzinfo=UTC)
    assert second.action == "opt_out" and second.proof == {}


def test_jsonl_gzip_bom_dicts_and_file_objects(cl: Consentline, tmp_path: Path) -> None:
    rows = [{"phone": X, "action": "opt_out"}, {"phone": Y, "action": "opt_out"}]
    jsonl = "\n".join(json.dumps(r) for r in rows) + "\n"
    mapping = {"address": "phone", "action": "action"}
    assert (
        cl.import_records(
            write(tmp_path, "a.jsonl", jsonl), account="acme", mapping=mapping
        ).written
        == 2
    )
    # The same content gzipped, or as a stream: one batch, nothing new.
    gz = write(tmp_path, "a.jsonl.gz", gzip.compress(jsonl.encode()))
    assert cl.import_records(gz, account="acme", mapping=mapping).unchanged == 2
    stream = io.BufferedReader(io.BytesIO(jsonl.encode()))  # type: ignore[arg-type]
    assert cl.import_records(stream, account="acme", mapping=mapping).unchanged == 2
    bom = write(tmp_path, "b.csv", "\ufeffphone,action\n" + f"{Z},opt_out\n")
    assert cl.import_records(bom, account="acme", mapping=mapping).written == 1
    dicts = cl.import_records(
        [{"phone": "+14155550104", "action": "opt_out"}, "nope"],  # type: ignore[list-item]
        account="acme",
        mapping=mapping,
    )
    assert (dicts.written, dicts.errors) == (1, 1)
    assert not stream.closed  # the caller's file stays the caller's


def test_sniffed_and_given_delimiters(cl: Consentline, tmp_path: Path) -> None:
    mapping = {"address": "phone", "action": "action"}
    tabbed = write(tmp_path, "t.tsv", f"phone\taction\n{X}\topt_out\n")
    assert cl.import_records(tabbed, account="acme", mapping=mapping).written == 1
    piped = write(tmp_path, "p.csv", f"phone|action\n{Y}|opt_out\n")
    assert cl.import_records(piped, account="acme", mapping=mapping, delimiter="|").written == 1
    with pytest.raises(InvalidImport):  # the wrong delimiter: the columns are not there
        cl.import_records(piped, account="acme", mapping=mapping, delimiter=";")


def test_every_kind_of_bad_row_is_reported_and_the_rest_goes_in(
    cl: Consentline, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "phone,action,account,line,purpose,at\n"
        f"{X},opt_out,,,,2026-01-01T00:00:00Z\n"  # 2: fine
        "415-555-01,opt_out,,,,\n"  # 3: invalid number
        f"{Y},opt_out,nobody,,,\n"  # 4: unknown account
        f"{Y},opt_out,,+18005550999,,\n"  # 5: unknown line
        f"{Y},opt_out,,,nosuch,\n"  # 6: unknown purpose
        f"{Y},maybe,,,,\n"  # 7: unmapped value
        f"{Y},opt_out,,,,31/31/2026\n"  # 8: bad date
        f"{Y},opt_out,,,,2026-01-01T00:00:00\n"  # 9: naive time, no zone given
        f"{Y},opt_out,globex,,,\n"  # 10: another tenant's account
        f"{Y},opt_out\n"  # 11: too few fields
        f"{Y},opt_out,,,,2099-01-01T00:00:00Z\n"  # 12: in the future
        f"{Z},opt_out,shop,,,\n",  # 13: fine (a sub-account)
    )
    seen: list[RowProblem] = []
    report = cl.import_records(
        path,
        account="acme",
        mapping={
            "address": "phone",
            "action": "action",
            "account": "account",
            "line": "line",
            "purpose": "purpose",
            "occurred_at": "at",
        },
        on_problem=seen.append,
    )
    assert (report.rows, report.written, report.errors) == (12, 2, 10)
    codes = {p.row: (p.column, p.code) for p in report.first_errors}
    assert codes == {
        3: ("phone", "invalid_address"),
        4: ("account", "unknown_account"),
        5: ("line", "unknown_line"),
        6: ("purpose", "unknown_purpose"),
        7: ("action", "unmapped_value"),
        8: ("at", "invalid_time"),
        9: ("at", "naive_time"),
        10: ("account", "unknown_account"),
        11: (None, "invalid_row"),
        12: ("at", "invalid_time"),
    }
    assert seen == report.first_errors
    assert all("555-01" not in p.message and X not in p.message for p in seen)  # masked (C23)


def test_naive_times_are_read_in_the_zone_given(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", f"phone,when\n{X},01/15/2026 09:30\n")
    report = cl.import_records(
        path,
        account="acme",
        mapping={"address": "phone", "occurred_at": "when"},
        fixed={"action": "opt_out"},
        time_format="%m/%d/%Y %H:%M",
        timezone="America/New_York",
    )
    assert report.written == 1
    assert events(cl)[0].occurred_at == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
    with pytest.raises(InvalidImport):
        cl.import_records(
            path,
            account="acme",
            mapping={"address": "phone"},
            fixed={"action": "opt_out"},
            timezone="Mars/Base",
        )


def test_a_dry_run_validates_everything_and_writes_nothing(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", f"phone,action\n{X},opt_out\nbad,opt_out\n")
    report = cl.import_records(
        path, account="acme", mapping={"address": "phone", "action": "action"}, dry_run=True
    )
    assert (report.dry_run, report.written, report.errors) == (True, 1, 1)
    assert events(cl) == []


def test_a_re_run_appends_nothing(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"phone,action\n{X},opt_out\n{Y},opt_out\n{X},opt_out\n")
    mapping = {"address": "phone", "action": "action"}
    first = cl.import_records(path, account="acme", mapping=mapping)
    assert (first.written, first.unchanged) == (2, 1)  # the same row twice is one
    again = cl.import_records(path, account="acme", mapping=mapping)
    assert (again.written, again.unchanged) == (0, 3)
    assert len(events(cl)) == 2 and cl.verify().ok


def test_a_crash_half_way_then_a_re_run_appends_exactly_the_rest(
    cl: Consentline, tmp_path: Path
) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(110, 120)]
    path = write(tmp_path, "c.csv", "phone\n" + "".join(f"{n}\n" for n in numbers))
    mapping = {"address": "phone"}

    def crash(report: Any) -> None:
        if report.rows >= 6:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cl.import_records(
            path,
            account="acme",
            mapping=mapping,
            fixed={"action": "opt_out"},
            chunk_size=3,
            on_chunk=crash,
        )
    assert len(events(cl)) == 6  # two chunks committed, the rest never started
    again = cl.import_records(
        path, account="acme", mapping=mapping, fixed={"action": "opt_out"}, chunk_size=3
    )
    assert (again.unchanged, again.written) == (6, 4)
    assert sorted(e.address for e in events(cl)) == numbers
    assert cl.verify().ok


def test_never_re_subscribe(cl: Consentline, tmp_path: Path, clock: Clock) -> None:
    # C25: an imported opt-in never clears an opt-out held for its scope, unless the
    # row's own time is later and it carries proof of consent.
    cl.record(X, "opt_out", account="acme", occurred_at=datetime(2026, 1, 10, tzinfo=UTC))
    cl.record(Y, "opt_out", via=LINE, source="keyword")
    cl.record(Z, "opt_out", account="acme", occurred_at=datetime(2026, 1, 10, tzinfo=UTC))
    path = write(
        tmp_path,
        "in.csv",
        "phone,when,text,flag\n"
        f"{X},2026-02-01T00:00:00Z,Yes send me texts,\n"  # later, with proof: lands
        f"{Y},2026-02-01T00:00:00Z,,false\n"  # later, legacy checkbox only: kept out
        f"{Z},2026-01-01T00:00:00Z,Yes send me texts,\n"  # proof but earlier: kept out
        f"{Z},,Yes send me texts,\n",  # no time of its own: kept out
    )
    seen: list[RowProblem] = []
    report = cl.import_records(
        path,
        account="acme",
        mapping={"address": "phone", "occurred_at": "when", "proof.consent_text": "text"},
        fixed={"action": "opt_in"},
        on_problem=seen.append,
    )
    assert (report.written, report.kept_opt_out, report.errors) == (1, 3, 0)
    assert [(p.row, p.code) for p in seen] == [
        (3, "kept_opt_out"),
        (4, "kept_opt_out"),
        (5, "kept_opt_out"),
    ]
    assert cl.check(X, from_=LINE, purpose="marketing").allowed
    for held in (Y, Z):
        assert cl.check(held, from_=LINE, purpose="marketing").reason == "opted_out"
    # The legacy preset too: an unchecked box never lifts a STOP.
    legacy = write(tmp_path, "l.csv", f"phone,opted out\n{Y},false\n")
    kept = cl.import_records(
        legacy, account="acme", mapping={"address": "phone"}, preset="legacy-opt-out:opted out"
    )
    assert kept.kept_opt_out == 1 and kept.written == 0


def test_an_opt_out_earlier_in_the_same_file_holds_too(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", f"phone,action\n{X},opt_out\n{X},opt_in\n")
    report = cl.import_records(
        path, account="acme", mapping={"address": "phone", "action": "action"}
    )
    assert (report.written, report.kept_opt_out) == (1, 1)


def test_file_level_problems_raise_before_anything_is_written(
    cl: Consentline, tmp_path: Path
) -> None:
    path = write(tmp_path, "f.csv", f"phone\n{X}\n")
    for bad in (
        {"mapping": {"address": "nope"}, "fixed": {"action": "opt_out"}},
        {"mapping": {"phone": "phone"}},
        {"mapping": {"address": "phone"}},  # no action at all
        {"mapping": {"address": "phone"}, "preset": "checkbox:x"},
        {"mapping": {"address": "phone"}, "values": {"phone": {"x": "subscribe"}}},
    ):
        with pytest.raises(InvalidImport):
            cl.import_records(path, account="acme", **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidImport):
        cl.import_records(
            tmp_path / "missing.csv",
            account="acme",
            mapping={"address": "phone"},
            fixed={"action": "opt_out"},
        )
    assert events(cl) == []


def test_a_row_that_is_not_utf8_is_a_row_error(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "l1.csv", f"phone,name\n{X},Jos\xe9\n{Y},Ana\n".encode("latin-1"))
    report = cl.import_records(
        path, account="acme", mapping={"address": "phone"}, fixed={"action": "opt_out"}
    )
    assert (report.written, report.errors) == (1, 1)
    assert report.first_errors[0].as_dict() == {
        "row": 2,
        "column": None,
        "code": "invalid_row",
        "message": "not UTF-8 text",
    }


def test_a_preview_reads_the_header_and_first_rows_as_the_import_does(tmp_path: Path) -> None:
    body = "\ufeffPhone;Status\n415 555 0101;Gone\nonly-one-field\n415 555 0102;Here\n"
    found = preview(write(tmp_path, "p.csv", body), rows=2)
    assert found.columns == ("Phone", "Status")  # BOM dropped, delimiter sniffed
    assert found.rows == [
        (2, ["415 555 0101", "Gone"], None),
        (3, None, "1 fields, the header has 2"),
    ]
    for bad in (b"", b"\x89PNG\r\n\x1a\n\x00\xff\xfe"):
        with pytest.raises(InvalidImport):
            preview(write(tmp_path, "bad.csv", bad))


def test_the_error_writer_writes_every_row_left_out(cl: Consentline, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", f"Phone,Out\n{X},true\nnot-a-number,true\n,false\n")
    out = io.StringIO(newline="")
    cl.import_records(
        path,
        account="acme",
        mapping=LEGACY,
        preset="legacy-opt-out:Out",
        on_problem=error_writer(out),
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "row,column,code,message"
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["3", "Phone", "invalid_address"],
        ["4", "Phone", "missing_address"],
    ]
    assert "not-a-number" not in out.getvalue()  # C23: the message never holds the value


def test_the_actor_goes_into_every_row_and_a_re_run_by_another_finds_them(
    cl: Consentline, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.csv", f"Phone,Out\n{X},true\n{Y},false\n")
    options: dict[str, Any] = {"account": "acme", "mapping": LEGACY, "preset": "legacy-opt-out:Out"}
    first = cl.import_records(path, **options, actor={"actor": "maria", "operator_id": 7})
    again = cl.import_records(path, **options, actor={"actor": "ravi", "operator_id": 8})
    assert (first.written, again.written, again.unchanged) == (2, 0, 2)
    assert {e.proof["actor"] for e in events(cl)} == {"maria"}


def test_rows_read_before_a_failing_source_still_go_in(cl: Consentline) -> None:
    """The next chunk is read before the last one is written; when reading fails
    (here the caller's own iterator), the chunks read before it are written first."""

    def rows() -> Iterator[dict[str, str]]:
        for n in range(7):
            yield {"Phone": f"+1415555{n:04d}", "Out": "true"}
        raise RuntimeError("the caller's source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        cl.import_records(
            rows(),
            account="acme",
            mapping={"address": "Phone"},
            preset="legacy-opt-out:Out",
            chunk_size=3,
        )
    assert len(events(cl)) == 6  # two whole chunks; the third never ended
