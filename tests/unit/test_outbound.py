"""The outbound URL policy, without sockets: ranges, notations, the allow-list."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentline.domain.errors import InvalidInput
from consentline.domain.outbound import (
    NOTHING,
    BlockedDestination,
    OutboundAllow,
    blocked_reason,
    check_url,
    literal_address,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fd00:ec2::254", "private"),
        ("100.64.0.0", "shared (CGNAT)"),
        ("100.127.255.255", "shared (CGNAT)"),
        ("224.0.1.1", "multicast"),  # a global multicast address is still refused
        ("ff0e::1", "multicast"),
        ("255.255.255.255", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("fec0::1", "site-local"),
        ("2001:db8::1", "private"),
    ],
)
def test_every_inward_range_is_refused_with_its_reason(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def _verdict(url: str, allow: OutboundAllow = NOTHING) -> str | None:
    try:
        check_url(url, field="url", allow=allow)
    except BlockedDestination as refused:
        return str(refused.data["reason"])
    return None


@given(st.ip_addresses(v=4))
def test_every_notation_of_an_ipv4_address_gets_the_same_verdict(
    address: ipaddress.IPv4Address,
) -> None:
    expected = blocked_reason(address)
    assert _verdict(f"http://{address}/") == expected
    assert _verdict(f"http://{int(address)}/") == expected  # one decimal number
    assert _verdict(f"http://{hex(int(address))}/") == expected
    assert _verdict(f"http://[::ffff:{address}]/") == expected  # IPv4-mapped IPv6


@given(st.ip_addresses(v=4, network="10.0.0.0/8"))
def test_a_listed_range_lets_all_its_notations_through(address: ipaddress.IPv4Address) -> None:
    allow = OutboundAllow.parse("10.0.0.0/8")
    assert _verdict(f"http://{address}/", allow) is None
    assert _verdict(f"http://{int(address)}/", allow) is None
    assert _verdict(f"http://[::ffff:{address}]/", allow) is None


def test_names_are_not_resolved_at_save_but_local_ones_are_refused() -> None:
    assert _verdict("https://crm.example/hooks") is None  # checked when connecting
    for name in ("localhost", "LOCALHOST.", "a.b.localhost", "ip6-localhost"):
        assert _verdict(f"http://{name}:8080/") == "loopback"
    assert _verdict("http://metadata.google.internal/") == "metadata service"
    assert _verdict("http://localhost/", OutboundAllow.parse("localhost")) is None


def test_a_base_url_has_no_query_and_no_url_has_credentials_or_a_fragment() -> None:
    assert check_url("https://relay.example/q?x=1", field="url", allow=NOTHING)
    for url, base in (
        ("https://relay.example/?x=1", True),
        ("https://u:p@relay.example/", False),
        ("https://u@relay.example/", False),
        ("https://relay.example/#x", False),
        ("https://relay.example/#", False),
    ):
        with pytest.raises(InvalidInput) as raised:
            check_url(url, field="upstream_base_url", allow=NOTHING, base=base)
        assert type(raised.value) is InvalidInput
        assert raised.value.data["field"] == "upstream_base_url"


@pytest.mark.parametrize("value", [None, 5, "", "   ", "https://x.example/" + "a" * 2100])
def test_a_url_that_is_not_a_string_of_sane_length_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_url(value, field="url", allow=NOTHING)
    assert raised.value.data["field"] == "url"


def test_the_allow_list_parses_hosts_and_ranges_and_says_what_it_holds() -> None:
    allow = OutboundAllow.parse("127.0.0.1/8, [::1], 10.0.0.5 ,relay.corp.,,Bücher.example")
    assert str(allow) == "127.0.0.0/8,::1/128,10.0.0.5/32,relay.corp,xn--bcher-kva.example"
    assert allow.permits_address(ipaddress.ip_address("127.9.9.9"))
    assert allow.permits_address(ipaddress.ip_address("::ffff:10.0.0.5"))
    assert not allow.permits_address(ipaddress.ip_address("10.0.0.6"))
    assert allow.permits_host("RELAY.corp.") and not allow.permits_host("evil.relay.corp")
    assert OutboundAllow.parse("") == NOTHING == OutboundAllow.parse(" , ")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "a b", "http://x", "*.corp", "-x.corp", "1.2.3"])
def test_a_bad_allow_list_entry_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        OutboundAllow.parse(f"127.0.0.0/8,{value}")


@pytest.mark.parametrize(
    "url", ["https://exa\ud800mple.com/", "https://relay.example/\udfff", "http://\x00/"]
)
def test_a_url_holding_a_lone_surrogate_or_nul_is_a_typed_refusal(url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_url(url, field="url", allow=NOTHING)
    assert raised.value.data["field"] == "url"


_PIECES = (
    "http://", "https://", "x.example", "8.8.8.8", "127.0.0.1", "2130706433", "0x7f.1",
    "[::1]", "[2606:4700::1111]", "localhost", ":", "443", "@", "/", "?", "#", "\\", "%2e",
    ".", "[", "]", "a", "é", "\t", " ", ";", "//", "x.example.",
)  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map("".join))
def test_a_url_check_url_accepts_is_read_the_same_by_httpx_which_connects(url: str) -> None:
    # check_url parses with the standard library; httpx connects. Whatever passes the
    # check must name, for httpx, the same host and port, or the check proves nothing.
    try:
        check_url(url, field="url", allow=NOTHING)
    except InvalidInput:
        return
    parsed, split = httpx.URL(url), urlsplit(url)
    assert split.hostname is not None
    assert parsed.raw_host == split.hostname.encode("idna")  # IDNA for names in other scripts
    assert parsed.port == (
        split.port if split.port != {"http": 80, "https": 443}[parsed.scheme] else None
    )
    assert (
        literal_address(parsed.host) is None or blocked_reason(literal_address(parsed.host)) is None
    )
