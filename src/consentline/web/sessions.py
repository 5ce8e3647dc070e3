"""Signed session cookies and CSRF tokens for the web UI.

A session is a cookie signed with itsdangerous (HMAC-SHA1 over the payload and a
timestamp, keyed by ``CONSENTLINE_SESSION_SECRET``): ``{"o": operator id, "x": CSRF
token}``. It is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (a cross-site POST
does not carry it) and ``Secure`` behind https; it expires :data:`SESSION_S` after
sign-in (the signature's timestamp is checked on every request). Nothing else is
kept server-side: the operator's row is read on every request, so disabling an
operator ends their sessions at once.

Why itsdangerous directly rather than Starlette's ``SessionMiddleware`` (which is
built on it): the middleware wraps the whole app, the API's hot paths included,
and re-signs a cookie on every response; here only ``/ui/`` reads the cookie, and the
expiry is the signature's own timestamp, checked where the session is read.

CSRF: every form carries the session's token in a hidden ``csrf`` field, compared
in constant time on every POST. Before sign-in (the sign-in form itself) the token
is a random value in a cookie of its own, sent back in the form (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE: Final = "cl_session"
LOGIN_COOKIE: Final = "cl_login"
SESSION_S: Final = 8 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    operator_id: int
    csrf: str


class Sessions:
    """Sign and read sessions with one secret."""

    def __init__(self, secret: str, *, secure: bool = False, max_age: int = SESSION_S) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="consentline.web.session")
        self._form_signer = URLSafeTimedSerializer(secret, salt="consentline.web.join")
        self.secure = secure
        self.max_age = max_age

    def form_signer(self) -> URLSafeTimedSerializer:
        """Signs the hosted forms' tokens (a salt of their own: never a session)."""
        return self._form_signer

    def issue(self, operator_id: int) -> tuple[str, Session]:
        session = Session(operator_id, secrets.token_urlsafe(24))
        return self._signer.dumps({"o": operator_id, "x": session.csrf}), session

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data: Any = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        operator_id, csrf = data.get("o"), data.get("x")
        if not isinstance(operator_id, int) or not isinstance(csrf, str):
            return None
        return Session(operator_id, csrf)

    def cookie_options(self, max_age: int | None = None) -> dict[str, Any]:
        return {
            "max_age": self.max_age if max_age is None else max_age,
            "path": "/",
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
        }


def new_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; missing tokens never match."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
