"""No phone number and no message text in a log line: access lines, messages, tracebacks (C23)."""

from __future__ import annotations

import logging
import logging.config
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from consentline.domain.errors import StorageError
from consentline.http.logging import (
    MaskingAccessFormatter,
    MaskingDefaultFormatter,
    MaskingFormatter,
    MaskNumbers,
    format_exception,
    mask_numbers,
    redact_target,
    uvicorn_log_config,
)
from consentline.storage.engine import storage_errors
from tests.http.conftest import Api
from tests.logscan import CANARY, ProductionFormat

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient suggests httpx2
    from fastapi.testclient import TestClient

NUMBER = "+14155550142"
BODY = f"STOP {CANARY} in a log test"
PRODUCTION = ProductionFormat(uvicorn_log_config())


def _clean(text: str) -> None:
    assert "4155550142" not in text
    assert CANARY not in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /v1/addresses/+14155550101/history", "GET /v1/addresses/+1415***0101/history"),
        (
            "/v1/check?to=%2B14155550101&from=%2b18005550100",
            "/v1/check?to=+1415***0101&from=+1800***0100",
        ),
        ("/v1/check?to=14155550101", "/v1/check?to=14155***0101"),
        ("call +1 (415) 555-0101 now", "call +1415***0101 now"),
        ("(415) 555-0101", "415***"),
        ("415-555-0101 or 415.555.0101", "415*** or 415***"),
        ("+44 20 7946 0958", "+4420***0958"),
        ("%2B1%20415%20555%200101", "+1415***0101"),
        ("From=+1+415+555+0101", "From=+1415***0101"),
        # Not numbers: kept as they are.
        ("/v1/events?after=12&limit=100", "/v1/events?after=12&limit=100"),
        ("/v1/check?from=12345", "/v1/check?from=12345"),
        ("client 192.168.100.200:5000", "client 192.168.100.200:5000"),
        ("at 2026-03-02T15:00:00+00:00", "at 2026-03-02T15:00:00+00:00"),
        ('File "x.py", line 1234, in f', 'File "x.py", line 1234, in f'),
    ],
)
def test_numbers_are_masked_in_every_notation(line: str, expected: str) -> None:
    assert mask_numbers(line) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "/webhooks/twilio?Body=STOP%20please&From=%2B14155550101&To=%2B18005550100",
            "/webhooks/twilio?Body=***&From=+1415***0101&To=+1800***0100",
        ),
        ("/webhooks/twilio?line=main&Body=STOP+ok", "/webhooks/twilio?line=main&Body=***"),
        ("/v1/events?after=12&limit=100", "/v1/events?after=12&limit=100"),
        (
            "/v1/check?to=+1415***0101&purpose=marketing",
            "/v1/check?to=+1415***0101&purpose=marketing",
        ),
        ("/v1/addresses/ann%40example.com/consent", "/v1/addresses/a***@example.com/consent"),
        ("/STOP%20sending%20me/x", "/***/x"),
        ("/x?STOP%20me&%E2%9C%93=1&code=", "/x?***&***=***&code=***"),
        ("/healthz", "/healthz"),
    ],
)
def test_access_targets_keep_names_and_mask_every_personal_value(
    target: str, expected: str
) -> None:
    assert redact_target(target) == expected


def _access_record(target: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", target, "1.1", 200),
        None,
    )


def test_the_filter_masks_uvicorn_access_records() -> None:
    record = _access_record("/v1/check?to=%2B14155550101")
    assert MaskNumbers().filter(record)
    assert "14155550101" not in record.getMessage()
    assert "+1415***0101" in record.getMessage()


def test_a_get_webhook_access_line_shows_no_body_and_no_number() -> None:
    target = f"/webhooks/twilio?Body={BODY.replace(' ', '+')}&From=%2B14155550142&NumMedia=0"
    record = _access_record(target)
    MaskNumbers().filter(record)  # as on the handler: the filter runs before the formatter
    (line,) = PRODUCTION.format(record)
    assert '"GET /webhooks/twilio?Body=***&From=+1415***0142&NumMedia=*** HTTP/1.1" 200' in line
    _clean(line)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """dictConfig replaces handlers: put the test process's logging back afterwards."""
    names = ["", "consentline", "uvicorn", "uvicorn.error", "uvicorn.access"]
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for name in names
        if (logger := logging.getLogger(name))
    }
    try:
        yield
    finally:
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


def test_the_serve_config_masks_on_every_handler_root_included(restore_logging: None) -> None:
    config = uvicorn_log_config()
    assert set(config["handlers"]) == {"default", "access", "named"}
    for handler in config["handlers"].values():
        assert handler["filters"] == ["mask_numbers"]
    assert config["root"]["handlers"] == ["named"]
    assert config["loggers"]["consentline"] == {"level": "INFO"}
    logging.config.dictConfig(config)
    for name in ("uvicorn.access", "uvicorn", ""):
        handlers = logging.getLogger(name).handlers
        assert handlers
        for handler in handlers:
            assert any(isinstance(f, MaskNumbers) for f in handler.filters)
            assert isinstance(handler.formatter, MaskingFormatter)
    (access,) = logging.getLogger("uvicorn.access").handlers
    assert isinstance(access.formatter, MaskingAccessFormatter)
    (root,) = logging.getLogger().handlers
    assert isinstance(root.formatter, MaskingDefaultFormatter)


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def _database_error(url: str) -> StorageError:
    """A driver error with the number and the body as parameters, as storage_errors wraps it."""
    engine = sa.create_engine(url)
    try:
        with storage_errors(), engine.connect() as conn:
            conn.execute(
                sa.text("SELECT CAST(:body AS INTEGER), :number"), {"body": BODY, "number": NUMBER}
            )
            conn.execute(sa.text("SELECT * FROM no_such_table WHERE a = :a"), {"a": BODY})
    except StorageError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("the statement did not fail")


