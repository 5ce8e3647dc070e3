"""Alerts where the team is: the texts of chat and e-mail deliveries (C23).

A webhook subscription has a ``format``: ``json`` (the signed event, as always),
``slack`` (a Slack-compatible incoming-webhook body, ``{"text": ...}``; Mattermost,
Rocket.Chat and Teams' Slack-compatible hooks take it too) or ``email`` (its URL is
``mailto:team@example.com``; sent through the installation's SMTP server,
``CONSENTLINE_SMTP_*``). Besides ledger actions, a subscription may ask for the
alert kinds ``alert.opt_out_spike``, ``alert.review_item`` and
``alert.delivery_failure``, queued in the ``alerts`` table.

Every text carries counts, lines, accounts, campaigns and contact references only:
never the number of a person, never a message body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import Event

FORMATS: Final = ("json", "slack", "email")
ALERT_KINDS: Final = ("alert.opt_out_spike", "alert.review_item", "alert.delivery_failure")


def check_format(value: str, url: str) -> str:
    if value not in FORMATS:
        raise InvalidInput(f"format is one of {', '.join(FORMATS)}", format=str(value)[:16])
    if (value == "email") != url.startswith("mailto:"):
        raise InvalidInput('format "email" goes with a mailto: URL, and only it', format=value)
    return value


def check_mailto(url: str) -> str:
    address = url.removeprefix("mailto:")
    local, at, domain = address.partition("@")
    if not at or not local or "." not in domain or any(c in address for c in " ,;<>\r\n"):
        raise InvalidInput("url: mailto: and one e-mail address", field="url")
    return url


def event_text(event: Event, where: str, refs: Sequence[Mapping[str, str]]) -> str:
    """A ledger event in words: what, where, and the contact's references (no number)."""
    what = event.action.replace("_", "-")
    covers = f" for {event.purpose}" if event.purpose else ""
    named = ", ".join(f"{r['system']}:{r['ref']}" for r in refs) if refs else "no contact reference"
    return f"consentline: {what}{covers} at {where} (source {event.source}; contact {named})"


def alert_text(kind: str, body: Mapping[str, Any]) -> str:
    """An alert in words (its body holds counts and identifiers only)."""
    if kind == "alert.opt_out_spike":
        return (
            f"consentline: opt-out spike on campaign {body['campaign']} from line {body['line']}"
            f" (account {body['account']}): {body['opt_outs']} opt-outs of {body['allowed']}"
            f" recipients ({body['opt_out_rate']:.2%}; threshold {body['threshold']:.2%})"
        )
    if kind == "alert.review_item":
        return (
            f"consentline: a reply on line {body['line']} (account {body['account']}) awaits"
            f" review: item #{body['review_item']}, {body['open_items']} open in the queue"
        )
    if kind == "alert.delivery_failure":
        what = body.get("what")
        if what == "webhook":
            return (
                f"consentline: webhook subscription #{body['subscription']} (account"
                f" {body['account']}) has failed {body['attempts']} deliveries in a row"
            )
        return (
            f"consentline: a reply from line {body['line']} (account {body['account']}) could"
            f" not be delivered after {body['attempts']} attempts (outbox #{body['outbox']})"
        )
    return f"consentline: {kind}"


def slack_body(text: str) -> bytes:
    return json.dumps({"text": text}, separators=(",", ":"), ensure_ascii=False).encode()
