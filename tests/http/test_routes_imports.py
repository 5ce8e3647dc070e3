"""POST /v1/imports: a CSV or JSONL body (or multipart), the report back; write role,
the caller's subtree only, bad input a 4xx JSON answer (never 500)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.http.conftest import SHOP_LINE, Api, X, Y

CSV = f"Phone,Opted Out,Id\n{X},true,003A\n{Y},false,003B\nnope,false,003C\n"
MAPPING = json.dumps(
    {
        "columns": {"address": "Phone", "contact_ref.salesforce": "Id"},
        "preset": "legacy-opt-out:Opted Out",
        "fixed": {"purpose": "marketing"},
    }
)


def post(api: Api, key: str, body: bytes | str, **params: Any) -> Any:
    params.setdefault("mapping", MAPPING)
    params.setdefault("account", "acme")
    return api.http.post(
        "/v1/imports",
        params=params,
        content=body.encode() if isinstance(body, str) else body,
        headers={**api.key(key), "Content-Type": "text/csv"},
    )


def test_a_csv_body_is_imported_and_answered_with_the_report(api: Api) -> None:
    response = post(api, "acme_write", CSV)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["written"], report["errors"]) == (3, 2, 1)
    assert report["by_action"] == {"opt_in": 1, "opt_out": 1}
    assert report["first_errors"][0]["code"] == "invalid_address"
    assert X not in response.text.replace(f'"{X}"', "")  # numbers masked in errors
    again = post(api, "acme_write", gzip.compress(CSV.encode())).json()  # the same content
    assert (again["written"], again["unchanged"]) == (0, 2)
    feed = api.http.get("/v1/events", headers=api.key("acme_read")).json()
    assert [e["contact_refs"] for e in feed["events"]] == [
        [{"system": "salesforce", "ref": "003A"}],
        [{"system": "salesforce", "ref": "003B"}],
    ]


def test_a_re_run_of_the_same_body_is_all_unchanged(api: Api) -> None:
    post(api, "acme_write", CSV)
    again = post(api, "acme_write", CSV).json()
    assert (again["written"], again["unchanged"], again["errors"]) == (0, 2, 1)


def test_jsonl_and_multipart_bodies(api: Api) -> None:
    jsonl = "\n".join(
        json.dumps(r)
        for r in [
            {"phone": X, "status": "Unsubscribed"},
            {"phone": Y, "status": "Subscribed", "form": "https://acme.example/join"},
        ]
    )
    mapping = json.dumps(
        {
            "columns": {"address": "phone", "proof.form_url": "form"},
            "preset": "optout-status:status",
        }
    )
    response = api.http.post(
        "/v1/imports",
        params={"account": "acme", "mapping": mapping},
        content=jsonl.encode(),
        headers={**api.key("acme_write"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["by_action"] == {"opt_in": 1, "opt_out": 1}
    multipart = api.http.post(
        "/v1/imports",
        params={"account": "shop"},
        files={"file": ("list.csv", CSV.encode(), "text/csv")},
        data={"mapping": MAPPING},
        headers=api.key("shop_write"),
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["written"] == 2


def test_dry_run_writes_nothing(api: Api) -> None:
    report = post(api, "acme_write", CSV, dry_run="true").json()
    assert report["dry_run"] is True and report["written"] == 2
    feed = api.http.get("/v1/events", headers=api.key("acme_read")).json()
    assert feed["events"] == []


def test_only_the_callers_subtree(api: Api) -> None:
    outside = post(api, "shop_write", CSV, account="acme")
    assert (outside.status_code, outside.json()["code"]) == (404, "unknown_account")
    other = post(api, "acme_write", CSV, account="globex")
    assert other.status_code == 404
    # A row naming a line outside the key's subtree is a row error, not a write.
    rows = f"Phone,Opted Out,Line\n{X},true,{SHOP_LINE}\n{Y},true,+18005550199\n"
    mapping = json.dumps(
        {"columns": {"address": "Phone", "line": "Line"}, "preset": "legacy-opt-out:Opted Out"}
    )
    report = post(api, "shop_write", rows, account="shop", mapping=mapping).json()
    assert report["written"] == 1
    assert report["first_errors"][0]["code"] == "unknown_line"


@pytest.mark.parametrize(
    ("params", "body", "status", "code"),
    [
        ({"mapping": "{"}, CSV, 422, "invalid_import"),
        ({"mapping": "[]"}, CSV, 422, "invalid_import"),
        ({"mapping": json.dumps({"columns": {"address": "Phone"}})}, CSV, 422, "invalid_import"),
        ({"mapping": json.dumps({"columns": {"x": "Phone"}})}, CSV, 422, "invalid_import"),
        ({"mapping": json.dumps({"colums": {}})}, CSV, 422, "invalid_import"),
        (
            {
                "mapping": json.dumps(
                    {"columns": {"address": "Nope"}, "preset": "legacy-opt-out:Opted Out"}
                )
            },
            CSV,
            422,
            "invalid_import",
        ),
        ({}, "", 422, "invalid_import"),
        ({}, b"\xff\xfe\x00garbage\n\x00", 422, "invalid_import"),
    ],
)
def test_bad_input_is_a_4xx_json_answer(
    api: Api, params: dict[str, str], body: str | bytes, status: int, code: str
) -> None:
    response = post(api, "acme_write", body, **params)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_the_write_role_is_required(api: Api) -> None:
    assert post(api, "acme_read", CSV).status_code == 403
    assert api.http.post("/v1/imports", params={"account": "acme"}).status_code == 401
