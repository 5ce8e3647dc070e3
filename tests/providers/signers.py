"""Requests signed by each provider's OWN SDK (or, where none exists, a standard library).

Each builder returns ``(request, credentials)``: a request as the provider would send
it, and the credentials a line would be configured with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from nacl.signing import SigningKey
from plivo.utils import validate_signature
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3
from sinch.domains.authentication.sinch_events.v1.authentication_validation import (
    calculate_sinch_event_signature,
    compute_signed_data,
)
from twilio.request_validator import RequestValidator
from vonage_http_client.auth import Auth

from consentline.providers import WebhookRequest
from tests.providers._support import FORM, JSON, NOW, form, payload, post

Signed = tuple[WebhookRequest, dict[str, str]]
TWILIO_TOKEN = "12345678901234567890123456789012"
TWILIO_URL = "https://consentline.example.com/webhooks/twilio?line=main"
SINCH_SECRET = "sinch-webhook-secret"
VONAGE_SECRET = "vonage-signature-secret-0123456789"
PLIVO_TOKEN = "MzA0ZjRkNmQ0YjI1ZGQ3NjM4ZGI1ZDQ2YzQ5ZGQ4"
PLIVO_URL = "https://consentline.example.com/webhooks/plivo"
TELNYX_KEY = SigningKey(bytes(range(32)))
OTHER_TELNYX_KEY = SigningKey(bytes(range(1, 33)))
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
MM_URL = "https://consentline.example.com/webhooks/messagemedia"
MM_DATE = "Fri, 03 May 2024 09:15:03 GMT"


def twilio(name: str, *, algorithm: str | None = None) -> Signed:
    body = payload(name)
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, form(body), algorithm)
    headers = {"x_twilio_signature": sig}
    credentials = {"account_sid": "AC" + "f0" * 16, "auth_token": TWILIO_TOKEN}
    if algorithm:
        headers["x_twilio_webhooks_signature_settings"] = f"key=SK1,algorithm={algorithm}"
        credentials = {**credentials, "auth_token": "old", "shared_key_secret": TWILIO_TOKEN}
    return post(TWILIO_URL, body, FORM, **headers), credentials


def twilio_get(name: str) -> Signed:
    url = f"{TWILIO_URL}&{payload(name).decode()}"
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(url, {})
    request = WebhookRequest.create("GET", url, {"X-Twilio-Signature": sig})
    return request, {"auth_token": TWILIO_TOKEN}


def twilio_json() -> Signed:
    body = b'{"MessageSid":"SM9","From":"+14155550101","To":"+18005550100","Body":"STOP"}'
    url = f"{TWILIO_URL}&bodySHA256={hashlib.sha256(body).hexdigest()}"
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(url, {})
    return post(url, body, JSON, x_twilio_signature=sig), {"auth_token": TWILIO_TOKEN}


def sinch(name: str) -> Signed:
    body = payload(name)
    nonce, timestamp = "01FJA8B4A7BM43YGWSG9GBV067", "1714727702"
    data = compute_signed_data(body.decode(), nonce, timestamp)
    sig = calculate_sinch_event_signature(data, SINCH_SECRET)
    headers = {
        "x_sinch_webhook_signature": sig,
        "x_sinch_webhook_signature_nonce": nonce,
        "x_sinch_webhook_signature_timestamp": timestamp,
    }
    url = "https://consentline.example.com/webhooks/sinch"
    return post(url, body, JSON, **headers), {"signature_secret": SINCH_SECRET}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sinch_basic(name: str) -> Signed:
    url = "https://consentline.example.com/webhooks/sinch"
    request = post(url, payload(name), JSON, authorization=basic("sinch", "s3cret"))
    return request, {"username": "sinch", "password": "s3cret"}


def vonage(name: str, method: str = "sha256") -> Signed:
    params: dict[str, str | int] = dict(form(payload(name)))
    params["timestamp"] = "1714727702"
    params["nonce"] = "a1b2c3d4-0000-4000-8000-000000000001"
    auth = Auth(api_key="abcd1234", signature_secret=VONAGE_SECRET, signature_method=method)
    params["sig"] = auth.sign_params(dict(params))
    body = urlencode(params)
    credentials = {
        "api_key": "abcd1234",
        "signature_secret": VONAGE_SECRET,
        "signature_method": method,
    }
    url = "https://consentline.example.com/webhooks/vonage"
    return post(url, body.encode(), FORM), credentials


def vonage_get(name: str) -> Signed:
    request, credentials = vonage(name)
    url = f"{request.url}?{request.body.decode()}"
    return WebhookRequest.create("GET", url, {}), credentials


def vonage_jwt(name: str) -> Signed:
    body = payload(name)
    claims = {
        "iat": int(NOW.timestamp()),
        "jti": "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5",
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    }
    token = jwt.encode(claims, VONAGE_SECRET, algorithm="HS256")
    url = "https://consentline.example.com/webhooks/vonage"
    credentials = {"api_key": "abcd1234", "signature_secret": VONAGE_SECRET}
    return post(url, body, JSON, authorization=f"Bearer {token}"), credentials


def plivo_v2(name: str, *, nonce: str = "05429567804466091622", accept_v2: bool = True) -> Signed:
    """A V2-only request; its credentials opt in to V2 unless ``accept_v2`` is False."""
    url = f"{PLIVO_URL}?line=main"
    # The SDK has no V2 signer: sign by the scheme, and have the SDK's validator vouch for it.
    mac = hmac.new(PLIVO_TOKEN.encode(), PLIVO_URL.encode() + nonce.encode(), hashlib.sha256)
    sig = base64.b64encode(mac.digest())
    assert validate_signature(url, nonce, sig.decode(), PLIVO_TOKEN)
    headers = {"x_plivo_signature_v2": sig.decode(), "x_plivo_signature_v2_nonce": nonce}
    credentials = {"auth_token": PLIVO_TOKEN, **({"accept_v2": "true"} if accept_v2 else {})}
    return post(url, payload(name), FORM, **headers), credentials


def plivo_v3(name: str, url: str = f"{PLIVO_URL}?line=main") -> Signed:
    body = payload(name)
    nonce = "70649532521645918713"
    signed_url = construct_post_url(url, form(body)).decode()
    sig = get_signature_v3(PLIVO_TOKEN, signed_url, nonce).decode()
    headers = {"x_plivo_signature_v3": f"{sig},other", "x_plivo_signature_v3_nonce": nonce}
    return post(url, body, FORM, **headers), {"auth_token": PLIVO_TOKEN}


def telnyx(name: str, *, at: int | None = None, key: SigningKey = TELNYX_KEY) -> Signed:
    body = payload(name)
    timestamp = str(at if at is not None else int(NOW.timestamp()) - 5)
    sig = TELNYX_KEY.sign(timestamp.encode() + b"|" + body).signature
    headers = {
        "telnyx_signature_ed25519": base64.b64encode(sig).decode(),
        "telnyx_timestamp": timestamp,
    }
    public = base64.b64encode(bytes(key.verify_key)).decode()
    url = "https://consentline.example.com/webhooks/telnyx"
    return post(url, body, JSON, **headers), {"public_key": public}


def messagemedia(name: str, digest: str = "SHA256", key: rsa.RSAPrivateKey = RSA_KEY) -> Signed:
    body = payload(name)
    algorithm = {"SHA224": hashes.SHA224(), "SHA256": hashes.SHA256(), "SHA512": hashes.SHA512()}
    data = b"POST /webhooks/messagemedia HTTP/1.1" + MM_DATE.encode() + body
    sig = RSA_KEY.sign(data, padding.PKCS1v15(), algorithm[digest])
    headers = {
        "x_messagemedia_signature": base64.b64encode(sig).decode(),
        "x_messagemedia_digest_type": digest,
        "date": MM_DATE,
    }
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return post(MM_URL, body, JSON, **headers), {"public_key": pem.decode()}


def bandwidth(name: str) -> Signed:
    url = "https://consentline.example.com/webhooks/bandwidth"
    request = post(url, payload(name), JSON, authorization=basic("bw-user", "bw-pass"))
    return request, {"username": "bw-user", "password": "bw-pass"}


Builder = Callable[[], Signed]
