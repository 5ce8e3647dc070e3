"""Reply templates per language, their rendering and their linting (C11, C17, C18).

Kinds of reply:

* ``opt_out_confirmation`` — at most one per revocation, within 5 minutes, never
  promotional (C17);
* ``help`` — program, support contact, frequency, "Msg & data rates may apply",
  how to opt out (C11);
* ``welcome`` — opt-in confirmation with the five CTIA elements (C18);
* ``double_opt_in_request`` — asks the handset to confirm (C24).

Templates use ``{program}``, ``{support}``, ``{frequency}`` placeholders. The
built-in texts below are consentline's own wording, kept inside the GSM-7
alphabet (Spanish and Portuguese without the accents GSM-7 lacks) so that each
fits one segment.

>>> render("help", "en", Program("Acme", "acme.example/help", "4 msgs/month"))[:40]
'Acme: help at acme.example/help. Up to 4'
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, cast

from consentline.domain.errors import InvalidConfig

ReplyKind = Literal["opt_out_confirmation", "help", "welcome", "double_opt_in_request"]
REPLY_KINDS: Final = ("opt_out_confirmation", "help", "welcome", "double_opt_in_request")
LANGUAGES: Final = ("en", "fr", "es", "pt")
SINGLE_SEGMENT_GSM: Final = 160
SINGLE_SEGMENT_UCS2: Final = 70
# C17: an opt-out confirmation goes out within 5 minutes of the STOP, or never.
CONFIRMATION_WINDOW: Final = timedelta(minutes=5)


def confirmation_deadline_us(received_us: int) -> int:
    """The last moment (µs) an opt-out confirmation for a STOP received then may go out."""
    return received_us + int(CONFIRMATION_WINDOW.total_seconds() * 1_000_000)


@dataclass(frozen=True, slots=True)
class Program:
    """What the replies say about the sender (CTIA: name, help contact, frequency)."""

    name: str = "Messages"
    support: str = "the number you signed up with"
    frequency: str = "msg frequency varies"


DEFAULT_TEMPLATES: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "opt_out_confirmation": (
            "{program}: you are unsubscribed and will get no more messages. "
            "Reply START to resubscribe."
        ),
        "help": (
            "{program}: help at {support}. Up to {frequency}. Msg & data rates may apply. "
            "Reply STOP to opt out."
        ),
        "welcome": (
            "{program}: you are subscribed. Up to {frequency}. Msg & data rates may apply. "
            "Reply HELP for help, STOP to opt out."
        ),
        "double_opt_in_request": (
            "{program}: reply YES to confirm your subscription. Up to {frequency}. "
            "Msg & data rates may apply. Reply HELP for help, STOP to opt out."
        ),
    },
    "fr": {
        "opt_out_confirmation": (
            "{program} : désabonnement confirmé, vous ne recevrez plus de messages. "
            "Répondez NONARRET pour vous réabonner."
        ),
        "help": (
            "{program} : aide {support}. Jusqu'à {frequency}. Frais de messagerie et de "
            "données possibles. ARRET pour vous désabonner."
        ),
        "welcome": (
            "{program} : abonnement confirmé. Jusqu'à {frequency}. Frais de messagerie et de "
            "données possibles. AIDE pour de l'aide, ARRET pour vous désabonner."
        ),
        "double_opt_in_request": (
            "{program} : répondez OUI pour confirmer. Jusqu'à {frequency}. Frais de messagerie "
            "et de données possibles. AIDE pour de l'aide, ARRET pour vous désabonner."
        ),
    },
    "es": {
        "opt_out_confirmation": (
            "{program}: baja confirmada, no recibira mas mensajes. "
            "Responda VOLVER para suscribirse de nuevo."
        ),
        "help": (
            "{program}: ayuda en {support}. Hasta {frequency}. Pueden aplicarse tarifas de "
            "mensajes y datos. Responda BAJA para cancelar."
        ),
        "welcome": (
            "{program}: suscripcion confirmada. Hasta {frequency}. Pueden aplicarse tarifas "
            "de mensajes y datos. AYUDA para ayuda, BAJA para cancelar."
        ),
        "double_opt_in_request": (
            "{program}: responda SI para confirmar. Hasta {frequency}. Pueden aplicarse "
            "tarifas de mensajes y datos. AYUDA para ayuda, BAJA para cancelar."
        ),
    },
    "pt": {
        "opt_out_confirmation": (
            "{program}: cancelamento confirmado, nao recebera mais mensagens. "
            "Responda VOLTAR para reativar."
        ),
        "help": (
            "{program}: ajuda em {support}. Ate {frequency}. Podem ser cobradas tarifas de "
            "mensagens e dados. Responda PARAR para cancelar."
        ),
        "welcome": (
            "{program}: inscricao confirmada. Ate {frequency}. Podem ser cobradas tarifas de "
            "mensagens e dados. AJUDA para ajuda, PARAR para cancelar."
        ),
        "double_opt_in_request": (
            "{program}: responda SIM para confirmar. Ate {frequency}. Podem ser cobradas "
            "tarifas de mensagens e dados. AJUDA para ajuda, PARAR para cancelar."
        ),
    },
}

# C18 vocabulary per language: the rates notice, help and opt-out instructions.
_RATES: Final = {
    "en": re.compile(r"msg\s*&\s*data rates may apply", re.I),
    "fr": re.compile(r"frais de messagerie et de donn[ée]es", re.I),
    "es": re.compile(r"tarifas de mensajes y datos", re.I),
    "pt": re.compile(r"tarifas de mensagens e dados", re.I),
}
_HELP_WORDS: Final = re.compile(r"\b(HELP|INFO|AIDE|AYUDA|AJUDA)\b")
_STOP_WORDS: Final = re.compile(r"\b(STOP|ARRET|BAJA|PARAR|ALTO|CANCEL|UNSUBSCRIBE|QUIT|END)\b")
_PROMOTIONAL: Final = re.compile(
    r"\b(sale|offer|discount|deal|deals|promo|promotion|coupon|free|win|winner|prize|"
    r"buy|shop|save|bonus|exclusive|limited time|off your|% off|oferta|descuento|"
    r"promoci[oó]n|soldes|r[ée]duction|promo[cç][aã]o|desconto)\b",
    re.I,
)
_LINK: Final = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|net|org|io|co|ly|me)\b/)", re.I)
_FIELDS: Final = frozenset({"program", "support", "frequency"})

# GSM 03.38 default alphabet (and its extension table, which costs two septets).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED: Final = frozenset("^{}\\[~]|€\f")


def check_kind(kind: str) -> ReplyKind:
    if kind in REPLY_KINDS:
        return cast(ReplyKind, kind)
    raise InvalidConfig(f"unknown reply kind {kind!r}", kind=kind)


def check_language(language: str) -> str:
    if language in LANGUAGES:
        return language
    raise InvalidConfig(
        f"no reply templates for language {language!r}; expected one of {', '.join(LANGUAGES)}",
        language=language,
    )


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (GSM-7 when it can, else UCS-2)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return 1 if septets <= SINGLE_SEGMENT_GSM else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= SINGLE_SEGMENT_UCS2 else -(-units // 67)


def render(
    kind: str,
    language: str,
    program: Program,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The reply text of ``kind`` in ``language`` (falls back to English)."""
    lang = language if language in LANGUAGES else "en"
    template = (overrides or {}).get(lang, {}).get(kind) or DEFAULT_TEMPLATES[lang][kind]
    return template.format(
        program=program.name, support=program.support, frequency=program.frequency
    )


