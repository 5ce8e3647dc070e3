"""The reads and checks the setup pages build on, on SQLite and PostgreSQL: an
account's API keys listed (never the keys), a settings change linted without being
saved, and what a subtree's admin may know of inherited provider credentials."""

from __future__ import annotations

from consentline import Consentline
from consentline.services.credentials import HIDDEN_PROBLEM, status


def test_keys_are_listed_per_account_with_prefixes_only(cl: Consentline) -> None:
    acme = cl.create_account("acme")
    shop = cl.create_account("shop", parent="acme")
    other = cl.create_account("globex")
    keys = cl.api_keys()
    try:
        raw, first = keys.create(account_id=acme.id, role="write")
        keys.create(account_id=shop.id, role="read")
        keys.create(account_id=other.id, role="admin")
        keys.revoke(first.id)
        listed = keys.listed([acme.id, shop.id])
    finally:
        keys.close()
    assert [(k.account_id, k.role, k.revoked_at is not None) for k in listed] == [
        (acme.id, "write", True),
        (shop.id, "read", False),
    ]
    assert listed[0].prefix == raw[:11] and all(raw not in repr(k) for k in listed)


def test_a_settings_check_finds_per_setting_and_saves_nothing(cl: Consentline) -> None:
    cl.create_account("acme")
    found = cl.check_account_settings(
        "acme", opt_out_keywords=["QUITNOW", "OK"], language="xx", frequency="weekly"
    )
    assert [(f.setting, f.breach) for f in found] == [("language", True)]  # shape first
    found = cl.check_account_settings("acme", opt_out_keywords=["QUITNOW", "OK"])
    assert [(f.setting, f.breach) for f in found] == [("opt_out_keywords", True)]
    assert cl.account_settings("acme", effective=False).opt_out_keywords == ()


def test_inherited_credentials_are_described_only_as_far_as_the_asker_reaches(
    cl: Consentline,
) -> None:
    acme = cl.create_account("acme")
    shop = cl.create_account("shop", parent="acme")
    store = cl.provider_credentials()
    store.put(account_id=acme.id, provider="vonage", fields={"signature_secret": "s" * 32})
    directory = cl.directory()
    own = status(store, directory, account_id=acme.id, provider="vonage", reaches=lambda _: True)
    assert own["configured"] and own["fields_set"] == ["signature_secret"]
    assert "s" * 32 not in repr(own)
    seen = status(store, directory, account_id=shop.id, provider="vonage", reaches=lambda _: True)
    assert (seen["configured"], seen["inherited_from"]) == (False, "acme")
    hidden = status(
        store, directory, account_id=shop.id, provider="vonage", reaches=lambda a: a == shop.id
    )
    assert hidden["inherited"] and hidden["inherited_from"] is None
    assert all(p["problem"] != HIDDEN_PROBLEM for p in hidden["problems"])  # verifiable
