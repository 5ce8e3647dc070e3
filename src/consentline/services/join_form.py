"""The hosted opt-in form: what it shows, and the ``pending`` consent it records (C24).

``/join/{account}/{topic?}`` shows the CTIA elements (program name, what the
messages are, frequency, "Msg & data rates may apply", how to get help and how to
opt out) with the account's consent text and its version, from the account's
settings (``program_name``, ``frequency``, ``support_contact``, ``consent_text``,
``consent_version``: :class:`~consentline.domain.settings.AccountSettings`).

A submission records ``pending`` (never ``opt_in``: the consent was given off the
handset, so it holds only once the handset answers YES, C24) with proof of exactly
what was shown: the form's URL, the consent text, its version and SHA-256, the
client's IP and user agent. Recording it queues the double opt-in request
(``outbox.queue_confirmation_requests``). Submissions are rate-limited per IP and per
number, and whatever the number's state the answer is the same page, so the form
cannot be used to learn whether a number is subscribed.

>>> form = join_form(settings, account="acme", topic=None)          # doctest: +SKIP
>>> request = join_request(form, "+14155550101", url=..., ip=..., user_agent=...)
>>> cl.record_results([request])[0].event.action
'pending'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from consentline.domain.errors import NotFound
from consentline.domain.settings import AccountSettings
from consentline.services.recording import RecordRequest

PURPOSE: Final = "marketing"  # what a hosted form asks consent for
PER_IP: Final = (20, 3600)  # submissions per IP per hour
PER_NUMBER: Final = (3, 86400)  # submissions per number per day (each sends an SMS)
DEFAULT_TEXT: Final = (
    "By checking this box I agree to receive recurring automated marketing text "
    "messages from {program} at the number provided. Consent is not a condition of "
    "purchase."
)


@dataclass(frozen=True, slots=True)
class JoinForm:
    """One account's (and topic's) hosted form, as shown."""

    account: str
    topic: str | None
    program: str
    frequency: str
    support: str
    consent_text: str
    consent_version: str
    consent_sha256: str

    @property
    def help_text(self) -> str:
        return f"Reply HELP for help, or contact {self.support}."

    @property
    def opt_out_text(self) -> str:
        return "Reply STOP to any message to opt out at any time."


def join_form(settings: AccountSettings, *, account: str, topic: str | None) -> JoinForm:
    """The form of ``account`` (effective settings) for ``topic``; :class:`NotFound` for
    a topic the account has no keyword for (a form for it could never be honoured)."""
    if topic is not None and topic not in set(settings.topic_keywords.values()):
        raise NotFound(f"no topic {topic!r} on this form", topic=topic)
    program = settings.program
    text = settings.consent_text or DEFAULT_TEXT.format(program=program.name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return JoinForm(
        account=account,
        topic=topic,
        program=program.name,
        frequency=program.frequency,
        support=program.support,
        consent_text=text,
        consent_version=settings.consent_version or digest[:12],
        consent_sha256=digest,
    )


def join_request(
    form: JoinForm, address: str, *, url: str, ip: str, user_agent: str
) -> RecordRequest:
    """The ``pending`` consent a submission records, with its proof (C24, C25)."""
    return RecordRequest(
        address=address,
        action="pending",
        account=form.account,
        purpose=PURPOSE,
        topic=form.topic,
        source="web_form",
        proof={
            "form_url": url[:2048],
            "consent_text": form.consent_text,
            "consent_version": form.consent_version,
            "consent_sha256": form.consent_sha256,
            "ip": ip[:64],
            "user_agent": user_agent[:512],
        },
        within=form.account,
    )
