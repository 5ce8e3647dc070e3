"""Who is calling, and what their key reaches.

A key belongs to an account and reaches that account's *subtree* (the account
and every descendant); a key without an account (the installation admin)
reaches everything. Roles are ordered ``read < write < admin``: ``read`` may
GET and run checks, ``write`` may also record consents and post inbound
messages, ``admin`` may also create accounts, lines and keys in its subtree.

The isolation rule, the same on every route, read or write: an account or line
outside the key's subtree is answered exactly as if it did not exist
(``404 unknown_account`` / ``404 unknown_line``), so a key cannot learn what
other tenants hold. ``403 forbidden`` means the key is known and the thing is in
reach, but its role is too low or the operation is not open to its position
(an account key creating a root account). ``401 unauthorized``: no key, or an
unknown or revoked one.

A key may widen suppression as far as its lines' reach goes (an opt-out ``via``
a sub-account's line lands at the boundary under reach ``tree``), but a write that
allows sends never leaves its subtree: a ``resume`` whose reach would land above
the key's account lands at the key's account instead (``RecordRequest.within``),
so a sub-account key cannot lift its parent's opt-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from consentline.client import Consentline
from consentline.domain.scopes import Account, Directory, account_scope, line_scope
from consentline.http.batching import InboundBatcher
from consentline.providers.gateway_flow import Gateway
from consentline.services.api_keys import ApiKey, ApiKeys, Role
from consentline.services.credentials import ProviderCredentials
from consentline.services.reach import InReach
from consentline.services.webhooks import Webhooks
from consentline.settings import Settings

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer cl_...`")


@dataclass(frozen=True, slots=True)
class Services:
    """What the routes use, kept on ``app.state.services``."""

    client: Consentline
    keys: ApiKeys
    settings: Settings
    batcher: InboundBatcher
    credentials: ProviderCredentials
    webhooks: Webhooks
    gateway: Gateway


async def services(request: Request) -> Services:
    """The app's services (async: a dependency on the event loop costs no thread hop)."""
    return services_of(request)


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


@dataclass(frozen=True, slots=True)
class Caller(InReach):
    """An authenticated key with the directory snapshot it is judged against."""

    key: ApiKey
    directory: Directory

    def require(self, role: Role) -> None:
        self.key.require(role)

    def reaches(self, account_id: int) -> bool:
        home = self.key.account_id
        if home is None:
            return True
        return self.directory.is_within(account_id, home)

    @property
    def home(self) -> Account | None:
        home = self.key.account_id
        return None if home is None else self.directory.account_by_id(home)

    def tenant_ids(self) -> set[int] | None:
        home = self.home
        return None if home is None else {home.tenant_id}

    def subtree_scopes(self) -> set[str] | None:
        """Scope keys of the accounts and lines in reach (None: everything)."""
        if self.key.account_id is None:
            return None
        scopes = {account_scope(a.id) for a in self.accounts()}
        scopes.update(line_scope(line.id) for line in self.lines())
        return scopes

    def governing_scopes(self) -> set[str] | None:
        """Subtree scopes plus the ancestors whose events cover the subtree's lines."""
        scopes = self.subtree_scopes()
        home = self.key.account_id
        if scopes is None or home is None:
            return None
        scopes.update(account_scope(a.id) for a in self.directory.within_boundary(home))
        return scopes


async def caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The dependency form of :func:`authenticate` (declares the Bearer scheme in
    the OpenAPI document). On the event loop: a known key and the directory are in
    memory (a miss costs one short indexed read), cheaper than a thread hop."""
    return authenticate(request)


def authenticate(request: Request) -> Caller:
    """The caller of ``request``: its ``Authorization: Bearer`` key (any case of the
    scheme), else 401; used directly by the hot routes."""
    header = request.headers.get("authorization")
    raw = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            raw = value.strip()
    found = services_of(request)
    return Caller(found.keys.authenticate(raw), found.client.directory())


CallerDep = Annotated[Caller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
