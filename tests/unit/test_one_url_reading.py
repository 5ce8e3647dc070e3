"""One reading of a URL's shape: the installation's public URL, a send API's base
URL and a webhook subscriber's URL are all judged by ``check_url_shape``."""

from __future__ import annotations

import pytest

from consentline.domain.errors import CannotSend, InvalidInput, SettingsError
from consentline.domain.outbound import NOTHING, check_url, check_url_shape
from consentline.providers.send import OutgoingSms, build_send
from consentline.settings import Settings

URLS = [
    "https://consent.example.com",
    "https://consent.example.com/base/",
    "http://203.0.113.9:8443",
    "ftp://example.com",
    "consent.example.com",
    "https://example.com:99999",
    "https://example.com/?q=1",
    "https://user:pw@example.com",
    "https://example.com/#top",
    "https://exa mple.com",
    "https://example.com\\@evil.test",
    "http://[::1",
    "",
]
SMS = OutgoingSms(to="+14155550101", from_="+18005550100", text="hi", reference="1")


def shape_ok(url: str) -> bool:
    try:
        check_url_shape(url, field="url", base=True)
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize("url", URLS)
def test_the_public_url_setting_reads_a_url_as_the_one_shape_check_does(url: str) -> None:
    environ = {"CONSENTLINE_PUBLIC_URL": url} if url else {}
    try:
        Settings.from_env(environ)
    except SettingsError:
        accepted = False
    else:
        accepted = True
    assert accepted == (shape_ok(url) or not url)  # unset is allowed


@pytest.mark.parametrize("url", [u for u in URLS if u])
def test_a_send_base_url_is_read_as_the_one_shape_check_does(url: str) -> None:
    fields = {"api_key": "k", "upstream_base_url": url}
    try:
        build_send("telnyx", fields, SMS)
    except CannotSend:
        accepted = False
    else:
        accepted = True
    assert accepted == shape_ok(url)


@pytest.mark.parametrize("url", [u for u in URLS if u])
def test_a_url_consentline_calls_passes_the_shape_check_first(url: str) -> None:
    if not shape_ok(url):
        with pytest.raises(InvalidInput):
            check_url(url, field="url", allow=NOTHING, base=True)
