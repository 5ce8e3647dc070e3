"""The Twilio-compatible send gateway's wire format: what Twilio's SDK sends and expects.

An app using the official ``twilio`` SDK points ``client.api.base_url`` at consentline
and uses a consentline API key as the SDK's password (the username stays the Twilio
AccountSid). ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` is orchestrated
by :mod:`consentline.providers.gateway_flow` (authenticate, decide, forward); this module
holds only Twilio's side of it:

* :func:`basic_credentials` - the ``Authorization: Basic`` header of the SDK.
* :func:`parse_form` - the body is UTF-8 form data in which no field appears twice
  (``MediaUrl`` and ``PersistentAction``, Twilio's list parameters, excepted):
  otherwise 400 in Twilio's shape, 21211 for a repeated ``To``, 21212 for a
  repeated ``From``, 70002 (Twilio's "Bad request") for any other field. A
  checked first ``To`` must never travel beside an unchecked second one.
* :func:`denied` - a denied send as Twilio's body for an unsubscribed recipient
  (code 21610) for every denial reason, so apps that already handle 21610 keep
  working; the message is Twilio's own for ``opted_out`` and names the consentline
  reason for the others; ``consentline_reason`` carries the reason in every case. A
  ``To`` that is not a phone number is Twilio's 21211 ("Invalid 'To' Phone Number").
* :func:`error_body` / :func:`error_headers` - a
  :class:`~consentline.domain.errors.GatewayError` as Twilio's
  ``{"code", "message", "more_info", "status"}`` (used by the one error registry,
  :mod:`consentline.http.errors`).
* :func:`forward` - the checked fields, form-encoded again (exactly the pairs that
  were checked), to ``{upstream_base_url}/2010-04-01/Accounts/{account_sid}/Messages.json``
  with Basic auth (stored ``account_sid``, ``auth_token``), through the outbound policy
  (:mod:`consentline.providers.transport`), on the app's one :class:`Forwarder` client. From
  Twilio's own API (no ``upstream_base_url``, or an https one on ``twilio.com``) the
  status, body and content type come back unchanged. From any other host (a stand-in,
  a relay) only a 2xx whose body is a Twilio Message resource (a JSON object whose
  ``sid`` is a message SID) comes back, and only with the Message resource's fields;
  anything else is the one generic 502 (code 20502), whatever the host answered, so
  the gateway cannot be used to read another server's pages or to tell its closed
  ports from its errors. Unreachable, or refused by the outbound policy -> 502 (20502).

Never a body, never a full number in a log line: only the upstream's status or the
class of a connection error.
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

from consentline.domain.errors import ConsentlineError, GatewayError
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.providers.transport import AsyncGuardedTransport

__all__ = [
    "DEFAULT_PURPOSE",
    "DEFAULT_UPSTREAM",
    "Forwarder",
    "GatewayError",
    "Upstream",
    "basic_credentials",
    "denied",
    "error_body",
    "error_headers",
    "fields_of",
    "forward",
    "from_library_error",
    "http_client",
    "invalid_to",
    "is_twilio",
    "parse_form",
]

log = logging.getLogger("consentline.gateway")

DEFAULT_PURPOSE: Final = "marketing"
DEFAULT_UPSTREAM: Final = "https://api.twilio.com"
TIMEOUT: Final = 10.0
PURPOSE_HEADER: Final = "x-consent-purpose"
CAMPAIGN_HEADER: Final = "x-consent-campaign"  # names the campaign the send belongs to
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


def error_body(error: GatewayError) -> dict[str, Any]:
    """``error`` as Twilio's error body (its ``extra`` fields added)."""
    return {
        "code": error.twilio_code,
        "message": error.message,
        "more_info": more_info(error.twilio_code),
        "status": error.status,
        **error.extra,
    }


