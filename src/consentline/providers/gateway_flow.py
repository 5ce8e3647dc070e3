"""The Twilio-compatible send gateway's flow: authenticate, decide, forward.

It lives beside the wire format rather than under ``services/`` because every step
answers in Twilio's terms (its error codes, its form rules); it calls the services
(API keys, provider credentials, the gate) and is called once by the route.

For ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (Twilio's side of it,
the wire format, is :mod:`consentline.providers.gateway`):

1. authenticate - HTTP Basic: the password is a consentline API key (role ``write``
   or higher), the username must be the AccountSid of the URL. Missing or wrong ->
   401 (Twilio 20003). The AccountSid is looked up among the stored Twilio
   credentials (``account_sid``, through the app's credentials cache); unknown, or on
   an account outside the key's subtree -> 404 (Twilio 20404), the same answer, so a
   key learns nothing of other tenants. A ``read`` key -> 403 (Twilio 20403).
2. parse the form (each field once, :func:`~consentline.providers.gateway.parse_form`).
3. decide - the sending line is ``From``, or else ``MessagingServiceSid`` (treated as
   a line id, e.g. a pool ``MG...``); it must be a line of the resolved account's
   subtree, else 400 (Twilio 21606). The purpose is the ``X-Consent-Purpose`` header,
   else ``marketing``. Then ONE consent check; denied -> Twilio's 21610 (or 21211).
4. forward the checked pairs upstream, on the app's one client.

Every refusal is a :class:`~consentline.domain.errors.GatewayError`; a library error
on the way (a database outage) is the caller's to put in Twilio's shape
(:func:`~consentline.providers.gateway.from_library_error`).

One log line per decided send (allowed or denied, reason, account slug, masked
recipient); never a body, never a full number (C23).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import (
    ConsentlineError,
    InvalidAddress,
    InvalidInput,
    Unauthorized,
    mask,
)
from consentline.domain.policy import Decision, check_name
from consentline.domain.scopes import Account, Directory, Line
from consentline.providers import gateway as wire
from consentline.services.api_keys import RANK, ApiKey, ApiKeys
from consentline.services.credentials import CredentialSet, ProviderCredentials
from consentline.services.webhooks import Offload

__all__ = ["Gateway", "Send", "Sender"]

log = logging.getLogger("consentline.gateway")

# What the gate answers: ``check(to, from_=line, purpose=purpose)``.
Check = Callable[..., Decision]
# Stores a decision (line, decision, purpose, campaign): ``client.record_gateway``.
Record = Callable[[Line, Decision, str, str | None], None]
# The upstream POST: ``forward(credential_fields, pairs)`` (the app's one client).
Forward = Callable[[Mapping[str, str], Sequence[tuple[str, str]]], Awaitable[wire.Upstream]]


@dataclass(frozen=True, slots=True)
class Send:
    """One Messages.json request, as values."""

    account_sid: str
    authorization: str | None
    body: bytes
    purpose: str | None = None
    campaign: str | None = None  # X-Consent-Campaign


@dataclass(frozen=True, slots=True)
class Sender:
    """Who may send as ``account``, with the Twilio credentials to forward with."""

    key: ApiKey
    account: Account
    credentials: CredentialSet


class Gateway:
    """``await gateway.send(Send(...))``: the upstream's answer, or a ``GatewayError``.

    ``check`` is the gate, ``forward`` the upstream POST on the app's one client and
    ``offload`` runs the blocking part (keys, credentials, the check) off the loop.
    """

    def __init__(
        self,
        *,
        keys: ApiKeys,
        credentials: ProviderCredentials,
        directory: Callable[[], Directory],
        check: Check,
        forward: Forward,
        offload: Offload,
        record: Record | None = None,
    ) -> None:
        self._keys = keys
        self._credentials = credentials
        self._directory = directory
        self._check = check
        self._forward = forward
        self._offload = offload
        self._record = record

    async def send(self, send: Send) -> wire.Upstream:
        """Decide (off the event loop), then forward what was checked."""
        sender, pairs = await self._offload(lambda: self.decide(send))
        return await self._forward(sender.credentials.fields, pairs)

    def decide(self, send: Send) -> tuple[Sender, list[tuple[str, str]]]:
        """Authenticate, parse and check (blocking: a key or credentials cache miss
        reads the database); the sender and the checked pairs, else a refusal."""
        sender = self.authenticate(send.account_sid, send.authorization)
        pairs = wire.parse_form(send.body)
        self.check(sender, wire.fields_of(pairs), send.purpose, send.campaign)
        return sender, pairs

    def authenticate(self, account_sid: str, authorization: str | None) -> Sender:
        """The key and the account behind ``account_sid``, or a Twilio-shaped error."""
        basic = wire.basic_credentials(authorization)
        if basic is None:
            raise wire.unauthenticated()
        username, password = basic
        try:
            key = self._keys.authenticate(password)
        except Unauthorized:
            raise wire.unauthenticated() from None
        if username != account_sid:
            raise wire.unauthenticated()
        credentials = self._credentials.by_external_id("twilio", account_sid)
        if credentials is None:
            raise wire.unknown_account(account_sid)
        directory = self._directory()
        if key.account_id is not None and not directory.is_within(
            credentials.account_id, key.account_id
        ):
            raise wire.unknown_account(account_sid)  # outside the key's subtree: as if missing
        if RANK[key.role] < RANK["write"]:
            raise wire.forbidden(key.role)
        return Sender(key, directory.account_by_id(credentials.account_id), credentials)

    def check(
        self,
        sender: Sender,
        form: Mapping[str, str],
        purpose: str | None,
        campaign: str | None = None,
    ) -> Decision:
        """Check consent for the send; a ``GatewayError`` (and a log line) if denied.
        The decision is stored (counted per line, bucket and reason; with a campaign,
        added to the line's gateway send of it) before the answer."""
        to = form.get("To")
        if not to:
            raise wire.no_recipient()
        line = sending_line(self._directory(), sender.account, form)
        chosen = purpose or wire.DEFAULT_PURPOSE
        if campaign is not None:
            try:
                check_name("campaign", campaign)
            except InvalidInput:
                raise wire.bad_campaign() from None
        try:
            decision = self._check(to, from_=line.number, purpose=chosen)
        except InvalidAddress:
            if self._record is not None:
                self._record(line, Decision(to, False, "invalid_address"), chosen, campaign)
            log.info(
                "gateway send denied: reason=invalid_address account=%s purpose=%s",
                sender.account.slug,
                chosen,
            )
            raise wire.invalid_to() from None
        log.info(
            "gateway send %s: reason=%s account=%s purpose=%s to=%s",
            "allowed" if decision.allowed else "denied",
            decision.reason,
            sender.account.slug,
            chosen,
            mask(decision.to),
        )
        if self._record is not None:
            self._record(line, decision, chosen, campaign)
        if not decision.allowed:
            raise wire.denied(decision.reason)
        return decision


def sending_line(directory: Directory, account: Account, form: Mapping[str, str]) -> Line:
    """``From`` (else ``MessagingServiceSid``) as a line of ``account``'s subtree."""
    sender = form.get("From") or form.get("MessagingServiceSid")
    if not sender:
        raise wire.no_sender()
    line = directory.find_line(sender)
    if line is None:
        try:
            line = directory.find_line(normalise_line_id(sender))
        except ConsentlineError:
            line = None
    if line is None or not directory.is_within(line.account_id, account.id):
        raise wire.not_a_line()
    return line
