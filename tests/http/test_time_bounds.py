"""Out-of-range times are 422 invalid_time on every route that takes one (issue 8, #6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import ACME_LINE, Api, X

YEAR_ZERO = "0001-01-01T00:00:00+01:00"  # valid ISO 8601; year 0 in UTC
YEAR_10000 = "9999-12-31T23:59:59-01:00"


@pytest.mark.parametrize("moment", [YEAR_ZERO, YEAR_10000])
@pytest.mark.parametrize(
    "call",
    [
        lambda api, t: api.consent("acme_write", occurred_at=t),
        lambda api, t: api.http.post(
            "/v1/inbound",
            json={"from": X, "to": ACME_LINE, "text": "STOP", "received_at": t},
            headers=api.key("acme_write"),
        ),
        lambda api, t: api.http.get(
            "/v1/check",
            params={"to": X, "from": ACME_LINE, "purpose": "marketing", "at": t},
            headers=api.key("acme_read"),
        ),
        lambda api, t: api.http.post(
            "/v1/check",
            json={"from": ACME_LINE, "purpose": "marketing", "recipients": [X], "at": t},
            headers=api.key("acme_read"),
        ),
    ],
    ids=["consents occurred_at", "inbound received_at", "GET check at", "POST check at"],
)
def test_a_time_outside_the_range_is_a_422(api: Api, call: Any, moment: str) -> None:
    response = call(api, moment)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_time"
    assert api.cl.verify().events == 0
