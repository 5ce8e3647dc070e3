"""The send gate: one check (GET) and bulk checks (POST, streamed)."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Final
from urllib.parse import unquote_plus

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from consentline.domain.errors import (
    BudgetExceeded,
    ConsentlineError,
    InvalidInput,
    InvalidTime,
    StorageError,
    TooManyBulkChecks,
    TooManyRecipients,
    UnknownPurpose,
)
from consentline.domain.evidence import display_form
from consentline.domain.policy import Decision
from consentline.http import errors, schemas
from consentline.http.auth import (
    Caller,
    CallerDep,
    Services,
    ServicesDep,
    authenticate,
    services_of,
)
from consentline.services.views import decision_json

router = APIRouter(prefix="/v1", tags=["check"])
log = logging.getLogger("consentline.http")


def _aware(at: datetime | None) -> datetime | None:
    if at is not None and at.utcoffset() is None:
        raise InvalidTime("at has no time zone; add 'Z' or an offset such as '+00:00'", field="at")
    return at


def _purpose(who: Caller, svc: Services, from_line: str, purpose: str) -> None:
    line = who.line(from_line)
    policy = svc.client.policy(who.directory.account_by_id(line.account_id).slug)
    if purpose not in policy.purposes:
        raise UnknownPurpose(f"no purpose {purpose!r} in this tenant", purpose=purpose)


# (name, max length, required, description) of GET /v1/check's query parameters.
_QUERY: Final = (
    ("to", 320, True, "the recipient (E.164, or national in the line's region)"),
    ("from", 64, True, "a line in the key's subtree"),
    ("purpose", 63, True, "a purpose of the tenant"),
    ("topic", 63, False, "the topic, for a topic-scoped purpose"),
    ("channel", 16, False, "sms (default), whatsapp or email"),
    ("at", 64, False, "ISO 8601 time with an offset: answer for that moment"),
)
_PARAMETERS: Final = [
    {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", "maxLength": limit}
        | ({"format": "date-time"} if name == "at" else {}),
    }
    for name, limit, required, description in _QUERY
]


def _pairs(raw: bytes) -> dict[str, str]:
    """The query string's first value per name (what ``QueryParams`` gives, decoded
    only where something is escaped: most checks carry nothing but ``%2B``)."""
    found: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if value.startswith("%2B") and "%" not in value[3:] and "+" not in value[3:]:
            value = "+" + value[3:]  # an E.164 number, as every client escapes it
        elif "%" in value or "+" in value:
            value = unquote_plus(value)
        elif not value.isascii():
            value = value.encode("latin-1").decode("utf-8", "replace")
        found.setdefault(name, value)
    return found


def _query(request: Request) -> dict[str, str | None]:
    params = _pairs(request.scope["query_string"])
    found: dict[str, str | None] = {}
    for name, limit, required, _ in _QUERY:
        value = params.get(name)
        if value is None:
            if required:
                raise InvalidInput(f"{name}: a required query parameter is missing", field=name)
        elif len(value) > limit:
            raise InvalidInput(f"{name}: longer than {limit} characters", field=name)
        found[name] = value
    return found


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidTime("at is not an ISO 8601 time", field="at") from None
    return _aware(moment)


@router.get(
    "/check",
    summary="May this line send this purpose to this recipient?",
    response_class=JSONResponse,
    responses={200: {"model": schemas.DecisionOut, "description": "the decision"}},
    openapi_extra={"parameters": _PARAMETERS, "security": [{"HTTPBearer": []}]},
)
async def check(request: Request) -> Response:
    """``from`` must be a line in the key's subtree; ``at`` asks about another moment.

    The hot path, so it is lean: the parameters are read by hand (documented above)
    instead of through the framework's validation, and it runs on the event loop,
    since the answer is one indexed read, cheaper than a hand-off to a thread. A
    check ``at`` a past moment folds history, so that one goes to a thread.
    """
    who = authenticate(request)
    query = _query(request)
    line = who.line(str(query["from"]))
    at = _moment(query["at"])
    ask = functools.partial(
        services_of(request).client.check,
        str(query["to"]),
        from_=line.number,
        purpose=str(query["purpose"]),
        topic=query["topic"],
        channel=query["channel"] or "sms",
        at=at,
    )
    decision = ask() if at is None else await run_in_threadpool(ask)
    return JSONResponse(decision_json(decision, who.directory))


class BulkCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", max_length=64)
    purpose: str = Field(max_length=63)
    topic: str | None = Field(default=None, max_length=63)
    channel: str = Field(default="sms", max_length=16)
    at: AwareDatetime | None = None
    campaign: str | None = Field(
        default=None,
        max_length=63,
        description="names the send: it is recorded for opt-out attribution (docs/campaigns.md)",
    )
    recipients: list[str] = Field(
        description="at most CONSENTLINE_MAX_BULK_RECIPIENTS (default 1,000,000)"
    )


# -- bulk checks: bounded, and never in the way of single checks (issue 8) -------------
# A bulk check has a time budget: from its start to the last byte of its answer
# (computing, reading the database, and sending to the client all hold its slot,
# a thread and a connection). The answer is produced a piece at a time on a worker
# thread and sent by the event loop between pieces; a piece ends after PIECE
# decisions or about PIECE_SECONDS, whichever comes first (the clock is read every
# SLICE decisions, and the budget with it). Single checks run on the event loop,
# which needs the GIL while a piece runs: CPython hands it over only when the holder
# blocks or after the switch interval (5 ms by default), so while bulk checks run
# the interval is lowered to SWITCH_SECONDS and a single check waits about that long
# at most.
PIECE: Final = 2048
SLICE: Final = 64
PIECE_SECONDS: Final = 0.002
SWITCH_SECONDS: Final = 0.0002

# The budget's clock, a module attribute so that tests can put a deterministic
# counter in its place.
work_clock: Callable[[], float] = time.perf_counter


class BulkSlots:
    """How many bulk checks this server process runs at once, and the cap on it.

    While any runs, the interpreter's switch interval is at most ``SWITCH_SECONDS``
    (restored when the last one ends, unless someone else changed it meanwhile).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0
        self._lock = threading.Lock()
        self._switch: tuple[float, float] | None = None  # (before, ours)

    def take(self) -> Callable[[], None]:
        """A slot (raises :class:`TooManyBulkChecks` when all are busy); call the
        returned function to give it back (once; later calls do nothing)."""
        with self._lock:
            if self.busy >= self.limit:
                raise TooManyBulkChecks(
                    f"this server is already running {self.limit} bulk checks; retry in a moment",
                    limit=self.limit,
                )
            self.busy += 1
            if self.busy == 1:
                before = sys.getswitchinterval()
                sys.setswitchinterval(min(before, SWITCH_SECONDS))
                self._switch = (before, sys.getswitchinterval())
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            with self._lock:
                if given_back:
                    return
                given_back = True
                self.busy -= 1
                if self.busy == 0 and self._switch is not None:
                    before, ours = self._switch
                    self._switch = None
                    if sys.getswitchinterval() == ours:
                        sys.setswitchinterval(before)

        return give_back


