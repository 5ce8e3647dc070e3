"""The hosted opt-in form over HTTP: CTIA elements, pending with proof, bots, limits."""

from __future__ import annotations

import re

from consentline.services import join_form
from tests.web.conftest import ACME_LINE, Ui, X

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _token(ui: Ui, path: str = "/join/acme") -> str:
    found = _TOKEN.search(ui.http.get(path).text)
    assert found
    return found.group(1)


def _submit(ui: Ui, **data: str) -> tuple[int, str]:
    body = {"token": _token(ui), "phone": "(415) 555-0123", "agree": "yes", **data}
    answer = ui.http.post("/join/acme", data=body, headers={"user-agent": "pytest-browser"})
    return answer.status_code, answer.text


def test_the_form_shows_the_ctia_elements_and_an_unticked_labelled_checkbox(ui: Ui) -> None:
    ui.cl.configure_account("acme", program_name="Acme Deals", frequency="4 msgs/month")
    page = ui.http.get("/join/acme").text
    assert "Acme Deals" in page and "4 msgs/month" in page
    assert "Msg &amp; data rates may apply" in page
    assert "HELP" in page and "STOP" in page
    assert '<input id="agree" name="agree" type="checkbox" value="yes">' in page
    assert '<label for="phone">' in page and '<label for="agree">' in page


def test_a_submission_records_pending_with_proof_and_a_yes_completes_it(ui: Ui) -> None:
    status, page = _submit(ui)
    assert status == 200 and "Check your phone" in page
    (event,) = ui.cl.history(X, account="acme")
    assert (event.action, event.source) == ("pending", "web_form")
    assert event.proof["user_agent"] == "pytest-browser"
    assert event.proof["form_url"].endswith("/join/acme")
    assert event.proof["consent_text"] and event.proof["consent_version"]
    assert any(m.kind == "double_opt_in_request" for m in ui.cl.outbox())
    ui.cl.handle_inbound(from_=X, to=ACME_LINE, text="Yes")
    assert ui.cl.check(X, from_=ACME_LINE, purpose="marketing").reason == "opted_in"


def test_the_answer_is_the_same_whatever_the_number_holds(ui: Ui) -> None:
    _, fresh = _submit(ui)
    ui.cl.record(X, "opt_in", account="acme", purpose="marketing", source="api")
    _, subscribed = _submit(ui)
    ui.cl.record(X, "opt_out", account="acme", source="api")
    _, opted_out = _submit(ui)
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", fresh) == strip.sub("", subscribed) == strip.sub("", opted_out)


def test_the_honeypot_answers_success_and_records_nothing(ui: Ui) -> None:
    status, page = _submit(ui, website="http://spam.example")
    assert status == 200 and "Check your phone" in page
    assert ui.cl.history(X, account="acme") == []


def test_no_tick_a_bad_number_or_no_token_records_nothing(ui: Ui) -> None:
    assert _submit(ui, agree="")[0] == 422
    assert _submit(ui, phone="12")[0] == 422
    forged = ui.http.post("/join/acme", data={"phone": X, "agree": "yes"})
    assert forged.status_code == 403
    other = ui.http.post(
        "/join/acme", data={"token": _token(ui, "/join/globex"), "phone": X, "agree": "yes"}
    )
    assert other.status_code == 403
    assert ui.cl.history(X, account="acme") == []


def test_submissions_are_limited_per_number_silently(ui: Ui) -> None:
    limit = join_form.PER_NUMBER[0]
    for _ in range(limit + 2):
        status, page = _submit(ui)
        assert status == 200 and "Check your phone" in page
    assert len(ui.cl.history(X, account="acme")) == limit


def test_an_unknown_account_or_topic_is_404(ui: Ui) -> None:
    assert ui.http.get("/join/nope").status_code == 404
    assert ui.http.get("/join/acme/volunteer").status_code == 404
    ui.cl.configure_account("acme", topic_keywords={"VOLUNTEER": "volunteer"})
    assert ui.http.get("/join/acme/volunteer").status_code == 200
