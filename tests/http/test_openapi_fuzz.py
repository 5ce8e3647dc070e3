"""Schemathesis against the app's own /openapi.json: no 5xx, responses match the schema.

Runs in-process (ASGI) with the installation admin key, so generated requests
reach the handlers instead of stopping at authentication. Every other default
check runs: no 5xx, documented status codes, content types, headers and
response schemas. The operations are
listed from a throwaway app at collection time; each test draws its cases with
Hypothesis and sends them to the per-test app of the ``api`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

import consentline
from consentline.http import create_app
from consentline.settings import Settings
from tests.http.conftest import Api


def _operation_labels() -> list[str]:
    client = consentline.connect("sqlite://")
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(client, Settings()))
        return sorted(result.ok().label for result in schema.get_all_operations())
    finally:
        client.close()


LABELS = _operation_labels()
_SCHEMAS: dict[int, Any] = {}


def _operation(api: Api, label: str) -> Any:
    schema = _SCHEMAS.get(id(api))
    if schema is None:
        _SCHEMAS.clear()
        schema = _SCHEMAS[id(api)] = schemathesis.openapi.from_asgi("/openapi.json", api.http.app)
    return schema.find_operation_by_label(label)


def test_the_schema_lists_the_contract_routes() -> None:
    for label in ("POST /v1/accounts", "GET /v1/check", "POST /v1/check", "POST /v1/consents"):
        assert label in LABELS


@pytest.mark.parametrize("label", LABELS)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_server_errors_and_responses_match_the_schema(
    api: Api, label: str, data: st.DataObject
) -> None:
    case = data.draw(_operation(api, label).as_strategy())
    # "Schema-valid request rejected" is excluded: a schema cannot say which strings
    # are real phone numbers or existing accounts, and those are refused with 4xx.
    case.call_and_validate(
        headers=api.key("admin"), excluded_checks=[checks.positive_data_acceptance]
    )
