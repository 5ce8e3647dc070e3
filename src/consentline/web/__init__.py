"""The operator web UI (``/ui/``) and the hosted opt-in form (``/join/``).

Server-rendered pages (Jinja2 templates installed with the package, one stylesheet,
no script needed, nothing from a CDN) over the same services the API uses.
``consentline serve`` installs them on the API's app:

>>> app = create_app(client, settings)                     # doctest: +SKIP
>>> install(app, client, settings)

See docs/web-ui.md.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from consentline.client import Consentline
from consentline.services.operators import Operators
from consentline.settings import Settings
from consentline.web import pages_auth, pages_contact, pages_join, pages_review
from consentline.web.common import HERE, Web, _environment
from consentline.web.pages_imports import router as imports_router
from consentline.web.pages_reports import router as reports_router
from consentline.web.pages_setup import router as setup_router
from consentline.web.sessions import Sessions

__all__ = ["install"]

log = logging.getLogger("consentline.web")


def install(
    app: FastAPI,
    client: Consentline,
    settings: Settings,
    *,
    operators: Operators | None = None,
) -> Web:
    """Add the UI's pages and static files to ``app``; returns the web state."""
    secret = settings.session_secret
    if secret is None:
        log.warning(
            "CONSENTLINE_SESSION_SECRET is unset: web sessions are signed with a key of this"
            " process only (they end on restart and are not shared between processes)"
        )
        key = secrets.token_urlsafe(32)
    else:
        key = secret.reveal()
    web = Web(
        client=client,
        operators=operators or client.operators(),
        sessions=Sessions(key, secure=settings.secure_cookies),
        env=_environment(),
        settings=settings,
    )
    app.state.web = web
    for module in (pages_auth, pages_contact, pages_review, pages_join):
        app.include_router(module.router)
    app.include_router(setup_router)
    app.include_router(imports_router)
    app.include_router(reports_router)  # the dashboard and the reports
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    return web
