"""Log hygiene: phone numbers never reach a log line, access logs included (C23).

Numbers travel in paths (``/v1/addresses/+14155550101/history``) and query
strings (``?to=%2B14155550101``). :class:`MaskNumbers` rewrites every run of 7
or more digits (optionally after ``+`` or ``%2B``) the way
:func:`consentline.domain.errors.mask` does: country-code prefix and last four.

>>> mask_numbers("GET /v1/check?to=%2B14155550101&from=%2B18005550100")
'GET /v1/check?to=+1415***0101&from=+1800***0100'
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from consentline.domain.errors import mask

_NUMBER: Final = re.compile(r"(?:\+|%2[Bb])?\d{7,}")


def _masked(match: re.Match[str]) -> str:
    text = match.group(0)
    if text[:3].upper() == "%2B":
        text = "+" + text[3:]
    return mask(text)


def mask_numbers(text: str) -> str:
    return _NUMBER.sub(_masked, text)


class MaskNumbers(logging.Filter):
    """Mask phone numbers in a record's message and arguments (never drops a record)."""

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
    """uvicorn's default logging config with :class:`MaskNumbers` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "filters": {"mask_numbers": {"()": f"{__name__}.MaskNumbers"}},
        "handlers": {
            name: {**handler, "filters": ["mask_numbers"]}
            for name, handler in LOGGING_CONFIG["handlers"].items()
        },
    }
    return config
