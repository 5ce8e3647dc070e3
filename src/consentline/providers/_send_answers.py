"""Reading a provider's answer to a send: sent, retry, failed or opted out.

One reader per provider takes the HTTP status and the parsed JSON body (``None`` when
the body is not a JSON object or array) and returns an :class:`Answer`. Common rules:

* 2xx -> sent, with the provider's message id where the body has one; except Vonage's
  SMS API, which answers 200 and puts a per-message ``status`` in the body
  (``"0"`` sent; ``"1"`` throttled, ``"5"`` internal error, ``"10"`` too many binds ->
  retry; anything else failed, e.g. ``"9"`` is "out of credit", not an opt-out).
* 408, 425, 429 and 5xx -> retry.
* other 4xx -> failed, or opted_out when the provider's code says the recipient opted
  out at the provider (C19): Twilio 21610; Telnyx 40300 (also a bare HTTP 409). The
  other providers report opt-outs only asynchronously (delivery receipts).

Only codes that look like codes are kept (short, letters, digits, ``_.-``, no run of
seven digits): the detail column must never carry a number or a text (C23).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

Status = Literal["sent", "retry", "failed", "opted_out"]

_RETRY_STATUSES: Final = frozenset({408, 425, 429})
_SAFE_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")
_LONG_DIGITS: Final = re.compile(r"\d{7}")
_MAX_ID: Final = 256

_VONAGE_RETRY: Final = frozenset({"1", "5", "10"})
_TWILIO_OPTED_OUT: Final = frozenset({"21610"})
_TELNYX_OPTED_OUT: Final = frozenset({"40300"})


@dataclass(frozen=True, slots=True)
class Answer:
    """A reader's verdict; ``code`` is the provider's error code, already made safe."""

    status: Status
    message_id: str | None = None
    code: str | None = None
    code_name: str = "code"


def parse(body: bytes) -> Any:
    """The body as JSON, or None when it is not a JSON object or array."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict | list) else None


def _get(data: Any, *path: str | int) -> Any:
    """``data[p0][p1]...``, or None where a step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, str) and isinstance(data, dict):
            data = data.get(step)
        elif isinstance(step, int) and isinstance(data, list) and -len(data) <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def _message_id(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= _MAX_ID:
        return value.strip()
    return None


def safe_code(value: Any) -> str | None:
    """``value`` as a code fit for the detail column, or None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    if not _SAFE_CODE.fullmatch(text) or _LONG_DIGITS.search(text):
        return None
    return text


def _failure(status: int, code: str | None, *, opted_out: bool, name: str = "code") -> Answer:
    """The verdict for a non-2xx answer."""
    if status in _RETRY_STATUSES or status >= 500:
        return Answer("retry", code=code, code_name=name)
    if opted_out and 400 <= status < 500:
        return Answer("opted_out", code=code, code_name=name)
    return Answer("failed", code=code, code_name=name)


def _ok(status: int) -> bool:
    return 200 <= status < 300


def twilio(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "sid")))
    code = safe_code(_get(data, "code"))
    return _failure(status, code, opted_out=code in _TWILIO_OPTED_OUT)


def sinch(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "id")))
    return _failure(status, safe_code(_get(data, "code")), opted_out=False)


def messagemedia(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "messages", 0, "message_id")))
    return _failure(status, None, opted_out=False)


def vonage(status: int, data: Any) -> Answer:
    if not _ok(status):
        return _failure(status, safe_code(_get(data, "error-code")), opted_out=False)
    parts = _get(data, "messages")
    if not isinstance(parts, list):
        return Answer("sent")
    for part in parts:
        # A long text is sent in parts; the first part that failed decides.
        code = safe_code(_get(part, "status"))
        if code is not None and code != "0":
            verdict: Status = "retry" if code in _VONAGE_RETRY else "failed"
            return Answer(verdict, code=code, code_name="status")
    return Answer("sent", _message_id(_get(parts, 0, "message-id")))


def plivo(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "message_uuid", 0)))
    return _failure(status, None, opted_out=False)


def telnyx(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "data", "id")))
    errors = _get(data, "errors")
    codes = [safe_code(_get(e, "code")) for e in errors] if isinstance(errors, list) else []
    known = [c for c in codes if c is not None]
    opted_out = any(c in _TELNYX_OPTED_OUT for c in known) or (status == 409 and not known)
    code = next((c for c in known if c in _TELNYX_OPTED_OUT), known[0] if known else None)
    return _failure(status, code, opted_out=opted_out)


def bandwidth(status: int, data: Any) -> Answer:
    if _ok(status):
        return Answer("sent", _message_id(_get(data, "id")))
    return _failure(status, safe_code(_get(data, "type")), opted_out=False, name="type")


READERS: Final[dict[str, Callable[[int, Any], Answer]]] = {
    "twilio": twilio,
    "sinch": sinch,
    "messagemedia": messagemedia,
    "vonage": vonage,
    "plivo": plivo,
    "telnyx": telnyx,
    "bandwidth": bandwidth,
}
