"""Every provider accepts what its own SDK signed, and refuses each bad-signature twin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from vonage_jwt.verify_jwt import verify_signature

from consentline.domain.errors import SignatureInvalid
from consentline.providers import REGISTRY, WebhookRequest
from tests.providers import signers as s
from tests.providers._support import NOW, tampered, without

SIGNED: dict[str, tuple[str, s.Builder]] = {
    "twilio-sha1-stop": ("twilio", lambda: s.twilio("twilio_stop.txt")),
    "twilio-sha1-status": ("twilio", lambda: s.twilio("twilio_status_optout.txt")),
    "twilio-sha256-shared-key": (
        "twilio",
        lambda: s.twilio("twilio_stop.txt", algorithm="HMAC_SHA256"),
    ),
    "twilio-get": ("twilio", lambda: s.twilio_get("twilio_stop.txt")),
    "twilio-json-bodysha256": ("twilio", s.twilio_json),
    "sinch-hmac-stop": ("sinch", lambda: s.sinch("sinch_stop.json")),
    "sinch-hmac-status": ("sinch", lambda: s.sinch("sinch_status_optout.json")),
    "sinch-basic": ("sinch", lambda: s.sinch_basic("sinch_stop.json")),
    "vonage-sms-sha256": ("vonage", lambda: s.vonage("vonage_stop.txt")),
    "vonage-sms-md5": ("vonage", lambda: s.vonage("vonage_stop.txt", "md5")),
    "vonage-sms-sha512-receipt": ("vonage", lambda: s.vonage("vonage_status_optout.txt", "sha512")),
    "vonage-sms-get": ("vonage", lambda: s.vonage_get("vonage_stop.txt")),
    "vonage-messages-jwt": ("vonage", lambda: s.vonage_jwt("vonage_messages_stop.json")),
    "plivo-v2": ("plivo", lambda: s.plivo_v2("plivo_stop.txt")),
    "plivo-v3": ("plivo", lambda: s.plivo_v3("plivo_stop.txt")),
    "plivo-v3-no-query": ("plivo", lambda: s.plivo_v3("plivo_status_optout.txt", s.PLIVO_URL)),
    "telnyx-stop": ("telnyx", lambda: s.telnyx("telnyx_stop.json")),
    "telnyx-status": ("telnyx", lambda: s.telnyx("telnyx_status_optout.json")),
    "messagemedia-sha256": ("messagemedia", lambda: s.messagemedia("messagemedia_stop.json")),
    "messagemedia-sha224": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_stop.json", "SHA224"),
    ),
    "messagemedia-sha512": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_status.json", "SHA512"),
    ),
    "bandwidth-basic": ("bandwidth", lambda: s.bandwidth("bandwidth_stop.json")),
}


@pytest.mark.parametrize("case", SIGNED, ids=str)
def test_a_request_signed_by_the_providers_sdk_verifies(case: str) -> None:
    provider, build = SIGNED[case]
    request, credentials = build()
    REGISTRY[provider].verify(request, credentials, now=NOW)


def _stale(seconds: int) -> s.Builder:
    return lambda: s.telnyx("telnyx_stop.json", at=int(NOW.timestamp()) + seconds)


BAD: dict[str, tuple[str, s.Builder, str]] = {
    # case: (provider, builder, what goes wrong)
    "twilio-tampered": ("twilio", lambda: s.twilio("twilio_stop.txt"), "tamper"),
    "twilio-wrong-token": ("twilio", lambda: s.twilio("twilio_stop.txt"), "secret"),
    "twilio-no-header": ("twilio", lambda: s.twilio("twilio_stop.txt"), "-x-twilio-signature"),
    "twilio-json-tampered": ("twilio", s.twilio_json, "tamper"),
    "twilio-other-url": ("twilio", lambda: s.twilio("twilio_stop.txt"), "url"),
    "sinch-tampered": ("sinch", lambda: s.sinch("sinch_stop.json"), "tamper"),
    "sinch-wrong-secret": ("sinch", lambda: s.sinch("sinch_stop.json"), "secret"),
    "sinch-no-nonce": (
        "sinch",
        lambda: s.sinch("sinch_stop.json"),
        "-x-sinch-webhook-signature-nonce",
    ),
    "sinch-wrong-password": ("sinch", lambda: s.sinch_basic("sinch_stop.json"), "secret"),
    "sinch-no-basic": ("sinch", lambda: s.sinch_basic("sinch_stop.json"), "-authorization"),
    "sinch-nothing-configured": ("sinch", lambda: s.sinch("sinch_stop.json"), "nocreds"),
    "vonage-tampered": ("vonage", lambda: s.vonage("vonage_stop.txt"), "tamper"),
    "vonage-wrong-secret": ("vonage", lambda: s.vonage("vonage_stop.txt"), "secret"),
    "vonage-jwt-tampered": ("vonage", lambda: s.vonage_jwt("vonage_messages_stop.json"), "tamper"),
    "vonage-jwt-wrong-secret": (
        "vonage",
        lambda: s.vonage_jwt("vonage_messages_stop.json"),
        "secret",
    ),
    "vonage-jwt-no-header": (
        "vonage",
        lambda: s.vonage_jwt("vonage_messages_stop.json"),
        "-authorization",
    ),
    "plivo-v2-wrong-token": ("plivo", lambda: s.plivo_v2("plivo_stop.txt"), "secret"),
    "plivo-v2-other-url": ("plivo", lambda: s.plivo_v2("plivo_stop.txt"), "url"),
    "plivo-v2-no-nonce": (
        "plivo",
        lambda: s.plivo_v2("plivo_stop.txt"),
        "-x-plivo-signature-v2-nonce",
    ),
    # V2 covers no parameter: refused unless the credentials opt in (issue 8, #3)
    "plivo-v2-not-opted-in": (
        "plivo",
        lambda: s.plivo_v2("plivo_stop.txt", accept_v2=False),
        "none",
    ),
    "plivo-v3-tampered": ("plivo", lambda: s.plivo_v3("plivo_stop.txt"), "tamper"),
    "plivo-v3-wrong-token": ("plivo", lambda: s.plivo_v3("plivo_stop.txt"), "secret"),
    "telnyx-tampered": ("telnyx", lambda: s.telnyx("telnyx_stop.json"), "tamper"),
    "telnyx-no-header": (
        "telnyx",
        lambda: s.telnyx("telnyx_stop.json"),
        "-telnyx-signature-ed25519",
    ),
    "telnyx-stale": ("telnyx", _stale(-301), "none"),
    "telnyx-future": ("telnyx", _stale(301), "none"),
    "telnyx-other-key": ("telnyx", lambda: s.telnyx("telnyx_stop.json"), "otherkey"),
    "messagemedia-tampered": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_stop.json"),
        "tamper",
    ),
    "messagemedia-no-date": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_stop.json"),
        "-date",
    ),
    "messagemedia-wrong-digest": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_stop.json", "SHA224"),
        "digest",
    ),
    "messagemedia-other-key": (
        "messagemedia",
        lambda: s.messagemedia("messagemedia_stop.json"),
        "otherkey",
    ),
    "bandwidth-wrong-password": ("bandwidth", lambda: s.bandwidth("bandwidth_stop.json"), "secret"),
    "bandwidth-no-basic": (
        "bandwidth",
        lambda: s.bandwidth("bandwidth_stop.json"),
        "-authorization",
    ),
    "bandwidth-not-configured": (
        "bandwidth",
        lambda: s.bandwidth("bandwidth_stop.json"),
        "nocreds",
    ),
}


def _spoil(
    provider: str, kind: str, request: WebhookRequest, credentials: dict[str, str]
) -> tuple[WebhookRequest, dict[str, str]]:
    if kind == "tamper":
        return tampered(request), credentials
    if kind.startswith("-"):
        return without(request, kind[1:]), credentials
    if kind == "secret":
        kept = ("username", "signature_method", "api_key", "account_sid", "accept_v2")
        return request, {k: v if k in kept else v[:-2] + "xx" for k, v in credentials.items()}
    if kind == "url":
        url = request.url.replace("/webhooks/", "/webhooks/other-")
        return WebhookRequest(request.method, url, request.headers, request.body), credentials
    if kind == "nocreds":
        return request, {}
    if kind == "digest":
        headers = {**request.headers, "x-messagemedia-digest-type": "SHA256"}
        return WebhookRequest(request.method, request.url, headers, request.body), credentials
    if kind == "otherkey" and provider == "telnyx":
        return request, s.telnyx("telnyx_stop.json", key=s.OTHER_TELNYX_KEY)[1]
    if kind == "otherkey":
        return request, s.messagemedia("messagemedia_stop.json", key=s.OTHER_RSA_KEY)[1]
    return request, credentials


@pytest.mark.parametrize("case", BAD, ids=str)
def test_a_bad_signature_twin_is_refused(case: str) -> None:
    provider, build, kind = BAD[case]
    request, credentials = _spoil(provider, kind, *build())
    with pytest.raises(SignatureInvalid) as raised:
        REGISTRY[provider].verify(request, credentials, now=NOW)
    assert raised.value.data["provider"] == provider


def test_the_vonage_sdk_accepts_the_token_the_adapter_accepts() -> None:
    request, credentials = s.vonage_jwt("vonage_messages_stop.json")
    token = (request.header("authorization") or "").removeprefix("Bearer ")
    assert verify_signature(token, credentials["signature_secret"])


def test_telnyx_accepts_a_timestamp_just_inside_the_window() -> None:
    request, credentials = _stale(-300)()
    REGISTRY["telnyx"].verify(request, credentials, now=NOW + timedelta(0))
