"""Accounts, lines, purposes and tenant policy: the directory a ledger is written in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from consentline.domain.addresses import (
    is_region,
    normalise_line_id,
)
from consentline.domain.errors import (
    AccountExists,
    CrossTenant,
    InvalidConfig,
    InvalidTime,
    LineExists,
)
from consentline.domain.ledger import (
    GENESIS,
    to_us,
)
from consentline.domain.policy import (
    PurposeRule,
    QuietHours,
    TenantPolicy,
    check_model,
    check_name,
    check_revoke_all_from,
)
from consentline.domain.scopes import (
    Directory,
    check_reach,
    check_slug,
)
from consentline.services import recording
from consentline.services.ports import UnitOfWork

MAX_FUTURE_SKEW = timedelta(minutes=5)


def snapshot(uow: UnitOfWork) -> tuple[Directory, dict[int, TenantPolicy]]:
    """The account tree with its lines, and each tenant's policy, as stored now."""
    return uow.store.load_directory(), uow.store.load_policies()


def _check_region(region: str | None) -> str | None:
    # A region phonenumbers does not know ("ZZ") would make every national number of
    # the account unparsable, STOPs included: refuse it here instead.
    if region is None:
        return None
    if not isinstance(region, str) or not is_region(region):
        raise InvalidConfig(
            f"default_region {str(region)[:8]!r} is not a region code phone numbers can be"
            " parsed for, such as 'US' or 'GB' (ISO 3166-1 alpha-2, capital letters)",
            default_region=str(region)[:8],
        )
    return region


def create_account(
    uow: UnitOfWork,
    directory: Directory,
    *,
    slug: str,
    parent: str | None,
    reach: str | None,
    isolated: bool,
    default_region: str | None,
    now: datetime,
) -> int:
    """Create an account; a root (no parent) is a new tenant with default purposes."""
    check_slug(slug)
    checked_reach = check_reach(reach)
    region = _check_region(default_region)
    if not isinstance(isolated, bool):
        raise InvalidConfig("isolated must be true or false", isolated=str(isolated))
    if directory.has_account(slug):
        raise AccountExists(f"account {slug!r} already exists", account=slug)
    parent_account = directory.account(parent) if parent is not None else None
    now_us = to_us(now)
    account_id = uow.store.insert_account(
        slug=slug,
        parent_id=parent_account.id if parent_account else None,
        tenant_id=parent_account.tenant_id if parent_account else None,
        reach=checked_reach if parent_account else (checked_reach or "tree"),
        isolated=isolated,
        default_region=region,
        now_us=now_us,
    )
    if parent_account is None:
        uow.store.insert_tenant(account_id, TenantPolicy(), GENESIS, now_us)
    uow.commit()
    return account_id


_UNSET: Any = object()


def update_account(
    uow: UnitOfWork,
    directory: Directory,
    *,
    slug: str,
    parent: str | None = _UNSET,
    reach: str | None = _UNSET,
    isolated: bool = _UNSET,
    default_region: str | None = _UNSET,
) -> None:
    """Change an account's place or settings; a move may not leave the tenant or loop."""
    account = directory.account(slug)
    values: dict[str, Any] = {}
    if parent is not _UNSET:
        if parent is None:
            if not account.is_root:
                raise CrossTenant("a sub-account cannot become a tenant of its own", account=slug)
        else:
            new_parent = directory.account(parent)
            if account.is_root or new_parent.tenant_id != account.tenant_id:
                raise CrossTenant(
                    f"account {slug!r} cannot move under {parent!r}: accounts never leave"
                    " their tenant",
                    account=slug,
                    parent=parent,
                )
            directory.check_parent(account.id, new_parent.id)
            values["parent_id"] = new_parent.id
    if reach is not _UNSET:
        values["reach"] = check_reach(reach)
    if isolated is not _UNSET:
        if not isinstance(isolated, bool):
            raise InvalidConfig("isolated must be true or false", isolated=str(isolated))
        values["isolated"] = isolated
    if default_region is not _UNSET:
        values["default_region"] = _check_region(default_region)
    if values:
        uow.store.update_account(account.id, values)
        uow.commit()


def add_line(
    uow: UnitOfWork, directory: Directory, *, number: str, account: str, now: datetime
) -> int:
    owner = directory.account(account)
    normalised = normalise_line_id(number, owner.default_region)
    if directory.find_line(normalised) is not None:
        raise LineExists(f"line {normalised!r} is already registered", line=normalised)
    line_id = uow.store.insert_line(normalised, owner.id, owner.tenant_id, to_us(now))
    uow.commit()
    return line_id


def set_purpose(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account: str,
    name: str,
    model: str,
    quiet_hours: str | QuietHours | None = None,
    consent_ttl: timedelta | None = None,
) -> PurposeRule:
    """Define or change a purpose of the tenant that ``account`` belongs to."""
    tenant = directory.account_by_id(directory.account(account).tenant_id)
    window = QuietHours.parse(quiet_hours) if isinstance(quiet_hours, str) else quiet_hours
    if consent_ttl is not None and consent_ttl <= timedelta(0):
        raise InvalidTime("consent_ttl must be positive")
    rule = PurposeRule(check_name("purpose", name), check_model(model), window, consent_ttl)
    uow.store.save_purpose(tenant.id, rule)
    uow.commit()
    return rule


def set_tenant_policy(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account: str,
    consent_ttl: timedelta | None = _UNSET,
    pending_ttl: timedelta = _UNSET,
    revoke_all_from: date | str | None = _UNSET,
    key_of: Callable[[int, str], str] | None = None,
) -> None:
    """Change the tenant-wide settings that are given; commit once.

    ``revoke_all_from`` (C16) is the day from which a scoped revocation covers every
    purpose and topic (None: never). Changing it changes which stored opt-outs the
    projection must keep, so the tenant's projection is rebuilt in the same
    transaction (a pass over the tenant's ledger); ``key_of`` is the installation's
    keyed hash, which keeps an erased number's later events with its erased ones (C22).
    """
    tenant = directory.account_by_id(directory.account(account).tenant_id)
    values: dict[str, Any] = {}
    rebuild = False
    if revoke_all_from is not _UNSET:
        day = check_revoke_all_from(revoke_all_from)
        values["revoke_all_from"] = None if day is None else day.isoformat()
        rebuild = uow.store.load_policies()[tenant.id].revoke_all_from != day
    if consent_ttl is not _UNSET:
        if consent_ttl is not None and consent_ttl <= timedelta(0):
            raise InvalidTime("consent_ttl must be positive")
        values["consent_ttl_s"] = None if consent_ttl is None else int(consent_ttl.total_seconds())
    if pending_ttl is not _UNSET:
        if pending_ttl <= timedelta(0):
            raise InvalidTime("pending_ttl must be positive")
        values["pending_ttl_s"] = int(pending_ttl.total_seconds())
    if values:
        uow.store.update_tenant(tenant.id, values)
        if rebuild:
            recording.rebuild_state(uow, tenant.id, key_of)
        uow.commit()
