"""Send-API requests and answers for the seven providers (``consentline.providers.send``).

Requests are checked twice: against the documented format (docs/providers.md, "Sending", and
the gateway), and, where an official SDK can be pointed elsewhere, against the request
that SDK makes for the same message. A stand-in server on 127.0.0.1 replaces the
provider's API for those SDK runs, because tests only talk to 127.0.0.1. Answers are
recorded-style bodies as the providers document them.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from consentline.domain.errors import InvalidInput
from consentline.domain.outbound import OutboundAllow
from consentline.providers import REGISTRY
from consentline.providers.credential_fields import RULES
from consentline.providers.send import (
    DEFAULT_BASE_URLS,
    SEND_FIELDS,
    CannotSend,
    OutgoingSms,
    SendOutcome,
    SendRequest,
    build_send,
    interpret,
)
from tests.providers import _send_sdks
from tests.providers._send_standin import standin

TO = "+14155550101"
FROM = "+18005550100"
TEXT = "Acme: you are unsubscribed and will get no more messages. Reply START to resume."
SMS = OutgoingSms(to=TO, from_=FROM, text=TEXT, reference="4711")
PROVIDERS = sorted(SEND_FIELDS)

SID = "AC" + "0123456789abcdef" * 2
CREDENTIALS: dict[str, dict[str, str]] = {
    "twilio": {"account_sid": SID, "auth_token": "twilio-token-secret"},
    "sinch": {"service_plan_id": "0a1b2c3d4e5f", "api_token": "sinch-token-secret"},
    "messagemedia": {"api_key": "mm-key", "api_secret": "mm-secret-value"},
    "vonage": {"api_key": "abcd1234", "api_secret": "vonage-secret-value"},
    "plivo": {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-secret"},
    "telnyx": {"api_key": "KEY0123456789ABCDEF_secret"},
    "bandwidth": {
        "account_id": "9900000",
        "application_id": "93de2206-9669-4e07-948d-329f4b722ee2",
        "username": "bw-user",
        "password": "bw-password-secret",
    },
}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def decoded(request: SendRequest) -> Any:
    """The body as the provider reads it: a JSON value, or the form's pairs."""
    if request.headers["Content-Type"] == "application/json":
        return json.loads(request.body)
    return parse_qsl(request.body.decode("ascii"), keep_blank_values=True)


EXPECTED_REQUESTS = [
    pytest.param(
        "twilio",
        f"/2010-04-01/Accounts/{SID}/Messages.json",
        basic(SID, "twilio-token-secret"),
        [("To", TO), ("From", FROM), ("Body", TEXT)],
        id="twilio",
    ),
    pytest.param(
        "sinch",
        "/xms/v1/0a1b2c3d4e5f/batches",
        "Bearer sinch-token-secret",
        {"from": FROM, "to": [TO], "body": TEXT, "client_reference": "4711"},
        id="sinch",
    ),
    pytest.param(
        "messagemedia",
        "/v1/messages",
        basic("mm-key", "mm-secret-value"),
        {
            "messages": [
                {
                    "content": TEXT,
                    "destination_number": TO,
                    "source_number": FROM,
                    "format": "SMS",
                    "metadata": {"reference": "4711"},
                }
            ]
        },
        id="messagemedia",
    ),
    pytest.param(
        "vonage",
        "/sms/json",
        None,
        [
            ("api_key", "abcd1234"),
            ("api_secret", "vonage-secret-value"),
            ("from", "18005550100"),
            ("to", "14155550101"),
            ("text", TEXT),
            ("client-ref", "4711"),
        ],
        id="vonage",
    ),
    pytest.param(
        "plivo",
        "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/",
        basic("MAXXXXXXXXXXXXXXXXXX", "plivo-token-secret"),
        {"src": FROM, "dst": TO, "text": TEXT},
        id="plivo",
    ),
    pytest.param(
        "telnyx",
        "/v2/messages",
        "Bearer KEY0123456789ABCDEF_secret",
        {"from": FROM, "to": TO, "text": TEXT},
        id="telnyx",
    ),
    pytest.param(
        "bandwidth",
        "/api/v2/users/9900000/messages",
        basic("bw-user", "bw-password-secret"),
        {
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "to": [TO],
            "from": FROM,
            "text": TEXT,
            "tag": "4711",
        },
        id="bandwidth",
    ),
]