def test_a_database_error_is_logged_with_its_frames_and_no_parameters(db_url: str) -> None:
    error = _database_error(db_url)
    assert NUMBER in str(error.__cause__) or BODY in str(error.__cause__)  # what leaked before
    text = format_exception(error)
    assert text.startswith("Traceback (most recent call last):")
    assert "The above exception was the direct cause of the following exception:" in text
    assert "consentline.domain.errors.StorageError: database error:" in text
    assert "in _database_error" in text and "SQL: SELECT" in text
    assert "SQLSTATE" in text or "SQLITE_ERROR" in text
    assert "<message withheld: " in text
    _clean(text)


def test_messages_are_withheld_but_their_numbers_shown_masked() -> None:
    error = _raised(RuntimeError(f"lookup of {NUMBER} failed: {BODY!r}"))
    text = format_exception(error)
    assert "RuntimeError: <message withheld: " in text
    assert "numbers in it: +1415***0142>" in text
    _clean(text)


def test_code_made_messages_notes_and_groups() -> None:
    attribute = _raised(AttributeError("'str' object has no attribute 'x'"))
    assert format_exception(attribute).endswith("AttributeError: 'str' object has no attribute 'x'")

    noted = _raised(KeyError(NUMBER))
    noted.add_note(BODY)
    group = _raised(ExceptionGroup("two", [noted, _raised(ValueError(BODY))]))
    text = format_exception(group)
    assert "[sub-exception 1 of 2]" in text and "(1 notes withheld)" in text
    assert "ValueError: <message withheld: " in text
    _clean(text)

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert format_exception(_raised(Broken())).endswith("Broken")
    surrogate = _raised(UnicodeEncodeError("utf-8", BODY + "\ud800", len(BODY), len(BODY) + 1, "x"))
    assert "UnicodeEncodeError: utf-8 x at position" in format_exception(surrogate)


def _record(message: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    info = None if exc is None else (type(exc), exc, exc.__traceback__)
    return logging.LogRecord("consentline.test", logging.ERROR, __file__, 1, message, args, info)


def test_the_formatter_never_reuses_a_traceback_another_handler_cached() -> None:
    record = _record("failed for %s", NUMBER, exc=_raised(RuntimeError(BODY)))
    raw = logging.Formatter().format(record)  # e.g. pytest's own handler, first
    assert BODY in raw and record.exc_text
    (line,) = PRODUCTION.format(record)
    assert "failed for +1415***0142" in line and "RuntimeError: <message withheld" in line
    _clean(line)

    record.exc_info = None  # only the cached text is left: it is withheld, not printed
    (line,) = PRODUCTION.format(record)
    assert "withheld" in line
    _clean(line)


def test_a_malformed_call_prints_neither_its_message_nor_its_arguments() -> None:
    (line,) = PRODUCTION.format(_record("%s and %s", BODY))
    assert "could not be formatted" in line
    _clean(line)


def test_stack_info_is_masked() -> None:
    record = _record("here")
    record.stack_info = f'Stack (most recent call last):\n  File "x.py", line 1\n    f("{NUMBER}")'
    (line,) = PRODUCTION.format(record)
    assert "+1415***0142" in line
    _clean(line)


def _unexpected_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "consentline.http"]


def test_the_500_handler_logs_the_traceback_masked_and_answers_no_detail(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError(f"could not handle {NUMBER}: {BODY!r}")

    api.http.app.add_api_route("/explode", explode, methods=["GET"])
    client = TestClient(api.http.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="consentline.http"):
        answer = client.get("/explode")
    assert answer.status_code == 500
    assert answer.json() == {"code": "internal_error", "message": "internal error"}
    (record,) = _unexpected_records(caplog)
    assert record.exc_info is not None and record.exc_info[1] is not None
    (line,) = PRODUCTION.format(record)
    assert line.startswith("ERROR:    consentline.http: unexpected RuntimeError on GET /explode")
    assert "Traceback (most recent call last):" in line and "in explode" in line
    assert "RuntimeError: <message withheld: " in line and "+1415***0142" in line
    _clean(line)


def test_the_check_fast_lane_logs_its_500_the_same_way(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(*_args: Any, **_kwargs: Any) -> None:
        raise ValueError(f"{NUMBER} {BODY}")

    monkeypatch.setattr(api.cl, "check", check)
    query = {"to": NUMBER, "from": "+18005550100", "purpose": "marketing"}
    with caplog.at_level(logging.ERROR, logger="consentline.http"):
        answer = api.http.get("/v1/check", params=query, headers=api.key("admin"))
    assert answer.status_code == 500
    assert answer.json() == {"code": "internal_error", "message": "internal error"}
    (record,) = _unexpected_records(caplog)
    (line,) = PRODUCTION.format(record)
    assert "on GET /v1/check" in line and "ValueError: <message withheld: " in line
    assert "in check" in line
    _clean(line)


def test_colours_on_a_terminal_do_not_defeat_the_masking() -> None:
    formatter = MaskingDefaultFormatter("%(levelprefix)s %(message)s", use_colors=True)
    line = formatter.format(_record("to %s", NUMBER, exc=_raised(RuntimeError(BODY))))
    assert "\x1b[" in line and "+1415***0142" in line
    _clean(line)
