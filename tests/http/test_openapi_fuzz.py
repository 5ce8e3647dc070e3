"""Schemathesis against the app's own /openapi.json: no 5xx, responses match the schema.

Runs in-process (ASGI) with the installation admin key, so generated requests
reach the handlers instead of stopping at authentication, on SQLite and on
PostgreSQL (a schema of its own per test, as ``tests/conftest.py``'s ``db_url``
gives). Every other default check runs: no 5xx, documented status codes, content
types, headers and response schemas (every route declares its answer in
``consentline.http.schemas``). The operations are listed from a throwaway app at
collection time; each test draws its cases with Hypothesis and sends them to the
per-test app of the ``api`` fixture.

Random input rarely gets past the lookups (a schema cannot say which strings are
real numbers or existing accounts), so known values are swapped into most cases'
fields (``KNOWN``) and the fuzzed rest reaches the ledger. A second test walks every
operation with valid input, on both databases, and checks each real answer against
the document: the declared models are true to what the routes return.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from schemathesis import checks

import consentline
from consentline.http import create_app
from consentline.settings import Settings
from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X, Y
from tests.providers import signers

PUBLIC = "https://consentline.example.com"  # what the provider signers sign
# Cases per operation and database (``CONSENTLINE_FUZZ_EXAMPLES``; ``make fuzz`` runs 100).
EXAMPLES = int(os.environ.get("CONSENTLINE_FUZZ_EXAMPLES", "8"))


@pytest.fixture
def url(db_url: str) -> str:
    """The ``api`` fixture's database: SQLite and PostgreSQL in turn."""
    return db_url


@pytest.fixture
def settings() -> Settings:
    return Settings(max_body=64 * 1024, max_bulk_body=1024 * 1024, public_url=PUBLIC)


def _schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operation_labels() -> list[str]:
    client = consentline.connect("sqlite://")
    try:
        schema = _schema(create_app(client, Settings()))
        return sorted(result.ok().label for result in schema.get_all_operations())
    finally:
        client.close()


LABELS = _operation_labels()
_SCHEMAS: dict[int, Any] = {}


def _operation(api: Api, label: str) -> Any:
    schema = _SCHEMAS.get(id(api))
    if schema is None:
        _SCHEMAS.clear()
        schema = _SCHEMAS[id(api)] = _schema(api.http.app)
    return schema.find_operation_by_label(label)


def test_the_schema_lists_the_contract_routes() -> None:
    for label in ("POST /v1/accounts", "GET /v1/check", "POST /v1/check", "POST /v1/consents"):
        assert label in LABELS


def test_every_operation_declares_the_shape_of_its_answer() -> None:
    client = consentline.connect("sqlite://")
    try:
        document = create_app(client, Settings()).openapi()
    finally:
        client.close()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                for media, content in answer.get("content", {}).items():
                    schema = content["schema"]
                    where = f"{method.upper()} {path} {status} {media}"
                    if media == "application/json":
                        assert "$ref" in schema, f"{where}: a free-form answer"
                    else:
                        assert schema == {"type": "string"}, where


# Values the schema cannot know (real numbers, existing accounts and lines...): each
# field a case has among these is swapped for one of them 3 times in 4, so that the
# fuzzed rest of the request gets past the lookups and reaches the ledger.
KNOWN: dict[str, list[Any]] = {
    "address": [X, Y, "ann@example.com"],
    "account": ["acme", "shop"],
    "parent": ["acme"],
    "line": [ACME_LINE, SHOP_LINE],
    "via": [ACME_LINE, SHOP_LINE],
    "purpose": ["marketing", "transactional"],
    "action": ["opt_in", "opt_out", "resume", "lapse", "pending"],
    "source": ["web_form"],
    "channel": ["sms", "email"],
    "role": ["read", "write", "admin"],
    "number": ["+18005550177"],
    "recipients": [[X, Y]],
    "url": ["https://hooks.example.com/consent"],
    "events": [["*"], ["opt_out"]],
    "slug": ["acme", "shop"],
    "name": ["twilio", "plivo", "sinch"],
    "to": [X, Y],
    "from": [ACME_LINE, SHOP_LINE],
}
KNOWN_BY_OPERATION: dict[str, dict[str, list[Any]]] = {
    "POST /v1/inbound": {"from": [X, Y], "to": [ACME_LINE, SHOP_LINE]},
    "POST /v1/accounts": {"slug": ["kiosk", "stall"]},
}