@pytest.mark.parametrize(("provider", "path", "auth", "body"), EXPECTED_REQUESTS)
def test_each_provider_gets_the_documented_method_path_auth_and_body(
    provider: str, path: str, auth: str | None, body: Any
) -> None:
    request = build_send(provider, CREDENTIALS[provider], SMS)
    assert request.method == "POST"
    assert request.url == DEFAULT_BASE_URLS[provider] + path
    assert request.headers.get("Authorization") == auth
    assert request.headers["Accept"] == "application/json"
    assert decoded(request) == body


def test_every_provider_has_a_send_api() -> None:
    assert sorted(REGISTRY) == PROVIDERS == sorted(DEFAULT_BASE_URLS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_upstream_base_url_replaces_the_providers_host(provider: str) -> None:
    default = build_send(provider, CREDENTIALS[provider], SMS)
    fields = {**CREDENTIALS[provider], "upstream_base_url": "http://127.0.0.1:8099/relay/"}
    moved = build_send(provider, fields, SMS)
    path = urlsplit(default.url).path
    assert moved.url == "http://127.0.0.1:8099/relay" + path
    assert (moved.headers, moved.body) == (default.headers, default.body)


def test_a_credential_in_the_url_path_stays_one_path_segment() -> None:
    fields = {**CREDENTIALS["twilio"], "account_sid": "AC1/../../x?y"}
    request = build_send("twilio", fields, SMS)
    assert urlsplit(request.url).path == "/2010-04-01/Accounts/AC1%2F..%2F..%2Fx%3Fy/Messages.json"


def test_vonage_asks_for_unicode_only_when_the_text_is_not_gsm7() -> None:
    plain = build_send("vonage", CREDENTIALS["vonage"], SMS)
    assert "type" not in dict(decoded(plain))
    accented = OutgoingSms(TO, FROM, "Ça y est : vous êtes désinscrit.", "1")
    assert ("type", "unicode") in decoded(build_send("vonage", CREDENTIALS["vonage"], accented))
    gsm = OutgoingSms(TO, FROM, "Désabonné: répondez START {} [€]", "1")
    assert "type" not in dict(decoded(build_send("vonage", CREDENTIALS["vonage"], gsm)))


def test_json_bodies_keep_non_ascii_text_as_utf8() -> None:
    sms = OutgoingSms(TO, FROM, "Abgemeldet ✓", "1")
    request = build_send("telnyx", CREDENTIALS["telnyx"], sms)
    assert "Abgemeldet ✓".encode() in request.body
    assert json.loads(request.body)["text"] == "Abgemeldet ✓"


# --- the official SDKs, pointed at a stand-in on 127.0.0.1 -------------------------------

# Fields the SDKs add on their own; ours leave them to the provider's documented defaults.
SDK_DEFAULTS: dict[str, dict[str, object]] = {
    "sinch": {"type": "mt_text"},
    "plivo": {"type": "sms", "method": "POST", "log": "true", "trackable": False},
}
SDK_ANSWERS = {
    "twilio": (201, {"sid": "SM" + "ab" * 16, "status": "queued", "to": TO, "from": FROM}),
    "plivo": (
        202,
        {"api_id": "a1", "message": "message(s) queued", "message_uuid": ["db3ce55a-7f1d"]},
    ),
    "sinch": (201, {"id": "01FC66621XXXXX119Z8PMV1QPQ", "to": [TO[1:]], "from": FROM[1:]}),
}
# Only the providers whose official SDK can be pointed at a plain-http stand-in are
# compared (tests/providers/_send_sdks.py says why the others cannot be); the rest
# are checked against their documented format by the table tests above.
SDK_COMPARED = [p for p in PROVIDERS if p in _send_sdks.DRIVERS]


def test_three_providers_are_compared_with_their_own_sdk() -> None:
    assert [p for p in PROVIDERS if p in ("twilio", "plivo", "sinch")] == SDK_COMPARED


@pytest.mark.parametrize("provider", SDK_COMPARED)
def test_our_request_is_the_one_the_official_sdk_makes(provider: str) -> None:
    status, answer = SDK_ANSWERS[provider]
    with standin() as server:
        server.answer(status, json.dumps(answer).encode())
        sdk_id = _send_sdks.DRIVERS[provider](server, CREDENTIALS[provider], SMS)
        theirs = server.only()
        ours = build_send(provider, {**CREDENTIALS[provider], "upstream_base_url": server.url}, SMS)
    assert theirs.method == ours.method
    assert theirs.path == urlsplit(ours.url).path
    assert theirs.headers["authorization"] == ours.headers["Authorization"]
    media_type = theirs.headers["content-type"].split(";")[0].strip()
    assert media_type == ours.headers["Content-Type"]
    if media_type == "application/json":
        assert json.loads(theirs.body) == {**decoded(ours), **SDK_DEFAULTS.get(provider, {})}
    else:
        assert parse_qsl(theirs.body.decode()) == decoded(ours)
    outcome = interpret(provider, status, json.dumps(answer).encode())
    assert outcome.status == "sent" and outcome.provider_message_id == sdk_id


def test_the_twilio_sdk_also_reads_21610_as_an_unsubscribed_recipient() -> None:
    from twilio.base.exceptions import TwilioRestException

    with standin() as server:
        server.answer(400, TWILIO_21610)
        with pytest.raises(TwilioRestException) as raised:
            _send_sdks.twilio(server, CREDENTIALS["twilio"], SMS)
    assert (raised.value.status, raised.value.code) == (400, 21610)
    assert interpret("twilio", 400, TWILIO_21610).status == "opted_out"


# --- reading the answer ------------------------------------------------------------------


def body(value: object) -> bytes:
    return json.dumps(value).encode()


TWILIO_21610 = body(
    {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
)
TELNYX_40300 = body(
    {
        "errors": [
            {
                "code": "40300",
                "title": "Blocked due to STOP message",
                "detail": f"Messages cannot be sent from '{FROM}' to '{TO}' due to a block rule.",
                "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/40300"},
            }
        ]
    }
)

ANSWERS = [
    # Twilio
    ("twilio", 201, body({"sid": "SM" + "1" * 32, "status": "queued", "to": TO, "body": TEXT}),
     "sent", "SM" + "1" * 32, "twilio 201"),
    ("twilio", 429, body({"code": 20429, "message": "Too Many Requests", "status": 429}),
     "retry", None, "twilio 429 code 20429"),
    ("twilio", 400, body({"code": 21211, "message": f"The 'To' number {TO} is not a valid phone "
                          "number.", "status": 400}),
     "failed", None, "twilio 400 code 21211"),
    ("twilio", 400, TWILIO_21610, "opted_out", None, "twilio 400 code 21610"),
    ("twilio", 503, b"<html>Service Unavailable</html>", "retry", None, "twilio 503"),
    # Sinch
    ("sinch", 201, body({"id": "01HXA9", "to": [TO[1:]], "from": FROM[1:], "body": TEXT,
                         "type": "mt_text", "client_reference": "4711"}),
     "sent", "01HXA9", "sinch 201"),
    ("sinch", 429, b"", "retry", None, "sinch 429"),
    ("sinch", 400, body({"code": "syntax_constraint_violation", "text": f"Invalid number {TO}"}),
     "failed", None, "sinch 400 code syntax_constraint_violation"),
    ("sinch", 403, body({"code": "forbidden", "text": "Requested resource is forbidden."}),
     "failed", None, "sinch 403 code forbidden"),
    # MessageMedia
    ("messagemedia", 202, body({"messages": [{"message_id": "04fe9a97-a579", "status": "queued",
                                              "destination_number": TO, "content": TEXT}]}),
     "sent", "04fe9a97-a579", "messagemedia 202"),
    ("messagemedia", 429, body({"message": "Too many requests"}), "retry", None,
     "messagemedia 429"),
    ("messagemedia", 400, body({"message": "Invalid message", "details": [f"{TO} invalid"]}),
     "failed", None, "messagemedia 400"),
    # Vonage: failures come inside a 200
    ("vonage", 200, body({"message-count": "1", "messages": [
        {"to": TO[1:], "message-id": "0A0000000123ABCD1", "status": "0", "client-ref": "4711"}]}),
     "sent", "0A0000000123ABCD1", "vonage 200"),
    ("vonage", 200, body({"message-count": "1", "messages": [
        {"status": "1", "error-text": "Throttled"}]}),
     "retry", None, "vonage 200 status 1"),
    ("vonage", 200, body({"message-count": "1", "messages": [
        {"status": "3", "error-text": f"Invalid To Number: {TO[1:]}"}]}),
     "failed", None, "vonage 200 status 3"),
    ("vonage", 200, body({"message-count": "1", "messages": [
        {"status": "9", "error-text": "Partner quota violation"}]}),
     "failed", None, "vonage 200 status 9"),
    ("vonage", 200, body({"message-count": "2", "messages": [
        {"to": TO[1:], "message-id": "0A01", "status": "0"},
        {"status": "5", "error-text": "Internal Error"}]}),
     "retry", None, "vonage 200 status 5"),
    ("vonage", 401, body({"type": "https://developer.vonage.com/api-errors#unauthorized"}),
     "failed", None, "vonage 401"),
    # Plivo
    ("plivo", 202, body({"api_id": "9748", "message": "message(s) queued",
                         "message_uuid": ["db3ce55a-7f1d-11e1"]}),
     "sent", "db3ce55a-7f1d-11e1", "plivo 202"),
    ("plivo", 429, body({"api_id": "9748", "error": "too many requests"}), "retry", None,
     "plivo 429"),
    ("plivo", 400, body({"api_id": "9748", "error": f"{TO} is not a valid number"}),
     "failed", None, "plivo 400"),
    # Telnyx
    ("telnyx", 200, body({"data": {"record_type": "message", "id": "40317f0e-8a3c",
                                   "to": [{"phone_number": TO, "status": "queued"}],
                                   "text": TEXT}}),
     "sent", "40317f0e-8a3c", "telnyx 200"),
    ("telnyx", 429, body({"errors": [{"code": "10011", "title": "Too many requests"}]}),
     "retry", None, "telnyx 429 code 10011"),
    ("telnyx", 400, body({"errors": [{"code": "40310", "title": "Invalid 'to' address",
                                      "detail": f"'{TO}' is not a valid number"}]}),
     "failed", None, "telnyx 400 code 40310"),
    ("telnyx", 400, TELNYX_40300, "opted_out", None, "telnyx 400 code 40300"),
    ("telnyx", 409, TELNYX_40300, "opted_out", None, "telnyx 409 code 40300"),
    ("telnyx", 409, b"", "opted_out", None, "telnyx 409"),
    ("telnyx", 409, body({"errors": [{"code": "10015", "title": "Bad Request"}]}),
     "failed", None, "telnyx 409 code 10015"),
    # Bandwidth
    ("bandwidth", 202, body({"id": "1589228074636lm4k2je7j7jklbn2", "owner": FROM, "to": [TO],
                             "text": TEXT, "tag": "4711"}),
     "sent", "1589228074636lm4k2je7j7jklbn2", "bandwidth 202"),
    ("bandwidth", 429, body({"type": "rate-limit", "description": "Too many requests"}),
     "retry", None, "bandwidth 429 type rate-limit"),
    ("bandwidth", 400, body({"type": "request-validation", "description": "Invalid request",
                             "fieldErrors": [{"fieldName": "to", "description": f"'{TO}' bad"}]}),
     "failed", None, "bandwidth 400 type request-validation"),
]  # fmt: skip


@pytest.mark.parametrize(("provider", "status", "raw", "verdict", "message_id", "detail"), ANSWERS)
def test_recorded_answers_are_read_as_the_provider_means_them(
    provider: str, status: int, raw: bytes, verdict: str, message_id: str | None, detail: str
) -> None:
    assert interpret(provider, status, raw) == SendOutcome(verdict, message_id, detail)


@pytest.mark.parametrize(("provider", "status", "raw"), [a[:3] for a in ANSWERS])
def test_detail_never_carries_a_phone_number_or_the_text(
    provider: str, status: int, raw: bytes
) -> None:
    detail = interpret(provider, status, raw).detail
    for secret in (TO[2:], FROM[2:], "5550101", "5550100", TEXT, "unsubscribed"):
        assert secret not in detail


def test_twilio_21610_means_the_recipient_opted_out_at_the_provider() -> None:
    outcome = interpret("twilio", 400, TWILIO_21610)
    assert outcome.status == "opted_out" and outcome.detail == "twilio 400 code 21610"


def test_telnyx_40300_means_the_recipient_opted_out_at_the_provider() -> None:
    assert interpret("telnyx", 400, TELNYX_40300).status == "opted_out"


def test_an_opt_out_code_on_a_server_error_is_still_a_retry() -> None:
    assert interpret("twilio", 503, TWILIO_21610).status == "retry"


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeouts_throttling_and_server_errors_are_retried(provider: str, status: int) -> None:
    assert interpret(provider, status, b"{}") == SendOutcome("retry", None, f"{provider} {status}")


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 422])
@pytest.mark.parametrize("provider", ["twilio", "sinch", "messagemedia", "vonage", "plivo"])
def test_other_errors_fail_without_retry(provider: str, status: int) -> None:
    assert interpret(provider, status, b"{}").status == "failed"


