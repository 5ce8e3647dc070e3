"""Resolved provider credentials are cached for webhooks, and a change clears them."""

from __future__ import annotations

from consentline import Consentline
from tests.conftest import Clock

TOKEN_A = "a" * 32
TOKEN_B = "b" * 32


def test_a_resolution_is_cached_and_a_put_on_the_same_store_clears_it(
    cl: Consentline, clock: Clock
) -> None:
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    shop, acme = cl.directory().account("shop").id, cl.directory().account("acme").id
    store = cl.provider_credentials(clock, cache_seconds=60.0)
    other = cl.provider_credentials(clock)  # another process, say
    assert store.resolve(cl.directory(), account_id=shop, provider="plivo") is None

    other.put(account_id=acme, provider="plivo", fields={"auth_token": TOKEN_A})
    # Not seen yet: the cached "nothing" holds for cache_seconds ...
    assert store.resolve(cl.directory(), account_id=shop, provider="plivo") is None
    # ... but a change through this store is seen at once.
    store.put(account_id=shop, provider="plivo", fields={"auth_token": TOKEN_B})
    found = store.resolve(cl.directory(), account_id=shop, provider="plivo")
    assert found is not None and found.fields["auth_token"] == TOKEN_B
    inherited = store.resolve(cl.directory(), account_id=acme, provider="plivo")
    assert inherited is not None and inherited.fields["auth_token"] == TOKEN_A


def test_without_a_cache_every_resolution_reads_the_database(cl: Consentline, clock: Clock) -> None:
    cl.create_account("acme", default_region="US")
    acme = cl.directory().account("acme").id
    store = cl.provider_credentials(clock)
    assert store.resolve(cl.directory(), account_id=acme, provider="plivo") is None
    cl.provider_credentials(clock).put(
        account_id=acme, provider="plivo", fields={"auth_token": TOKEN_A}
    )
    assert store.resolve(cl.directory(), account_id=acme, provider="plivo") is not None
