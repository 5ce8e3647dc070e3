"""Recording consent, status, history and the change feed."""

from __future__ import annotations

import json
import threading

import pytest

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X, Y
from tests.proofs import largest_allowed_proof, nested


@pytest.fixture
def url(db_url: str) -> str:  # the ledger routes run on SQLite and PostgreSQL
    return db_url


def test_recording_returns_the_event_with_its_chain_hash(api: Api) -> None:
    response = api.consent("acme_write", proof={"form_url": "https://acme.example/join"})
    assert response.status_code == 201
    event = response.json()
    assert event["seq"] == 1
    assert (event["action"], event["scope"], event["where"]) == ("opt_in", "A1", "account acme")
    assert event["proof"] == {"form_url": "https://acme.example/join"}
    assert len(event["hash"]) == 64 and len(event["prev_hash"]) == 64
    assert event["occurred_at"] == "2026-03-02T15:00:00+00:00"


def test_an_idempotent_replay_answers_200_with_the_original(api: Api) -> None:
    first = api.consent("acme_write", idempotency_key="form-1")
    again = api.consent("acme_write", idempotency_key="form-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    clash = api.consent("acme_write", idempotency_key="form-1", action="opt_out")
    assert (clash.status_code, clash.json()["code"]) == (409, "idempotency_conflict")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"address": "not-a-number"}, 422, "invalid_address"),
        ({"action": "maybe"}, 422, "invalid_action"),
        ({"account": None}, 422, "invalid_input"),
        ({"purpose": "raffle"}, 404, "unknown_purpose"),
        ({"channel": "pigeon"}, 422, "invalid_channel"),
        ({"occurred_at": "2026-03-01T10:00:00"}, 422, "invalid_input"),
        ({"occurred_at": "yesterday"}, 422, "invalid_input"),
        ({"proof": "a string"}, 422, "invalid_input"),
        ({"account": "nope"}, 404, "unknown_account"),
        ({"account": None, "line": "+18005550177"}, 404, "unknown_line"),
    ],
)
def test_bad_consents_are_4xx_json(
    api: Api, change: dict[str, object], status: int, code: str
) -> None:
    response = api.consent("acme_write", **change)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_sub_account_key_writes_its_own_lines_only(api: Api) -> None:
    own = api.consent("shop_write", account=None, line=SHOP_LINE)
    assert own.status_code == 201
    parent = api.consent("shop_write", account=None, line=ACME_LINE)
    assert (parent.status_code, parent.json()["code"]) == (404, "unknown_line")


def test_consent_status_covers_every_line_in_reach(api: Api) -> None:
    api.consent("acme_write", account=None, line=SHOP_LINE)
    body = api.http.get(f"/v1/addresses/{X}/consent", headers=api.key("acme_read")).json()
    assert body["address"] == X
    by_line = {line["line"]: line for line in body["lines"]}
    assert set(by_line) == {ACME_LINE, SHOP_LINE}
    assert by_line[SHOP_LINE]["account"] == "shop"
    marketing = by_line[SHOP_LINE]["purposes"]["marketing"]
    assert marketing["allowed"] is True and marketing["state"] == "defined"
    assert by_line[ACME_LINE]["state"] == "not_defined"
    unknown = by_line[ACME_LINE]["purposes"]["marketing"]
    assert unknown == {
        "allowed": False,
        "reason": "no_consent",
        "state": "not_defined",
        "event": None,
    }
    shop = api.http.get(f"/v1/addresses/{Y}/consent", headers=api.key("shop_read")).json()
    assert [line["line"] for line in shop["lines"]] == [SHOP_LINE]
    bad = api.http.get("/v1/addresses/garbage/consent", headers=api.key("acme_read"))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_address")


def test_history_shows_the_subtree_and_what_governs_it(api: Api) -> None:
    api.consent("acme_write")  # account acme: covers shop's line too
    api.consent("acme_write", account=None, line=ACME_LINE, action="opt_out")
    api.consent("acme_write", account=None, line=SHOP_LINE, action="opt_out")
    full = api.http.get(f"/v1/addresses/{X}/history", headers=api.key("acme_read")).json()
    assert [e["seq"] for e in full["events"]] == [1, 2, 3]
    assert full["events"][1]["prev_hash"] == full["events"][0]["hash"]
    shop = api.http.get(f"/v1/addresses/{X}/history", headers=api.key("shop_read")).json()
    assert [e["where"] for e in shop["events"]] == ["account acme", f"line {SHOP_LINE}"]


def test_the_change_feed_pages_with_a_cursor(api: Api) -> None:
    for i in range(5):
        api.consent("acme_write", address=f"+1415555020{i}")
    api.consent("globex_write", account="globex")
    page = api.http.get("/v1/events?limit=3", headers=api.key("acme_read")).json()
    assert len(page["events"]) == 3
    rest = api.http.get(f"/v1/events?after={page['next']}", headers=api.key("acme_read")).json()
    assert [e["address"] for e in rest["events"]] == ["+14155550203", "+14155550204"]
    end = api.http.get(f"/v1/events?after={rest['next']}", headers=api.key("acme_read")).json()
    assert end == {"events": [], "next": rest["next"]}
    bad = api.http.get("/v1/events?limit=0", headers=api.key("acme_read"))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")


