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
2. :func:`parse_form` - the body is UTF-8 form data in which no field appears twice
   (``MediaUrl`` and ``PersistentAction``, Twilio's list parameters, excepted):
   otherwise 400 in Twilio's shape, 21211 for a repeated ``To``, 21212 for a
   repeated ``From``, 70002 (Twilio's "Bad request") for any other field. A
   checked first ``To`` must never travel beside an unchecked second one.
3. :func:`decide` - the sending line is ``From``, or else ``MessagingServiceSid``
   (treated as a line id, e.g. a pool ``MG...``); it must be a line of the resolved
   account's subtree, else 400 (Twilio 21606). The purpose is the ``X-Consent-Purpose``
   header, else :data:`DEFAULT_PURPOSE` (``marketing``). Then ONE consent check.
4. Denied -> HTTP 400 with Twilio's body for an unsubscribed recipient (code 21610)
   for every denial reason, so apps that already handle 21610 keep working; the
   message is Twilio's own for ``opted_out`` and names the consentline reason for the
   others; ``consentline_reason`` carries the reason in every case. A ``To`` that is
   not a phone number is HTTP 400 with Twilio's 21211 ("Invalid 'To' Phone Number"),
   as Twilio answers it.
5. Allowed -> :func:`forward`: the checked fields, form-encoded again (exactly the
   pairs that were checked), to
   ``{upstream_base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` with Basic
   auth (stored ``account_sid``, ``auth_token``), through the outbound policy
   (:mod:`consentline.providers.transport`). From Twilio's own API (no ``upstream_base_url``,
   or an https one on ``twilio.com``) the status, body and content type come back
   unchanged. From any other host (a stand-in, a relay) only a 2xx whose body is a
   Twilio Message resource (a JSON object whose ``sid`` is a message SID) comes back,
   and only with the Message resource's fields; anything else is the one generic
   502 (code 20502), whatever the host answered, so the gateway cannot be used to
   read another server's pages or to tell its closed ports from its errors.
   Unreachable, or refused by the outbound policy -> 502 (code 20502).

One log line per decided send (allowed or denied, reason, account slug, masked
recipient); never a body, never a full number.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

import httpx

from consentline.client import Consentline
from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import ConsentlineError, InvalidAddress, Unauthorized, mask
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.domain.policy import Decision
from consentline.domain.scopes import Account, Directory, Line
from consentline.providers.transport import AsyncGuardedTransport
from consentline.services.api_keys import RANK, ApiKey, ApiKeys
from consentline.services.credentials import CredentialSet, ProviderCredentials

__all__ = [
    "DEFAULT_PURPOSE",
    "DEFAULT_UPSTREAM",
    "Allowed",
    "GatewayError",
    "Upstream",
    "authenticate",
    "decide",
    "fields_of",
    "forward",
    "is_twilio",
    "parse_form",
]

log = logging.getLogger("consentline.providers.gateway")

DEFAULT_PURPOSE: Final = "marketing"
DEFAULT_UPSTREAM: Final = "https://api.twilio.com"
TIMEOUT: Final = 10.0
PURPOSE_HEADER: Final = "x-consent-purpose"
OPTED_OUT_MESSAGE: Final = "Attempt to send to unsubscribed recipient"
NOT_A_LINE_MESSAGE: Final = (
    "The From phone number is not a valid, SMS-capable inbound phone number or short "
    "code for your account"
)
UNREACHABLE_MESSAGE: Final = "the upstream Twilio API could not be reached"
RELAY_FAILED_MESSAGE: Final = (
    "the configured upstream could not be reached or did not accept the message"
)
# Twilio's list parameters of Message create: the SDK repeats them, one per value.
LIST_FIELDS: Final = frozenset({"MediaUrl", "PersistentAction"})
# Twilio's error for a repeated field: the number's own code for To and From.
REPEATED_CODES: Final[Mapping[str, tuple[int, str]]] = {
    "To": (21211, "Invalid 'To' Phone Number"),
    "From": (21212, "Invalid 'From' Phone Number"),
}
BAD_REQUEST: Final = 70002  # Twilio's "Bad request"
# The fields of Twilio's Message resource: all that a non-Twilio upstream may return.
MESSAGE_FIELDS: Final = frozenset(
    {
        "account_sid",
        "api_version",
        "body",
        "date_created",
        "date_sent",
        "date_updated",
        "direction",
        "error_code",
        "error_message",
        "from",
        "messaging_service_sid",
        "num_media",
        "num_segments",
        "price",
        "price_unit",
        "sid",
        "status",
        "subresource_uris",
        "to",
        "uri",
    }
)
_MESSAGE_SID: Final = re.compile(r"[SM]M[0-9a-fA-F]{32}")


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
    if key.account_id is not None and not directory.is_within(
        credentials.account_id, key.account_id
    ):
        raise _unknown_account(account_sid)  # outside the key's subtree: as if missing
    if RANK[key.role] < RANK["write"]:
        raise GatewayError(403, 20403, f"this key has role {key.role!r}; 'write' is needed")
    return Sender(key, directory.account_by_id(credentials.account_id), credentials)


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a form-encoded body, each name once.

    Only :data:`LIST_FIELDS` may repeat; any other repeated name is refused (400),
    so that what is checked (the one ``To``) is all that is forwarded.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayError(400, 20422, "the body is not UTF-8 form data") from None
    pairs = parse_qsl(text, keep_blank_values=True)
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen and name not in LIST_FIELDS:
            code, message = REPEATED_CODES.get(name, (BAD_REQUEST, "Bad request"))
            raise GatewayError(
                400, code, f"{message}: the parameter {name!r} is given more than once"
            )
        seen.add(name)
    return pairs


def fields_of(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The form as a mapping (the first value of a list field)."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


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
    if line is None or not directory.is_within(line.account_id, account.id):
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
    try:
        decision = client.check(to, from_=line.number, purpose=chosen)
    except InvalidAddress:
        log.info(
            "gateway send denied: reason=invalid_address account=%s purpose=%s",
            sender.account.slug,
            chosen,
        )
        raise GatewayError(
            400, 21211, "Invalid 'To' Phone Number", consentline_reason="invalid_address"
        ) from None
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
    """The upstream's answer, as the gateway returns it."""

    status: int
    content: bytes
    content_type: str | None


def upstream_url(credentials: CredentialSet) -> str:
    base = credentials.fields.get("upstream_base_url") or DEFAULT_UPSTREAM
    sid = credentials.fields["account_sid"]
    return f"{base.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"


def is_twilio(url: str) -> bool:
    """Is ``url`` on Twilio's own API (https, a host under ``twilio.com``)?"""
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    host = parts.host.removesuffix(".")
    return (
        parts.scheme == "https"
        and parts.port in (None, 443)
        and (host == "twilio.com" or host.endswith(".twilio.com"))
    )


def _relayed(answer: httpx.Response) -> Upstream:
    """A non-Twilio upstream's answer: a Message resource's fields, or the generic 502."""
    if 200 <= answer.status_code < 300:
        try:
            resource = json.loads(answer.content)
        except ValueError:
            resource = None
        if isinstance(resource, dict) and _MESSAGE_SID.fullmatch(str(resource.get("sid"))):
            kept = {k: v for k, v in resource.items() if k in MESSAGE_FIELDS}
            return Upstream(answer.status_code, json.dumps(kept).encode(), "application/json")
    # Status only (never the body) for the operator; the caller gets the generic answer.
    log.warning("gateway upstream (not Twilio's API) answered HTTP %s", answer.status_code)
    raise GatewayError(502, 20502, RELAY_FAILED_MESSAGE)


async def forward(
    credentials: CredentialSet,
    pairs: Sequence[tuple[str, str]],
    *,
    allow: OutboundAllow = NOTHING,
    timeout: float = TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Upstream:
    """POST the checked ``pairs`` to Twilio (or the configured upstream) with the stored
    credentials, through the outbound policy (``allow``: the installation's exceptions;
    ``transport`` replaces the guarded one, for tests)."""
    url = upstream_url(credentials)
    twilio = is_twilio(url)
    auth = (credentials.fields["account_sid"], credentials.fields["auth_token"])
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(
            timeout=timeout,
            transport=transport or AsyncGuardedTransport(allow),
            follow_redirects=False,
            trust_env=False,
        ) as http:
            answer = await http.post(
                url, content=urlencode(list(pairs)).encode(), headers=headers, auth=auth
            )
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        log.warning("gateway upstream unreachable: %s", type(error).__name__)
        message = UNREACHABLE_MESSAGE if twilio else RELAY_FAILED_MESSAGE
        raise GatewayError(502, 20502, message) from None
    if not twilio:
        return _relayed(answer)
    return Upstream(answer.status_code, answer.content, answer.headers.get("content-type"))