GARBAGE = [
    b"",
    b"<html><body>Bad Gateway</body></html>",
    b"\xff\xfe\x00garbage",
    b"null",
    b"[]",
    b'"a string"',
    b'{"messages": "none", "data": [], "errors": {"code": 1}, "message_uuid": {}}',
    b'{"sid": 42, "id": ["x"], "code": {"nested": true}, "type": "+14155550101"}',
    b'{"code": "+14155550101 is invalid", "errors": [{"code": "14155550101"}]}',
    b'{"messages": [{"status": "14155550101"}]}',
    b"[" * 100_000,
]


@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
@pytest.mark.parametrize("status", [200, 202, 400, 409, 503])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unreadable_body_never_raises_and_gives_no_id(
    provider: str, status: int, raw: bytes
) -> None:
    outcome = interpret(provider, status, raw)
    assert outcome.provider_message_id is None
    assert outcome.detail == f"{provider} {status}"
    if 200 <= status < 300:
        assert outcome.status == "sent"


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_send_fields_are_named_and_their_values_never_shown(provider: str) -> None:
    full = CREDENTIALS[provider]
    dropped = sorted(full)[0]
    partial = {k: v for k, v in full.items() if k != dropped}
    with pytest.raises(CannotSend) as raised:
        build_send(provider, {**partial, "upstream_base_url": "http://127.0.0.1:1"}, SMS)
    error = raised.value
    assert error.code == "cannot_send" and isinstance(error, InvalidInput)
    assert error.data["missing"] == [dropped] and dropped in error.message
    shown = json.dumps(error.to_dict()) + str(error)
    for value in partial.values():
        assert value not in shown