def confirmation_problems(text: str) -> list[str]:
    """What makes ``text`` unfit for an opt-out confirmation: promotion or a link (C17, C18).

    >>> confirmation_problems("Acme: unsubscribed. 20% off your next order!")
    ["promotional wording '% off' (C17: never promotional)"]
    """
    problems: list[str] = []
    promo = _PROMOTIONAL.search(text)
    if promo:
        problems.append(f"promotional wording {promo.group(0)!r} (C17: never promotional)")
    if _LINK.search(text):
        problems.append("a link (C18: no links in an opt-out confirmation)")
    return problems


def lint_template(kind: str, language: str, template: str, program: Program) -> list[str]:
    """Check a template (C18); raise InvalidConfig for a breach, return warnings.

    Opt-out confirmations may not promote anything or carry links; opt-in and
    double opt-in texts must carry the five CTIA elements; HELP must carry the
    C11 elements. Over one segment (or 160 characters, CWTA) is a warning.
    """
    checked = check_kind(kind)
    lang = check_language(language)
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = fields - _FIELDS
    if unknown:
        raise InvalidConfig(
            f"unknown placeholder(s) {', '.join(sorted(unknown))} in the {kind} template",
            kind=kind,
        )
    text = template.format(
        program=program.name, support=program.support, frequency=program.frequency
    )
    problems: list[str] = []
    if checked == "opt_out_confirmation":
        problems.extend(confirmation_problems(text))
    else:
        needs = {"program name": "program" in fields or program.name in text}
        if checked in ("welcome", "double_opt_in_request", "help"):
            needs["'Msg & data rates may apply'"] = bool(_RATES[lang].search(text))
            needs["opt-out instructions (STOP)"] = bool(_STOP_WORDS.search(text))
        if checked in ("welcome", "double_opt_in_request"):
            needs["message frequency"] = "frequency" in fields
            needs["help instructions (HELP)"] = bool(_HELP_WORDS.search(text))
        if checked == "help":
            needs["support contact"] = "support" in fields
        problems.extend(f"missing {name}" for name, present in needs.items() if not present)
    if problems:
        raise InvalidConfig(
            f"{kind} template ({lang}) rejected: " + "; ".join(problems), kind=kind, language=lang
        )
    warnings: list[str] = []
    if segments(text) > 1:
        warnings.append(f"{kind} ({lang}) takes {segments(text)} SMS segments")
    if len(text) > 160:
        warnings.append(f"{kind} ({lang}) is {len(text)} characters; keyword replies ≤ 160 (CWTA)")
    return warnings
