"""The public surface is a product: its names are tested."""

from __future__ import annotations

import inspect

import consentline

EXPECTED = {
    "Account",
    "AccountCycle",
    "AccountExists",
    "Consentline",
    "ConsentlineError",
    "CrossTenant",
    "Decision",
    "Event",
    "EventRef",
    "IdempotencyConflict",
    "InvalidAction",
    "InvalidAddress",
    "InvalidChannel",
    "InvalidConfig",
    "InvalidContactRef",
    "InvalidImport",
    "InvalidInput",
    "InvalidReach",
    "InvalidSlug",
    "InvalidTime",
    "Line",
    "LineExists",
    "NotFound",
    "Problem",
    "PurposeRule",
    "QuietHours",
    "RecordRequest",
    "RecordResult",
    "StorageError",
    "TenantPolicy",
    "UnknownAccount",
    "UnknownAddress",
    "ErasureKeyMissing",
    "ErasureReport",
    "RetentionReport",
    "UnknownLine",
    "UnknownPurpose",
    "VerifyReport",
    "__version__",
    "connect",
    "AccountSettings",
    "Classification",
    "ClassifierConfig",
    "ImportReport",
    "InboundMessage",
    "InboundResult",
    "InvalidKeyword",
    "KeywordScope",
    "OutboxMessage",
    "Reply",
    "ReviewDecided",
    "ReviewItem",
    "UnknownReviewItem",
    "classify",
    # number changes and deactivation lists (docs/lifecycle.md)
    "DeactivationReport",
    "NumberChange",
    # exports (C21, C28)
    "ExportCheck",
    "SnapshotRow",
    "check_export",
    # the whole exception tree (tests/test_errors.py checks it against the drawing)
    "BlockedDestination",
    "BudgetExceeded",
    "CannotSend",
    "Conflict",
    "DuplicateExternalId",
    "Forbidden",
    "GatewayError",
    "InvalidPayload",
    "InvalidProof",
    "LimitExceeded",
    "OperatorExists",
    "SettingsError",
    "SignatureInvalid",
    "TooManyAttempts",
    "TooManyBulkChecks",
    "TooManyRecipients",
    "TooManySubscriptions",
    "Unauthorized",
    "UnknownProvider",
    "UnknownReport",
    "UnknownSubscription",
}


def test_all_lists_exactly_the_public_names_and_each_exists() -> None:
    assert set(consentline.__all__) == EXPECTED
    for name in consentline.__all__:
        assert hasattr(consentline, name), name


def test_every_error_is_a_consentline_error_with_a_code() -> None:
    errors = [
        getattr(consentline, n)
        for n in consentline.__all__
        if isinstance(getattr(consentline, n), type)
        and issubclass(getattr(consentline, n), Exception)
    ]
    codes = {e.code for e in errors}
    assert len(codes) == len(errors)  # stable, distinct codes
    assert all(issubclass(e, consentline.ConsentlineError) for e in errors)


def test_the_documented_client_methods_exist_with_docstrings() -> None:
    for name in (
        "create_account",
        "add_line",
        "record",
        "record_many",
        "record_results",
        "check",
        "check_many",
        "history",
        "verify",
        "set_purpose",
        "set_policy",
        "update_account",
        "change_number",
        "import_deactivations",
    ):
        method = getattr(consentline.Consentline, name)
        assert inspect.getdoc(method), name
    params = inspect.signature(consentline.Consentline.record).parameters
    for keyword in (
        "account",
        "line",
        "purpose",
        "topic",
        "channel",
        "source",
        "proof",
        "occurred_at",
        "idempotency_key",
    ):
        assert keyword in params
    check = inspect.signature(consentline.Consentline.check).parameters
    assert {"from_", "purpose", "topic", "channel", "at"} <= set(check)