def bulk_slots(app: Any, limit: int) -> BulkSlots:
    """The app's bulk-check slots, made with ``limit`` on first use."""
    slots: BulkSlots | None = getattr(app.state, "bulk_slots", None)
    if slots is None:
        slots = BulkSlots(limit)
        app.state.bulk_slots = slots
    return slots


class BulkRun:
    """One bulk check's decisions, encoded a piece at a time, within a time budget."""

    def __init__(
        self, decisions: Iterator[Decision], budget: float, clock: Callable[[], float]
    ) -> None:
        self._decisions = decisions
        self._budget = budget
        self._clock = clock
        self._separator = ""
        self.started = clock()
        self.answered = 0

    def remaining(self) -> float:
        """Seconds left of the budget (negative once it is used up)."""
        return self._budget - (self._clock() - self.started)

    def over_budget(self) -> BudgetExceeded:
        return BudgetExceeded(
            f"the bulk check took longer than its budget of {self._budget:g} seconds,"
            f" after {self.answered} recipients; send shorter lists",
            limit_seconds=self._budget,
            answered=self.answered,
        )

    def piece(self) -> bytes:
        """The next results as JSON text ("" at the end). Raises
        :class:`BudgetExceeded` once the budget is used up; that piece's results are
        dropped, so everything answered before was fully decided."""
        clock = self._clock
        started = clock()
        decisions: list[Decision] = []
        while True:
            part = list(itertools.islice(self._decisions, SLICE))
            decisions += part
            now = clock()
            if now - self.started > self._budget:
                raise self.over_budget()
            if len(part) < SLICE or len(decisions) >= PIECE or now - started >= PIECE_SECONDS:
                break
        if not decisions:
            return b""
        # Written by hand: no per-recipient model or dict.
        parts = [
            f'{{"to":{encode_basestring(d.to)},"allowed":{"true" if d.allowed else "false"},'
            f'"reason":"{d.reason}"}}'
            for d in decisions
        ]
        text = self._separator + ",".join(parts)
        try:
            encoded = text.encode()
        except UnicodeEncodeError:  # a recipient held a lone surrogate: echo it as U+FFFD
            encoded = display_form(text).encode()
        self._separator = ","
        self.answered += len(decisions)
        return encoded


def _error_body(error: ConsentlineError) -> dict[str, Any]:
    body = error.to_dict()
    if isinstance(error, StorageError):
        body.pop("detail", None)  # driver text may quote stored values
    return body


