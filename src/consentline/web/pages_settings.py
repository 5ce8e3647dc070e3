"""An account's inbound settings (``/ui/setup/accounts/{slug}/settings``): keywords,
topic keywords, program details, the hosted form's consent text and the reply
templates, with the lint's findings next to each field before anything is saved.

**Check** runs :meth:`Consentline.check_account_settings` (the same lint the save
runs, nothing saved) and shows every finding on its field; **Save** saves only when
nothing breaks a rule (otherwise the findings again, 422). The form holds the
account's own settings: an empty field inherits from the accounts above (shown beside
it). The scope question has its own API route and CLI options and is shown here only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import InvalidConfig
from consentline.domain.replies import DEFAULT_TEMPLATES, LANGUAGES, REPLY_KINDS
from consentline.domain.scopes import REACHES
from consentline.domain.settings import AccountSettings, Finding
from consentline.web.common import Signed, page, render, signed_in, web_of
from consentline.web.setup_common import admin_form, audit

router = APIRouter(include_in_schema=False)
KEYWORD_LISTS: Final = ("opt_out_keywords", "opt_in_keywords", "help_keywords", "confirm_keywords")
PAIRS: Final = {"topic_keywords": "WORD=topic", "keyword_reach": "WORD=" + "|".join(REACHES)}
FLAGS: Final = ("start_creates_opt_in", "typo_tolerance")
TEXTS: Final = ("program_name", "support_contact", "frequency", "consent_version")
_SPLIT: Final = re.compile(r"[\s,;]+")


def _pairs(text: str, name: str, bad: list[Finding]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in (line.strip() for line in text.splitlines()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            message = f"{item[:40]!r} is not of the form {PAIRS[name]}"
            bad.append(Finding(name, message, InvalidConfig(message, setting=name)))
            continue
        found[key.strip()] = value.strip()
    return found


def changes_of(form: Mapping[str, str]) -> tuple[dict[str, Any], list[Finding]]:
    """The settings the form gives (an empty field: inherit), and the lines it could
    not read (as breaches on their setting; that setting is left out of the check)."""
    bad: list[Finding] = []
    changes: dict[str, Any] = {
        name: [w for w in _SPLIT.split(form.get(name, "")) if w] for name in KEYWORD_LISTS
    }
    for name in PAIRS:
        before = len(bad)
        pairs = _pairs(form.get(name, ""), name, bad)
        if len(bad) == before:
            changes[name] = pairs
    for name in FLAGS:
        changes[name] = {"yes": True, "no": False}.get(form.get(name, ""))
    for name in (*TEXTS, "consent_text", "language"):
        changes[name] = form.get(name, "").strip() or None
    templates: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        for kind in REPLY_KINDS:
            text = form.get(f"tpl.{language}.{kind}", "").strip()
            if text:
                templates.setdefault(language, {})[kind] = text
    changes["templates"] = templates
    return changes, bad


def form_of_settings(own: AccountSettings) -> dict[str, str]:
    """The form's fields for the account's own settings."""
    values = {name: ", ".join(getattr(own, name)) for name in KEYWORD_LISTS}
    for name in PAIRS:
        values[name] = "\n".join(f"{k}={v}" for k, v in getattr(own, name).items())
    for name in FLAGS:
        flag = getattr(own, name)
        values[name] = "" if flag is None else ("yes" if flag else "no")
    for name in (*TEXTS, "consent_text", "language"):
        values[name] = getattr(own, name) or ""
    for language, kinds in own.templates.items():
        for kind, text in kinds.items():
            values[f"tpl.{language}.{kind}"] = text
    return values


def _show(
    request: Request,
    signed: Signed,
    slug: str,
    values: Mapping[str, str],
    found: list[Finding],
    *,
    checked: bool,
    status: int = 200,
) -> Response:
    client = web_of(request).client
    by_setting: dict[str, list[Finding]] = {}
    for finding in found:
        by_setting.setdefault(finding.setting, []).append(finding)
    effective = client.account_settings(slug)
    return render(
        request,
        "setup_settings.html",
        signed=signed,
        status=status,
        slug=slug,
        values=values,
        found=by_setting,
        breaches=sum(f.breach for f in found),
        warnings=sum(not f.breach for f in found),
        checked=checked,
        effective=effective,
        inherited=form_of_settings(effective),
        program=effective.program,
        current=lambda lang, kind: (
            effective.templates.get(lang, {}).get(kind) or DEFAULT_TEMPLATES[lang][kind]
        ),
        keyword_lists=KEYWORD_LISTS,
        pairs=PAIRS,
        languages=LANGUAGES,
        kinds=REPLY_KINDS,
        editable=signed.is_admin,
        done=request.query_params.get("done"),
    )


@router.get("/ui/setup/accounts/{slug}/settings")
@page
def settings_page(request: Request, slug: str) -> Response:
    signed = signed_in(request)
    account = signed.reach.account(slug)
    client = web_of(request).client
    own = client.account_settings(account.slug, effective=False)
    found = client.check_account_settings(account.slug)  # the findings as saved
    return _show(request, signed, account.slug, form_of_settings(own), found, checked=False)


@router.post("/ui/setup/accounts/{slug}/settings")
@page
def save_settings(request: Request, slug: str) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(slug)
    client = web_of(request).client
    changes, unreadable = changes_of(form)
    found = unreadable + client.check_account_settings(account.slug, **changes)
    breach = any(f.breach for f in found)
    if form.get("intent") != "save" or breach:
        status = 422 if breach and form.get("intent") == "save" else 200
        return _show(request, signed, account.slug, form, found, checked=True, status=status)
    client.configure_account(account.slug, **changes)
    audit(signed, f"saved the inbound settings of account {account.slug}")
    return RedirectResponse(
        f"/ui/setup/accounts/{account.slug}/settings?done=saved", status_code=303
    )