SCOPES = ("account", "line", "via")  # POST /v1/consents takes exactly one


def _grounded(label: str, case: Any, data: st.DataObject) -> None:
    known = {**KNOWN, **KNOWN_BY_OPERATION.get(label, {})}
    for attribute in ("path_parameters", "query", "body"):
        container = getattr(case, attribute)
        if not isinstance(container, dict):
            continue
        swapped = dict(container)
        consent = label == "POST /v1/consents" and attribute == "body"
        if consent and data.draw(st.integers(0, 3), label="scope") < 3:
            scope = data.draw(st.sampled_from(SCOPES), label="scope kind")
            swapped = {k: v for k, v in swapped.items() if k not in SCOPES}
            swapped[scope] = known[scope][0]
        for name in sorted(set(swapped) & set(known)):
            if data.draw(st.integers(0, 3), label=f"fuzz {name}") < 3:  # shrinks to known
                swapped[name] = data.draw(st.sampled_from(known[name]), label=name)
        setattr(case, attribute, swapped)


@pytest.mark.parametrize("label", LABELS)
@examples(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_server_errors_and_responses_match_the_schema(
    api: Api, label: str, data: st.DataObject
) -> None:
    case = data.draw(_operation(api, label).as_strategy())
    _grounded(label, case, data)
    # "Schema-valid request rejected" is excluded: a schema cannot say which strings
    # are real phone numbers or existing accounts, and those are refused with 4xx.
    case.call_and_validate(
        headers=api.key("admin"), excluded_checks=[checks.positive_data_acceptance]
    )


class Walk:
    """Valid requests to every operation; each answer checked against the document."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.schema = _schema(api.http.app)
        self.seen: set[str] = set()

    def __call__(
        self, method: str, path: str, template: str | None = None, status: int = 200, **kw: Any
    ) -> Any:
        kw.setdefault("headers", self.api.key("admin"))
        answer = self.api.http.request(method, path, **kw)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        self.check(method, template or path, answer)
        return answer.json() if answer.content else None

    def check(self, method: str, template: str, answer: httpx.Response) -> None:
        self.schema[template][method].validate_response(answer)
        self.seen.add(f"{method} {template}")


def test_real_answers_of_every_operation_match_the_document(api: Api) -> None:
    walk = Walk(api)
    walk("GET", "/healthz")
    walk("GET", "/readyz")
    walk("POST", "/v1/accounts", json={"slug": "kiosk", "parent": "acme"}, status=201)
    walk("POST", "/v1/accounts", json={"slug": "solo", "reach": "line"}, status=201)
    walk("POST", "/v1/lines", json={"number": "+18005550188", "account": "kiosk"}, status=201)
    key = walk("POST", "/v1/keys", json={"account": "acme", "role": "read"}, status=201)
    walk("DELETE", f"/v1/keys/{key['id']}", "/v1/keys/{key_id}")

    consent = {
        "address": X,
        "action": "opt_in",
        "account": "acme",
        "purpose": "marketing",
        "source": "web_form",
        "proof": {"form": "signup", "nested": {"ok": [1, None, True]}},
        "idempotency_key": "walk-1",
    }
    walk("POST", "/v1/consents", json=consent, status=201)
    walk("POST", "/v1/consents", json=consent, status=200)  # the idempotent replay
    line = {**consent, "line": SHOP_LINE, "account": None, "idempotency_key": None}
    walk("POST", "/v1/consents", json=line, status=201)
    address = X.replace("+", "%2B")
    for segment in ("consent", "history"):
        walk("GET", f"/v1/addresses/{address}/{segment}", f"/v1/addresses/{{address}}/{segment}")
        walk(
            "GET",
            f"/v1/addresses/nobody%40example.com/{segment}?channel=email",
            f"/v1/addresses/{{address}}/{segment}",
        )
    walk(
        "GET",
        f"/v1/addresses/{address}/export?account=acme",
        "/v1/addresses/{address}/export",
    )
    walk("GET", "/v1/events", params={"after": 0, "limit": 2})
    for kind in ("opt_outs", "snapshot", "inbound"):
        walk("GET", f"/v1/reports/{kind}?account=acme&by=line", "/v1/reports/{kind}")
    walk("GET", "/v1/hygiene?account=acme&older_than_days=30", "/v1/hygiene")
    change = "/v1/addresses/{old}/change-number"
    walk(
        "POST", f"/v1/addresses/{address}/change-number", change, json={"new": Y, "account": "acme"}
    )
    mapping = {"columns": {"address": "phone"}, "preset": "legacy-opt-out:out"}
    walk(
        "POST",
        "/v1/imports",
        params={"account": "acme", "mapping": json.dumps(mapping)},
        content=f"phone,out\n{X},true\nnope,false\n".encode(),
        headers={**api.key("admin"), "Content-Type": "text/csv"},
    )
    for to, status in ((X, 200), (Y, 200), ("not a number", 422)):
        query = {"to": to, "from": ACME_LINE, "purpose": "marketing"}
        walk("GET", "/v1/check", params=query, status=status)
    bulk = {"from": ACME_LINE, "purpose": "marketing", "recipients": [X, Y, "nope"]}
    walk("POST", "/v1/check", json=bulk)
    for text in ("STOP", "HELP", "hello there", "START"):
        walk("POST", "/v1/inbound", json={"from": Y, "to": ACME_LINE, "text": text})
    again = {"from": Y, "to": ACME_LINE, "text": "STOP", "message_id": "m-1"}
    walk("POST", "/v1/inbound", json=again)
    assert walk("POST", "/v1/inbound", json=again)["duplicate"] is True

    # Erasure (C22): this app has no installation erasure key, so it is refused (typed).
    erased = walk(
        "DELETE",
        f"/v1/addresses/{address}",
        "/v1/addresses/{address}",
        params={"account": "acme"},
        status=422,
    )
    assert erased["code"] == "erasure_key_missing"

    providers = "/v1/accounts/{slug}/providers/{name}"
    twilio = {"account_sid": "AC" + "ab" * 16, "auth_token": "f" * 32}
    walk("PUT", "/v1/accounts/acme/providers/twilio", providers, json=twilio)
    for slug in ("acme", "shop", "globex"):  # own, inherited, none
        walk("GET", f"/v1/accounts/{slug}/providers/twilio", providers)

    question = "/v1/accounts/{slug}/scope-question"
    category = {"code": "1", "purpose": "transactional", "label": "order updates"}
    walk("PUT", "/v1/accounts/acme/scope-question", question, json={"categories": [category]})
    walk("GET", "/v1/accounts/shop/scope-question", question)

    hook = {"account": "acme", "url": "https://hooks.example.com/consent", "events": ["opt_out"]}
    subscription = walk("POST", "/v1/webhooks", json=hook, status=201)
    walk("GET", "/v1/webhooks")
    one = f"/v1/webhooks/{subscription['id']}"
    walk("GET", one, "/v1/webhooks/{subscription_id}")
    walk("DELETE", one, "/v1/webhooks/{subscription_id}", status=204)

    store = api.cl.provider_credentials()
    acme = api.cl.directory().account("acme").id
    for provider, (request, credentials) in (
        ("twilio", signers.twilio("twilio_stop.txt")),  # TwiML
        ("plivo", signers.plivo_v3("plivo_stop.txt")),  # Message XML
        ("sinch", signers.sinch("sinch_batch_report.json")),  # JSON: recorded 0
    ):
        store.put(account_id=acme, provider=provider, fields=credentials)
        parts = urlsplit(request.url)
        answer = api.http.post(
            f"{parts.path}?{parts.query}", headers=dict(request.headers), content=request.body
        )
        assert answer.status_code == 200, answer.text
        walk.check("POST", "/webhooks/{name}", answer)

    documented = {label for label in LABELS if not label.startswith("GET /webhooks")}
    assert documented <= walk.seen, documented - walk.seen