def error_headers(error: GatewayError) -> dict[str, str] | None:
    """The headers Twilio's API sends with ``error`` (a Basic challenge on a 401)."""
    return {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None


def unauthenticated() -> GatewayError:
    return GatewayError(status=401, twilio_code=20003, message="Authenticate")


def unknown_account(account_sid: str) -> GatewayError:
    return GatewayError(
        status=404,
        twilio_code=20404,
        message=f"The requested resource /2010-04-01/Accounts/{account_sid}/Messages.json"
        " was not found",
    )


def forbidden(role: str) -> GatewayError:
    return GatewayError(
        status=403, twilio_code=20403, message=f"this key has role {role!r}; 'write' is needed"
    )


def from_library_error(error: ConsentlineError, status: int) -> GatewayError:
    """A consentline error in Twilio's shape (``20000 + status``, as Twilio's own 20404)."""
    return GatewayError(str(error), status=status, consentline_code=error.code)


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


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a form-encoded body, each name once.

    Only :data:`LIST_FIELDS` may repeat; any other repeated name is refused (400),
    so that what is checked (the one ``To``) is all that is forwarded.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayError(
            status=400, twilio_code=20422, message="the body is not UTF-8 form data"
        ) from None
    pairs = parse_qsl(text, keep_blank_values=True)
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen and name not in LIST_FIELDS:
            code, message = REPEATED_CODES.get(name, (BAD_REQUEST, "Bad request"))
            raise GatewayError(
                status=400,
                twilio_code=code,
                message=f"{message}: the parameter {name!r} is given more than once",
            )
        seen.add(name)
    return pairs


def fields_of(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The form as a mapping (the first value of a list field)."""
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def no_sender() -> GatewayError:
    return GatewayError(status=400, twilio_code=21603, message="A 'From' phone number is required.")


def not_a_line() -> GatewayError:
    return GatewayError(status=400, twilio_code=21606, message=NOT_A_LINE_MESSAGE)


def bad_campaign() -> GatewayError:
    """An ``X-Consent-Campaign`` that is not a campaign name: a 400 in Twilio's shape,
    refused before any check (so it is not counted as a decision)."""
    return GatewayError(
        status=400,
        twilio_code=20001,
        message="X-Consent-Campaign must be a short lower-case name (letters, digits, '_-.')",
    )


def no_recipient() -> GatewayError:
    return GatewayError(status=400, twilio_code=21604, message="A 'To' phone number is required.")


def invalid_to() -> GatewayError:
    """A ``To`` that is not a phone number, as Twilio answers it (21211)."""
    return GatewayError(
        status=400,
        twilio_code=21211,
        message="Invalid 'To' Phone Number",
        consentline_reason="invalid_address",
    )


def denied(reason: str) -> GatewayError:
    """A send the gate denied for ``reason``, in Twilio's words (21610, or 21211)."""
    if reason == "invalid_address":
        return invalid_to()
    message = (
        OPTED_OUT_MESSAGE
        if reason == "opted_out"
        else f"{OPTED_OUT_MESSAGE}: consentline denied the send ({reason})"
    )
    return GatewayError(status=400, twilio_code=21610, message=message, consentline_reason=reason)


@dataclass(frozen=True, slots=True)
class Upstream:
    """The upstream's answer, as the gateway returns it."""

    status: int
    content: bytes
    content_type: str | None


def upstream_url(fields: Mapping[str, str]) -> str:
    base = fields.get("upstream_base_url") or DEFAULT_UPSTREAM
    sid = fields["account_sid"]
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
    raise GatewayError(status=502, twilio_code=20502, message=RELAY_FAILED_MESSAGE)


def http_client(
    allow: OutboundAllow = NOTHING,
    *,
    timeout: float = TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The client the gateway forwards with: through the outbound policy (``allow``:
    the installation's exceptions; ``transport`` replaces the guarded one, for tests),
    no redirects, nothing taken from the environment (proxies, netrc)."""
    return httpx.AsyncClient(
        timeout=timeout,
        transport=transport or AsyncGuardedTransport(allow),
        follow_redirects=False,
        trust_env=False,
    )


async def forward(
    http: httpx.AsyncClient, fields: Mapping[str, str], pairs: Sequence[tuple[str, str]]
) -> Upstream:
    """POST the checked ``pairs`` to Twilio (or the configured upstream) with the stored
    credentials ``fields``, on ``http`` (see :func:`http_client`)."""
    url = upstream_url(fields)
    twilio = is_twilio(url)
    auth = (fields["account_sid"], fields["auth_token"])
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        answer = await http.post(
            url, content=urlencode(list(pairs)).encode(), headers=headers, auth=auth
        )
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        log.warning("gateway upstream unreachable: %s", type(error).__name__)
        message = UNREACHABLE_MESSAGE if twilio else RELAY_FAILED_MESSAGE
        raise GatewayError(status=502, twilio_code=20502, message=message) from None
    if not twilio:
        return _relayed(answer)
    return Upstream(answer.status_code, answer.content, answer.headers.get("content-type"))


class Forwarder:
    """The gateway's ONE upstream client, opened and closed by the app's lifespan.

    Its connections are kept between sends. An app served without its lifespan (a
    bare test client) still forwards, on a client opened for that one send.
    """

    def __init__(self, allow: OutboundAllow = NOTHING, *, timeout: float = TIMEOUT) -> None:
        self._allow = allow
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        if self._http is None:
            self._http = http_client(self._allow, timeout=self._timeout)

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def __call__(
        self, fields: Mapping[str, str], pairs: Sequence[tuple[str, str]]
    ) -> Upstream:
        if self._http is not None:
            return await forward(self._http, fields, pairs)
        async with http_client(self._allow, timeout=self._timeout) as http:
            return await forward(http, fields, pairs)
