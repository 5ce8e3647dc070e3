"""Stage 3b (C2, C5): one sentence of a longer reply is a keyword request on its own.

"Please stop. I'm not interested", "we closed our account months ago, why are you
still texting? stop." and "STOP (this is Ron from apt 4B)" are revocations: one of
their sentences is exactly what stages 2 and 2b accept as a whole message. The
sentences are the raw text cut at sentence ends, brackets, new lines and spaced
dashes; a comma does not end a sentence ("stop, attends, je regarde" is French
for "wait"), except before the last words: "not interested, stop" ends on its
request. Only the unambiguous per-se words count here: STOP, STOPALL,
UNSUBSCRIBE, UNSUB, OPT OUT, REVOKE, and REMOVE as a sentence of its own. Words
with everyday senses (QUIT, END, CANCEL) do not: "Boooo you always work. Just
quit." is not a request to the sender, and stays with the C8 guard.
"""

from __future__ import annotations

import re

from consentline.domain.classifier.packs import Packs, key_of
from consentline.domain.classifier.stages import Verdict, keyword_led
from consentline.domain.classifier.trailers import keyword_trailer
from consentline.domain.classifier.types import ClassifierConfig

__all__ = ["keyword_sentence"]

# C2: per-se words with no everyday sense in a reply to a business.
_STRONG = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "UNSUB", "OPT OUT", "OPTOUT",
                     "REVOKE", "REMOVE"})  # fmt: skip
_STRONG_KEYS = frozenset(word.lower() for word in _STRONG) | {"opt", "stop"}
_SENTENCE_END = re.compile(r"[.!?\n\r()\[\]{}]+|\s[-\u2013\u2014~|]+\s|--+")


def keyword_sentence(
    text: str, tokens: list[str], config: ClassifierConfig, packs: Packs
) -> Verdict | None:
    """Stage 3b (C2, C5): a sentence of the reply is a keyword request by itself."""
    if _STRONG_KEYS.isdisjoint(tokens):
        return None  # fast exit: no strong keyword anywhere
    parts = _SENTENCE_END.split(text)
    head, comma, last = parts[-1].rpartition(",")
    candidates = [*parts[:-1], last] if comma and head.strip() else parts
    if len(candidates) < 2 and not comma:
        return None  # one sentence: stages 2 and 2b have already read it whole
    for part in candidates:
        words = key_of(part).split()
        if not words or _STRONG_KEYS.isdisjoint(words):
            continue
        verdict = keyword_led(words, config, packs) or keyword_trailer(part, words, config, packs)
        if verdict is not None and verdict.intent == "opt_out" and verdict.keyword in _STRONG:
            return verdict._replace(rule="C5.keyword_sentence")
    return None
