"""The dashboard (``/ui/dashboard``) and the reports (``/ui/reports``, ``/ui/reports/{kind}``).

Both are reads of the reports service through the façade (``Consentline.dashboard``,
``Consentline.report``): counts only, never a number (C23). The reports' filters are a
GET form (bookmarkable, no CSRF token needed since nothing is written); a bad value is
the service's typed error, answered as the UI's error page with its 4xx. An account or
line outside the operator's subtree is answered 404, as if it did not exist (the
report is asked ``within`` the operator's account). The CSV download is the same
query with ``format=csv``: the same rows as the table, written by ``Report.as_csv``
(the CLI's ``--csv`` too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from consentline.domain.errors import InvalidInput, InvalidTime, UnknownReport
from consentline.domain.reports import BUCKETS, Report
from consentline.services.dashboard import ACCOUNT_WIDE, Dashboard
from consentline.services.reports import GROUPINGS, KINDS, MEASURES, time_zone
from consentline.web.charts import Series, bar_chart, fill, line_chart
from consentline.web.common import page, render, signed_in, web_of

router = APIRouter(include_in_schema=False)
TABLE_MAX: Final = 500  # rows shown in the page (the CSV has them all)
CHART_MAX: Final = 400  # points on a chart, beyond which it asks for a coarser bucket
FIELD_MAX: Final = 64
_US: Final = timedelta(microseconds=1)
CHART_KEYS: Final = {"campaigns": ["send", "campaign"], "gateway": ["line", "reason"]}
ABOUT: Final = {
    "opt_outs": "Opt-outs, opt-ins, resumes, lapses and pending consents by line, account,"
    " purpose, topic, source, classifier rule or language.",
    "snapshot": "Per line (and purpose), at one moment: how many numbers are opted in, opted"
    " out, pending, or have nothing on the line (not defined).",
    "inbound": "Inbound messages by intent, rule, language and line, with the open review queue.",
    "campaigns": "Each campaign send: recipients, allowed, denied by reason, the opt-outs it"
    " caused, its opt-out rate and spike flag.",
    "gateway": "The send gateway's decisions, allowed and denied, by line, account and reason.",
}
DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "opt_outs": {"by": ["line"], "bucket": "day", "days": 30, "measure": "opt_outs"},
    "snapshot": {"by": [], "bucket": None, "days": None, "measure": "opted_in"},
    "inbound": {"by": ["intent"], "bucket": "day", "days": 30, "measure": "messages"},
    "campaigns": {"by": [], "bucket": None, "days": 30, "measure": "opt_outs"},
    "gateway": {"by": ["reason"], "bucket": "day", "days": 30, "measure": "denied"},
}


def age(seconds: int | None) -> str:
    """``2 d 3 h``, ``5 h 10 min``, ``4 min``, ``30 s``; an empty string for None."""
    if seconds is None:
        return ""
    d, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min" if m else f"{s} s"


def cell(column: str, value: Any) -> str:
    """A table cell's text: ``1,234``, ``2.50 %`` for a rate, ``yes``/``no``, and an
    event on no line as account-wide (the CSV leaves it empty)."""
    if value is None:
        return ACCOUNT_WIDE if column == "line" else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.2%}" if column.endswith("_rate") else f"{value:.4g}"
    return str(value)


# -- the dashboard ------------------------------------------------------------------------
@router.get("/ui/dashboard")
@page
def dashboard(request: Request) -> Response:
    signed = signed_in(request)
    params = request.query_params
    days = _whole(params.get("days") or "30", "days")
    tz = (params.get("tz") or "UTC")[:FIELD_MAX]
    home = signed.reach.home.slug
    board = web_of(request).client.dashboard(account=home, within=home, days=days, timezone=tz)
    return render(
        request,
        "dashboard.html",
        signed=signed,
        board=board,
        chart=_dashboard_chart(board),
        days=days,
        tz=tz,
        age=age,
        cell=cell,
    )


def _dashboard_chart(board: Dashboard) -> Markup | None:
    series = [Series(name, tuple(v)) for name, v in board.per_line().items()]
    if not series:
        return None
    title = f"Opt-outs per day by line, {board.days[0]} to {board.days[-1]} ({board.timezone})"
    return bar_chart(board.days, series, title=title, ident="chart-opt-outs")


# -- the reports ---------------------------------------------------------------------------
@router.get("/ui/reports")
@page
def reports_index(request: Request) -> Response:
    signed = signed_in(request)
    home = signed.reach.home.slug
    snapshot = web_of(request).client.report("snapshot", account=home, within=home)
    return render(
        request,
        "reports.html",
        signed=signed,
        kinds=[(kind, ABOUT.get(kind, "")) for kind in sorted(KINDS)],
        snapshot=snapshot,
        cell=cell,
    )


@router.get("/ui/reports/hygiene")
@page
def hygiene(request: Request) -> Response:
    """List hygiene (C24, C26): a survey of the whole list, numbers masked (C23)."""
    signed = signed_in(request)
    params = request.query_params
    home = signed.reach.home.slug
    account = (params.get("account") or home)[:FIELD_MAX]
    days = params.get("older_than_days") or None
    older = None if days is None else _whole(days, "older_than_days")
    if older is not None and not 1 <= older <= 36500:
        raise InvalidInput("older_than_days is from 1 to 36500", field="older_than_days")
    found = web_of(request).client.hygiene(
        account=account,
        older_than=None if older is None else timedelta(days=older),
        within=home,
    )
    items = Report("hygiene", rows=[dict(i.as_dict()) for i in found.items])
    if params.get("format") == "csv":
        return _csv(items, f"hygiene-{found.account}.csv")
    return render(
        request,
        "hygiene.html",
        signed=signed,
        found=found,
        items=items.rows[:TABLE_MAX],
        table_max=TABLE_MAX,
        older=older,
        accounts=[a.slug for a in signed.reach.accounts()],
        csv_url="/ui/reports/hygiene?"
        + urlencode({"account": found.account, "older_than_days": older or "", "format": "csv"}),
        cell=cell,
    )


def _csv(report: Report, filename: str) -> Response:
    return Response(
        report.as_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/ui/reports/{kind}")
@page
def report(request: Request, kind: str) -> Response:
    signed = signed_in(request)
    if kind not in KINDS:
        raise UnknownReport(f"no report {kind[:40]!r}", kind=kind[:40])
    home = signed.reach.home.slug
    client = web_of(request).client
    form = _filters(kind, request.query_params, home, client.now())
    tz = time_zone(form["tz"])
    snapshot = kind == "snapshot"
    result = client.report(
        kind,
        account=form["account"],
        lines=form["lines"] or None,
        since=None if snapshot else _moment(form["since"], "since", tz),
        until=None if snapshot else _moment(form["until"], "until", tz, end=True),
        at=_snapshot_at(form["at"], tz) if snapshot else None,
        bucket=form["bucket"],
        by=form["by"],
        timezone=form["tz"],
        within=home,
    )
    query = _query_string(form)
    if request.query_params.get("format") == "csv":
        return _csv(result, f"{kind}-{form['account']}.csv")
    return render(
        request,
        "report.html",
        signed=signed,
        kind=kind,
        about=ABOUT.get(kind, ""),
        form=form,
        report=result,
        columns=result.columns(),
        rows=result.rows[:TABLE_MAX],
        table_max=TABLE_MAX,
        chart=_report_chart(kind, result, form),
        csv_url=f"/ui/reports/{kind}?{query}&format=csv",
        groupings=sorted(GROUPINGS[kind]),
        buckets=BUCKETS if kind != "snapshot" else (),
        measures=MEASURES[kind],
        accounts=[a.slug for a in signed.reach.accounts()],
        lines=[line.number for line in signed.reach.lines()],
        age=age,
        cell=cell,
    )


def _filters(kind: str, params: Any, home: str, now: datetime) -> dict[str, Any]:
    """The form's values: the kind's defaults for a first visit (no parameters)."""
    defaults = DEFAULTS.get(kind, {"by": [], "bucket": None, "days": None, "measure": None})
    fmt = params.get("format")
    if fmt not in (None, "csv"):
        raise InvalidInput("format is csv or omitted", field="format")
    chart = params.get("chart") or "bar"
    if chart not in ("bar", "line"):
        raise InvalidInput("chart is bar or line", field="chart")
    if not [k for k in params if k not in ("format", "chart")]:
        since = None
        if defaults["days"]:
            since = (now.date() - timedelta(days=defaults["days"] - 1)).isoformat()
        return {
            "account": home,
            "lines": [],
            "since": since,
            "until": None,
            "at": None,
            "bucket": defaults["bucket"],
            "by": list(defaults["by"]),
            "tz": "UTC",
            "measure": defaults["measure"] or MEASURES[kind][0],
            "chart": chart,
        }
    lines = [v[:FIELD_MAX] for v in params.getlist("line") if v.strip()]
    by = [b.strip() for v in params.getlist("by") for b in v.split(",") if b.strip()]
    if len(lines) > 200 or len(by) > 20:
        raise InvalidInput("too many lines or groupings in the form")
    measure = params.get("measure") or MEASURES[kind][0]
    if measure not in MEASURES[kind]:
        raise InvalidInput(
            f"the chart's measure is one of {', '.join(MEASURES[kind])}", field="measure"
        )
    return {
        "account": (params.get("account") or home)[:FIELD_MAX],
        "lines": lines,
        "since": (params.get("since") or "").strip()[:FIELD_MAX] or None,
        "until": (params.get("until") or "").strip()[:FIELD_MAX] or None,
        "at": (params.get("at") or "").strip()[:FIELD_MAX] or None,
        "bucket": (params.get("bucket") or "")[:FIELD_MAX] or None,
        "by": by,
        "tz": (params.get("tz") or "UTC").strip()[:FIELD_MAX] or "UTC",
        "measure": measure,
        "chart": chart,
    }


def _moment(value: str | None, name: str, zone: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A date is the start of that local day (with ``end``: of the next one, so that
    the day is included); anything else must be a time with a UTC offset."""
    if value is None:
        return None
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidTime(f"{name} is a date such as 2026-03-01", field=name) from None
        return datetime.combine(day + timedelta(days=int(end)), time(), tzinfo=zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidTime(f"{name} is a date (2026-03-01) or a time with a UTC offset", field=name)
    return moment


def _snapshot_at(value: str | None, zone: ZoneInfo) -> datetime | None:
    """A snapshot on a day is taken as the day ends (its last slot, not the next's)."""
    moment = _moment(value, "at", zone, end=True)
    if moment is None or value is None or len(value) != 10:
        return moment
    return moment - _US


def _query_string(form: Mapping[str, Any]) -> str:
    pairs: list[tuple[str, str]] = [("account", form["account"])]
    pairs += [("line", n) for n in form["lines"]]
    for name in ("since", "until", "at", "bucket"):
        pairs.append((name, form[name] or ""))
    pairs += [("by", b) for b in form["by"]]
    pairs += [("tz", form["tz"]), ("measure", form["measure"]), ("chart", form["chart"])]
    return urlencode(pairs)


def _report_chart(kind: str, report: Report, form: Mapping[str, Any]) -> tuple[str, Markup] | None:
    """One chart of the rows, with its title: a bucketed report over time (a series per
    group), the others a bar per row; a snapshot stacks its four states per line."""
    rows, query = report.rows, report.query
    if not rows or query is None:
        return None
    keys = list(query.by)
    if kind == "snapshot":
        names = ["line", *[k for k in keys if k != "line"]]
        labels = [" · ".join(_label(k, r.get(k)) for k in names) for r in rows]
        series = [Series(m, tuple(float(r.get(m) or 0) for r in rows)) for m in MEASURES[kind]]
        title = f"Numbers by state, per {' and '.join(names)}"
    else:
        measure = form["measure"]
        if query.bucket is not None:
            labels = fill(query.bucket, [str(r[query.bucket]) for r in rows])
            series = _pivot(rows, query.bucket, keys, measure, labels)
            title = f"{measure} per {query.bucket}" + (f", by {', '.join(keys)}" if keys else "")
        else:
            names = keys or CHART_KEYS.get(kind, [])
            labels = [" · ".join(_label(k, r.get(k)) for k in names) or "all" for r in rows]
            series = [Series(measure, tuple(float(r.get(measure) or 0) for r in rows))]
            title = f"{measure} by {', '.join(names)}" if names else measure
    if len(labels) > CHART_MAX:
        return None
    draw = line_chart if form["chart"] == "line" else bar_chart
    return title, draw(labels, series, title=title, ident=f"chart-{kind}")


def _pivot(
    rows: Sequence[Mapping[str, Any]], bucket: str, keys: list[str], measure: str, labels: list[str]
) -> list[Series]:
    at = {label: i for i, label in enumerate(labels)}
    out: dict[str, list[float]] = {}
    for row in rows:
        name = " · ".join(_label(k, row.get(k)) for k in keys) or measure
        values = out.setdefault(name, [0.0] * len(labels))
        values[at[str(row[bucket])]] += float(row.get(measure) or 0)
    found = [Series(name, tuple(values)) for name, values in sorted(out.items())]
    return [s for s in found if s.total] or found[:1]  # groups with none of it: no legend


def _label(key: str, value: Any) -> str:
    """A group's name on a chart: an event on no line is account-wide."""
    if value is None or value == "":
        return ACCOUNT_WIDE if key == "line" else ("any" if key == "purpose" else "none")
    return str(value)


def _whole(value: str, name: str) -> int:
    try:
        return int(value[:8])
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None
