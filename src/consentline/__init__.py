"""consentline: an SMS consent ledger and send gate.

>>> import consentline                                                  # doctest: +SKIP
>>> cl = consentline.connect("sqlite:///consent.db")
>>> cl.create_account("acme", reach="tree", default_region="US")
>>> cl.add_line("+18005550100", account="acme")
>>> cl.record("+14155550101", "opt_in", account="acme", purpose="marketing",
...           source="web_form", proof={"form_url": "https://acme.example/join"})
>>> d = cl.check("+14155550101", from_="+18005550100", purpose="marketing")
>>> d.allowed, d.reason
(True, 'opted_in')
"""

from consentline.client import Consentline, connect
from consentline.domain.classifier import Classification, ClassifierConfig, KeywordScope, classify
from consentline.domain.errors import (
    AccountCycle,
    AccountExists,
    BlockedDestination,
    BudgetExceeded,
    CannotSend,
    Conflict,
    ConsentlineError,
    CrossTenant,
    DuplicateExternalId,
    ErasureKeyMissing,
    Forbidden,
    GatewayError,
    IdempotencyConflict,
    InvalidAction,
    InvalidAddress,
    InvalidChannel,
    InvalidConfig,
    InvalidContactRef,
    InvalidImport,
    InvalidInput,
    InvalidKeyword,
    InvalidPayload,
    InvalidProof,
    InvalidReach,
    InvalidSlug,
    InvalidTime,
    LimitExceeded,
    LineExists,
    NotFound,
    OperatorExists,
    ReviewDecided,
    SettingsError,
    SignatureInvalid,
    StorageError,
    TooManyAttempts,
    TooManyBulkChecks,
    TooManyRecipients,
    TooManySubscriptions,
    Unauthorized,
    UnknownAccount,
    UnknownAddress,
    UnknownLine,
    UnknownProvider,
    UnknownPurpose,
    UnknownReport,
    UnknownReviewItem,
    UnknownSubscription,
)
from consentline.domain.exports import ExportCheck, check_export
from consentline.domain.ledger import Event, EventRef
from consentline.domain.policy import Decision, PurposeRule, QuietHours, TenantPolicy
from consentline.domain.scopes import Account, Line
from consentline.domain.settings import AccountSettings
from consentline.services.deactivations import DeactivationReport
from consentline.services.exports import SnapshotRow
from consentline.services.imports import ImportReport
from consentline.services.inbound import InboundMessage, InboundResult, Reply
from consentline.services.number_changes import NumberChange
from consentline.services.outbox import OutboxMessage
from consentline.services.privacy import ErasureReport, RetentionReport
from consentline.services.recording import RecordRequest, RecordResult
from consentline.services.review import ReviewItem
from consentline.services.verification import Problem, VerifyReport

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AccountCycle",
    "AccountExists",
    "AccountSettings",
    "BlockedDestination",
    "BudgetExceeded",
    "CannotSend",
    "Classification",
    "ClassifierConfig",
    "Conflict",
    "Consentline",
    "ConsentlineError",
    "CrossTenant",
    "DeactivationReport",
    "Decision",
    "DuplicateExternalId",
    "ErasureKeyMissing",
    "ErasureReport",
    "Event",
    "EventRef",
    "ExportCheck",
    "Forbidden",
    "GatewayError",
    "IdempotencyConflict",
    "ImportReport",
    "InboundMessage",
    "InboundResult",
    "InvalidAction",
    "InvalidAddress",
    "InvalidChannel",
    "InvalidConfig",
    "InvalidContactRef",
    "InvalidImport",
    "InvalidInput",
    "InvalidKeyword",
    "InvalidPayload",
    "InvalidProof",
    "InvalidReach",
    "InvalidSlug",
    "InvalidTime",
    "KeywordScope",
    "LimitExceeded",
    "Line",
    "LineExists",
    "NotFound",
    "NumberChange",
    "OperatorExists",
    "OutboxMessage",
    "Problem",
    "PurposeRule",
    "QuietHours",
    "RecordRequest",
    "RecordResult",
    "Reply",
    "RetentionReport",
    "ReviewDecided",
    "ReviewItem",
    "SettingsError",
    "SignatureInvalid",
    "SnapshotRow",
    "StorageError",
    "TenantPolicy",
    "TooManyAttempts",
    "TooManyBulkChecks",
    "TooManyRecipients",
    "TooManySubscriptions",
    "Unauthorized",
    "UnknownAccount",
    "UnknownAddress",
    "UnknownLine",
    "UnknownProvider",
    "UnknownPurpose",
    "UnknownReport",
    "UnknownReviewItem",
    "UnknownSubscription",
    "VerifyReport",
    "__version__",
    "check_export",
    "classify",
    "connect",
]
