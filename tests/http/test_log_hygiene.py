"""No number and no message text in what ``consentline serve`` logs, whatever the route (C23).

A real ``consentline serve`` process (its own logging config, access log, worker),
started through ``tests/http/_fault_server.py`` so that it also has routes that fail
on purpose, is sent canary message bodies (they all carry ``logscan.CANARY``) and
numbers through every kind of route: a signed Twilio webhook by GET (the values in
the query string) and by POST, ``/v1/inbound``, a ``/v1/consents`` proof, a check and
a history with the number in the query and the path, 4xx answers, and failures
reaching the 500 handler and the worker with the number and the body inside the
exception (a raw database error whose parameters hold them). Its output must then
show the access lines and tracebacks, masked, and hold neither. The session scan of
``tests.logscan`` reads the same file again at the end of the run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests import logscan
from tests.http._server import Server

PUBLIC = "https://consentline.example.com"
LINE = "+18005550161"
OTHER_LINE = "+18005550162"  # not registered
ACCOUNT_SID = "AC" + "d1" * 16
AUTH_TOKEN = "fedcba9876543210fedcba9876543210"
HANDSETS = {
    "get": "+14155550171",
    "post": "+14155550172",
    "inbound": "+14155550173",
    "consent": "+14155550174",
    "check": "+14155550175",
    "unknown_line": "+14155550176",
    "fault": "+14155550177",
    "job": "+14155550178",
}
BODIES = {name: f"STOP {logscan.CANARY} {name} please" for name in HANDSETS}


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    found = Server(db_url, public_url=PUBLIC, faults=True)
    found.start()
    try:
        yield found
    finally:
        found.stop()


def _twilio_params(name: str, to: str = LINE) -> dict[str, str]:
    sid = "SM" + hashlib.md5(name.encode()).hexdigest()
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": HANDSETS[name],
        "To": to,
        "Body": BODIES[name],
        "NumMedia": "0",
    }


def _exercise(server: Server) -> dict[str, int]:
    """Every route kind, with numbers and canaries; the statuses answered, by name."""
    validator = RequestValidator(AUTH_TOKEN)
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=server.url, headers=server.admin_headers(), timeout=30) as http:
        for method, path, body in (
            ("POST", "/v1/accounts", {"slug": "acme", "default_region": "US"}),
            ("POST", "/v1/lines", {"number": LINE, "account": "acme"}),
            (
                "PUT",
                "/v1/accounts/acme/providers/twilio",
                {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
            ),
        ):
            answer = http.request(method, path, json=body)
            assert answer.is_success, f"{path}: {answer.status_code} {answer.text}"

        query = urlencode(_twilio_params("get"))
        signature = validator.compute_signature(f"{PUBLIC}/webhooks/twilio?{query}", {})
        statuses["webhook_get"] = http.get(
            f"/webhooks/twilio?{query}", headers={"X-Twilio-Signature": signature}
        ).status_code
        for name, to in (("post", LINE), ("unknown_line", OTHER_LINE)):
            params = _twilio_params(name, to)
            signature = validator.compute_signature(f"{PUBLIC}/webhooks/twilio", params)
            statuses[f"webhook_{name}"] = http.post(
                "/webhooks/twilio",
                content=urlencode(params),
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ).status_code
        forged = _twilio_params("post")
        statuses["webhook_forged"] = http.post(
            "/webhooks/twilio",
            content=urlencode(forged),
            headers={
                "X-Twilio-Signature": "forged",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        ).status_code
        inbound = {"from": HANDSETS["inbound"], "to": LINE, "text": BODIES["inbound"]}
        statuses["inbound"] = http.post("/v1/inbound", json=inbound).status_code
        consent = {
            "address": HANDSETS["consent"],
            "action": "opt_in",
            "account": "acme",
            "purpose": "marketing",
            "source": "web_form",
            "proof": {"said": BODIES["consent"], "phone": HANDSETS["consent"]},
        }
        statuses["consent"] = http.post("/v1/consents", json=consent).status_code
        bad = {**consent, "address": BODIES["consent"], "idempotency_key": BODIES["consent"]}
        statuses["consent_invalid"] = http.post("/v1/consents", json=bad).status_code
        check = {"to": HANDSETS["check"], "from": LINE, "purpose": "marketing"}
        statuses["check"] = http.get(f"/v1/check?{urlencode(check)}").status_code
        for name, number in (("history", HANDSETS["check"]), ("consent_get", HANDSETS["get"])):
            segment = "history" if name == "history" else "consent"
            address = quote(number, safe="")
            statuses[name] = http.get(f"/v1/addresses/{address}/{segment}").status_code
        statuses["not_found"] = http.get(
            f"/{quote(BODIES['check'])}/{HANDSETS['check']}"
        ).status_code
    for kind in ("runtime", "statement", "cast", "job"):
        # A connection each: a 500 resets its keep-alive connection (another defect).
        fault = {"to": HANDSETS["fault" if kind != "job" else "job"], "text": BODIES["fault"]}
        url = f"{server.url}/_faults/{kind}?{urlencode(fault)}"
        statuses[f"fault_{kind}"] = httpx.get(url, timeout=30).status_code
    return statuses


def test_no_number_and_no_message_text_in_the_server_output(server: Server, db_url: str) -> None:
    statuses = _exercise(server)
    server.stop()
    log = server.log.read_text(errors="replace")
    postgres = db_url.startswith("postgresql")
    assert statuses == {
        "webhook_get": 200,
        "webhook_post": 200,
        "webhook_unknown_line": 403,
        "webhook_forged": 403,
        "inbound": 200,
        "consent": 201,
        "consent_invalid": 422,
        "check": 200,
        "history": 200,
        "consent_get": 200,
        "not_found": 404,
        "fault_runtime": 500,
        "fault_statement": 500,
        "fault_cast": 500 if postgres else 200,
        "fault_job": 200,
    }, server.tail()

    # What the operator needs is there: access lines with the shape of each request...
    access = re.search(r'"GET /webhooks/twilio\?(\S*) HTTP/1.1" 200', log)
    assert access is not None, server.tail()
    assert "Body=***" in access[1] and "From=+1415***0171" in access[1], access[0]
    assert '"GET /v1/addresses/+1415***0175/history HTTP/1.1" 200' in log, server.tail()
    # ...and the tracebacks of the failures, frames and classes, masked.
    assert "consentline.http: unexpected RuntimeError on GET /_faults/runtime" in log
    assert "RuntimeError: <message withheld: " in log and "+1415***0177" in log
    assert "in fault" in log  # the frame of the failing route
    assert "sqlalchemy.exc.OperationalError: driver error" in log
    assert "consentline.jobs.worker: background job FaultyJob failed" in log
    if postgres:
        assert "SQLSTATE 22P02" in log  # invalid_text_representation, value withheld

    # ...but no number and no message text, in any notation.
    keys = {key for n in [*HANDSETS.values(), LINE, OTHER_LINE] if (key := logscan.key_of(n))}
    leaks = list(logscan.find_leaks(str(server.log), log.splitlines(), keys))
    assert not leaks, "\n".join(map(str, leaks))
