"""The exception tree is one tree: drawn, exported and mapped to HTTP, every class of it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import consentline
from consentline.domain import errors
from consentline.domain.errors import ConsentlineError, InvalidAddress
from consentline.http.errors import ANSWERS, NOT_HTTP_FACING, STATUS, status_of

_BRANCH = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z][A-Za-z]+)\b")


def _drawn() -> dict[str, str | None]:
    """Each class drawn in the errors docstring, with the parent it is drawn under."""
    doc = errors.__doc__ or ""
    start = doc.index("    ConsentlineError\n")
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in doc[start:].split("\n\n", 1)[0].splitlines():
        found = _BRANCH.match(line[4:])
        assert found is not None, line
        depth = len(found["indent"]) // 4
        del stack[depth:]
        parents[found["name"]] = stack[-1] if stack else None
        stack.append(found["name"])
    return parents


def _defined() -> set[type[ConsentlineError]]:
    """Every ConsentlineError subclass the package defines (all its modules imported)."""
    for module in pkgutil.walk_packages(consentline.__path__, "consentline."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type[ConsentlineError]] = set()
    todo = [ConsentlineError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("consentline.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


DEFINED = sorted(_defined(), key=lambda cls: cls.__name__)


def test_the_walk_finds_the_errors_defined_outside_the_domain_too() -> None:
    names = {cls.__name__ for cls in DEFINED}
    assert {"UnknownSubscription", "CannotSend", "SettingsError", "BlockedDestination"} <= names


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_every_error_lives_in_the_drawn_tree_under_its_real_parent(
    cls: type[ConsentlineError],
) -> None:
    assert cls.__module__ == "consentline.domain.errors"
    drawn = _drawn()
    assert cls.__name__ in drawn, f"{cls.__name__} is not drawn in domain/errors.py"
    assert drawn[cls.__name__] == cls.__bases__[0].__name__


def test_the_drawing_names_no_class_that_does_not_exist() -> None:
    defined = {cls.__name__ for cls in DEFINED} | {"ConsentlineError"}
    assert set(_drawn()) == defined


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_every_error_is_public(cls: type[ConsentlineError]) -> None:
    assert cls.__name__ in consentline.__all__
    assert getattr(consentline, cls.__name__) is cls


@pytest.mark.parametrize("cls", DEFINED, ids=lambda cls: cls.__name__)
def test_every_error_has_a_status_of_its_own_kind_or_is_not_http_facing(
    cls: type[ConsentlineError],
) -> None:
    if cls in NOT_HTTP_FACING:
        return
    if any(c in ANSWERS for c in cls.__mro__):
        # answered in another shape (the gateway's Twilio body) with the status it carries
        assert status_of(cls("x", status=429)) == 429
        return
    # The nearest ancestor in the registry must be more than the catch-all root.
    mapped_by = next(c for c in cls.__mro__ if c in STATUS)
    assert mapped_by is not ConsentlineError, f"{cls.__name__} falls through to 400"
    assert status_of(cls("x")) == STATUS[mapped_by]


def test_codes_are_distinct_across_the_tree() -> None:
    codes = [cls.code for cls in DEFINED]
    assert len(set(codes)) == len(codes)


def test_an_error_prints_its_message_and_its_data() -> None:
    error = consentline.UnknownSubscription("no webhook subscription 7", subscription=7)
    assert str(error) == "no webhook subscription 7"
    assert repr(error) == "UnknownSubscription('no webhook subscription 7', subscription=7)"
    assert error.to_dict() == {
        "code": "unknown_subscription",
        "message": "no webhook subscription 7",
        "subscription": 7,
    }


def test_the_unmasked_view_is_for_the_author_only() -> None:
    # C23: str, repr and to_dict (what logs and HTTP answers use) stay masked.
    error = InvalidAddress("+1415***0101 is bad", address="+1415***0101").reveal(
        "+14155550101 is bad", address="+14155550101"
    )
    for shown in (str(error), repr(error), str(error.to_dict()), str(error.args)):
        assert "+14155550101" not in shown
    assert error.for_author() == {
        "code": "invalid_address",
        "message": "+14155550101 is bad",
        "address": "+14155550101",
    }


def test_without_a_revealed_view_the_author_sees_the_masked_one() -> None:
    error = InvalidAddress("+1415***0101 is bad", address="+1415***0101")
    assert error.for_author() == error.to_dict()
