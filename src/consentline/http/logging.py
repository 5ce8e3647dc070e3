"""Log hygiene: no phone number and no message text in any log line (C23).

Personal data reaches log lines by three roads, and each is closed here:

* **numbers** in paths, query strings and exception text, in any notation
  (``+14155550101``, ``%2B14155550101``, ``(415) 555-0101``, ``415.555.0101``):
  :func:`mask_numbers` rewrites every run of 7 or more digits (single separators
  between them allowed) the way :func:`consentline.domain.errors.mask` does,
  keeping the country-code prefix and the last four;
* **query strings** of access log lines (a GET webhook carries
  ``Body=...&From=...``): :func:`redact_target` keeps the path and every parameter
  name, a few harmless values (``after``, ``limit``, ``purpose``...), masks values
  that are numbers and replaces every other value with ``***``;
* **exception messages**: a database error quotes the statement's parameters, a
  driver error the failing row, a validation error the input, so a message cannot
  be told apart from message text. :func:`format_exception` keeps every frame and
  the class of every exception in the chain, and replaces the message with
  ``<message withheld: N characters; numbers in it: +1415***0101>``, except for
  consentline's own errors (written to carry no personal data) and a few kinds whose
  text is made from code, not data (``TypeError``, ``AttributeError``, an
  ``OSError``'s errno, a database error's SQLSTATE, constraint and SQL text).

:class:`MaskingFormatter` applies all of it to a whole record, traceback and stack
included: a :class:`logging.Filter` only sees the message and its arguments, never
the traceback text, and it never reuses a traceback another handler formatted.
:func:`uvicorn_log_config` puts it on every handler ``consentline serve`` uses,
root logger included.

>>> mask_numbers("GET /v1/check?to=%2B14155550101&from=%2B18005550100")
'GET /v1/check?to=+1415***0101&from=+1800***0100'
>>> mask_numbers("call (415) 555-0101 or +1 415.555.0102")
'call 415*** or +1415***0102'
>>> redact_target("/webhooks/twilio?Body=STOP+now&From=%2B14155550101&limit=5")
'/webhooks/twilio?Body=***&From=+1415***0101&limit=5'
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from copy import copy
from typing import Any, Final
from urllib.parse import unquote, unquote_plus

from uvicorn.logging import AccessFormatter, DefaultFormatter

from consentline.domain.errors import ConsentlineError, mask

# Between two digits at most one separator (two for ") "): a space, . - / ( ) or +
# (a form-encoded space), or their %-escapes; so dates, ids and prose stay readable.
_SEP: Final = r"(?:[ \t.\-/()+]{1,2}|%20|%2[Dd]|%28|%29)"
_NUMBER: Final = re.compile(rf"(?<![0-9])(?:\+|%2[Bb])?\(?[0-9](?:{_SEP}?[0-9]){{6,}}")
_ESCAPES: Final = re.compile(r"%2[0BbDd89]")
# Readable things with 7+ digits that are not numbers, kept when they are the whole run.
_KEEP: Final = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|\d{4}-\d{2}-\d{2}(?: \d{2})?")


def _masked(match: re.Match[str]) -> str:
    text = match.group(0)
    if _KEEP.fullmatch(text):
        return text
    plus = text.startswith("+") or text[:3].upper() == "%2B"
    digits = re.sub(r"\D", "", _ESCAPES.sub("", text))
    return mask(("+" if plus else "") + digits)


def mask_numbers(text: str) -> str:
    """Every phone-number-like run of digits in ``text``, masked."""
    return _NUMBER.sub(_masked, text)


def numbers_in(text: str, limit: int = 5) -> list[str]:
    """The masked numbers found in ``text`` (at most ``limit``, first seen first)."""
    found: dict[str, None] = {}
    for match in _NUMBER.finditer(text):
        masked = _masked(match)
        if masked != match.group(0):
            found.setdefault(masked)
        if len(found) >= limit:
            break
    return list(found)


# Query parameters whose values are settings, cursors or ours, never personal data.
HARMLESS: Final = frozenset({"after", "limit", "at", "channel", "purpose", "topic", "line"})
_NAME: Final = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
_HARMLESS_VALUE: Final = re.compile(r"[\w:.+\-]{1,40}")
# A number, or one masked already (a filter may have run first): "+1415***0101".
_NUMBER_VALUE: Final = re.compile(r"\s*\+?[\d\s().\-]{4,40}(?:\*\*\*[\d\s().\-]{0,8})?")


def _query_value(name: str, raw: str) -> str:
    value = unquote_plus(raw)
    if name.lower() in HARMLESS and _HARMLESS_VALUE.fullmatch(value):
        return value
    number = unquote(raw)  # a raw "+" starts a number here, it is no form-encoded space
    if _NUMBER_VALUE.fullmatch(number) and sum(c.isdigit() for c in number) >= 7:
        return mask_numbers(number.strip())
    return "***"


_SEGMENT: Final = re.compile(r"[\w.\-~+:*]{1,64}")


def _path_segment(segment: str) -> str:
    decoded = unquote(segment)
    if "@" in decoded:
        return mask(decoded)
    return segment if not decoded or _SEGMENT.fullmatch(decoded) else "***"


def redact_target(target: str) -> str:
    """A request target fit for a log line: names kept, personal values masked.

    The path keeps its shape: numbers and e-mail addresses masked, and a segment that
    is not a plain word (consentline's routes have none: a space, say) ``***``. In the query
    each value is kept only under a :data:`HARMLESS` name, masked when it is a
    number and ``***`` otherwise: a message body cannot be recognised, so it is
    never printed. A parameter name that is not a plain identifier is ``***`` too.
    """
    path, question, query = target.partition("?")
    path = mask_numbers("/".join(_path_segment(s) for s in path.split("/")))
    if not question:
        return path
    parts = []
    for part in query.split("&"):
        if not part:
            continue
        name, equals, value = part.partition("=")
        shown = name if _NAME.fullmatch(name) else "***"
        parts.append(f"{shown}={_query_value(shown, value)}" if equals else shown)
    return f"{path}?{'&'.join(parts)}"


# Exceptions whose text is made from code (types, names, attributes), not from data.
_CODE_TEXT: Final = (
    AttributeError,
    TypeError,
    NameError,
    ImportError,
    NotImplementedError,
    ZeroDivisionError,
    RecursionError,
    MemoryError,
)
_MAX_CHAIN: Final = 12
_MAX_GROUP: Final = 15
_MAX_SQL: Final = 300


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the log line
        return ""


def withheld(text: str) -> str:
    """What stands in for a message that may quote personal data."""
    numbers = numbers_in(text)
    also = f"; numbers in it: {', '.join(numbers)}" if numbers else ""
    return f"<message withheld: {len(text)} characters{also}>"


def _database(exc: BaseException) -> str | None:
    """SQLSTATE, names and SQL text of a driver or SQLAlchemy error, else None.

    Duck-typed (``orig``/``statement`` of SQLAlchemy, ``sqlstate``/``diag`` of
    psycopg, ``sqlite_errorname`` of sqlite3), so this module needs no driver.
    """
    orig = getattr(exc, "orig", None)
    driver = orig if isinstance(orig, BaseException) else exc
    statement = getattr(exc, "statement", None)
    sqlstate = getattr(driver, "sqlstate", None)
    sqlite_name = getattr(driver, "sqlite_errorname", None)
    if not isinstance(statement, str) and sqlstate is None and sqlite_name is None:
        return None
    parts: list[str] = []
    if driver is not exc:
        parts.append(f"driver error {_type_name(driver)}")
    if isinstance(sqlstate, str):
        parts.append(f"SQLSTATE {sqlstate}")
    if isinstance(sqlite_name, str):
        parts.append(sqlite_name)
    diag = getattr(driver, "diag", None)
    for attribute in ("table_name", "column_name", "constraint_name"):
        value = getattr(diag, attribute, None)
        if isinstance(value, str) and value:
            parts.append(f"{attribute.removesuffix('_name')} {value}")
    if isinstance(statement, str):
        parts.append(f"SQL: {' '.join(statement.split())[:_MAX_SQL]}")
    parts.append(withheld(_text(exc)))
    return "; ".join(parts)


def describe(exc: BaseException) -> str:
    """The one-line ``Type: message`` of a traceback, message made safe."""
    if isinstance(exc, (ConsentlineError, *_CODE_TEXT)):
        message = _text(exc)
    elif isinstance(exc, UnicodeError) and isinstance(getattr(exc, "start", None), int):
        encoding = getattr(exc, "encoding", "")
        message = f"{encoding} {getattr(exc, 'reason', '')} at position {exc.start}"  # type: ignore[attr-defined]
    elif isinstance(exc, OSError) and exc.errno is not None:
        message = f"[Errno {exc.errno}] {exc.strerror}"
    else:
        message = _database(exc) or (withheld(_text(exc)) if _text(exc) else "")
    return f"{_type_name(exc)}: {message}" if message else _type_name(exc)


def _chain(exc: BaseException, seen: set[int], depth: int) -> Iterator[str]:
    seen.add(id(exc))
    cause, context = exc.__cause__, exc.__context__
    if depth < _MAX_CHAIN:
        if cause is not None and id(cause) not in seen:
            yield from _chain(cause, seen, depth + 1)
            yield "\nThe above exception was the direct cause of the following exception:\n\n"
        elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
            yield from _chain(context, seen, depth + 1)
            yield "\nDuring handling of the above exception, another exception occurred:\n\n"
    if exc.__traceback__ is not None:
        yield "Traceback (most recent call last):\n"
        yield from traceback.format_tb(exc.__traceback__)
    yield describe(exc) + "\n"
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and notes:
        if isinstance(exc, ConsentlineError):
            yield from (f"{note}\n" for note in notes)
        else:
            yield f"({len(notes)} notes withheld)\n"
    if isinstance(exc, BaseExceptionGroup) and depth < _MAX_CHAIN:
        for number, sub in enumerate(exc.exceptions[:_MAX_GROUP], 1):
            yield f"  [sub-exception {number} of {len(exc.exceptions)}]\n"
            text = "".join(_chain(sub, seen, depth + 1))
            yield "".join(f"    {line}\n" for line in text.splitlines())


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` and its chain, as Python prints it, messages made safe."""
    return mask_numbers("".join(_chain(exc, set(), 0)).rstrip("\n"))


class MaskingFormatter(logging.Formatter):
    """Formats a record with every number masked and exception messages withheld.

    Unlike :meth:`logging.Formatter.format` it never reuses ``record.exc_text``
    (another handler may have cached the raw traceback there) and it masks the whole
    output, message, traceback and stack alike.
    """

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        return record

    def format(self, record: logging.LogRecord) -> str:
        record = self._prepared(record)
        try:
            record.message = record.getMessage()
        except Exception:  # a malformed call: its arguments may be personal data
            record.message = f"(a {record.name} record that could not be formatted)"
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + format_exception(record.exc_info[1])
        elif record.exc_text:
            text += "\n(an exception formatted elsewhere: withheld)"
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return mask_numbers(text)

    def formatException(self, ei: Any) -> str:
        return format_exception(ei[1]) if ei and ei[1] is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return mask_numbers(stack_info)


class MaskingDefaultFormatter(MaskingFormatter, DefaultFormatter):
    """uvicorn's default formatter (level prefix, colours on a terminal), masking."""


class MaskingAccessFormatter(MaskingFormatter, AccessFormatter):
    """uvicorn's access-line formatter with the request target redacted."""

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            record = copy(record)
            record.args = (args[0], args[1], redact_target(str(args[2])), args[3], args[4])
        return record


class MaskNumbers(logging.Filter):
    """Mask numbers in a record's message and arguments, for every later handler too.

    The formatters above are what guarantees a clean line; this filter also
    cleans the record itself, so that handlers added beside ours (a log shipper
    on the root logger) receive a masked message. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _arg(v) for k, v in record.args.items()}
        return True


def _arg(value: Any) -> Any:
    return mask_numbers(value) if isinstance(value, str) else value


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging config, masking on every handler, for ``consentline serve``.

    uvicorn's own loggers keep their handlers and formats (with the masking
    formatters); consentline's loggers (INFO) and anything else (WARNING, through
    the root logger) get a handler of their own that names the logger.
    """
    from uvicorn.config import LOGGING_CONFIG

    formatters: dict[str, Any] = {
        "default": {
            **LOGGING_CONFIG["formatters"]["default"],
            "()": f"{__name__}.MaskingDefaultFormatter",
        },
        "access": {
            **LOGGING_CONFIG["formatters"]["access"],
            "()": f"{__name__}.MaskingAccessFormatter",
        },
        "named": {
            "()": f"{__name__}.MaskingDefaultFormatter",
            "fmt": "%(levelprefix)s %(name)s: %(message)s",
            "use_colors": None,
        },
    }
    handlers: dict[str, Any] = {
        **LOGGING_CONFIG["handlers"],
        "named": {
            "class": "logging.StreamHandler",
            "formatter": "named",
            "stream": "ext://sys.stderr",
        },
    }
    return {
        **LOGGING_CONFIG,
        "filters": {"mask_numbers": {"()": f"{__name__}.MaskNumbers"}},
        "formatters": formatters,
        "handlers": {name: {**h, "filters": ["mask_numbers"]} for name, h in handlers.items()},
        "loggers": {**LOGGING_CONFIG["loggers"], "consentline": {"level": "INFO"}},
        "root": {"handlers": ["named"], "level": "WARNING"},
    }
