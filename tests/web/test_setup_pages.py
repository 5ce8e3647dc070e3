"""The setup pages over HTTP: read-only for read operators, admin changes, the lint
shown before saving, secrets and keys shown once, isolation and CSRF."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import ACME_LINE, GLOBEX_LINE, Ui

SECRET = "s3cr3t-" + "q" * 30


def test_a_read_operator_sees_the_setup_without_a_single_write_action(ui: Ui) -> None:
    csrf = ui.login("acme-read")
    for path in ("/ui/setup", "/ui/setup/accounts/shop", "/ui/setup/accounts/acme/settings"):
        page = ui.http.get(path)
        assert page.status_code == 200, path
        main = page.text.split("</header>", 1)[1]
        assert 'name="csrf"' not in main and "<button" not in main, path
    page = ui.http.get("/ui/setup").text
    assert "shop" in page and ACME_LINE in page and "restrictive" in page
    for path in ("/ui/setup/keys", "/ui/setup/accounts/acme/providers"):
        assert ui.http.get(path).status_code == 403
    forged = ui.http.post(
        "/ui/setup/purposes", data={"csrf": csrf, "name": "marketing", "model": "disabled"}
    )
    assert forged.status_code == 403
    assert ui.cl.policy("acme").purposes["marketing"].model == "restrictive"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(ui: Ui) -> None:
    ui.login("acme-admin")
    for path, data in (
        ("/ui/setup/accounts", {"slug": "forged", "parent": "acme"}),
        ("/ui/setup/keys", {"account": "acme", "role": "admin"}),
        ("/ui/setup/accounts/acme/settings", {"intent": "save", "opt_out_keywords": "QUIT"}),
    ):
        assert ui.http.post(path, data=data).status_code == 403, path
        assert ui.http.post(path, data={**data, "csrf": "x" * 32}).status_code == 403, path
    assert not ui.cl.directory().has_account("forged")
    assert ui.cl.account_settings("acme", effective=False).opt_out_keywords == ()


def test_another_tenant_gets_404_for_every_page_and_change(ui: Ui) -> None:
    csrf = ui.login("globex-write")
    page = ui.http.get("/ui/setup").text
    assert GLOBEX_LINE in page and ACME_LINE not in page and "shop" not in page
    for path in ("/ui/setup/accounts/acme", "/ui/setup/accounts/shop/settings"):
        assert ui.http.get(path).status_code == 404, path
    csrf = ui.login("shop-write")
    assert ui.http.get("/ui/setup/accounts/acme").status_code == 404
    assert ui.http.post(
        "/ui/setup/accounts/acme/settings", data={"csrf": csrf, "intent": "check"}
    ).status_code in (403, 404)


def test_an_admin_adds_an_account_and_a_line_and_sets_a_purpose(ui: Ui) -> None:
    csrf = ui.login("acme-admin")
    ui.http.post(
        "/ui/setup/accounts",
        data={
            "csrf": csrf,
            "slug": "outlet",
            "parent": "shop",
            "reach": "account",
            "isolated": "yes",
        },
    )
    ui.http.post(
        "/ui/setup/lines", data={"csrf": csrf, "number": "+18005550177", "account": "outlet"}
    )
    ui.http.post("/ui/setup/accounts", data={"csrf": csrf, "slug": "aaa", "parent": "acme"})
    outlet = ui.cl.directory().account("outlet")
    assert (outlet.reach, outlet.isolated) == ("account", True)
    tree = re.findall(r'<tr data-account="([^"]+)"', ui.http.get("/ui/setup").text)
    assert tree == ["acme", "aaa", "shop", "outlet"]  # each account after its parent
    assert ui.cl.directory().find_line("+18005550177") is not None
    answer = ui.http.post(
        "/ui/setup/purposes",
        data={"csrf": csrf, "name": "alerts", "model": "disabled", "quiet_hours": "21:00-08:00"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert ui.cl.policy("acme").purposes["alerts"].model == "disabled"
    bad = ui.http.post("/ui/setup/purposes", data={"csrf": csrf, "name": "x", "model": "maybe"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")


def test_a_sub_account_admin_cannot_change_the_tenant_or_its_own_place(ui: Ui) -> None:
    ui.cl.operators().create(
        "shop-admin", directory=ui.cl.directory(), account="shop", role="admin", password="p" * 12
    )
    csrf = ui.login("shop-admin", "p" * 12)
    policy = ui.http.post(
        "/ui/setup/policy", data={"csrf": csrf, "pending_ttl_hours": "1", "revoke_all_off": "yes"}
    )
    assert policy.status_code == 403
    own = ui.http.post(
        "/ui/setup/accounts/shop", data={"csrf": csrf, "reach": "line", "isolated": "yes"}
    )
    assert own.status_code == 403 and not ui.cl.directory().account("shop").isolated


def test_the_lint_shows_its_findings_by_the_field_and_a_breach_is_not_saved(ui: Ui) -> None:
    csrf = ui.login("acme-admin")
    form = {
        "csrf": csrf,
        "opt_in_keywords": "OK, GO",
        "tpl.en.help": "{program}: call us",
        "topic_keywords": "VOLUNTEER=volunteer\nbroken line",
    }
    checked = ui.http.post("/ui/setup/accounts/acme/settings", data={**form, "intent": "check"})
    assert checked.status_code == 200
    findings = re.findall(r'data-setting="([^"]+)">(Refused|Warning)', checked.text)
    assert ("opt_in_keywords", "Refused") in findings and ("opt_in_keywords", "Warning") in findings
    assert ("templates.en.help", "Refused") in findings and (
        "topic_keywords",
        "Refused",
    ) in findings
    saved = ui.http.post("/ui/setup/accounts/acme/settings", data={**form, "intent": "save"})
    assert saved.status_code == 422 and "Nothing was saved" in saved.text
    assert ui.cl.account_settings("acme", effective=False).opt_in_keywords == ()
    good = {"csrf": csrf, "intent": "save", "opt_in_keywords": "JOINUS", "program_name": "Acme"}
    assert ui.http.post("/ui/setup/accounts/acme/settings", data=good).status_code == 200
    own = ui.cl.account_settings("acme", effective=False)
    assert (own.opt_in_keywords, own.program_name) == (("JOINUS",), "Acme")


def test_a_credential_secret_never_appears_in_any_page_after_saving(ui_both: Ui) -> None:
    ui = ui_both
    csrf = ui.login("acme-admin")
    answer = ui.http.post(
        "/ui/setup/accounts/acme/providers/vonage",
        data={"csrf": csrf, "signature_secret": SECRET, "api_key": "k" * 8},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    pages = [
        ui.http.get(answer.headers["location"]),
        ui.http.get("/ui/setup/accounts/acme/providers/vonage"),
        ui.http.get("/ui/setup/accounts/shop/providers"),
        ui.http.get("/ui/setup"),
    ]
    assert "signature_secret" in pages[0].text and "inherited from acme" in pages[2].text
    assert all(SECRET not in p.text and "k" * 8 not in p.text for p in pages)
    bad = ui.http.post(
        "/ui/setup/accounts/acme/providers/telnyx", data={"csrf": csrf, "public_key": SECRET}
    )
    assert bad.status_code == 422 and SECRET not in bad.text
    assert ui.http.get("/ui/setup/accounts/acme/providers/nope").status_code == 404


def test_an_api_key_is_shown_once_and_revoked_in_reach_only(ui_both: Ui) -> None:
    ui = ui_both
    csrf = ui.login("acme-admin")
    created = ui.http.post("/ui/setup/keys", data={"csrf": csrf, "account": "shop", "role": "read"})
    assert created.status_code == 201
    (raw,) = re.findall(r"cl_[A-Za-z0-9_-]{43}", created.text)
    keys = ui.cl.api_keys()
    try:
        key = keys.authenticate(raw)
        listing = ui.http.get("/ui/setup/keys").text
        assert raw not in listing and raw[:11] in listing
        other = keys.create(account_id=ui.cl.directory().account("globex").id, role="read")[1]
        assert (
            ui.http.post(f"/ui/setup/keys/{other.id}/revoke", data={"csrf": csrf}).status_code
            == 404
        )
        ui.http.post(f"/ui/setup/keys/{key.id}/revoke", data={"csrf": csrf})
        assert keys.get(key.id).revoked_at is not None and keys.get(other.id).revoked_at is None
    finally:
        keys.close()


def test_a_webhook_secret_is_shown_once_with_the_delivery_state_listed(ui_both: Ui) -> None:
    ui = ui_both
    csrf = ui.login("acme-admin")
    created = ui.http.post(
        "/ui/setup/webhooks",
        data={
            "csrf": csrf,
            "account": "shop",
            "url": "https://crm.example.com/h",
            "event.opt_out": "yes",
        },
    )
    assert created.status_code == 201
    (secret,) = re.findall(r"whsec_[A-Za-z0-9_-]+", created.text)
    ui.login("acme-read")
    listing = ui.http.get("/ui/setup/webhooks").text
    assert "crm.example.com" in listing and "active" in listing and secret not in listing
    assert "Unsubscribe" not in listing
    csrf = ui.login("globex-write")
    assert "crm.example.com" not in ui.http.get("/ui/setup/webhooks").text
    (sub,) = ui.cl.subscriptions()
    assert ui.http.post(f"/ui/setup/webhooks/{sub.id}/delete", data={"csrf": csrf}).status_code in (
        403,
        404,
    )
    blocked = ui.http.post(
        "/ui/setup/webhooks",
        data={"csrf": ui.login("acme-admin"), "account": "acme", "url": "http://127.0.0.1/x"},
    )
    assert blocked.status_code == 422


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/ui/setup/accounts", {"slug": "Bad Slug", "parent": "acme"}),
        ("/ui/setup/accounts", {"slug": "ok", "parent": "globex"}),
        ("/ui/setup/lines", {"number": "not a number!", "account": "acme"}),
        ("/ui/setup/policy", {"pending_ttl_hours": "soon"}),
        ("/ui/setup/keys", {"account": "acme", "role": "root"}),
        ("/ui/setup/accounts/acme", {"reach": "galaxy"}),
    ],
)
def test_bad_setup_input_is_a_4xx_page(ui: Ui, path: str, data: dict[str, str]) -> None:
    csrf = ui.login("acme-admin")
    answer = ui.http.post(path, data={"csrf": csrf, **data})
    assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert answer.headers["content-type"].startswith("text/html")