# -- proofs: bounded on write, always readable (issue 8, #4 and #6) -----------------------
def test_the_largest_allowed_proof_reads_back_through_history_and_the_feed(api: Api) -> None:
    proof = largest_allowed_proof()
    written = api.consent("acme_write", proof=proof)
    assert written.status_code == 201, written.text
    assert written.json()["proof"] == proof
    history = api.http.get(f"/v1/addresses/{X}/history", headers=api.key("acme_read"))
    assert history.status_code == 200
    assert history.json()["events"][0]["proof"] == proof
    feed = api.http.get("/v1/events", headers=api.key("acme_read"))
    assert feed.status_code == 200
    assert feed.json()["events"][0] == {**written.json(), "contact_refs": []}


def test_a_proof_too_deep_to_read_back_is_refused_on_write(api: Api) -> None:
    response = api.consent("acme_write", proof=nested(253))
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_proof",
        "message": "proof is nested deeper than 16 levels",
        "field": "proof",
        "limit": 16,
    }
    assert api.http.get("/v1/events", headers=api.key("acme_read")).json()["events"] == []


def test_a_lone_surrogate_in_a_proof_is_a_422_not_a_500(api: Api) -> None:
    body = (
        '{"address": "+14155550123", "action": "opt_in", "account": "acme",'
        ' "purpose": "marketing", "source": "web_form", "proof": {"text": "\\ud800"}}'
    )
    response = api.http.post(
        "/v1/consents",
        content=body,
        headers={**api.key("acme_write"), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_proof")


def test_the_feed_pages_past_an_old_proof_that_cannot_be_serialised(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:  # as written before proofs were bounded
        patched.setattr("consentline.services.recording.canonical_proof", lambda p: json.dumps(p))
        old = api.cl.record(X, "opt_in", account="acme", purpose="marketing", proof=nested(300))
    api.consent("acme_write", address=Y)
    feed = api.http.get("/v1/events?limit=1", headers=api.key("acme_read"))
    assert feed.status_code == 200
    (event,) = feed.json()["events"]
    assert event["id"] == old.id
    assert event["proof"]["unreadable_proof"]["reason"] == "nested deeper than 64 levels"
    rest = api.http.get(f"/v1/events?after={feed.json()['next']}", headers=api.key("acme_read"))
    assert [e["address"] for e in rest.json()["events"]] == [Y]
    history = api.http.get(f"/v1/addresses/{X}/history", headers=api.key("acme_read"))
    assert history.status_code == 200
    assert history.json()["events"][0]["proof"] == event["proof"]


# -- a sub-account key cannot lift its parent's opt-out (issue 8, #5) ---------------------
def _allowed(api: Api, line: str) -> bool:
    params = {"to": X, "from": line, "purpose": "marketing"}
    answer = api.http.get("/v1/check", params=params, headers=api.key("acme_read"))
    assert answer.status_code == 200
    allowed: bool = answer.json()["allowed"]
    return allowed


def test_a_sub_account_key_resume_does_not_lift_the_parents_opt_out(api: Api) -> None:
    assert api.consent("acme_write").status_code == 201  # opted in at account acme
    stop = api.consent("acme_write", account=None, via=ACME_LINE, action="opt_out")
    assert (stop.status_code, stop.json()["where"]) == (201, "account acme")  # reach tree
    assert not _allowed(api, ACME_LINE) and not _allowed(api, SHOP_LINE)

    resume = api.consent("shop_write", account=None, via=SHOP_LINE, action="resume")
    assert resume.status_code == 201, resume.text
    assert resume.json()["where"] == "account shop"  # narrowed to the key's own subtree
    assert _allowed(api, SHOP_LINE)  # as the handset's START would, on shop's lines
    assert not _allowed(api, ACME_LINE)  # the parent's line stays opted out


def test_a_sub_account_key_opt_out_still_reaches_the_parent(api: Api) -> None:
    assert api.consent("acme_write").status_code == 201
    stop = api.consent("shop_write", account=None, via=SHOP_LINE, action="opt_out")
    assert (stop.status_code, stop.json()["where"]) == (201, "account acme")
    assert not _allowed(api, ACME_LINE)


def test_concurrent_replays_of_one_key_answer_201_exactly_once(api: Api) -> None:
    writers = 8
    start = threading.Barrier(writers)
    statuses: list[int] = []
    bodies: list[dict[str, object]] = []
    lock = threading.Lock()

    def post() -> None:
        start.wait()
        response = api.consent("acme_write", idempotency_key="form-42")
        with lock:
            statuses.append(response.status_code)
            bodies.append(response.json())

    threads = [threading.Thread(target=post) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * (writers - 1) + [201]
    assert all(body == bodies[0] for body in bodies)
    assert api.cl.verify().events == 1


def test_contact_refs_are_recorded_and_the_feed_carries_them(api: Api) -> None:
    assert api.consent("acme_write", contact_ref=["salesforce:003A", "77"]).status_code == 201
    assert api.consent("acme_write", address=Y, contact_ref="salesforce:003B").status_code == 201
    bad = api.consent("acme_write", contact_ref="+14155550123")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_contact_ref")
    feed = api.http.get("/v1/events", headers=api.key("acme_read")).json()
    assert [e["contact_refs"] for e in feed["events"]] == [
        [{"system": "default", "ref": "77"}, {"system": "salesforce", "ref": "003A"}],
        [{"system": "salesforce", "ref": "003B"}],
    ]
