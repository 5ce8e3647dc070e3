"""The classifier's entry point: normalise, split into clauses, run the stages.

The stages, first decisive one wins:

1. whole message is a keyword: C2 per-se words, C3 provider-parity words, C4
   language packs, C11 help, C12 opt-in, account keywords and topic keywords;
2. keyword-led message (C5): keywords followed only by courtesy, scope and
   messaging words ("stop please", "STOP MARKETING", "quit texting me");
   several keywords are resolved by C10 precedence (opt_out > help > opt_in);
   then (C2, trailers.py) an opt-out keyword followed by a pronoun, a reference,
   a name or a signature as well ("STOP it", "CANCEL #55123", "Stop John");
3. plain-language revocation (C6) in any clause, read by the grammars
   ("take me off your list", "I'd rather not get any more of these"); then
   (sentences.py) one sentence of a longer reply that is a keyword request;
4. typo of an opt-out keyword (C7): one word, or leading what stage 2 accepts;
5. ambiguity guard (C8): a doubtful grammar match (negated, questioned, a
   'review' rule), bare NO, soft declines, an opt-out word inside an ordinary
   sentence, an opt-out emoji alone -> ``ambiguous`` (human review);
   but an opt-out word only in an everyday sense ("bus stop", "the end of the
   month", everyday.py) -> ``none`` (C9.everyday_sense);
6. otherwise ``none``. Words match whole tokens only (C9).
"""

from __future__ import annotations

import re

from consentline.domain.classifier.guard import guard, stop_emoji
from consentline.domain.classifier.normalise import normalise_runs, warm_tables
from consentline.domain.classifier.packs import TOKEN, candidates, load_packs
from consentline.domain.classifier.sentences import keyword_sentence
from consentline.domain.classifier.stages import Verdict, keyword_led, plain_phrase, whole_message
from consentline.domain.classifier.stretch import unstretch
from consentline.domain.classifier.trailers import keyword_trailer
from consentline.domain.classifier.types import (
    CLASSIFIER_VERSION,
    DEFAULT_CONFIG,
    Classification,
    ClassifierConfig,
    ProviderIntent,
)
from consentline.domain.classifier.typos import typo

__all__ = ["classify", "warm"]


# C13: what Twilio's exact matcher does (trimmed, case-insensitive whole body).
_PROVIDER_EXACT: dict[str, ProviderIntent] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "opt_out"
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}


# Clauses end at these characters; apostrophes vanish ("don't" -> "dont"); any other
# character that is not a letter or digit separates words.
_CLAUSE_ENDS = '.!?;,:()[]\n"'
_CLAUSE_SPLIT = re.compile(f"[{re.escape(_CLAUSE_ENDS)}]+")
_ASCII_TABLE = bytes(
    10 if chr(i) in _CLAUSE_ENDS else i if chr(i).isalnum() else 32 for i in range(256)
)


def _clauses(normalised: str) -> list[str]:
    """Split normalised text into clauses of single-spaced words (C6 works per clause)."""
    if normalised.isascii():
        # Fast path: one byte-table translation instead of two regular expressions.
        cut = normalised.encode("ascii").translate(_ASCII_TABLE, b"'").decode("ascii")
        if "\n" not in cut:
            clause = " ".join(cut.split())
            return [clause] if clause else []
        parts = cut.split("\n")
    else:
        parts = _CLAUSE_SPLIT.split(normalised.replace("'", ""))
        parts = [" ".join(TOKEN.findall(part)) for part in parts]
    return [clause for clause in (" ".join(part.split()) for part in parts) if clause]


def classify(text: str, config: ClassifierConfig = DEFAULT_CONFIG) -> Classification:
    """Classify one inbound message body (C1-C13).

    Example::

        >>> classify("Stop please").intent
        'opt_out'
        >>> c = classify("STOP MARKETING")
        >>> (c.rule, c.scope)
        ('C5.keyword_led', KeywordScope(kind='purpose', name='marketing'))
        >>> classify("ARRÊT").language, classify("ARRÊT").provider_exact
        ('fr', 'none')
        >>> classify("cancel my appointment").intent
        'ambiguous'
    """
    provider = _PROVIDER_EXACT.get(text.strip().upper(), "none")
    normalised, stretched = normalise_runs(text)
    clauses = _clauses(normalised)
    if stretched:  # C1: "ARRRRET" -> "aret" -> ARRET (stretch.py)
        clauses = unstretch(clauses, stretched)
    key = " ".join(clauses)
    tokens = key.split()
    verdict: Verdict | None
    if not tokens:
        emoji = stop_emoji(text)
        verdict = (
            Verdict("ambiguous", "C8.emoji", emoji) if emoji else Verdict("none", "none.empty")
        )
    else:
        packs = load_packs()
        verdict = (
            whole_message(key, config, packs)
            or keyword_led(tokens, config, packs)
            or keyword_trailer(text, tokens, config, packs)
        )
        if verdict is None:
            hits = packs.pattern_words.intersection(tokens)
            rules = candidates(hits, tokens, config, packs) if hits else []
            # A grammar match decides at once when it is an opt-out; a doubtful one
            # (negated, questioned) waits until the sentence and typo stages have
            # had their say: "I didn't sign up for this, stop" ends on a request.
            phrase = plain_phrase(text, clauses, rules, config)
            verdict = (
                (phrase if phrase is not None and phrase.intent == "opt_out" else None)
                or keyword_sentence(text, tokens, config, packs)
                or typo(tokens, config, packs)
                or phrase
                or guard(text, key, tokens, rules, config, packs, clauses)
                or Verdict("none", "none")
            )
    return Classification(
        intent=verdict.intent,
        rule=verdict.rule,
        keyword=verdict.keyword,
        language=verdict.language,
        scope=verdict.scope,
        provider_exact=provider,
        version=CLASSIFIER_VERSION,
        normalised=normalised,
        topic=verdict.topic,
    )


def warm() -> None:
    """Build the classifier's tables now instead of on first use.

    The packs are read and indexed on the first message, and the Unicode tables
    (format characters, confusables, combining marks: a walk over every code
    point) on the first message that is not plain ASCII, which then takes a few
    hundred milliseconds. A server calls this at start-up so that no request pays
    for it. Idempotent and cheap once done.

    Example::

        >>> warm()
        >>> classify("ＳＴＯＰ").intent
        'opt_out'
    """
    load_packs()
    warm_tables()
    for sample in ("STOP it", "stpo please", "ARRRRET", "next stop"):
        classify(sample)  # the word lists of trailers.py, typos.py, stretch.py, everyday.py
