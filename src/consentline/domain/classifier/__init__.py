"""Classify an inbound SMS as opt-out, opt-in, help, ambiguous or nothing (C1-C13).

:func:`classify` takes the raw body and returns a :class:`Classification` that
says what the message means, which rule decided it, the keyword or phrase that
matched, its language and scope, and what an exact single-word provider matcher
would have done. The modules, by concept:

- :mod:`.types`: the values (:class:`Classification`, :class:`ClassifierConfig`,
  :class:`KeywordScope`);
- :mod:`.normalise`: the C1 normal form matched against;
- :mod:`.packs`: the language packs and the revocation grammars, data files in
  ``data/`` (each keyword with its source and confidence, each grammar rule with
  its id and examples); :mod:`.grammar` compiles the grammars' forms;
- the classification stages, first decisive one wins: :mod:`.stages` (whole
  message, keyword-led, grammar), :mod:`.trailers` (a keyword with a reference
  or a name after it), :mod:`.sentences` (one sentence that is a keyword
  request), :mod:`.typos` (C7), :mod:`.guard` (C8) with :mod:`.everyday` (C9);
  :mod:`.stretch` recovers keywords hidden by stretched letters (C1);
- :mod:`.pipeline`: :func:`classify` runs them; :func:`warm` builds the tables;
- :mod:`.lint`: :func:`lint_keyword` checks an account keyword before it is saved.

Nothing here does I/O beyond reading that package data.
"""

from consentline.domain.classifier.lint import lint_keyword
from consentline.domain.classifier.pipeline import classify, warm
from consentline.domain.classifier.types import (
    ALL_LANGUAGES,
    ALL_SCOPE,
    CLASSIFIER_VERSION,
    DEFAULT_CONFIG,
    DEFAULT_SCOPE,
    Classification,
    ClassifierConfig,
    Intent,
    KeywordScope,
    ProviderIntent,
)

__all__ = [
    "ALL_LANGUAGES",
    "ALL_SCOPE",
    "CLASSIFIER_VERSION",
    "DEFAULT_CONFIG",
    "DEFAULT_SCOPE",
    "Classification",
    "ClassifierConfig",
    "Intent",
    "KeywordScope",
    "ProviderIntent",
    "classify",
    "lint_keyword",
    "warm",
]
