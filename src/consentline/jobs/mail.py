"""E-mail for alert subscriptions, through the installation's SMTP server (stdlib).

Settings (environment, as the server's others): ``CONSENTLINE_SMTP_HOST`` (unset: no
e-mail), ``CONSENTLINE_SMTP_PORT`` (587), ``CONSENTLINE_SMTP_FROM``,
``CONSENTLINE_SMTP_USER`` / ``CONSENTLINE_SMTP_PASSWORD`` (optional) and
``CONSENTLINE_SMTP_STARTTLS`` (``1`` by default; ``0`` for a local relay).
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

from consentline.domain.errors import InvalidConfig


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int = 587
    sender: str = "consentline@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Mailer | None:
        host = environ.get("CONSENTLINE_SMTP_HOST")
        if not host:
            return None
        try:
            port = int(environ.get("CONSENTLINE_SMTP_PORT", "587"))
        except ValueError:
            raise InvalidConfig("CONSENTLINE_SMTP_PORT is a port number") from None
        return cls(
            host=host,
            port=port,
            sender=environ.get("CONSENTLINE_SMTP_FROM", "consentline@localhost"),
            username=environ.get("CONSENTLINE_SMTP_USER") or None,
            password=environ.get("CONSENTLINE_SMTP_PASSWORD") or None,
            starttls=environ.get("CONSENTLINE_SMTP_STARTTLS", "1") != "0",
        )

    def send(self, to: str, subject: str, text: str) -> None:
        """Send one plain-text mail (raises ``OSError``/``smtplib.SMTPException``)."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