def test_blank_credentials_count_as_missing() -> None:
    with pytest.raises(CannotSend) as raised:
        build_send("telnyx", {"api_key": "  "}, SMS)
    assert raised.value.data["missing"] == ["api_key"]


def test_verification_fields_alone_cannot_send() -> None:
    with pytest.raises(CannotSend) as raised:
        build_send("sinch", {"signature_secret": "s3cr3t"}, SMS)
    assert raised.value.data["missing"] == ["api_token", "service_plan_id"]
    assert "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8080", "http://"])
def test_upstream_base_url_must_be_an_http_url(url: str) -> None:
    fields = {**CREDENTIALS["plivo"], "upstream_base_url": url}
    with pytest.raises(CannotSend) as raised:
        build_send("plivo", fields, SMS)
    assert raised.value.data["field"] == "upstream_base_url"


def test_an_unknown_provider_cannot_send() -> None:
    with pytest.raises(CannotSend) as raised:
        build_send("carrier-pigeon", {"api_key": "k"}, SMS)
    assert raised.value.data == {"provider": "carrier-pigeon"}
    with pytest.raises(CannotSend):
        interpret("carrier-pigeon", 200, b"{}")


# --- credentials accept the send names ---------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_accepts_its_send_fields_and_an_upstream_base_url(provider: str) -> None:
    assert SEND_FIELDS[provider] | {"upstream_base_url"} <= set(RULES.allowed_fields(provider))


