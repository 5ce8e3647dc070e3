"""Checking an account keyword before it is saved (collisions, everyday words, C7 slips)."""

from __future__ import annotations

from typing import Literal

from consentline.domain.classifier.packs import TOKEN, key_of, load_packs
from consentline.domain.classifier.typos import one_slip
from consentline.domain.errors import InvalidKeyword

__all__ = ["lint_keyword"]


# Words people send by accident or in passing; as account keywords they would
# subscribe or unsubscribe people who were only answering a question.
_EVERYDAY_WORDS = frozenset(
    {"YES", "Y", "YEAH", "YEP", "YUP", "YA", "N", "NO", "NOPE", "NAH", "OK", "OKAY", "K", "KK",
     "THANKS", "THANK", "THX", "TY", "HI", "HELLO", "HEY", "SURE", "FINE", "GOOD", "GREAT",
     "COOL", "LOL", "PLEASE", "PLS", "MAYBE", "LATER", "NOW", "WHAT", "WHO", "WHY", "HOW",
     "WHEN", "WHERE", "OUI", "NON", "SI", "SIM", "NAO", "JA", "NEE", "NEI", "NEJ", "GRACIAS",
     "MERCI", "OBRIGADO", "DONE", "AND", "THE", "ME", "YOU"}
)  # fmt: skip

_KIND_INTENT = {"opt_out": "opt_out", "opt_in": "opt_in", "help": "help", "topic": "topic"}


def lint_keyword(keyword: str, kind: Literal["opt_out", "opt_in", "help", "topic"]) -> list[str]:
    """Check an account keyword before it is saved; return warnings, raise on errors.

    Raises :class:`~consentline.domain.errors.InvalidKeyword` when the keyword is
    not letters and digits, is an everyday word (YES, OK, NO, THANKS, ...), or is a
    built-in keyword of a different intent (an opt-in keyword ``STOP`` would
    contradict C2). Warns when it is shorter than 4 characters, is already built
    in with the same intent, or is one slip from an opt-out keyword (C7 would treat
    it as an opt-out before the account keyword is looked at).

    Example::

        >>> lint_keyword("VOLUNTEER", "topic")
        []
        >>> lint_keyword("GO", "opt_in")
        ['GO is shorter than 4 characters: short keywords are often sent by accident']
    """
    canonical = keyword.strip().upper()
    if not canonical or not TOKEN.fullmatch(canonical):
        raise InvalidKeyword(
            f"keyword {keyword!r} must be one word of letters and digits", keyword=keyword
        )
    if canonical in _EVERYDAY_WORDS:
        raise InvalidKeyword(
            f"{canonical} is an everyday word people send by accident; choose a distinctive one",
            keyword=keyword,
        )
    intent = _KIND_INTENT[kind]
    packs = load_packs()
    key = key_of(canonical)
    warnings: list[str] = []
    entry = packs.entries.get(key)
    if entry is not None:
        if entry.intent != intent:
            raise InvalidKeyword(
                f"{canonical} is a built-in {entry.intent} keyword ({', '.join(entry.languages)})"
                f" and cannot be used as a {kind} keyword",
                keyword=keyword,
                built_in_intent=entry.intent,
            )
        warnings.append(f"{canonical} is already a built-in {entry.intent} keyword")
    elif intent != "opt_out" and any(one_slip(key, e.key) for e in packs.typo_targets):
        warnings.append(
            f"{canonical} is one typo away from an opt-out keyword: senders may mean to opt out"
        )
    if len(canonical) < 4:
        warnings.append(
            f"{canonical} is shorter than 4 characters: short keywords are often sent by accident"
        )
    if canonical.isdigit():
        warnings.append(f"{canonical} is only digits: people may send it as part of a number")
    return warnings