async def _answer(request: Request, run: BulkRun, first: bytes) -> AsyncIterator[bytes]:
    """``{"results": [...]}``, or, when the check stops after the answer has begun,
    ``{"results": [...], "error": {"code", "message", ...}}`` (the results before the
    error are correct and in order; the rest were not checked)."""
    yield b'{"results":[' + first
    while True:
        try:
            piece = await run_in_threadpool(run.piece)
        except ConsentlineError as error:
            yield b'],"error":' + json.dumps(_error_body(error)).encode() + b"}"
            return
        except Exception as error:  # logged as any unexpected error is; no details sent
            errors.unexpected(request, error)
            yield b'],"error":{"code":"internal_error","message":"internal error"}}'
            return
        if not piece:
            break
        yield piece
    yield b"]}"


class _Streamed(StreamingResponse):
    """A streamed bulk answer: cut off when its budget runs out while it waits for a
    client that does not read (the connection is then closed, so the client sees a
    truncated answer), and its slot given back however it ends."""

    def __init__(
        self, content: AsyncIterator[bytes], run: BulkRun, give_back: Callable[[], None]
    ) -> None:
        super().__init__(content, media_type="application/json")
        self._run = run
        self._give_back = give_back

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.move_on_after(max(self._run.remaining(), 0.0)) as deadline:
                await super().__call__(scope, receive, send)
            if deadline.cancelled_caught:
                log.warning("a bulk check was cut off: its client read too slowly")
        finally:
            self._give_back()


def _summary(body: BulkCheck, who: Caller, svc: Services) -> dict[str, Any]:
    _purpose(who, svc, body.from_, body.purpose)
    line = who.line(body.from_)
    return svc.client.check_many(
        body.recipients,
        from_=line.number,
        purpose=body.purpose,
        topic=body.topic,
        channel=body.channel,
        at=body.at,
        campaign=body.campaign,
        summary=True,
    )


def _start(body: BulkCheck, who: Caller, svc: Services) -> tuple[BulkRun, bytes]:
    _purpose(who, svc, body.from_, body.purpose)
    line = who.line(body.from_)
    decisions = svc.client.check_many(
        body.recipients,
        from_=line.number,
        purpose=body.purpose,
        topic=body.topic,
        channel=body.channel,
        at=body.at,
        campaign=body.campaign,
    )
    run = BulkRun(decisions, svc.settings.bulk_check_seconds, work_clock)
    return run, run.piece()


@router.post(
    "/check",
    summary="Check a list of recipients (answers in order, streamed)",
    response_description='`{"results": [{"to", "allowed", "reason"}, ...]}`; if the check'
    ' stops once the answer has begun (time budget), `"error": {"code", "message"}`'
    " follows the results checked until then",
    responses={
        200: {"model": schemas.BulkCheckOut},
        429: {"model": errors.ErrorBody, "description": "too many bulk checks at once"},
    },
)
async def check_many(
    request: Request, body: BulkCheck, who: CallerDep, svc: ServicesDep
) -> Response:
    """An invalid recipient gets ``allowed: false, reason: "invalid_address"``.

    Limits (server settings): at most ``CONSENTLINE_MAX_BULK_RECIPIENTS`` recipients
    (else ``413 too_many_recipients``) in at most ``CONSENTLINE_MAX_BULK_BODY`` bytes
    (``413 body_too_large``); ``CONSENTLINE_BULK_CHECK_SECONDS`` from the start of
    the check to the last byte of its answer (``413 check_budget_exceeded``; once the
    answer has begun, a final ``error`` member with that code after the results
    checked so far, or, for a client that stops reading, a closed connection); at most
    ``CONSENTLINE_MAX_BULK_CHECKS`` bulk checks at once per server process (``429
    too_many_bulk_checks``, with ``Retry-After``).

    ``?summary=true`` is the deliverability preview: ``{"total", "allowed",
    "by_reason"}`` instead of the results, and nothing is recorded.
    """
    summary = request.query_params.get("summary", "false")
    if summary not in ("true", "false"):
        raise InvalidInput("summary: true or false", field="summary")
    limit = svc.settings.max_bulk_recipients
    if len(body.recipients) > limit:
        raise TooManyRecipients(
            f"at most {limit} recipients a request; this one has {len(body.recipients)}",
            limit=limit,
            recipients=len(body.recipients),
        )
    try:
        give_back = bulk_slots(request.app, svc.settings.max_bulk_checks).take()
    except TooManyBulkChecks as busy:
        response = errors.library_error(request, busy)
        response.headers["Retry-After"] = "1"
        return response
    if summary == "true":
        try:
            answer = await run_in_threadpool(_summary, body, who, svc)
        finally:
            give_back()
        return JSONResponse(answer)
    try:
        run, first = await run_in_threadpool(_start, body, who, svc)
    except BaseException:
        give_back()
        raise
    return _Streamed(_answer(request, run, first), run, give_back)
