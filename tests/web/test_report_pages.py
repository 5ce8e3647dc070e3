"""The dashboard and the reports pages over HTTP: what they show, the CSV, bad filters
(4xx pages, never a 500), other tenants' and parents' data (404), read-only operators."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from consentline.services.reports import KINDS
from tests.conftest import Clock
from tests.web.conftest import ACME_LINE, GLOBEX_LINE, SHOP_LINE, Ui

NUMBERS = [f"+1415555{n:04d}" for n in range(400, 410)]


def _activity(ui: Ui, clock: Clock) -> None:
    """Opt-outs on every line, a campaign send from ACME_LINE, a review item."""
    cl = ui.cl
    for number in NUMBERS[:6]:
        cl.record(number, "opt_in", account="acme", purpose="marketing", source="api")
    list(cl.check_many(NUMBERS[:6], from_=ACME_LINE, purpose="marketing", campaign="spring"))
    cl.record(NUMBERS[0], "opt_out", line=ACME_LINE, occurred_at=clock() - timedelta(days=2))
    cl.record(NUMBERS[1], "opt_out", line=SHOP_LINE, source="keyword")
    cl.record(NUMBERS[7], "opt_out", line=GLOBEX_LINE)
    cl.handle_inbound(from_=NUMBERS[2], to=ACME_LINE, text="cancel my appointment")


def test_sign_in_lands_on_the_dashboard_with_the_subtree_s_figures(ui: Ui, clock: Clock) -> None:
    _activity(ui, clock)
    ui.login("acme-read")
    page = ui.http.get("/ui/dashboard")
    assert page.status_code == 200
    html = page.text
    chart = re.search(r'<svg [^>]*role="img"[^>]*>.*?</svg>', html, re.S)
    assert chart and '<title id="chart-opt-outs-title">Opt-outs per day by line' in chart[0]
    assert ACME_LINE in chart[0] and SHOP_LINE in chart[0] and GLOBEX_LINE not in html
    assert re.search(r"<td>spring</td>", html) and "1 open item;" in html
    assert 'href="/ui/dashboard"' in html and 'href="/ui/reports"' in html  # the nav
    for number in NUMBERS:
        assert number not in html and number[2:] not in html


def test_a_sub_account_s_dashboard_shows_its_lines_only(ui: Ui, clock: Clock) -> None:
    _activity(ui, clock)
    ui.login("shop-write")
    html = ui.http.get("/ui/dashboard").text
    assert SHOP_LINE in html and ACME_LINE not in html and "spring" not in html
    assert "0 open items" in html


def test_the_dashboard_takes_a_period_and_a_time_zone(ui: Ui, clock: Clock) -> None:
    _activity(ui, clock)
    ui.login("acme-read")
    page = ui.http.get("/ui/dashboard", params={"days": "7", "tz": "America/New_York"})
    assert page.status_code == 200 and "7 days to 2026-03-02 (America/New_York)" in page.text


@pytest.mark.parametrize(
    "query",
    [{"days": "x"}, {"days": "0"}, {"days": "1000"}, {"tz": "Mars/Olympus"}, {"tz": "../../x"}],
)
def test_bad_dashboard_parameters_are_a_4xx_page(ui: Ui, query: dict[str, str]) -> None:
    ui.login("acme-read")
    answer = ui.http.get("/ui/dashboard", params=query)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")


def test_a_report_shows_a_table_a_chart_and_a_csv_of_the_same_rows(ui: Ui, clock: Clock) -> None:
    _activity(ui, clock)
    ui.login("acme-read")
    query = {"since": "2026-02-20", "until": "2026-03-02", "bucket": "day", "by": ["line"]}
    page = ui.http.get("/ui/reports/opt_outs", params=query)
    assert page.status_code == 200
    body = re.search(r'<table class="report">.*?</table>', page.text, re.S)
    assert body is not None
    shown = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>([^<]*)</td>", body[0])
    link = re.search(r'href="(/ui/reports/opt_outs\?[^"]*format=csv)"', page.text)
    assert link is not None and 'role="img"' in page.text
    download = ui.http.get(link[1].replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    # The table names what the CSV leaves empty: an event on no line is account-wide.
    assert [(r["day"], r["line"] or "account-wide", r["opt_outs"]) for r in rows] == shown
    assert any(r["line"] == "" for r in rows)
    assert {(r["day"], r["line"]) for r in rows if r["opt_outs"] != "0"} == {
        ("2026-02-28", ACME_LINE),
        ("2026-03-02", SHOP_LINE),
    }
    expected = ui.cl.report(
        "opt_outs", account="acme", by=["line"], bucket="day", since=clock() - timedelta(days=10)
    )
    assert download.text.splitlines()[0] == expected.as_csv().splitlines()[0]


def test_every_kind_renders_with_its_defaults_and_the_index_has_the_snapshot(
    ui: Ui, clock: Clock
) -> None:
    _activity(ui, clock)
    ui.login("acme-read")
    for kind in KINDS:
        page = ui.http.get(f"/ui/reports/{kind}")
        assert page.status_code == 200, kind
        assert f'action="/ui/reports/{kind}"' in page.text
        assert page.text.count("<label") >= page.text.count("<input") - page.text.count(
            'type="hidden"'
        )
    index = ui.http.get("/ui/reports").text
    snapshot = re.search(r'<table class="snapshot">.*?</table>', index, re.S)
    assert snapshot and ACME_LINE in snapshot[0] and SHOP_LINE in snapshot[0]
    assert GLOBEX_LINE not in index


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/ui/reports/opt_outs", {"bucket": "year"}, 422),
        ("/ui/reports/opt_outs", {"by": "colour"}, 422),
        ("/ui/reports/opt_outs", {"by": "line,colour"}, 422),
        ("/ui/reports/opt_outs", {"tz": "Mars/Olympus"}, 422),
        ("/ui/reports/opt_outs", {"since": "yesterday"}, 422),
        ("/ui/reports/opt_outs", {"since": "2026-13-01"}, 422),
        ("/ui/reports/opt_outs", {"since": "2026-03-01T10:00:00"}, 422),  # no offset
        ("/ui/reports/opt_outs", {"since": "2026-03-02", "until": "2026-03-01"}, 422),
        ("/ui/reports/opt_outs", {"measure": "revenue"}, 422),
        ("/ui/reports/opt_outs", {"chart": "pie"}, 422),
        ("/ui/reports/opt_outs", {"format": "xlsx"}, 422),
        ("/ui/reports/opt_outs", {"line": "not a line"}, 404),
        ("/ui/reports/opt_outs", {"line": "+1"}, 422),
        ("/ui/reports/opt_outs", {"line": "+18005550142"}, 404),
        ("/ui/reports/snapshot", {"bucket": "day"}, 422),
        ("/ui/reports/snapshot", {"at": "soon"}, 422),
        ("/ui/reports/no_such_kind", {}, 404),
        ("/ui/reports/opt_outs", {"account": "x" * 500}, 404),
    ],
)
def test_bad_filters_are_a_4xx_error_page(
    ui: Ui, path: str, query: dict[str, str], status: int
) -> None:
    ui.login("acme-read")
    for extra in ({}, {"format": "csv"} if "format" not in query else {}):
        answer = ui.http.get(path, params={**query, **extra})
        assert answer.status_code == status, (query, extra)
        assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("operator", "query"),
    [
        ("globex-write", {"account": "acme"}),
        ("globex-write", {"line": ACME_LINE}),
        ("shop-write", {"account": "acme"}),
        ("shop-write", {"line": ACME_LINE}),
    ],
)
def test_another_tenant_s_or_a_parent_s_account_or_line_is_404(
    ui: Ui, clock: Clock, operator: str, query: dict[str, str]
) -> None:
    _activity(ui, clock)
    ui.login(operator)
    for fmt in ({}, {"format": "csv"}):
        answer = ui.http.get("/ui/reports/opt_outs", params={**query, **fmt})
        assert answer.status_code == 404
        assert "text/csv" not in answer.headers["content-type"]
        assert ACME_LINE not in answer.text


def test_a_read_only_operator_reads_both_pages_and_sees_no_write_form(ui: Ui, clock: Clock) -> None:
    _activity(ui, clock)
    ui.login("acme-read")
    for path in ("/ui/dashboard", "/ui/reports", "/ui/reports/campaigns"):
        html = ui.http.get(path).text
        posts = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)
        assert posts == ["/ui/logout"], (path, posts)


def test_both_pages_need_a_session(ui: Ui) -> None:
    for path in ("/ui/dashboard", "/ui/reports", "/ui/reports/opt_outs?format=csv"):
        answer = ui.http.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")


def test_list_hygiene_shows_counts_and_masked_numbers_and_downloads_them(
    ui: Ui, clock: Clock
) -> None:
    ui.cl.record(NUMBERS[0], "opt_in", account="acme", purpose="marketing", source="import")
    ui.cl.record(NUMBERS[1], "opt_in", account="globex", purpose="marketing", source="import")
    ui.login("acme-read")
    page = ui.http.get("/ui/reports/hygiene")
    assert page.status_code == 200 and "opt-ins without proof (import)" in page.text
    assert NUMBERS[0] not in page.text and NUMBERS[0][-4:] in page.text  # masked, not whole
    download = ui.http.get("/ui/reports/hygiene", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert {(r["kind"], r["source"]) for r in rows} == {
        ("no_proof", "import"),
        ("no_timestamp", "import"),
    }
    assert NUMBERS[0] not in download.text
    assert ui.http.get("/ui/reports/hygiene", params={"older_than_days": "x"}).status_code == 422
    assert ui.http.get("/ui/reports/hygiene", params={"older_than_days": "0"}).status_code == 422
    assert ui.http.get("/ui/reports/hygiene", params={"account": "globex"}).status_code == 404
