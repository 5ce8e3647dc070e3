"""Message text as evidence: stored faithfully, whatever characters it holds.

Two kinds of code point cannot be stored as text on every database we support:
U+0000 (NUL: PostgreSQL's ``text`` refuses it, SQLite keeps it) and the lone
surrogates U+D800..U+DFFF (no UTF-8 encoding exists: both databases refuse them,
and no JSON answer can carry them). A handset's ``STOP`` with a stray NUL is
still a STOP, so such a text is not refused but stored in two forms:

* its *display form*: each unstorable code point replaced by U+FFFD (``"\\ufffd"``,
  the replacement character); this is what ``text``/``body`` fields hold;
* its *exact form*, ``text_escaped``: the exact text as an ASCII-only JSON string
  literal, quotes included, so ``json.loads(text_escaped)`` gives it back code
  point for code point (any JSON parser can read it).

Ordinary texts (no unstorable code point, the overwhelming majority) are stored
unchanged and get no ``text_escaped``. The same rule applies on both databases.

A proof must stay under the ledger's proof limit, while an inbound message may be
longer; :func:`text_evidence` then keeps the start of the display form in the
proof with ``text_chars`` (the exact length) and ``text_sha256`` (the SHA-256 of
the exact text's UTF-8, surrogates encoded with ``surrogatepass``), which ties the
complete text kept in the inbound record to the hash chain.

Identifiers (message ids, idempotency keys, account sids) are not evidence to
keep but keys to look up: one holding an unstorable code point is refused with
:func:`check_identifier`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import MAX_PROOF_BYTES

UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"


def is_storable(text: str) -> bool:
    """True when ``text`` can be stored as it is on every supported database."""
    return UNSTORABLE.search(text) is None


def display_form(text: str) -> str:
    """``text`` with each unstorable code point replaced by U+FFFD.

    >>> display_form("STOP\\x00")
    'STOP\\ufffd'
    """
    return UNSTORABLE.sub(REPLACEMENT, text)


def escape(text: str) -> str:
    """The exact form: an ASCII-only JSON string literal.

    >>> escape("STOP\\x00")
    '"STOP\\\\u0000"'
    """
    return json.dumps(text, ensure_ascii=True)


def unescape(escaped: str) -> str:
    """The inverse of :func:`escape`."""
    value = json.loads(escaped)
    if not isinstance(value, str):
        raise InvalidInput("text_escaped is not a JSON string", field="text_escaped")
    return value


def exact_text(fields: Mapping[str, Any]) -> str | None:
    """The exact text recorded in ``fields`` (a proof or stored fields), if whole.

    None when the proof kept only the start of a long text (``text_sha256``).
    """
    escaped = fields.get("text_escaped")
    if isinstance(escaped, str):
        return unescape(escaped)
    if "text_sha256" in fields:
        return None
    text = fields.get("text")
    return text if isinstance(text, str) else None


def digest(text: str) -> str:
    """SHA-256 (hex) of the exact text's UTF-8, lone surrogates kept (``surrogatepass``)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _json_size(value: Any) -> int:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def text_evidence(text: str, budget: int) -> dict[str, Any]:
    """The proof fields for a message text, at most ``budget`` bytes of JSON.

    ``{"text": text}`` for an ordinary text that fits; ``text`` (display form) and
    ``text_escaped`` for one with unstorable code points; and, when that would not
    fit, the start of the display form with ``text_chars`` and ``text_sha256``.
    """
    shown = display_form(text)
    fields: dict[str, Any] = {"text": shown}
    if shown != text:
        fields["text_escaped"] = escape(text)
    if _json_size(fields) <= budget:
        return fields
    fields = {"text": "", "text_chars": len(text), "text_sha256": digest(text)}
    room = budget - _json_size(fields)
    cut, used = 0, 0
    for char in shown:
        cost = _json_size(char) - 2  # the character inside the quotes
        if used + cost > room:
            break
        used += cost
        cut += 1
    fields["text"] = shown[:cut]
    return fields


def check_identifier(value: str, field: str) -> str:
    """Refuse an identifier holding NUL or a lone surrogate (it could not be stored)."""
    if not is_storable(value):
        raise InvalidInput(
            f"{field} holds a NUL or a lone surrogate, which cannot be stored", field=field
        )
    return value


# Room kept in a proof for what a decision adds after its text (confirms_event, ...).
_PROOF_MARGIN: Final = 256


def with_text(proof: dict[str, Any], text: str) -> dict[str, Any]:
    """``proof`` with the message text's evidence fields, within the proof limit."""
    used = len(json.dumps(proof, ensure_ascii=False, separators=(",", ":")).encode())
    proof.update(text_evidence(text, MAX_PROOF_BYTES - used - _PROOF_MARGIN))
    return proof


def stored_text(body: str, classification: str) -> str:
    """The exact text of a stored inbound message (its ``body`` and ``classification``)."""
    escaped = json.loads(classification).get("text_escaped")
    return body if escaped is None else unescape(escaped)
