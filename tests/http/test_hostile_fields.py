"""Hostile values in every field of every JSON route: a typed 4xx or a record, never a 5xx.

Schemathesis draws values at random and rarely lands on the few that break a
driver or a serialiser; this walk sends each of them, deterministically, into each
field of a request that is otherwise valid, on SQLite and PostgreSQL: a NUL byte, a
lone surrogate, a bidi override, terminal escapes; times at the ends of the
calendar; and, for objects, deep nesting, thousands of keys and those strings as
keys. Each answer must be below 500 and match the OpenAPI document (a 2xx its
model, a 4xx the error body), and what was stored must read back (history, consent,
the change feed). A failure lists every field and value that broke.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient suggests httpx2
    from fastapi.testclient import TestClient

TEXT: dict[str, str] = {
    "nul": "STOP\x00",
    "surrogate": "\ud800",
    "bidi": "\u202estop",
    "escapes": "\x1b[2J\x07\r\n",
}
TIME: dict[str, str] = {
    "year_1": "0001-01-01T00:00:00+01:00",
    "year_9999": "9999-12-31T23:59:59-01:00",
}


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


OBJECT: dict[str, Any] = {
    "deep": _deep(300),
    "wide": {f"k{i}": i for i in range(3000)},
    "nul_key": {"a\x00": "b"},
    "surrogate": {"a": "\ud800", "\udfff": 1},
}
# Raw query and path bytes: NUL, a UTF-8-encoded surrogate, a byte that is no UTF-8.
RAW: dict[str, str] = {"nul": "%00", "surrogate": "%ED%A0%80", "not_utf8": "%FF"}


@pytest.fixture
def url(db_url: str) -> str:
    return db_url


_UNIQUE = itertools.count(1)


def _n() -> int:
    return next(_UNIQUE)


# label -> (method, path, a valid body (fresh each call), text, time and object fields)
Body = Callable[[], dict[str, Any]]
ROUTES: dict[str, tuple[str, str, Body, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "POST /v1/accounts": (
        "POST",
        "/v1/accounts",
        lambda: {"slug": f"kiosk{_n()}", "parent": "acme", "default_region": "US"},
        ("slug", "parent", "reach", "default_region"),
        (),
        (),
    ),
    "POST /v1/lines": (
        "POST",
        "/v1/lines",
        lambda: {"number": f"+1800555{2000 + _n():04d}", "account": "acme"},
        ("number", "account"),
        (),
        (),
    ),
    "POST /v1/keys": (
        "POST",
        "/v1/keys",
        lambda: {"account": "acme", "role": "read"},
        ("account", "role"),
        (),
        (),
    ),
    "POST /v1/consents": (
        "POST",
        "/v1/consents",
        lambda: {
            "address": X,
            "action": "opt_in",
            "account": "acme",
            "purpose": "marketing",
            "source": "web_form",
            "proof": {"form": "signup"},
            "idempotency_key": f"key-{_n()}",
        },
        (
            "address",
            "action",
            "account",
            "purpose",
            "topic",
            "channel",
            "source",
            "idempotency_key",
        ),
        ("occurred_at",),
        ("proof",),
    ),
    "POST /v1/consents via": (
        "POST",
        "/v1/consents",
        lambda: {"address": X, "action": "opt_out", "via": SHOP_LINE, "source": "keyword"},
        ("via",),
        (),
        (),
    ),
    "POST /v1/check": (
        "POST",
        "/v1/check",
        lambda: {"from": ACME_LINE, "purpose": "marketing", "recipients": [X]},
        ("from", "purpose", "topic", "channel", "recipients"),
        ("at",),
        (),
    ),
    "POST /v1/inbound": (
        "POST",
        "/v1/inbound",
        lambda: {"from": X, "to": ACME_LINE, "text": "STOP", "message_id": f"m-{_n()}"},
        ("from", "to", "text", "message_id", "channel"),
        ("received_at",),
        (),
    ),
    "POST /v1/webhooks": (
        "POST",
        "/v1/webhooks",
        lambda: {"account": "acme", "url": "https://hooks.example.com/consent"},
        ("account", "url", "events"),
        (),
        (),
    ),
    "PUT /v1/accounts/{slug}/providers/{name}": (
        "PUT",
        "/v1/accounts/acme/providers/twilio",
        lambda: {"account_sid": "AC" + "ab" * 16, "auth_token": "f" * 32},
        ("account_sid", "auth_token", "upstream_base_url"),
        (),
        (),
    ),
}
LISTS = {"recipients", "events"}  # list fields: the hostile string is an element


def _mutations(label: str) -> Iterator[tuple[str, dict[str, Any]]]:
    _, _, body, texts, times, objects = ROUTES[label]
    for field in texts:
        for kind, value in TEXT.items():
            yield f"{field}={kind}", {**body(), field: [value] if field in LISTS else value}
    for field in times:
        for kind, value in TIME.items():
            yield f"{field}={kind}", {**body(), field: value}
    for field in objects:
        for kind, value in OBJECT.items():
            yield f"{field}={kind}", {**body(), field: value}


class Probe:
    def __init__(self, api: Api) -> None:
        self.http = TestClient(api.http.app, raise_server_exceptions=False)
        self.headers = api.key("admin")
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", api.http.app)
        self.broken: list[str] = []

    def send(self, what: str, template: str, method: str, path: str, **kw: Any) -> None:
        answer = self.http.request(
            method, path, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )
        if answer.status_code >= 500:
            self.broken.append(f"{what}: {answer.status_code} {answer.text[:120]}")
            return
        try:
            self.schema[template][method].validate_response(answer)
        except Exception as error:
            self.broken.append(f"{what}: {answer.status_code} not as documented: {error}"[:400])


@pytest.mark.parametrize("label", sorted(ROUTES))
def test_a_hostile_value_in_any_field_never_answers_5xx(api: Api, label: str) -> None:
    method, path, _, _, _, _ = ROUTES[label]
    template = label.removesuffix(" via").split(" ", 1)[1]
    probe = Probe(api)
    for what, body in _mutations(label):
        # ensure_ascii: a lone surrogate travels as the JSON escape \\ud800
        content = json.dumps(body).encode()
        probe.send(
            what,
            template,
            method,
            path,
            content=content,
            headers={"Content-Type": "application/json"},
        )
    # Whatever was stored can be read back and serialised (a CRM sync pages the feed).
    address = X.replace("+", "%2B")
    for segment in ("history", "consent"):
        read = f"/v1/addresses/{{address}}/{segment}"
        probe.send(f"then GET {read}", read, "GET", f"/v1/addresses/{address}/{segment}")
    probe.send("then GET /v1/events", "/v1/events", "GET", "/v1/events?limit=1000")
    assert not probe.broken, "\n".join([label, *probe.broken])


def test_hostile_bytes_in_query_and_path_never_answer_5xx(api: Api) -> None:
    probe = Probe(api)
    base = {"to": "%2B14155550123", "from": "%2B18005550100", "purpose": "marketing"}
    for field in (*base, "topic", "channel", "at"):
        for kind, raw in RAW.items():
            query = "&".join(f"{k}={v}" for k, v in {**base, field: raw}.items())
            probe.send(f"GET /v1/check {field}={kind}", "/v1/check", "GET", f"/v1/check?{query}")
    for segment in ("consent", "history"):
        template = f"/v1/addresses/{{address}}/{segment}"
        for kind, raw in RAW.items():
            path = f"/v1/addresses/{raw}/{segment}"
            probe.send(f"GET {template} address={kind}", template, "GET", path)
            probe.send(f"GET {template} channel={kind}", template, "GET", f"{path}?channel={raw}")
    assert not probe.broken, "\n".join(probe.broken)
