"""The Twilio-compatible send gateway: authenticate, decide, forward.

An app using the official ``twilio`` SDK points ``client.api.base_url`` at consentline
and uses a consentline API key as the SDK's password (the username stays the Twilio
AccountSid). For ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``:

1. :func:`authenticate` - HTTP Basic: the password is a consentline API key (role
   ``write`` or higher), the username must be the AccountSid of the URL. Missing or
   wrong -> 401 (Twilio 20003). The AccountSid is looked up among the stored Twilio
   credentials (``account_sid``); unknown, or on an account outside the key's subtree
   -> 404 (Twilio 20404), the same answer, so a key learns nothing of other tenants.
   A ``read`` key -> 403 (Twilio 20403).
2. :func:`decide` - the sending line is ``From``, or else ``MessagingServiceSid``
   (treated as a line id, e.g. a pool ``MG...``); it must be a line of the resolved
   account's subtree, else 400 (Twilio 21606). The purpose is the ``X-Consent-Purpose``
   header, else :data:`DEFAULT_PURPOSE` (``marketing``). Then ONE consent check.
3. Denied -> HTTP 400 with Twilio's body for an unsubscribed recipient (code 21610)
   for every denial reason, so apps that already handle 21610 keep working; the
   message is Twilio's own for ``opted_out`` and names the consentline reason for the
   others; ``consentline_reason`` carries the reason in every case. An invalid ``To``
   is Twilio's 21211 instead.
4. Allowed -> :func:`forward`: the same form body, byte for byte, to
   ``{upstream_base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` with Basic
   auth (stored ``account_sid``, ``auth_token``); Twilio's status, body and content
   type come back unchanged. Unreachable upstream -> 502 (code 20502).

One log line per decided send (allowed or denied, reason, account slug, masked
recipient); never a body, never a full number.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import httpx

from consentline.apikeys import RANK, ApiKey, ApiKeys
from consentline.client import Consentline
from consentline.credentials import CredentialSet, ProviderCredentials
from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import ConsentlineError, Unauthorized, mask
from consentline.domain.policy import Decision
from consentline.domain.scopes import Account, Directory, Line

__all__ = [
    "DEFAULT_PURPOSE",
    "DEFAULT_UPSTREAM",
    "Allowed",
    "GatewayError",
    "Upstream",
    "authenticate",
    "decide",
    "forward",
]

log = logging.getLogger("consentline.gateway")

DEFAULT_PURPOSE: Final = "marketing"
DEFAULT_UPSTREAM: Final = "https://api.twilio.com"
TIMEOUT: Final = 10.0
PURPOSE_HEADER: Final = "x-consent-purpose"
OPTED_OUT_MESSAGE: Final = "Attempt to send to unsubscribed recipient"
NOT_A_LINE_MESSAGE: Final = (
    "The From phone number is not a valid, SMS-capable inbound phone number or short "
    "code for your account"
)


def more_info(code: int) -> str:
    return f"https://www.twilio.com/docs/errors/{code}"


class GatewayError(Exception):
    """An answer in Twilio's error shape: ``{"code", "message", "more_info", "status"}``."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": more_info(self.code),
            "status": self.status,
            **self.extra,
        }

    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None


def _unauthenticated() -> GatewayError:
    return GatewayError(401, 20003, "Authenticate")


def _unknown_account(account_sid: str) -> GatewayError:
    return GatewayError(
        404,
        20404,
        f"The requested resource /2010-04-01/Accounts/{account_sid}/Messages.json was not found",
    )


