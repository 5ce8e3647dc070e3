"""Recorded payloads parse field by field; malformed bodies are InvalidPayload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consentline.domain.errors import InvalidPayload
from consentline.providers import REGISTRY, DeliveryStatus, InboundSms, WebhookRequest
from tests.providers import signers as s
from tests.providers._support import FORM, JSON, payload, post

URL = "https://consentline.example.com/webhooks/x"


def _request(provider: str, name: str) -> WebhookRequest:
    content_type = JSON if name.endswith(".json") else FORM
    return post(URL, payload(name), content_type)


PARSED: list[tuple[str, str, list[Any]]] = [
    (
        "twilio",
        "twilio_stop.txt",
        [
            InboundSms(
                "SM1f0e8ae6ade43cb3c0ce4525424e404f",
                "+14155550101",
                "+18005550100",
                "STOP",
                None,
                "sms",
                "STOP",
            )
        ],
    ),
    (
        "twilio",
        "twilio_text.txt",
        [
            InboundSms(
                "SM2a0e8ae6ade43cb3c0ce4525424e4050",
                "+14155550102",
                "+18005550100",
                "Hi & <thanks> ✓",
                None,
            )
        ],
    ),
    (
        "twilio",
        "twilio_status_optout.txt",
        [
            DeliveryStatus(
                "SM3b0e8ae6ade43cb3c0ce4525424e4061",
                "+14155550101",
                "+18005550100",
                "undelivered",
                "21610",
                True,
            )
        ],
    ),
    (
        "sinch",
        "sinch_stop.json",
        [
            InboundSms(
                "01FC66621XXXXX119Z8PMV1QPQ",
                "14155550101",
                "18005550100",
                "STOP",
                datetime(2024, 5, 3, 9, 15, 2, 123000, tzinfo=UTC),
            )
        ],
    ),
    (
        "sinch",
        "sinch_status_optout.json",
        [DeliveryStatus("01FC66621VHDBN119Z8PMV1AHY", "14155550101", None, "Failed", "257", True)],
    ),
    (
        "sinch",
        "sinch_batch_report.json",
        [
            DeliveryStatus(
                "01FC66621VHDBN119Z8PMV1AHZ", "14155550102", None, "Delivered", "0", False
            ),
            DeliveryStatus(
                "01FC66621VHDBN119Z8PMV1AHZ", "14155550101", None, "Failed", "257", True
            ),
        ],
    ),
    (
        "messagemedia",
        "messagemedia_stop.json",
        [
            InboundSms(
                "a175e797-2b54-468b-9850-41a3eab32f74",
                "+61491570157",
                "+61491570156",
                "STOP",
                datetime(2024, 5, 3, 9, 15, 2, 427000, tzinfo=UTC),
            )
        ],
    ),
    (
        "messagemedia",
        "messagemedia_status.json",
        [
            DeliveryStatus(
                "38a6a1a0-36a9-4117-aaee-c0e893393634", "+61491570157", None, "failed", "220", False
            )
        ],
    ),
    (
        "vonage",
        "vonage_stop.txt",
        [
            InboundSms(
                "0A0000000123ABCD1",
                "14155550101",
                "18005550100",
                "Stop please",
                datetime(2024, 5, 3, 9, 15, 2, tzinfo=UTC),
                "sms",
                "STOP",
            )
        ],
    ),
    (
        "vonage",
        "vonage_status_optout.txt",
        [DeliveryStatus("0A0000000123ABCD2", "14155550101", "18005550100", "failed", "9", True)],
    ),
    (
        "vonage",
        "vonage_messages_stop.json",
        [
            InboundSms(
                "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
                "14155550101",
                "18005550100",
                "STOP",
                datetime(2024, 5, 3, 9, 15, 2, tzinfo=UTC),
                "sms",
                "STOP",
            )
        ],
    ),
    (
        "vonage",
        "vonage_messages_status.json",
        [
            DeliveryStatus(
                "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ac",
                "14155550101",
                "18005550100",
                "rejected",
                "1320",
                False,
            )
        ],
    ),
    (
        "plivo",
        "plivo_stop.txt",
        [
            InboundSms(
                "6ab1fe3c-0f7c-11ef-9d3e-0242ac110003",
                "14155550101",
                "18005550100",
                "STOP",
                None,
                "sms",
                "optout",
            )
        ],
    ),
    (
        "plivo",
        "plivo_status_optout.txt",
        [
            DeliveryStatus(
                "7bc2fe3c-0f7c-11ef-9d3e-0242ac110004",
                "14155550101",
                "18005550100",
                "failed",
                "200",
                True,
            )
        ],
    ),
    (
        "telnyx",
        "telnyx_stop.json",
        [
            InboundSms(
                "84cca175-9755-4859-b67f-4730d7f58aa3",
                "+14155550101",
                "+18005550100",
                "STOP",
                datetime(2024, 5, 3, 9, 15, 1, 900000, tzinfo=UTC),
                "sms",
                "stop",
            )
        ],
    ),
    (
        "telnyx",
        "telnyx_status_optout.json",
        [
            DeliveryStatus(
                "40385f64-5717-4562-b3fc-2c963f66afa6",
                "+14155550101",
                "+18005550100",
                "sending_failed",
                "40300",
                True,
            )
        ],
    ),
    (
        "bandwidth",
        "bandwidth_stop.json",
        [
            InboundSms(
                "14762070468292kw2fuqty55yp2b2",
                "+14155550101",
                "+18005550100",
                "STOP",
                datetime(2024, 5, 3, 9, 15, 2, 123000, tzinfo=UTC),
            )
        ],
    ),
    (
        "bandwidth",
        "bandwidth_status_optout.json",
        [
            DeliveryStatus(
                "1589228074636lm4k2je7j7jklbn2",
                "+14155550101",
                "+18005550100",
                "failed",
                "4775",
                True,
            ),
            DeliveryStatus(
                "1589228074636lm4k2je7j7jklbn3",
                "+14155550102",
                "+18005550100",
                "delivered",
                None,
                False,
            ),
        ],
    ),
]


@pytest.mark.parametrize(("provider", "name", "expected"), PARSED, ids=[p[1] for p in PARSED])
def test_a_recorded_payload_parses_field_by_field(
    provider: str, name: str, expected: list[Any]
) -> None:
    assert REGISTRY[provider].parse(_request(provider, name)) == expected


@pytest.mark.parametrize(
    ("provider", "name", "number"),
    [
        ("twilio", "twilio_stop.txt", "+18005550100"),
        ("twilio", "twilio_status_optout.txt", "+18005550100"),
        ("sinch", "sinch_stop.json", "18005550100"),
        ("sinch", "sinch_status_optout.json", None),
        ("messagemedia", "messagemedia_stop.json", "+61491570156"),
        ("vonage", "vonage_stop.txt", "18005550100"),
        ("vonage", "vonage_status_optout.txt", "18005550100"),
        ("vonage", "vonage_messages_stop.json", "18005550100"),
        ("vonage", "vonage_messages_status.json", "18005550100"),
        ("plivo", "plivo_stop.txt", "18005550100"),
        ("plivo", "plivo_status_optout.txt", "18005550100"),
        ("telnyx", "telnyx_stop.json", "+18005550100"),
        ("telnyx", "telnyx_status_optout.json", "+18005550100"),
        ("bandwidth", "bandwidth_stop.json", "+18005550100"),
        ("bandwidth", "bandwidth_status_optout.json", "+18005550100"),
    ],
)
def test_destination_is_our_own_number(provider: str, name: str, number: str | None) -> None:
    assert REGISTRY[provider].destination(_request(provider, name)) == number


GET_AND_JSON: list[tuple[str, s.Builder, str]] = [
    ("twilio", lambda: s.twilio_get("twilio_stop.txt"), "STOP"),
    ("twilio", s.twilio_json, "STOP"),
    ("vonage", lambda: s.vonage_get("vonage_stop.txt"), "Stop please"),
]


@pytest.mark.parametrize(("provider", "build", "text"), GET_AND_JSON)
def test_get_and_json_variants_parse_too(provider: str, build: s.Builder, text: str) -> None:
    (event,) = REGISTRY[provider].parse(build()[0])
    assert isinstance(event, InboundSms)
    assert event.text == text


GARBAGE = [b"", b"\xff\xfe", b"{not json", b"[]", b"42", b'{"data": 1}', b"a=%FF%FE"]


@pytest.mark.parametrize("provider", sorted(REGISTRY))
@pytest.mark.parametrize("body", GARBAGE)
def test_a_malformed_body_is_invalid_payload_and_has_no_destination(
    provider: str, body: bytes
) -> None:
    request = post(URL, body, JSON if body[:1] in (b"{", b"[") else FORM)
    assert REGISTRY[provider].destination(request) is None
    if provider == "bandwidth" and body == b"[]":
        assert REGISTRY[provider].parse(request) == []  # an empty batch is legal
        return
    with pytest.raises(InvalidPayload) as raised:
        REGISTRY[provider].parse(request)
    assert raised.value.data["provider"] == provider


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("twilio", b"From=%2B14155550101&Body=STOP"),  # no MessageSid
        ("plivo", b"From=1&To=2&Text=STOP"),  # no MessageUUID
        ("vonage", b"msisdn=1&text=STOP&messageId=x"),  # no to
        ("sinch", b'{"type": "mo_text", "id": "x", "from": "1", "to": "2", "body": 5}'),
        ("telnyx", b'{"data": {"event_type": "message.received", "payload": {"id": "x"}}}'),
        ("bandwidth", b'[{"type": "message-received", "message": {"id": "x"}}]'),
        ("messagemedia", b'{"reply_id": "x", "content": "STOP"}'),
    ],
)
def test_a_message_missing_a_required_field_is_invalid_payload(provider: str, body: bytes) -> None:
    request = post(URL, body, JSON if body[:1] in (b"{", b"[") else FORM)
    with pytest.raises(InvalidPayload):
        REGISTRY[provider].parse(request)


def test_error_messages_carry_no_number_or_text() -> None:
    request = post(URL, b"From=%2B14155550101&Body=STOP+now", FORM)
    with pytest.raises(InvalidPayload) as raised:
        REGISTRY["twilio"].parse(request)
    assert "4155550101" not in str(raised.value.to_dict())
    assert "STOP" not in str(raised.value.to_dict())


@pytest.mark.parametrize(
    "event_type", ["message.sent.unknown", "call.initiated", "message.finalizing"]
)
def test_telnyx_ignores_other_event_types(event_type: str) -> None:
    body = b'{"data": {"event_type": "%s", "payload": {}}}' % event_type.encode()
    assert REGISTRY["telnyx"].parse(post(URL, body, JSON)) == []


def test_header_names_are_case_insensitive() -> None:
    request = WebhookRequest("post", URL, {"X-Twilio-Signature": "abc"}, b"")
    assert request.method == "POST"
    assert request.header("x-twilio-signature") == request.header("X-TWILIO-SIGNATURE") == "abc"
