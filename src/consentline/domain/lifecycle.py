"""What a number's life cycle does to its consents: a number change, a deactivation.

Both end the consent a number holds without the person opting out, so both are
``lapse`` events (docs/lifecycle.md). This module only answers the pure question
"which consents does this number still hold?" from its projection entries; the
use cases in ``services/number_changes.py`` and ``services/deactivations.py``
turn the answer into events.

A consent is held per *key* — the exact (scope, purpose, topic) an ``opt_in`` or
``pending`` entry names. It is held from its newest ``opt_in``/``pending`` entry
until a ``lapse`` that covers it (same scope, purpose none or equal, topic none
or equal). An ``opt_out`` does not end it: the fold keeps an opt-in masked under
an opt-out and a START would give it back, which is exactly what must not happen
for the number's next holder, so masked consents are held (and lapsed) too.

>>> from consentline.domain.ledger import Entry
>>> entries = [Entry(1, "i", "A1", "marketing", "", 10, "web_form"),
...            Entry(2, "o", "A1", "", "", 20, "keyword")]
>>> [(e.scope, e.purpose, e.id) for e in held(entries)]
[('A1', 'marketing', 1)]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

from consentline.domain.ledger import Entry

Key = tuple[str, str, str]  # (scope, purpose, topic); "" = none

DEACTIVATION_SOURCE: Final = "deactivation"
NUMBER_CHANGE_SOURCE: Final = "number_change"


def _covers(lapse: Entry, key: Key) -> bool:
    scope, purpose, topic = key
    return (
        lapse.scope == scope
        and (not lapse.purpose or lapse.purpose == purpose)
        and (not lapse.topic or lapse.topic == topic)
    )


def held(
    entries: Sequence[Entry], keep: Callable[[str], bool] = lambda _scope: True
) -> list[Entry]:
    """The newest ``opt_in``/``pending`` entry of every key still held, in fold order.

    ``entries`` are in fold order (the projection's); ``keep`` filters the scopes
    considered (the caller's subtree).
    """
    holding: dict[Key, Entry] = {}
    for entry in entries:
        if not keep(entry.scope):
            continue
        if entry.code in ("i", "p"):
            key = (entry.scope, entry.purpose, entry.topic)
            holding.pop(key, None)  # re-insert: dict order follows the newest entry
            holding[key] = entry
        elif entry.code == "l":
            for key in [k for k in holding if _covers(entry, k)]:
                del holding[key]
    return sorted(holding.values(), key=lambda e: (e.occurred_us, e.id))


def held_before(
    entries: Sequence[Entry], before_us: int, keep: Callable[[str], bool] = lambda _scope: True
) -> list[Entry]:
    """The held consents given strictly before ``before_us`` (a deactivation)."""
    return [e for e in held(entries, keep) if e.occurred_us < before_us]


def lapse_key(kind: str, *parts: object) -> str:
    """An idempotency key for a lifecycle lapse: ``kind:`` and a digest of ``parts``.

    Derived only from what identifies the lapse, so a re-run of the same change
    or list produces the same keys and appends nothing.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"
