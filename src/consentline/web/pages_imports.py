"""The imports pages (``/ui/imports``): upload a CSV, map its columns with a preview of
its first rows, dry run, run, and download the rows left out.

Every step needs the ``write`` role (as ``POST /v1/imports`` does, dry runs included)
and an account in the operator's subtree (404 otherwise); rows that name an account
or line outside it are row errors, as over HTTP (``within=``). The mapping is
:func:`consentline.domain.import_mapping.build_mapping`'s, the reading, the preview
and the row-error file are :mod:`consentline.services.imports`'; this module only
turns the forms into their arguments. A file larger than ``max_bulk_body`` is
refused (413) before anything is kept. See docs/web-ui.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from consentline.domain.errors import InvalidImport, InvalidInput, LimitExceeded
from consentline.domain.import_mapping import FIELDS, PRESETS, build_mapping, parse_value_map
from consentline.domain.ledger import ACTIONS
from consentline.services.import_planning import RowProblem
from consentline.services.imports import ImportReport, preview
from consentline.web.common import (
    MAX_FORM,
    Signed,
    check_csrf,
    page,
    posted,
    render,
    signed_in,
    web_of,
)
from consentline.web.import_jobs import Imports, Run, Upload, state_of

router = APIRouter(include_in_schema=False)
PREVIEW_ROWS: Final = 5
_ADDRESS_WORDS: Final = ("phone", "mobile", "msisdn", "number", "address", "email", "cell")


async def upload_form(request: Request) -> dict[str, str]:
    """A multipart upload's text fields; its file part goes on ``request.state``."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise InvalidImport("choose a CSV file and send the form", field="file")
    limit = web_of(request).settings.max_bulk_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MAX_FORM:
        raise LimitExceeded(
            f"the file is larger than {limit // (1 << 20)} MiB: split it", limit=limit
        )
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_FORM)
    except HTTPException as exc:  # the multipart parser's errors, or the body limit
        if exc.status_code == 413:
            raise LimitExceeded("the file is too large: split it", limit=limit) from None
        raise InvalidImport("the upload could not be read", field="file") from None
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(name, value)
        elif name == "file":
            request.state.upload_file = value
    return fields


def _writer(request: Request) -> tuple[Signed, dict[str, str]]:
    signed = signed_in(request)
    form = posted(request)
    check_csrf(signed.csrf, form)
    signed.operator.require("write")
    return signed, form


def _imports(request: Request) -> Imports:
    return state_of(request.app.state)


@router.get("/ui/imports")
@page
def imports_home(request: Request) -> Response:
    signed = signed_in(request)
    limit = web_of(request).settings.max_bulk_body
    return render(
        request, "imports.html", signed=signed, accounts=signed.reach.accounts(), limit=limit
    )


def _upload(request: Request) -> Response:
    upload_file: Any = getattr(request.state, "upload_file", None)
    try:
        signed, form = _writer(request)
        account = signed.reach.account(form.get("account", "")).slug
        if upload_file is None or not upload_file.filename:
            raise InvalidImport("choose a CSV file to upload", field="file")
        imports = _imports(request)
        upload = imports.add(
            upload_file.file,
            operator_id=signed.operator.id,
            account=account,
            filename=upload_file.filename,
            limit=web_of(request).settings.max_bulk_body,
        )
    finally:
        if upload_file is not None:
            upload_file.file.close()
    try:
        found = preview(upload.path, rows=1)
    except InvalidImport:
        imports.discard(upload)
        raise
    if not found.rows:
        imports.discard(upload)
        raise InvalidImport("the file has a header but no rows", field="file")
    return RedirectResponse(f"/ui/imports/{upload.token}", status_code=303)


upload = router.post("/ui/imports")(page(_upload, read=upload_form))


def _guess(columns: tuple[str, ...]) -> str:
    for column in columns:
        if any(word in column.casefold() for word in _ADDRESS_WORDS):
            return column
    return columns[0] if columns else ""


def _mapping_page(
    request: Request,
    signed: Signed,
    upload: Upload,
    form: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    web = web_of(request)
    shown = preview(upload.path, rows=PREVIEW_ROWS, delimiter=form.get("delimiter") or None)
    columns = shown.columns
    values = {"map_address": _guess(columns), **form}
    lines = [
        line
        for line in signed.reach.lines()
        if web.client.directory().account_by_id(line.account_id).slug == upload.account
    ]
    return render(
        request,
        "import_map.html",
        signed=signed,
        status=status,
        upload=upload,
        preview=shown,
        fields=FIELDS,
        presets=PRESETS,
        actions=ACTIONS,
        purposes=sorted(web.client.policy(upload.account).purposes),
        lines=lines,
        values=values,
        error=error,
    )


@router.get("/ui/imports/{token}")
@page
def mapping(request: Request, token: str) -> Response:
    signed = signed_in(request)
    signed.operator.require("write")
    upload = _imports(request).upload(token, signed.operator.id)
    return _mapping_page(request, signed, upload, {})


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()][:100]


