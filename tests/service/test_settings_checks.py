"""A default region or a line id that can never work is refused on save (issue 8, #11).

Saved, a ``default_region`` of ``ZZ`` makes every national number of the account
unparsable (its STOPs included), and a sender id no carrier takes is a line nothing is
ever sent from or to.
"""

from __future__ import annotations

import pytest

import consentline as c
from consentline import Consentline


@pytest.mark.parametrize("region", ["ZZ", "XX", "EU", "usa", "us", ""])
def test_an_unknown_default_region_is_refused_and_nothing_changes(
    cl: Consentline, region: str
) -> None:
    cl.create_account("acme", default_region="US")
    with pytest.raises(c.InvalidConfig) as raised:
        cl.create_account("shop", parent="acme", default_region=region)
    assert raised.value.data["default_region"] == region
    assert not cl.directory().has_account("shop")
    with pytest.raises(c.InvalidConfig):
        cl.update_account("acme", default_region=region)
    assert cl.directory().account("acme").default_region == "US"


def test_real_regions_are_accepted(cl: Consentline) -> None:
    cl.create_account("acme", default_region="GB")
    cl.update_account("acme", default_region="NZ")
    assert cl.directory().account("acme").default_region == "NZ"


@pytest.mark.parametrize(
    "line", ["hello world this is long", "ACME_Shop", "ACME.Shop", "Shop!", "MG" + "d" * 40]
)
def test_a_sender_id_no_carrier_takes_is_refused(cl: Consentline, line: str) -> None:
    cl.create_account("acme", default_region="US")
    with pytest.raises(c.InvalidInput):
        cl.add_line(line, account="acme")
    assert cl.directory().lines() == []


def test_sender_ids_and_pool_ids_are_lines(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    pool = "MG" + "d" * 32
    for line in ("ACME Shop", "Acme2Go", pool, "40017f8e-49bd-4f16-9e3d-ef103f916228"):
        cl.add_line(line, account="acme")
        assert cl.directory().line(line).number == line
