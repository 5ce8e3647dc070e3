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
    │   │   ├── SettingsError        a CONSENTLINE_* variable is missing or wrong (start-up)
    │   │   └── ErasureKeyMissing    erasure asked for without the installation's secret
    │   ├── InvalidProof             proof not a bounded JSON object of valid Unicode
    │   ├── InvalidPayload           a provider webhook body that cannot be parsed
    │   ├── InvalidContactRef        a contact reference that is not system:ref text
    │   ├── InvalidImport            an import's mapping or file cannot be read at all
    │   ├── BlockedDestination       a URL that points at a non-public address
    │   └── CannotSend               no send request can be built (provider, credentials)
    ├── Unauthorized                 no or unknown API key (401)
    ├── Forbidden                    key valid but not allowed here (403)
    │   └── SignatureInvalid         provider webhook signature missing or wrong
    ├── NotFound                     a referenced thing does not exist (404)
    │   ├── UnknownAccount
    │   ├── UnknownLine
    │   ├── UnknownPurpose
    │   ├── UnknownReviewItem
    │   ├── UnknownProvider          no provider adapter of that name
    │   ├── UnknownSubscription      no webhook subscription of that id (in reach)
    │   ├── UnknownReport            no report of that kind
    │   └── UnknownAddress           no data held for that address (in reach)
    ├── Conflict                     the write contradicts stored state (409)
    │   ├── AccountExists
    │   ├── LineExists
    │   ├── AccountCycle             the account tree would contain a cycle
    │   ├── CrossTenant              a reference leaves the tenant
    │   ├── IdempotencyConflict      key reused with a different request
    │   ├── ReviewDecided            the review item was already decided
    │   ├── DuplicateExternalId      a provider account id configured on another account
    │   ├── TooManySubscriptions     the account has its maximum of webhook subscriptions
    │   └── OperatorExists           an operator of that name exists
    ├── LimitExceeded                a request is over a documented limit (413)
    │   ├── TooManyRecipients        a bulk check lists more than the limit
    │   ├── BudgetExceeded           a bulk check used up its time budget
    │   ├── TooManyBulkChecks        the server is running its cap of bulk checks (429)
    │   └── TooManyAttempts          sign-ins or form posts over their rate limit (429)
    ├── StorageError                 the database failed; nothing was written (503)
    └── GatewayError                 the send gateway's answer, in Twilio's error shape

Phone numbers are masked in messages and data (C23): ``str()``, ``repr()``,
``to_dict()`` and so logs, tracebacks and HTTP answers never carry a full number.
The one reader allowed the full value is the person who typed it: an error about
the caller's own input can keep an unmasked view (:meth:`ConsentlineError.reveal`)
that only :meth:`ConsentlineError.for_author` returns, and only the CLI prints it,
to the terminal of the operator who gave the value.

An error's message and data never hold a NUL or a lone surrogate (each is shown
as U+FFFD), so any error can be written as JSON or to a log, even one about a
value that held them.
"""

from __future__ import annotations

import re
from typing import Any, Self

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
        self._revealed: tuple[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"code": ..., "message": ..., **data}``."""
        return {"code": self.code, "message": self.message, **self.data}

    def reveal(self, message: str, **data: Any) -> Self:
        """Keep an unmasked view of this error for the person who typed the value.

        ``message`` and ``data`` replace the masked ones in :meth:`for_author` only;
        ``str()``, ``repr()`` and :meth:`to_dict` stay masked (C23). Returns the error,
        so that ``raise InvalidAddress(masked, ...).reveal(full, ...)`` reads as one.
        """
        self._revealed = (_clean(message), {name: _clean(v) for name, v in data.items()})
        return self

    def for_author(self) -> dict[str, Any]:
        """:meth:`to_dict` as shown to whoever typed the input: numbers unmasked.

        For a terminal only (the CLI's error edge), never for a log or an HTTP answer.

        >>> InvalidAddress("+1415***0101 is bad").reveal("+14155550101 is bad").for_author()
        {'code': 'invalid_address', 'message': '+14155550101 is bad'}
        """
        if self._revealed is None:
            return self.to_dict()
        message, data = self._revealed
        return {"code": self.code, "message": message, **self.data, **data}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        fields = "".join(f", {name}={value!r}" for name, value in self.data.items())
        return f"{type(self).__name__}({self.message!r}{fields})"


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


class InvalidContactRef(InvalidInput):
    """A contact reference (a CRM's record id) that is not ``system:ref`` or a bare ref."""

    code = "invalid_contact_ref"


class InvalidImport(InvalidInput):
    """An import that cannot start: a bad mapping, preset, value map or unreadable file.

    A bad *row* is never raised: it is reported in the import's report.
    """

    code = "invalid_import"


class SettingsError(InvalidConfig):
    """A configuration variable is missing or wrong; ``variable`` names it.

    Raised while reading the environment, before a server answers anything.
    """

    code = "invalid_setting"


class BlockedDestination(InvalidInput):
    """A URL points at an address (or a name) outbound requests may not reach (422).

    ``field`` names the setting or body field, ``reason`` the kind of address.
    """

    code = "blocked_destination"


class CannotSend(InvalidInput):
    """No send request can be built: unknown provider, missing or unusable credentials.

    The message and data name fields (``provider``, ``field``, ``missing``), never
    their values (they are secrets).
    """

    code = "cannot_send"


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


class TooManyAttempts(LimitExceeded):
    """Too many sign-in attempts or form submissions for one key (a username, an IP,
    a number) in the current window; ``retry_after`` seconds until the next one."""

    code = "too_many_attempts"


class OperatorExists(Conflict):
    code = "operator_exists"


class StorageError(ConsentlineError):
    code = "storage_error"


class UnknownReviewItem(NotFound):
    code = "unknown_review_item"


class ReviewDecided(Conflict):
    code = "review_decided"


class UnknownProvider(NotFound):
    """No provider adapter is called ``provider``; the message lists the known ones."""

    code = "unknown_provider"


class UnknownSubscription(NotFound):
    """No live webhook subscription ``subscription`` within the caller's reach."""

    code = "unknown_subscription"


class DuplicateExternalId(Conflict):
    """The provider account id (``field``) is already configured on another account."""

    code = "external_id_in_use"


class TooManySubscriptions(Conflict):
    """``account`` already has the most webhook subscriptions an account may have."""

    code = "too_many_subscriptions"


class ErasureKeyMissing(InvalidConfig):
    """Erasure needs the installation secret (CONSENTLINE_ERASURE_KEY), which is unset
    or too short: without it an erased number's suppression could not be kept (C22)."""

    code = "erasure_key_missing"


class UnknownReport(NotFound):
    """No report of kind ``kind``; the message lists the kinds there are."""

    code = "unknown_report"


class UnknownAddress(NotFound):
    """The ledger holds nothing for this address within the caller's reach."""

    code = "unknown_address"


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
