"""The webhook use case on fakes: a stand-in provider, credentials in a dict, no database.

What the HTTP suite shows end to end (tests/http/test_webhooks.py), here as the
service's own contract: nothing reaches the recording callables unless the
signature verified, and a verified opted-out receipt becomes one ``opt_out``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from consentline.domain.errors import InvalidPayload, SignatureInvalid
from consentline.domain.scopes import Account, Directory, Line
from consentline.services.credentials import CredentialSet, UnknownProvider
from consentline.services.inbound import InboundMessage, InboundResult
from consentline.services.provider_port import (
    CredentialProblem,
    DeliveryStatus,
    Event,
    InboundSms,
    ProviderReply,
    WebhookRequest,
)
from consentline.services.recording import RecordRequest
from consentline.services.webhooks import WebhookCall, Webhooks

T = TypeVar("T")
NOW = datetime(2025, 1, 31, 12, tzinfo=UTC)
LINE = "+18005550100"
HANDSET = "+14155550101"
DIRECTORY = Directory([Account(1, "acme", 1, None, "tree", False, "US")], [Line(1, LINE, 1, 1)])


class Standin:
    """A provider whose signature is the header ``x-sig: <secret>``; the body is
    ``receipt`` (an opted-out delivery report from our line) or ``empty``."""

    name = "standin"
    credential_fields = ("secret",)

    def destination(self, request: WebhookRequest) -> str | None:
        return LINE

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        if request.header("x-sig") != credentials["secret"]:
            raise SignatureInvalid("x-sig does not match", provider=self.name)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        if request.body == b"receipt":
            return [DeliveryStatus("m1", HANDSET, LINE, "failed", "21610", opted_out=True)]
        if request.body == b"empty":
            return []
        raise InvalidPayload("unreadable", provider=self.name)

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        return ProviderReply(200, "text/plain", b"ok")


@dataclass
class Credentials:
    fields: dict[str, str] = field(default_factory=lambda: {"secret": "s3"})

    def resolve(
        self, directory: Directory, *, account_id: int, provider: str
    ) -> CredentialSet | None:
        return CredentialSet(1, provider, self.fields, NOW)

    def claim_nonce(self, provider: str, nonce: str, request: WebhookRequest) -> None:
        raise AssertionError("the stand-in uses no nonces")


@dataclass
class Recorded:
    inbound: list[InboundMessage] = field(default_factory=list)
    opt_outs: list[RecordRequest] = field(default_factory=list)


def _webhooks(recorded: Recorded) -> Webhooks:
    async def inbound(messages: Sequence[InboundMessage]) -> list[InboundResult]:
        recorded.inbound.extend(messages)
        return []

    async def offload(func: Callable[[], T]) -> T:
        return func()

    def record(requests: list[RecordRequest]) -> Any:
        recorded.opt_outs.extend(requests)

    return Webhooks(
        providers={"standin": Standin()},
        credentials=Credentials(),
        directory=lambda: DIRECTORY,
        inbound=inbound,
        record=record,
        offload=offload,
    )


def _call(body: bytes, signature: str, provider: str = "standin") -> WebhookCall:
    return WebhookCall(
        provider, "POST", "https://x.test/webhooks/standin", {"X-Sig": signature}, body, NOW
    )


def test_a_verified_opted_out_receipt_is_recorded_as_one_provider_signal_opt_out() -> None:
    recorded = Recorded()
    answer = asyncio.run(_webhooks(recorded).receive(_call(b"receipt", "s3")))
    assert (answer.status, answer.content_type, answer.body) == (200, "text/plain", b"ok")
    [opt_out] = recorded.opt_outs
    assert (opt_out.address, opt_out.action, opt_out.via) == (HANDSET, "opt_out", LINE)
    assert opt_out.source == "provider_signal"
    assert opt_out.idempotency_key == "standin:status:m1"


def test_a_bad_signature_records_nothing_and_is_the_one_unverified_answer() -> None:
    recorded = Recorded()
    with pytest.raises(SignatureInvalid) as refused:
        asyncio.run(_webhooks(recorded).receive(_call(b"receipt", "wrong")))
    assert "could not be verified" in refused.value.message
    assert recorded == Recorded()


def test_an_unknown_provider_is_refused_before_anything_else() -> None:
    recorded = Recorded()
    with pytest.raises(UnknownProvider):
        asyncio.run(_webhooks(recorded).receive(_call(b"receipt", "s3", provider="nope")))
    with pytest.raises(UnknownProvider):
        _webhooks(recorded).accepts_get("nope")
    assert _webhooks(recorded).accepts_get("standin") is False
    assert recorded == Recorded()
