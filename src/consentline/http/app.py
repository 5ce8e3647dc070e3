"""``create_app(client, settings)``: the consentline HTTP API as a FastAPI app.

>>> app = create_app(consentline.connect(url), Settings.from_env(os.environ))  # doctest: +SKIP

Everything the routes need is passed in (no globals, nothing read at import).
``workers`` are background jobs started and stopped with the app's lifespan: the
hook where the outbox delivery worker will plug in.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp

from consentline import __version__
from consentline.client import Consentline
from consentline.domain import classifier
from consentline.http import (
    docs,
    errors,
    media,
    routes_admin,
    routes_check,
    routes_consents,
    routes_exports,
    routes_gateway,
    routes_health,
    routes_imports,
    routes_inbound,
    routes_lifecycle,
    routes_privacy,
    routes_providers,
    routes_reports,
    routes_scope_question,
    routes_subscriptions,
    routes_webhooks,
)
from consentline.http.auth import Services
from consentline.http.batching import InboundBatcher
from consentline.http.fastlane import FastLane
from consentline.http.limits import BodyLimit
from consentline.providers import REGISTRY
from consentline.providers.gateway import Forwarder
from consentline.providers.gateway_flow import Gateway
from consentline.services.api_keys import ApiKeys
from consentline.services.webhooks import Webhooks
from consentline.settings import Settings

DESCRIPTION = """\
An SMS consent ledger and send gate. Authenticate with `Authorization: Bearer <key>`.

Errors are JSON `{"code", "message", ...}`. A key reaches its account's subtree;
anything outside it is answered as if it did not exist (404). 403 means the key's
role is too low for the operation.
"""


# FastAPI >= 0.16x can emit OpenTelemetry traces and metrics itself, and asks the
# environment whether to on every request. consentline does not export telemetry;
# switching it off keeps that question off the hot path (older FastAPI has no switch).
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


class ConsentlineApp(FastAPI):
    """FastAPI with the send gate's :class:`FastLane` as its outermost layer."""

    def build_middleware_stack(self) -> ASGIApp:
        return FastLane(super().build_middleware_stack())


class Worker(Protocol):
    """A background job run beside the API (e.g. outbox delivery)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    client: Consentline,
    settings: Settings,
    *,
    keys: ApiKeys | None = None,
    workers: Sequence[Worker] = (),
) -> FastAPI:
    """The API over ``client``; ``keys`` defaults to keys on the client's database."""
    # The gateway's one upstream client: opened on the serving loop, closed with it.
    forwarder = Forwarder(settings.outbound_allow)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        classifier.warm()  # the Unicode tables now, not on the first non-ASCII message
        await forwarder.open()
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            for worker in reversed(workers):
                worker.stop()
            await forwarder.close()

    app = ConsentlineApp(
        title="consentline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by http/docs.py, without a CDN
        responses=errors.RESPONSES,
        dependencies=[Depends(media.json_body)],  # 415 for a non-JSON body on a JSON route
        **_NO_TELEMETRY,
    )
    keys = keys if keys is not None else client.api_keys()
    batcher = InboundBatcher(client)
    credentials = client.provider_credentials(
        cache_seconds=client.cache_seconds, allow=settings.outbound_allow
    )
    app.state.services = Services(
        client=client,
        keys=keys,
        settings=settings,
        batcher=batcher,
        credentials=credentials,
        webhooks=Webhooks(
            providers=REGISTRY,
            credentials=credentials,
            directory=client.directory,
            inbound=batcher.handle,
            record=client.record_many,
            offload=run_in_threadpool,
        ),
        gateway=Gateway(
            keys=keys,
            credentials=credentials,
            directory=client.directory,
            check=client.check,
            forward=forwarder,
            offload=run_in_threadpool,
            record=client.record_gateway,
        ),
    )
    errors.install(app)
    for module in (routes_health, routes_admin, routes_consents, routes_check, routes_inbound):
        app.include_router(module.router)
    app.include_router(routes_providers.router)
    app.include_router(routes_scope_question.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_subscriptions.router)
    app.include_router(routes_gateway.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_imports.router)
    app.include_router(routes_exports.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_privacy.router)
    app.include_router(docs.router)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body,
        per_path={
            "/v1/check": settings.max_bulk_body,
            "/v1/imports": settings.max_bulk_body,
            # The UI's CSV upload: the page itself refuses a file past max_bulk_body
            # with an HTML page; this only bounds what reaches it (1 MiB more: the
            # form's other fields, which the page bounds at 64 KiB).
            "/ui/imports": settings.max_bulk_body + (1 << 20),
        },
    )
    _lean_routes(app)
    return app


_DOCUMENTS: dict[str, dict[str, Any]] = {}


def _document(app: FastAPI) -> None:
    """Give ``app`` its OpenAPI document, built once per process.

    Every app has the same routes and models, and building the document with every
    response model takes about 0.4 s: a process that makes many apps (the test suite,
    an embedding application) pays it once. Each app gets its own copy to change.
    """
    key = f"{app.title} {app.version}"
    if key not in _DOCUMENTS:
        _DOCUMENTS[key] = copy.deepcopy(app.openapi())
    else:
        app.openapi_schema = copy.deepcopy(_DOCUMENTS[key])


def _lean_routes(app: FastAPI) -> None:
    """Serve the provider webhooks from a plain Starlette route placed first.

    The handler takes only the request (it reads its signature itself), so FastAPI's
    per-request dependency solving and the route-by-route matching through every
    router before it are pure overhead. The OpenAPI document is built from the
    declared routes first, so it still documents the operations exactly.
    ``GET /v1/check`` goes further still: the :class:`FastLane` wrapper answers it
    before any middleware (its declared route is what a mounted copy reaches).
    """
    _document(app)  # from the declared routes, before the lean route goes in
    lean = Route("/webhooks/{name}", routes_webhooks.lean_webhook, methods=["GET", "POST"])
    app.router.routes.insert(0, lean)