def from_library_error(error: ConsentlineError, status: int) -> GatewayError:
    """A consentline error in Twilio's shape (``20000 + status``, as Twilio's own 20404)."""
    return GatewayError(status, 20000 + status, str(error), consentline_code=error.code)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` of an ``Authorization: Basic`` header, or None."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who may send as ``account``, with the Twilio credentials to forward with."""

    key: ApiKey
    account: Account
    credentials: CredentialSet


def authenticate(
    client: Consentline, keys: ApiKeys, account_sid: str, authorization: str | None
) -> Sender:
    """The key and the account behind ``account_sid``, or a Twilio-shaped error."""
    basic = basic_credentials(authorization)
    if basic is None:
        raise _unauthenticated()
    username, password = basic
    try:
        key = keys.authenticate(password)
    except Unauthorized:
        raise _unauthenticated() from None
    if username != account_sid:
        raise _unauthenticated()
    store = ProviderCredentials(client.engine, client.now)
    credentials = store.by_external_id("twilio", account_sid)
    if credentials is None:
        raise _unknown_account(account_sid)
    directory = client.directory()
    if key.account_id is not None and not any(
        a.id == key.account_id for a in directory.ancestors(credentials.account_id)
    ):
        raise _unknown_account(account_sid)  # outside the key's subtree: as if missing
    if RANK[key.role] < RANK["write"]:
        raise GatewayError(403, 20403, f"this key has role {key.role!r}; 'write' is needed")
    return Sender(key, directory.account_by_id(credentials.account_id), credentials)


def parse_form(body: bytes) -> dict[str, str]:
    """The first value of each field of a form-encoded body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayError(400, 20422, "the body is not UTF-8 form data") from None
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


def _find_line(directory: Directory, number: str) -> Line | None:
    line = directory.find_line(number)
    if line is None:
        try:
            line = directory.find_line(normalise_line_id(number))
        except ConsentlineError:
            return None
    return line


def sending_line(directory: Directory, account: Account, form: Mapping[str, str]) -> Line:
    """``From`` (else ``MessagingServiceSid``) as a line of ``account``'s subtree."""
    sender = form.get("From") or form.get("MessagingServiceSid")
    if not sender:
        raise GatewayError(400, 21603, "A 'From' phone number is required.")
    line = _find_line(directory, sender)
    if line is None or not any(a.id == account.id for a in directory.ancestors(line.account_id)):
        raise GatewayError(400, 21606, NOT_A_LINE_MESSAGE)
    return line


@dataclass(frozen=True, slots=True)
class Allowed:
    line: Line
    decision: Decision


def decide(
    client: Consentline, sender: Sender, form: Mapping[str, str], purpose: str | None
) -> Allowed:
    """Check consent for the send; :class:`GatewayError` (and a log line) if denied."""
    to = form.get("To")
    if not to:
        raise GatewayError(400, 21604, "A 'To' phone number is required.")
    line = sending_line(client.directory(), sender.account, form)
    chosen = purpose or DEFAULT_PURPOSE
    decision = client.check(to, from_=line.number, purpose=chosen)
    log.info(
        "gateway send %s: reason=%s account=%s purpose=%s to=%s",
        "allowed" if decision.allowed else "denied",
        decision.reason,
        sender.account.slug,
        chosen,
        mask(decision.to),
    )
    if decision.allowed:
        return Allowed(line, decision)
    if decision.reason == "invalid_address":
        raise GatewayError(
            400, 21211, "Invalid 'To' Phone Number", consentline_reason=decision.reason
        )
    message = (
        OPTED_OUT_MESSAGE
        if decision.reason == "opted_out"
        else f"{OPTED_OUT_MESSAGE}: consentline denied the send ({decision.reason})"
    )
    raise GatewayError(400, 21610, message, consentline_reason=decision.reason)


@dataclass(frozen=True, slots=True)
class Upstream:
    """Twilio's answer, passed through unchanged."""

    status: int
    content: bytes
    content_type: str | None


def upstream_url(credentials: CredentialSet) -> str:
    base = credentials.fields.get("upstream_base_url") or DEFAULT_UPSTREAM
    sid = credentials.fields["account_sid"]
    return f"{base.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"


async def forward(
    credentials: CredentialSet,
    body: bytes,
    content_type: str | None,
    *,
    timeout: float = TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Upstream:
    """POST ``body`` to Twilio (or the configured stand-in) with the stored credentials."""
    auth = (credentials.fields["account_sid"], credentials.fields["auth_token"])
    headers = {
        "Content-Type": content_type or "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as http:
            answer = await http.post(
                upstream_url(credentials), content=body, headers=headers, auth=auth
            )
    except httpx.HTTPError as error:
        log.warning("gateway upstream unreachable: %s", type(error).__name__)
        raise GatewayError(502, 20502, "the upstream Twilio API could not be reached") from None
    return Upstream(answer.status_code, answer.content, answer.headers.get("content-type"))
