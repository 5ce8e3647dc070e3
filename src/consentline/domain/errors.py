"""The one exception tree of consentline.

Every error the library raises on purpose is a ``ConsentlineError``; callers can
catch that one class, or a narrower one. Each error carries its data as
attributes and has a stable ``code`` (used by the HTTP layer and ``--json``
output) so that no edge has to parse messages::

    ConsentlineError
    ├── InvalidInput                 bad value supplied by the caller (4xx)
    │   ├── InvalidAddress           not a valid phone number / email address
    │   ├── InvalidAction            not one of opt_in, opt_out, resume, lapse, pending
    │   ├── InvalidReach             not one of line, account, tree
    │   ├── InvalidChannel           not one of sms, whatsapp, email
    │   ├── InvalidSlug              account slug not usable as an identifier
    │   ├── InvalidTime              naive datetime, unparsable time, bad window
    │   ├── InvalidKeyword           keyword rejected by the keyword lint
    │   ├── InvalidConfig            malformed tenant / account setting
    │   ├── InvalidProof             proof not a bounded JSON object of valid Unicode
    │   └── InvalidPayload           a provider webhook body that cannot be parsed
    ├── Unauthorized                 no or unknown API key (401)
    ├── Forbidden                    key valid but not allowed here (403)
    │   └── SignatureInvalid         provider webhook signature missing or wrong
    ├── NotFound                     a referenced thing does not exist (404)
    │   ├── UnknownAccount
    │   ├── UnknownLine
    │   ├── UnknownPurpose
    │   └── UnknownReviewItem
    ├── Conflict                     the write contradicts stored state (409)
    │   ├── AccountExists
    │   ├── LineExists
    │   ├── AccountCycle             the account tree would contain a cycle
    │   ├── CrossTenant              a reference leaves the tenant
    │   ├── IdempotencyConflict      key reused with a different request
    │   └── ReviewDecided            the review item was already decided
    ├── LimitExceeded                a request is over a documented limit (413)
    │   ├── TooManyRecipients        a bulk check lists more than the limit
    │   ├── BudgetExceeded           a bulk check used up its time budget
    │   └── TooManyBulkChecks        the server is running its cap of bulk checks (429)
    └── StorageError                 the database failed; nothing was written (503)

Phone numbers are masked in messages (C23): logs and error reports never carry a
full number. An error's message and data never hold a NUL or a lone surrogate
(each is shown as U+FFFD), so any error can be written as JSON or to a log, even
one about a value that held them.
"""

from __future__ import annotations

import re
from typing import Any

# The code points no JSON answer or database text can carry (see domain.evidence).
_UNPRINTABLE = re.compile("[\x00\ud800-\udfff]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNPRINTABLE.sub("\ufffd", value)
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    return value


def mask(address: str) -> str:
    """Mask an address for messages and logs: ``+14155550101`` -> ``+1415***0101``.

    Keeps enough to recognise a number in an investigation, never the whole of it
    (C23). Email addresses keep the first letter and the domain.
    """
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(address) <= 6:
        return "***"
    return f"{address[:5]}***{address[-4:]}" if len(address) > 10 else f"{address[:3]}***"


class ConsentlineError(Exception):
    """Base of every error consentline raises deliberately."""

    code = "consentline_error"

    def __init__(self, message: str, **data: Any) -> None:
        message = _clean(message)
        super().__init__(message)
        self.message = message
        self.data = {name: _clean(value) for name, value in data.items()}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"code": ..., "message": ..., **data}``."""
        return {"code": self.code, "message": self.message, **self.data}

    def __str__(self) -> str:
        return self.message


class InvalidInput(ConsentlineError):
    code = "invalid_input"


class InvalidAddress(InvalidInput):
    code = "invalid_address"


class InvalidAction(InvalidInput):
    code = "invalid_action"


class InvalidReach(InvalidInput):
    code = "invalid_reach"


class InvalidChannel(InvalidInput):
    code = "invalid_channel"


class InvalidSlug(InvalidInput):
    code = "invalid_slug"


class InvalidTime(InvalidInput):
    code = "invalid_time"


class InvalidKeyword(InvalidInput):
    code = "invalid_keyword"


class InvalidConfig(InvalidInput):
    code = "invalid_config"


class InvalidProof(InvalidInput):
    code = "invalid_proof"


class InvalidPayload(InvalidInput):
    code = "invalid_payload"


class Unauthorized(ConsentlineError):
    code = "unauthorized"


class Forbidden(ConsentlineError):
    code = "forbidden"


class SignatureInvalid(Forbidden):
    code = "signature_invalid"


class NotFound(ConsentlineError):
    code = "not_found"


class UnknownAccount(NotFound):
    code = "unknown_account"


class UnknownLine(NotFound):
    code = "unknown_line"


class UnknownPurpose(NotFound):
    code = "unknown_purpose"


class Conflict(ConsentlineError):
    code = "conflict"


class AccountExists(Conflict):
    code = "account_exists"


class LineExists(Conflict):
    code = "line_exists"


class AccountCycle(Conflict):
    code = "account_cycle"


class CrossTenant(Conflict):
    code = "cross_tenant"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class LimitExceeded(ConsentlineError):
    code = "limit_exceeded"


class TooManyRecipients(LimitExceeded):
    code = "too_many_recipients"


class BudgetExceeded(LimitExceeded):
    code = "check_budget_exceeded"


class TooManyBulkChecks(LimitExceeded):
    code = "too_many_bulk_checks"


class StorageError(ConsentlineError):
    code = "storage_error"


class UnknownReviewItem(NotFound):
    code = "unknown_review_item"


class ReviewDecided(Conflict):
    code = "review_decided"


# -- the Twilio-compatible gateway's answers (providers.gateway, services.gateway) ------
class GatewayError(ConsentlineError):
    """An answer of the send gateway in Twilio's error shape.

    ``status`` is the HTTP status, ``twilio_code`` Twilio's own error code (21610 for
    an unsubscribed recipient, 20003 for a failed authentication, ...; by default
    ``20000 + status``, as Twilio's 20404); ``extra`` is added to the body
    (``consentline_reason``, ``consentline_code``). The one error→response registry
    answers it with Twilio's body
    (``providers.gateway.error_body``), never with consentline's.
    """

    code = "gateway_error"

    def __init__(
        self, message: str, *, status: int = 400, twilio_code: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message, **extra)
        self.status = status
        # Twilio's own pattern for an HTTP status without a code of its own: 20000 + status.
        self.twilio_code = 20000 + status if twilio_code is None else twilio_code
        self.extra = dict(self.data)