def _built(form: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """The mapping the form describes (:class:`InvalidImport` when it cannot work),
    and the import's other arguments."""
    columns = {name: form[f"map_{name}"] for name in FIELDS if form.get(f"map_{name}")}
    for item in _lines(form.get("proof", "")):
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise InvalidImport(f"proof {item!r} is not NAME=COLUMN", field="proof")
        columns[f"proof.{name.strip()}"] = column.strip()
    fixed = {
        name: form[key]
        for name, key in (("action", "fixed_action"), ("purpose", "purpose"), ("source", "source"))
        if form.get(key, "").strip()
    }
    values: dict[str, dict[str, str]] = {}
    for item in _lines(form.get("values", "")):
        column, raw, action = parse_value_map(item)
        values.setdefault(column, {})[raw] = action
    preset = None
    if form.get("preset"):
        if not form.get("preset_column"):
            raise InvalidImport("choose the column the preset reads", field="preset")
        preset = f"{form['preset']}:{form['preset_column']}"
    built = build_mapping(
        columns,
        fixed=fixed,
        values=values,
        preset=preset,
        time_format=form.get("time_format") or None,
        timezone=form.get("timezone") or None,
    )
    delimiter = form.get("delimiter") or None
    if delimiter is not None and len(delimiter) != 1:
        raise InvalidImport("a delimiter is one character", field="delimiter")
    return built, {"line": form.get("line") or None, "delimiter": delimiter}


_KEPT: Final = (
    "map_",
    "proof",
    "fixed_action",
    "purpose",
    "source",
    "values",
    "preset",
    "time_format",
    "timezone",
    "delimiter",
    "line",
)


@router.post("/ui/imports/{token}/run")
@page
def start(request: Request, token: str) -> Response:
    """A dry run or the import, with the mapping the form gives."""
    signed, form = _writer(request)
    imports = _imports(request)
    upload = imports.upload(token, signed.operator.id)
    kept = {k: v[:2000] for k, v in form.items() if k.startswith(_KEPT)}
    try:
        built, options = _built(kept)
        if options["line"] is not None:
            options["line"] = signed.reach.line(options["line"]).number
    except InvalidImport as error:
        return _mapping_page(request, signed, upload, kept, error=str(error), status=422)
    dry_run = form.get("mode") != "run"
    client = web_of(request).client
    home = signed.reach.home.slug
    actor = {"actor": signed.operator.name, "operator_id": signed.operator.id, "via_ui": "web"}

    def go(on_problem: Any, on_chunk: Any) -> ImportReport:
        return client.import_records(
            upload.path,
            account=upload.account,
            mapping=built,
            dry_run=dry_run,
            format="csv",
            within=home,
            on_problem=on_problem,
            on_chunk=on_chunk,
            actor=actor,
            **options,
        )

    run = imports.start(upload, operator_id=signed.operator.id, dry_run=dry_run, form=kept, go=go)
    return RedirectResponse(f"/ui/imports/runs/{quote(run.id)}", status_code=303)


@router.get("/ui/imports/runs/{run_id}")
@page
def progress(request: Request, run_id: str) -> Response:
    signed = signed_in(request)
    run: Run = _imports(request).run(run_id, signed.operator.id)
    return render(
        request,
        "import_run.html",
        signed=signed,
        run=run,
        report=run.report,
        problems=_problems(run.report),
    )


def _problems(report: ImportReport | None) -> list[RowProblem]:
    return [] if report is None else list(report.first_errors)


@router.get("/ui/imports/runs/{run_id}/errors.csv")
@page
def errors_file(request: Request, run_id: str) -> Response:
    """Every row left out (row, column, code, message: never the number, C23)."""
    signed = signed_in(request)
    run = _imports(request).run(run_id, signed.operator.id)
    if run.state == "running":
        raise InvalidInput("the run is still going: download its errors when it ends")
    path: Path = run.errors_path
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename="rows-left-out.csv",
        headers={"Cache-Control": "no-store"},
    )
