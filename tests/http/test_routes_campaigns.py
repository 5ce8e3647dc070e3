"""Campaign sends over HTTP: POST /v1/check with "campaign", ?summary=true, and the
Twilio-compatible gateway's X-Consent-Campaign header and stored decisions."""

from __future__ import annotations

import httpx

from consentline.domain.reports import ReportQuery
from consentline.services.report_campaigns import campaigns_report, gateway_report
from tests.http.conftest import ACME_LINE, Api, X, Y
from tests.http.test_gateway import (  # noqa: F401  (module fixtures, reused)
    ACME_SID,
    OPTED_IN,
    OPTED_OUT,
    UNKNOWN,
    Gateway,
    gateway,
    sent,
    upstream,
)


def _report(cl: object, kind: str = "campaigns", **kw: object) -> list[dict]:
    function = campaigns_report if kind == "campaigns" else gateway_report
    with cl.units(write=False) as uow:  # type: ignore[attr-defined]
        return function(uow, cl.directory(), ReportQuery(kind=kind, account="acme", **kw))  # type: ignore[attr-defined,arg-type]


def test_a_bulk_check_with_a_campaign_records_the_send(api: Api) -> None:
    api.consent("acme_write", address=Y)
    body = {
        "from": ACME_LINE,
        "purpose": "marketing",
        "campaign": "spring-sale",
        "recipients": [X, Y, "nonsense"],
    }
    response = api.http.post("/v1/check", json=body, headers=api.key("acme_write"))
    assert response.status_code == 200
    assert [r["allowed"] for r in response.json()["results"]] == [False, True, False]
    [row] = _report(api.cl)
    assert (row["campaign"], row["recipients"], row["allowed"], row["status"]) == (
        "spring-sale",
        3,
        1,
        "complete",
    )


def test_the_summary_preview_answers_counts_and_records_nothing(api: Api) -> None:
    api.consent("acme_write", address=Y)
    body = {
        "from": ACME_LINE,
        "purpose": "marketing",
        "campaign": "preview",
        "recipients": [X, Y, Y, "nonsense"],
    }
    response = api.http.post("/v1/check?summary=true", json=body, headers=api.key("acme_read"))
    assert response.status_code == 200
    assert response.json() == {
        "total": 4,
        "allowed": 2,
        "by_reason": {"invalid_address": 1, "no_consent": 1, "opted_in": 2},
    }
    assert _report(api.cl) == []


def test_bad_campaign_input_is_a_4xx_json_error(api: Api) -> None:
    base = {"from": ACME_LINE, "purpose": "marketing", "recipients": [X]}
    cases = [
        ({"campaign": "Spring Sale!"}, "", 422),
        ({"campaign": "x" * 64}, "", 422),
        ({"campaign": 7}, "", 422),
        ({}, "?summary=maybe", 422),
        ({"campaign": "BAD"}, "?summary=true", 422),
    ]
    for change, query, status in cases:
        response = api.http.post(
            "/v1/check" + query, json={**base, **change}, headers=api.key("acme_write")
        )
        assert response.status_code == status, (change, query)
        assert "code" in response.json()
    assert _report(api.cl) == []


def _post(where: Gateway, to: str, campaign: str | None) -> httpx.Response:
    headers = {} if campaign is None else {"X-Consent-Campaign": campaign}
    return httpx.post(
        f"{where.url}/2010-04-01/Accounts/{ACME_SID}/Messages.json",
        auth=(ACME_SID, where.keys["acme_write"]),
        data={"To": to, "From": ACME_LINE, "Body": "Sale!"},
        headers=headers,
    )


def test_the_gateway_stores_its_decisions_and_campaign_sends(gateway: Gateway, sent: list) -> None:  # noqa: F811
    before = _report(gateway.cl, "gateway", by=("reason",))
    counts = {r["reason"]: (r["allowed"], r["denied"]) for r in before}
    assert _post(gateway, OPTED_IN, "gw-spring").status_code == 201
    assert _post(gateway, OPTED_OUT, "gw-spring").status_code == 400
    assert _post(gateway, UNKNOWN, None).status_code == 400
    after = {
        r["reason"]: (r["allowed"], r["denied"])
        for r in _report(gateway.cl, "gateway", by=("reason",))
    }
    assert after["opted_in"][0] == counts.get("opted_in", (0, 0))[0] + 1
    assert after["opted_out"][1] == counts.get("opted_out", (0, 0))[1] + 1
    assert after["no_consent"][1] == counts.get("no_consent", (0, 0))[1] + 1
    [send] = [r for r in _report(gateway.cl) if r["campaign"] == "gw-spring"]
    assert (send["kind"], send["recipients"], send["allowed"], send["denied_opted_out"]) == (
        "gateway",
        2,
        1,
        1,
    )


def test_a_bad_campaign_header_is_refused_in_twilios_shape(gateway: Gateway, sent: list) -> None:  # noqa: F811
    response = _post(gateway, OPTED_IN, "Not a name")
    assert response.status_code == 400
    assert response.json()["code"] == 20001
    assert sent == []
