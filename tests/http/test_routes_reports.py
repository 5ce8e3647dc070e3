"""``GET /v1/reports/{kind}`` and ``GET /v1/hygiene``: the key's subtree, 4xx on bad input."""

from __future__ import annotations

import pytest

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X, Y


def _seed(api: Api) -> None:
    api.cl.record(X, "opt_out", line=ACME_LINE)
    api.cl.record(Y, "opt_out", line=SHOP_LINE)


def test_a_read_key_gets_rows_that_sum_to_the_total(api: Api) -> None:
    _seed(api)
    answer = api.http.get(
        "/v1/reports/opt_outs", params={"by": "line"}, headers=api.key("acme_read")
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["kind"] == "opt_outs"
    assert {r["line"]: r["opt_outs"] for r in doc["rows"]} == {ACME_LINE: 1, SHOP_LINE: 1}
    assert X[2:] not in answer.text and Y[2:] not in answer.text


def test_a_sub_account_key_cannot_see_the_parents_lines(api: Api) -> None:
    _seed(api)
    mine = api.http.get("/v1/reports/opt_outs", params={"by": "line"}, headers=api.key("shop_read"))
    assert [r["line"] for r in mine.json()["rows"]] == [SHOP_LINE]
    for params in ({"account": "acme"}, {"line": ACME_LINE}):
        answer = api.http.get("/v1/reports/snapshot", params=params, headers=api.key("shop_read"))
        assert answer.status_code == 404, answer.text
    other = api.http.get(
        "/v1/reports/opt_outs", params={"account": "acme"}, headers=api.key("globex_read")
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/reports/nope", {}, 404),
        ("/v1/reports/opt_outs", {"by": "address"}, 422),
        ("/v1/reports/opt_outs", {"bucket": "fortnight"}, 422),
        ("/v1/reports/opt_outs", {"tz": "Mars/Base"}, 422),
        (
            "/v1/reports/opt_outs",
            {"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00Z"},
            422,
        ),
        ("/v1/reports/opt_outs", {"since": "yesterday"}, 422),
        ("/v1/reports/opt_outs", {"since": "2026-03-01T00:00:00"}, 422),
        ("/v1/hygiene", {"older_than_days": "0"}, 422),
    ],
)
def test_bad_input_is_a_4xx_json_answer(
    api: Api, path: str, params: dict[str, str], status: int
) -> None:
    answer = api.http.get(path, params=params, headers=api.key("acme_read"))
    assert answer.status_code == status, answer.text
    assert "code" in answer.json() or "detail" in answer.json()


def test_hygiene_over_http_lists_masked_numbers(api: Api) -> None:
    api.cl.record(X, "opt_in", line=ACME_LINE, source="import", proof={"proof_of_consent": False})
    answer = api.http.get("/v1/hygiene", headers=api.key("acme_read"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["no_proof"] == {"import": 1}
    assert X not in answer.text
    assert api.http.get("/v1/hygiene").status_code == 401