def test_stored_send_credentials_build_a_request() -> None:
    fields = {"public_key": base64.b64encode(b"k" * 32).decode(), **CREDENTIALS["telnyx"]}
    loopback = OutboundAllow.parse("127.0.0.0/8")  # as CONSENTLINE_OUTBOUND_ALLOW would
    stored = RULES.validate(
        "telnyx", {**fields, "upstream_base_url": "http://127.0.0.1:8099"}, allow=loopback
    )
    assert build_send("telnyx", stored, SMS).url == "http://127.0.0.1:8099/v2/messages"


def test_a_stored_upstream_base_url_must_be_http_for_every_provider() -> None:
    with pytest.raises(InvalidInput) as raised:
        RULES.validate(
            "bandwidth", {"username": "u", "password": "p", "upstream_base_url": "ftp://x"}
        )
    assert raised.value.data["field"] == "upstream_base_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",  # was a 500: urlsplit's ValueError escaped
        "http://[::1]:99999",
        "http://relay.example:0/",
        "https://relay.example/?x=1",
        "https://user:pw@relay.example",
        "https://relay.example/#top",
        "http://exa mple.com",
        "http://%31%32%37.0.0.1/",
    ],
)
def test_a_malformed_upstream_base_url_is_a_typed_422_naming_the_field(url: str) -> None:
    fields = {"account_sid": "AC" + "1" * 32, "auth_token": "t", "upstream_base_url": url}
    with pytest.raises(InvalidInput) as raised:
        RULES.validate("twilio", fields)
    assert raised.value.code == "invalid_input"
    assert raised.value.data["field"] == "upstream_base_url"


def test_a_malformed_url_stored_before_it_was_checked_cannot_send() -> None:
    fields = {**CREDENTIALS["plivo"], "upstream_base_url": "http://[::1"}
    with pytest.raises(CannotSend) as raised:
        build_send("plivo", fields, SMS)  # a ValueError (and a crashed reply) before
    assert raised.value.data["field"] == "upstream_base_url"
