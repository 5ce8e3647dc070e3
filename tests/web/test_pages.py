"""The web UI over HTTP (TestClient): sign-in, CSRF, isolation, roles, bad input."""

from __future__ import annotations

import pytest

from tests.web.conftest import ACME_LINE, GLOBEX_LINE, PASSWORD, SHOP_LINE, Ui, X, csrf_of


def test_every_page_but_sign_in_and_the_form_redirects_to_sign_in(ui: Ui) -> None:
    for path in ("/ui/", f"/ui/contacts/{X}", "/ui/review", "/ui/search?q=1"):
        answer = ui.http.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")
    assert ui.http.get("/ui/login").status_code == 200
    assert ui.http.get("/join/acme").status_code == 200


def test_the_sign_in_form_labels_its_fields_and_sets_a_strict_session_cookie(ui: Ui) -> None:
    page = ui.http.get("/ui/login").text
    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    answer = ui.http.post(
        "/ui/login",
        data={"csrf": csrf_of(page), "username": "acme-write", "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie


def test_a_wrong_password_is_401_and_a_sign_in_without_its_token_is_403(ui: Ui) -> None:
    page = ui.http.get("/ui/login").text
    wrong = ui.http.post(
        "/ui/login", data={"csrf": csrf_of(page), "username": "acme-write", "password": "x" * 12}
    )
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    forged = ui.http.post("/ui/login", data={"username": "acme-write", "password": PASSWORD})
    assert forged.status_code == 403


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(ui: Ui) -> None:
    ui.login("acme-write")
    form = {"action": "opt_out", "where": "account:acme", "note": "asked by phone"}
    for token in (None, "not-the-token"):
        data = form if token is None else {**form, "csrf": token}
        answer = ui.http.post(f"/ui/contacts/{X}/record", data=data)
        assert answer.status_code == 403
    assert ui.cl.history(X, account="acme") == []


def test_an_agent_opt_out_names_the_operator_and_the_gate_denies_at_once(ui: Ui) -> None:
    csrf = ui.login("acme-write")
    answer = ui.http.post(
        f"/ui/contacts/{X}/record",
        data={"csrf": csrf, "action": "opt_out", "where": "account:acme", "note": "called in"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    (event,) = ui.cl.history(X, account="acme")
    assert (event.action, event.source) == ("opt_out", "agent")
    assert event.proof["actor"] == "acme-write" and event.proof["note"] == "called in"
    decision = ui.cl.check(X, from_=SHOP_LINE, purpose="transactional")
    assert decision.reason == "opted_out"


def test_an_operator_of_another_tenant_gets_404_for_the_contact(ui: Ui) -> None:
    ui.cl.record(X, "opt_out", account="acme", source="api")
    ui.login("acme-read")
    assert ui.http.get(f"/ui/contacts/{X}").status_code == 200
    ui.login("globex-write")
    page = ui.http.get(f"/ui/contacts/{X}")
    assert page.status_code == 404
    assert ACME_LINE not in page.text and "acme" not in page.text.replace("acme-", "")
    assert GLOBEX_LINE in page.text  # its own line: Not Defined


def test_a_sub_account_operator_cannot_write_above_its_subtree(ui: Ui) -> None:
    csrf = ui.login("shop-write")
    answer = ui.http.post(
        f"/ui/contacts/{X}/record",
        data={
            "csrf": csrf,
            "action": "opt_in",
            "where": "account:acme",
            "purpose": "marketing",
            "note": "forged",
        },
    )
    assert answer.status_code == 404
    line = ui.http.post(
        f"/ui/contacts/{X}/record",
        data={
            "csrf": csrf,
            "action": "opt_in",
            "where": f"line:{GLOBEX_LINE}",
            "purpose": "marketing",
            "note": "forged",
        },
    )
    assert line.status_code == 404
    assert ui.cl.history(X, account="acme") == []


def test_a_read_only_operator_sees_no_write_action_and_a_forged_write_is_refused(ui: Ui) -> None:
    ui.cl.record(X, "opt_in", account="acme", purpose="marketing", source="api")
    csrf = ui.login("acme-read")
    page = ui.http.get(f"/ui/contacts/{X}").text
    assert "/record" not in page and "change-number" not in page and "/erase" not in page
    forged = ui.http.post(
        f"/ui/contacts/{X}/record",
        data={"csrf": csrf, "action": "opt_out", "where": "account:acme", "note": "forged"},
    )
    assert forged.status_code == 403
    assert ui.http.get(f"/ui/contacts/{X}/export").status_code == 403
    assert len(ui.cl.history(X, account="acme")) == 1


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (f"/ui/contacts/{X}/record", {"action": "delete", "where": "account:acme", "note": "n"}),
        (f"/ui/contacts/{X}/record", {"action": "opt_out", "where": "nowhere", "note": "n"}),
        (f"/ui/contacts/{X}/record", {"action": "opt_out", "where": "account:acme", "note": ""}),
        (f"/ui/contacts/{X}/record", {"action": "opt_in", "where": "account:acme", "note": "n"}),
        (
            "/ui/contacts/not-a-number/record",
            {"action": "opt_out", "where": "account:acme", "note": "n"},
        ),
        (f"/ui/contacts/{X}/change-number", {"new": "12"}),
    ],
)
def test_bad_input_is_a_4xx_page(ui: Ui, path: str, data: dict[str, str]) -> None:
    csrf = ui.login("acme-write")
    answer = ui.http.post(path, data={"csrf": csrf, **data})
    assert 400 <= answer.status_code < 500, answer.status_code
    assert answer.headers["content-type"].startswith("text/html")


def test_a_non_form_body_and_a_bad_page_number_are_4xx(ui: Ui) -> None:
    ui.login("acme-write")
    assert ui.http.post(f"/ui/contacts/{X}/record", json={"a": 1}).status_code == 422
    ui.cl.record(X, "opt_out", account="acme", source="api")
    assert ui.http.get(f"/ui/contacts/{X}?page=x").status_code == 422
    assert ui.http.get("/ui/contacts/12").status_code == 422


def test_the_search_box_takes_any_format_and_a_contact_reference(ui: Ui) -> None:
    ui.cl.record(
        X,
        "opt_in",
        account="acme",
        purpose="marketing",
        source="api",
        contact_ref="salesforce:003AB",
    )
    ui.login("acme-read")
    for query in ("(415) 555-0123", "+1 415 555 0123", "salesforce:003AB"):
        answer = ui.http.get("/ui/search", params={"q": query}, follow_redirects=False)
        assert answer.headers["location"] == f"/ui/contacts/{X}", query
    assert ui.http.get("/ui/search", params={"q": "nothing:here"}).status_code == 404
    assert "salesforce:003AB" in ui.http.get(f"/ui/contacts/{X}").text


def test_a_review_item_outside_reach_is_404_and_a_decision_records_the_reviewer(ui: Ui) -> None:
    ui.cl.handle_inbound(from_=X, to=ACME_LINE, text="cancel my appointment")
    (item,) = ui.cl.review_list(account="acme")
    csrf = ui.login("globex-write")
    assert "cancel my appointment" not in ui.http.get("/ui/review").text
    assert (
        ui.http.post(
            f"/ui/review/{item.id}", data={"csrf": csrf, "decision": "opt_out"}
        ).status_code
        == 404
    )
    csrf = ui.login("acme-write")
    assert "cancel my appointment" in ui.http.get("/ui/review").text
    ui.http.post(
        f"/ui/review/{item.id}", data={"csrf": csrf, "decision": "opt_out", "note": "clearly"}
    )
    (decided,) = ui.cl.review_list(account="acme", status="decided")
    assert decided.reviewer == "acme-write"
    assert ui.cl.check(X, from_=ACME_LINE, purpose="transactional").reason == "opted_out"


def test_erasure_needs_the_typed_number_and_an_admin_of_the_root(ui: Ui) -> None:
    ui.cl.record(X, "opt_out", account="acme", source="api")
    csrf = ui.login("acme-write")
    assert ui.http.get(f"/ui/contacts/{X}/erase").status_code == 403
    csrf = ui.login("acme-admin")
    assert "Type the number again" in ui.http.get(f"/ui/contacts/{X}/erase").text
    wrong = ui.http.post(f"/ui/contacts/{X}/erase", data={"csrf": csrf, "confirm": "+14155550000"})
    assert wrong.status_code == 422
    done = ui.http.post(f"/ui/contacts/{X}/erase", data={"csrf": csrf, "confirm": "415-555-0123"})
    assert done.status_code == 200 and "Erased" in done.text
    assert ui.cl.check(X, from_=ACME_LINE, purpose="transactional").reason == "opted_out"


def test_the_subject_export_downloads_as_json(ui: Ui) -> None:
    ui.cl.record(X, "opt_out", account="acme", source="api")
    ui.login("acme-write")
    answer = ui.http.get(f"/ui/contacts/{X}/export")
    assert answer.status_code == 200 and answer.json()["address"] == X
    assert "attachment" in answer.headers["content-disposition"]


def test_a_disabled_operator_is_signed_out_at_the_next_request(ui: Ui) -> None:
    ui.login("acme-write")
    assert ui.http.get("/ui/", follow_redirects=False).status_code == 200
    ui.cl.operators().disable("acme-write")
    assert ui.http.get("/ui/", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_token_and_ends_the_session(ui: Ui) -> None:
    csrf = ui.login("acme-write")
    assert ui.http.post("/ui/logout", data={}).status_code == 403
    ui.http.post("/ui/logout", data={"csrf": csrf})
    assert ui.http.get("/ui/", follow_redirects=False).status_code == 303


def test_the_next_parameter_never_leaves_the_ui(ui: Ui) -> None:
    page = ui.http.get("/ui/login?next=//evil.example/").text
    answer = ui.http.post(
        "/ui/login",
        data={
            "csrf": csrf_of(page),
            "username": "acme-read",
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/ui/dashboard"
