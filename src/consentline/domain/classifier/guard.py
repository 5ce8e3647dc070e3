"""Stage 5 (C8): messages that are not an opt-out but that a person should look at."""

from __future__ import annotations

from collections.abc import Sequence

from consentline.domain.classifier.everyday import everyday_sense
from consentline.domain.classifier.packs import Packs, Pattern, enabled, language_of
from consentline.domain.classifier.stages import Verdict, keyword_led
from consentline.domain.classifier.trailers import keyword_trailer
from consentline.domain.classifier.types import ClassifierConfig

__all__ = ["guard", "stop_emoji"]


# C8: emoji that mean "stop" but are too vague to act on alone.
_STOP_EMOJI = frozenset("\U0001f6d1\u26d4\U0001f6ab")


def guard(
    text: str,
    key: str,
    tokens: list[str],
    rules: Sequence[Pattern],
    config: ClassifierConfig,
    packs: Packs,
    clauses: list[str] | None = None,
) -> Verdict | None:
    """Stage 5 (C8): not an opt-out, but a person should look at it.

    ``rules`` are the grammar rules the message's words select; the 'soft' ones
    (soft declines, complaints) must match from the first word.

    An opt-out word that only appears in an everyday sense ("bus stop", "the end of
    the month"; ``everyday.py``) is not a reason to look: then the verdict is
    ``none`` with rule ``C9.everyday_sense``, unless an emoji or an opt-out phrase
    still asks for review. ``clauses`` default to the whole message as one clause.
    """
    if key == "no":
        return Verdict("ambiguous", "C8.bare_no", "NO")
    for pattern in rules:
        if pattern.kind != "soft":
            continue
        match = pattern.regex.match(key + " ")
        if match is not None:
            phrase = match["phrase"].strip().upper()
            return Verdict("ambiguous", pattern.rule, phrase, pattern.language)
    lead = packs.entries.get(tokens[0])
    if (
        lead is not None
        and lead.whole_message_only
        and lead.intent == "opt_out"
        and len(tokens) > 1
        and enabled(lead, config)
        and _led_like_a_keyword(text, tokens, config, packs)
    ):
        # C4/C8: ALTO, SALIR, PARE count only as the whole message, but one that
        # leads what would be a keyword request ("SALIR MARKETING", "ALTO 3390")
        # is worth a person's look; "pare the apples" is not.
        return Verdict("ambiguous", "C8.ordinary_word_led", lead.keyword, language_of(lead, config))
    guarded = not packs.guard_keys.isdisjoint(tokens)
    exempt: Verdict | None = None
    for token in tokens if guarded else ():
        entry = packs.guard_words.get(token)
        if entry is not None and enabled(entry, config):
            everyday = everyday_sense(clauses or [key], tokens, config, packs)
            if everyday is None:
                return Verdict(
                    "ambiguous",
                    "C8.contains_opt_out_word",
                    entry.keyword,
                    language_of(entry, config),
                )
            context, words = everyday
            exempt = Verdict("none", "C9.everyday_sense", words.upper(), context.language)
            break
    for entry in packs.guard_phrases:
        if entry.key in key and f" {entry.key} " in f" {key} " and enabled(entry, config):
            return Verdict(
                "ambiguous", "C8.contains_opt_out_word", entry.keyword, language_of(entry, config)
            )
    emoji = stop_emoji(text)
    if emoji is not None:
        return Verdict("ambiguous", "C8.emoji", emoji)
    return exempt


def _led_like_a_keyword(
    text: str, tokens: list[str], config: ClassifierConfig, packs: Packs
) -> bool:
    """Would stages 2 or 2b accept the message with STOP in place of its first word?"""
    fixed = ["stop", *tokens[1:]]
    verdict = keyword_led(fixed, config, packs) or keyword_trailer(text, fixed, config, packs)
    return verdict is not None and verdict.intent == "opt_out"


def stop_emoji(text: str) -> str | None:
    """The first stop emoji in ``text`` (C8: never acted on alone, always reviewed)."""
    if text.isascii():
        return None
    return next((c for c in text if c in _STOP_EMOJI), None)
