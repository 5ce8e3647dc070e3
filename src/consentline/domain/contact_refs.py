"""Contact references: the ids an external system (a CRM) gives the record of a person.

An address can carry several, from several systems: ``salesforce:003xx00000Abc``
names a Salesforce Contact, a bare ``003xx00000Abc`` belongs to the system
``default``. The change feed, webhooks and exports carry them, so a CRM can update
the right record, and a list of unsubscribes can name records without a number.

A reference is an identifier, not personal data: it is refused when it looks like an
E.164 number or an e-mail address (plain digits are ids in many CRMs), so no
number can slip into a list of references.

>>> parse_contact_ref("salesforce:003xx00000Abc")
ContactRef(system='salesforce', ref='003xx00000Abc')
>>> parse_contact_ref("A-17")
ContactRef(system='default', ref='A-17')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from consentline.domain.errors import InvalidContactRef

DEFAULT_SYSTEM: Final = "default"
MAX_REFS: Final = 16  # per write: a record is not a list of people
_SYSTEM = re.compile(r"[a-z][a-z0-9_.-]{0,62}")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/#@+-]{0,254}")
_PHONE_LIKE = re.compile(r"\+[0-9][0-9 ().-]{5,}")  # an E.164 number (digits alone: ids)


@dataclass(frozen=True, slots=True, order=True)
class ContactRef:
    """One external record id: the ``system`` it belongs to and the id there."""

    system: str
    ref: str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as its fields in order, cheap to load.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))

    def as_dict(self) -> dict[str, str]:
        return {"system": self.system, "ref": self.ref}

    def __str__(self) -> str:
        return f"{self.system}:{self.ref}"


def check_ref(ref: str) -> str:
    """A reference's own id: 1 to 255 identifier characters, nothing like a number."""
    if not isinstance(ref, str) or _REF.fullmatch(ref) is None:
        raise InvalidContactRef(
            "a contact reference is 1 to 255 letters, digits or _.:/#@+- (starting with a "
            "letter or digit)",
            field="contact_ref",
        )
    if _PHONE_LIKE.fullmatch(ref) is not None or ("@" in ref and "." in ref.split("@")[-1]):
        raise InvalidContactRef(
            "a contact reference must be a record id, not a phone number or e-mail address",
            field="contact_ref",
        )
    return ref


def check_system(system: str) -> str:
    if not isinstance(system, str) or _SYSTEM.fullmatch(system) is None:
        raise InvalidContactRef(
            "a contact reference's system is 1 to 63 lower-case letters, digits or _.- "
            "(starting with a letter)",
            field="contact_ref",
        )
    return system


def parse_contact_ref(text: str) -> ContactRef:
    """``system:ref`` or a bare ``ref`` (system ``default``).

    The system is what precedes the first colon when that is a system name
    (lower-case, starting with a letter); anything else is a bare reference.
    """
    if not isinstance(text, str):
        raise InvalidContactRef("a contact reference is text", field="contact_ref")
    text = text.strip()
    head, sep, tail = text.partition(":")
    if sep and _SYSTEM.fullmatch(head) is not None:
        return ContactRef(head, check_ref(tail))
    return ContactRef(DEFAULT_SYSTEM, check_ref(text))


def parse_contact_refs(value: str | Sequence[str] | None) -> tuple[ContactRef, ...]:
    """``None``, one reference or a list of them; duplicates kept once, in order."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    if len(items) > MAX_REFS:
        raise InvalidContactRef(
            f"at most {MAX_REFS} contact references per write", field="contact_ref", limit=MAX_REFS
        )
    return tuple(dict.fromkeys(parse_contact_ref(item) for item in items))
