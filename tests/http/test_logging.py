"""Phone numbers never reach a log line, access logs included."""

from __future__ import annotations

import logging
import logging.config

import pytest

from consentline.http.logging import MaskNumbers, mask_numbers, uvicorn_log_config


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /v1/addresses/+14155550101/history", "GET /v1/addresses/+1415***0101/history"),
        (
            "/v1/check?to=%2B14155550101&from=%2b18005550100",
            "/v1/check?to=+1415***0101&from=+1800***0100",
        ),
        ("/v1/check?to=14155550101", "/v1/check?to=14155***0101"),
        ("/v1/events?after=12&limit=100", "/v1/events?after=12&limit=100"),
        ("/v1/check?from=12345", "/v1/check?from=12345"),
    ],
)
def test_numbers_are_masked_keeping_the_prefix_and_last_four(line: str, expected: str) -> None:
    assert mask_numbers(line) == expected


def test_the_filter_masks_uvicorn_access_records() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/check?to=%2B14155550101", "1.1", 200),
        None,
    )
    assert MaskNumbers().filter(record)
    assert "14155550101" not in record.getMessage()
    assert "+1415***0101" in record.getMessage()


def test_the_uvicorn_config_puts_the_filter_on_every_handler() -> None:
    config = uvicorn_log_config()
    assert config["handlers"]
    for handler in config["handlers"].values():
        assert handler["filters"] == ["mask_numbers"]
    logging.config.dictConfig(config)
    access = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, MaskNumbers) for h in access.handlers for f in h.filters)
