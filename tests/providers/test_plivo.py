"""Plivo: V3 as the official SDK signs it; V2 (body not covered) only when opted in.

Issue 8, #3: V2 signs the URL and a nonce, not the message, and V3 was skipped
whenever its header was absent, so one observed request let anyone post any message.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plivo.utils.signature_v3 import (
    construct_get_url,
    construct_post_url,
    get_signature_v3,
    validate_v3_signature,
)

from consentline.domain.errors import SignatureInvalid
from consentline.providers import REGISTRY, SingleUseNonces, WebhookRequest
from tests.providers import signers as s
from tests.providers._support import FORM, NOW, post, tampered

PLIVO = REGISTRY["plivo"]
NONCE = "70649532521645918713"


def test_a_v2_only_request_is_refused_by_default() -> None:
    request, credentials = s.plivo_v2("plivo_stop.txt", accept_v2=False)
    with pytest.raises(SignatureInvalid, match="V2"):
        PLIVO.verify(request, credentials, now=NOW)


def test_an_opted_in_v2_request_verifies_and_names_its_nonce_to_claim() -> None:
    request, credentials = s.plivo_v2("plivo_stop.txt")
    PLIVO.verify(request, credentials, now=NOW)
    assert isinstance(PLIVO, SingleUseNonces)
    assert PLIVO.single_use_nonce(request, credentials) == "05429567804466091622"


def test_v3_needs_no_nonce_claim() -> None:
    request, credentials = s.plivo_v3("plivo_stop.txt")
    assert isinstance(PLIVO, SingleUseNonces)
    assert PLIVO.single_use_nonce(request, {**credentials, "accept_v2": "true"}) is None


def test_a_tampered_v3_request_is_refused_even_beside_a_good_v2_signature() -> None:
    v3, credentials = s.plivo_v3("plivo_stop.txt")
    v2, _ = s.plivo_v2("plivo_stop.txt")
    both = WebhookRequest(v3.method, v3.url, {**v2.headers, **v3.headers}, v3.body)
    PLIVO.verify(both, {**credentials, "accept_v2": "true"}, now=NOW)
    with pytest.raises(SignatureInvalid):
        PLIVO.verify(tampered(both), {**credentials, "accept_v2": "true"}, now=NOW)


@pytest.mark.parametrize("nonce", ["", "1" * 129, "nonce\u00e9"])
def test_a_malformed_v2_nonce_is_refused(nonce: str) -> None:
    request, credentials = s.plivo_v2("plivo_stop.txt")
    headers = {**request.headers, "x-plivo-signature-v2-nonce": nonce}
    with pytest.raises(SignatureInvalid):
        PLIVO.verify(
            WebhookRequest("POST", request.url, headers, request.body), credentials, now=NOW
        )


# -- V3 as the SDK computes it, for any parameters ------------------------------------
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
params = st.dictionaries(text.filter(bool), text, min_size=0, max_size=5)
# The SDK cannot parse a callback URL whose query is not ASCII (the URL is the
# account's own configuration, not the message): ASCII there.
ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
queries = st.dictionaries(ascii_text.filter(bool), ascii_text, min_size=0, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=params, query=queries, method=st.sampled_from(["POST", "GET"]))
def test_v3_agrees_with_the_sdk_for_any_parameters(
    body: dict[str, str], query: dict[str, str], method: str
) -> None:
    url = s.PLIVO_URL + (f"?{urlencode(query)}" if query else "")
    if method == "GET":
        signed = construct_get_url(url, {}).decode()
        raw = b""
    else:
        signed = construct_post_url(url, dict(body)).decode()
        raw = urlencode(body).encode()
    signature = get_signature_v3(s.PLIVO_TOKEN, signed, NONCE).decode()
    assert validate_v3_signature(
        method, url, NONCE, s.PLIVO_TOKEN, signature, dict(body) if method == "POST" else None
    )
    headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": NONCE}
    request = WebhookRequest.create(method, url, {"Content-Type": FORM, **headers}, raw)
    PLIVO.verify(request, {"auth_token": s.PLIVO_TOKEN}, now=NOW)
    # one more parameter, signed by nobody: refused
    forged = raw + (b"&" if raw else b"") + b"Text=START"
    if method == "POST" and body.get("Text") != "START":
        with pytest.raises(SignatureInvalid):
            PLIVO.verify(
                post(url, forged, FORM, **{k.replace("-", "_"): v for k, v in headers.items()}),
                {"auth_token": s.PLIVO_TOKEN},
                now=NOW,
            )
