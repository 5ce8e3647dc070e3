"""Imports over HTTP: ``POST /v1/imports`` takes a CSV or JSONL body (gzip too), or a
multipart form with a ``file`` part and a ``mapping`` part, and answers the report.

The body is streamed to a temporary file as it arrives (the event loop never holds
it whole), then the import runs in a worker thread, one transaction per chunk, so a
large import blocks neither the loop nor other writers for long. The key must have
the ``write`` role, and the import stays in its subtree: the account must be in
reach, and so must every account or line a row names.
"""

from __future__ import annotations

import json
import tempfile
from typing import IO, Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from consentline.domain.errors import InvalidImport
from consentline.domain.import_mapping import build_mapping
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["imports"])

MAPPING_KEYS: Final = frozenset(
    {"columns", "fixed", "values", "preset", "time_format", "timezone", "delimiter", "format"}
)


def _mapping(text: str | None) -> dict[str, Any]:
    if text is None:
        raise InvalidImport(
            "give the mapping (JSON) as ?mapping= or a 'mapping' part", field="mapping"
        )
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidImport("the mapping is not valid JSON", field="mapping") from None
    if not isinstance(value, dict):
        raise InvalidImport("the mapping is a JSON object", field="mapping")
    unknown = sorted(set(value) - MAPPING_KEYS)
    if unknown:
        raise InvalidImport(
            f"unknown mapping keys {', '.join(unknown)}; "
            f"expected {', '.join(sorted(MAPPING_KEYS))}",
            field="mapping",
        )
    for name in ("columns", "fixed", "values"):
        part = value.get(name, {})
        if not isinstance(part, dict) or not all(isinstance(k, str) for k in part):
            raise InvalidImport(f"mapping.{name} is a JSON object", field="mapping")
    for name, table in value.get("values", {}).items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise InvalidImport(f"mapping.values.{name} maps words to actions", field="mapping")
    for name in ("preset", "time_format", "timezone", "delimiter", "format"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise InvalidImport(f"mapping.{name} is text", field="mapping")
    return value


def _boundary(content_type: str) -> bytes | None:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        name, _, val = param.strip().partition("=")
        if name.lower() == "boundary" and val:
            return val.strip('"').encode("latin-1")
    raise InvalidImport("a multipart body needs its boundary", field="body")


def _split_multipart(spool: IO[bytes], boundary: bytes) -> tuple[str | None, IO[bytes]]:
    """The ``mapping`` part's text and the ``file`` part (spooled to disk again)."""
    delimiter = b"--" + boundary
    out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    mapping: bytearray | None = None
    name: str | None = None
    in_headers = False
    pending: bytes | None = None
    seen_file = False

    def flush(last: bool) -> None:
        nonlocal pending
        if pending is None:
            return
        data = pending.removesuffix(b"\n").removesuffix(b"\r") if last else pending
        if name == "file":
            out.write(data)
        elif name == "mapping" and mapping is not None:
            if len(mapping) + len(data) > 1 << 20:
                raise InvalidImport("the mapping part is too large", field="mapping")
            mapping.extend(data)
        pending = None

    for line in spool:
        stripped = line.rstrip(b"\r\n")
        if stripped in (delimiter, delimiter + b"--"):
            flush(True)
            if stripped.endswith(b"--") and stripped != delimiter:
                break
            in_headers, name = True, None
            continue
        if in_headers:
            if not stripped:
                in_headers = False
                if name == "mapping":
                    mapping = bytearray()
                elif name == "file":
                    seen_file = True
                continue
            header, _, rest = stripped.decode("latin-1").partition(":")
            if header.strip().lower() == "content-disposition":
                for item in rest.split(";"):
                    key, _, val = item.strip().partition("=")
                    if key.lower() == "name":
                        name = val.strip('"')
            continue
        flush(False)
        pending = line
    if not seen_file:
        out.close()
        raise InvalidImport("the multipart body has no 'file' part", field="file")
    out.seek(0)
    return (None if mapping is None else mapping.decode("utf-8", "replace")), out


@router.post(
    "/imports",
    summary="Import a CSV or JSONL consent list",
    response_model=schemas.ImportReportOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "mapping": {"type": "string"},
                        },
                    }
                },
            }
        }
    },
)
async def import_list(
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    account: Annotated[str, Query(max_length=63)],
    mapping: Annotated[str | None, Query(max_length=65_536)] = None,
    line: Annotated[str | None, Query(max_length=64)] = None,
    dry_run: bool = False,
    batch_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> dict[str, Any]:
    """The body is the file (``text/csv``, ``application/x-ndjson``, gzip accepted)
    with ``?mapping=`` as JSON — ``{"columns": {"address": "Phone"}, "fixed":
    {"purpose": "marketing"}, "values": {"Status": {"Gone": "opt_out"}}, "preset":
    "legacy-opt-out:SMS Opt Out", "time_format": ..., "timezone": ...,
    "delimiter": ..., "format": "csv"}`` — or a multipart form with parts ``file``
    and ``mapping``. Answers the import report (docs/imports.md)."""
    who.require("write")
    owner = who.account(account)
    scope_line = None if line is None else who.line(line).number
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    try:
        async for piece in request.stream():  # to disk as it arrives, never whole in memory
            spool.write(piece)
        spool.seek(0)
        boundary = _boundary(request.headers.get("content-type", ""))
        body: IO[bytes] = spool
        if boundary is not None:
            part_mapping, body = await run_in_threadpool(_split_multipart, spool, boundary)
            mapping = part_mapping if part_mapping is not None else mapping
        try:
            spec = _mapping(mapping)
            built = build_mapping(
                spec.get("columns", {}),
                fixed=spec.get("fixed"),
                values=spec.get("values"),
                preset=spec.get("preset"),
                time_format=spec.get("time_format"),
                timezone=spec.get("timezone"),
            )
            kind = spec.get("format")
            if kind is None:
                content_type = request.headers.get("content-type", "").lower()
                kind = "jsonl" if "ndjson" in content_type or "jsonl" in content_type else None

            def run() -> Any:
                return svc.client.import_records(
                    body,
                    account=owner.slug,
                    line=scope_line,
                    mapping=built,
                    dry_run=dry_run,
                    batch_id=batch_id,
                    format=kind,
                    delimiter=spec.get("delimiter"),
                    within=None if who.home is None else who.home.slug,
                )

            report = await run_in_threadpool(run)
        finally:
            if body is not spool:
                body.close()
    finally:
        spool.close()
    answer: dict[str, Any] = report.as_dict()
    return answer
