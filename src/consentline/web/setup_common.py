"""What the setup pages share: the admin's checked POST and the change log line."""

from __future__ import annotations

import logging

from fastapi import Request

from consentline.web.common import Signed, check_csrf, posted, signed_in

log = logging.getLogger("consentline.web")


def admin_form(request: Request) -> tuple[Signed, dict[str, str]]:
    """The signed-in admin and their POST's form (CSRF checked first: 403)."""
    signed = signed_in(request)
    form = posted(request)
    check_csrf(signed.csrf, form)
    signed.operator.require("admin")
    return signed, form


def audit(signed: Signed, what: str) -> None:
    """A setup change in the log: who and what (names and slugs, never a number or a
    secret). The setup services keep no actor of their own."""
    log.info("web: operator %s (#%d) %s", signed.operator.name, signed.operator.id, what)
