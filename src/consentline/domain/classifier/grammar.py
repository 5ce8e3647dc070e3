"""The C6/C8 revocation grammar: word classes and rule forms, compiled to regexes.

A revocation is rarely a fixed phrase. People combine a few parts: a request or a
negation ("please", "I'd rather not", "do not"), a messaging verb or noun ("send",
"text", "contact", "these messages"), a target ("me", "my number", "my details"),
and optional quantity, time or courtesy words ("any more", "from now on",
"thanks"). Each language's grammar (``data/grammar_<lang>.json``) names those parts
as word classes and lists the forms they combine into; every form is a rule with
an id, so the evidence says which form matched (C13).

Form syntax, one clause of normalised words (lower case, no diacritics, no
apostrophes, single spaces)::

    NAME          a word class (a list of forms, which may use other classes)
    word          that word
    ( a b | c )   one of several sequences
    _             any one word
    X?  X*  X+    optional, any number, at least one
    X{0,2}        between 0 and 2 times
    $             the end of the clause

:func:`compile_rule` turns a form into a regular expression over the clause
followed by one space (every word consumes "word "), and computes the words
the rule needs: the possible first words of its most selective mandatory part.
A rule is tried only on messages containing one of them, which keeps the
classifier fast without hand-kept "requires" lists that could drift from the
form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["GrammarError", "Node", "anchor_words", "compile_rule", "parse", "to_regex"]


class GrammarError(ValueError):
    """A grammar file that cannot be compiled (a packaging bug, caught by the tests)."""


# Nodes: ("lit", word), ("cls", NAME), ("any",), ("end",), ("seq", nodes),
# ("alt", seqs), ("rep", node, low, high).
Node = tuple[object, ...]

_TOKENS = re.compile(r"\(|\)|\||\?|\*|\+|\{\d+,\d+\}|[^\s()|?*+{]+")
_CLASS = re.compile(r"[A-Z][A-Z0-9_]*")
_WORD = re.compile(r"[a-z0-9]+")


def parse(form: str) -> Node:
    """Parse one form into a node tree (raises :class:`GrammarError` on bad syntax)."""
    tokens = _TOKENS.findall(form)
    if "".join(tokens) != "".join(form.split()):
        raise GrammarError(f"unexpected characters in form {form!r}")
    position = 0

    def sequence() -> Node:
        nonlocal position
        items: list[Node] = []
        while position < len(tokens) and tokens[position] not in ("|", ")"):
            items.append(postfix(atom()))
        return ("seq", tuple(items))

    def alternatives() -> Node:
        nonlocal position
        options = [sequence()]
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            options.append(sequence())
        return options[0] if len(options) == 1 else ("alt", tuple(options))

    def atom() -> Node:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            node = alternatives()
            if position >= len(tokens) or tokens[position] != ")":
                raise GrammarError(f"unclosed group in form {form!r}")
            position += 1
            return node
        if token == "_":
            return ("any",)
        if token == "$":
            return ("end",)
        if _CLASS.fullmatch(token):
            return ("cls", token)
        if _WORD.fullmatch(token):
            return ("lit", token)
        raise GrammarError(f"unexpected {token!r} in form {form!r}")

    def postfix(node: Node) -> Node:
        nonlocal position
        while position < len(tokens) and tokens[position] in ("?", "*", "+") or (
            position < len(tokens) and tokens[position].startswith("{")
        ):
            token = tokens[position]
            position += 1
            if token == "?":
                node = ("rep", node, 0, 1)
            elif token == "*":
                node = ("rep", node, 0, None)
            elif token == "+":
                node = ("rep", node, 1, None)
            else:
                low, high = (int(n) for n in token[1:-1].split(","))
                node = ("rep", node, low, high)
        return node

    tree = alternatives()
    if position != len(tokens):
        raise GrammarError(f"unbalanced ')' in form {form!r}")
    return tree


@dataclass(frozen=True, slots=True)
class _Classes:
    """The word classes of one grammar, parsed once, compiled to regex on demand."""

    forms: Mapping[str, tuple[Node, ...]]
    regex: dict[str, str]
    first: dict[str, frozenset[str] | None]

    @classmethod
    def of(cls, classes: Mapping[str, Sequence[str]]) -> _Classes:
        return cls({name: tuple(parse(f) for f in forms) for name, forms in classes.items()}, {}, {})


def to_regex(node: Node, classes: _Classes, seen: tuple[str, ...] = ()) -> str:
    """The regular expression of ``node``; each word it matches is followed by a space."""
    kind = node[0]
    if kind == "lit":
        return re.escape(str(node[1])) + " "
    if kind == "any":
        return "[^ ]+ "
    if kind == "end":
        return "$"
    if kind == "seq":
        return "".join(to_regex(child, classes, seen) for child in _children(node))
    if kind == "alt":
        return "(?:" + "|".join(to_regex(child, classes, seen) for child in _children(node)) + ")"
    if kind == "rep":
        low, high = node[2], node[3]
        inner = to_regex(_child(node), classes, seen)
        quantifier = {(0, 1): "?", (0, None): "*", (1, None): "+"}.get(
            (low, high), f"{{{low},{'' if high is None else high}}}"
        )
        return f"(?:{inner}){quantifier}"
    name = str(node[1])
    if name in seen:
        raise GrammarError(f"class {name} refers to itself through {' -> '.join(seen)}")
    cached = classes.regex.get(name)
    if cached is None:
        if name not in classes.forms:
            raise GrammarError(f"unknown class {name}")
        # Longest alternatives first, so that the phrase recorded is the fullest one.
        options = sorted(
            (to_regex(form, classes, (*seen, name)) for form in classes.forms[name]),
            key=lambda r: (-len(r), r),
        )
        cached = "(?:" + "|".join(options) + ")"
        classes.regex[name] = cached
    return cached


def _children(node: Node) -> tuple[Node, ...]:
    children = node[1]
    assert isinstance(children, tuple)
    return children


def _child(node: Node) -> Node:
    child = node[1]
    assert isinstance(child, tuple)
    return child


def _first(node: Node, classes: _Classes) -> tuple[frozenset[str] | None, bool]:
    """The words ``node`` can start with (``None``: any word) and whether it can be empty."""
    kind = node[0]
    if kind == "lit":
        return frozenset({str(node[1])}), False
    if kind == "any":
        return None, False
    if kind == "end":
        return frozenset(), True
    if kind == "rep":
        words, empty = _first(_child(node), classes)
        return words, empty or node[2] == 0
    if kind == "seq":
        found: set[str] = set()
        for child in _children(node):
            words, empty = _first(child, classes)
            if words is None:
                return None, False
            found |= words
            if not empty:
                return frozenset(found), False
        return frozenset(found), True
    options = (
        _children(node) if kind == "alt" else classes.forms.get(str(node[1]), ())
    )  # alt or cls
    found = set()
    nullable = False
    for option in options:
        words, empty = _first(option, classes)
        if words is None:
            return None, False
        found |= words
        nullable = nullable or empty
    return frozenset(found), nullable


def anchor_words(
    tree: Node, classes: _Classes, common: frozenset[str], anchor: str | None = None
) -> frozenset[str]:
    """Words one of which every clause the rule matches contains.

    The candidates are the form's mandatory top-level parts; ``anchor`` names the
    class to use, otherwise the part with the fewest possible first words wins,
    classes listed as ``common`` (me, my, the...) last.
    """
    parts = _children(tree) if tree[0] == "seq" else (tree,)
    best: tuple[int, int, frozenset[str]] | None = None
    for part in parts:
        words, empty = _first(part, classes)
        if words is None or empty or not words:
            continue
        named = str(part[1]) if part[0] == "cls" else None
        if anchor is not None:
            if named == anchor:
                return words
            continue
        rank = (1 if named in common else 0, len(words), words)
        if best is None or rank[:2] < best[:2]:
            best = rank
    if best is None:
        raise GrammarError(f"no mandatory part to anchor on (anchor={anchor!r})")
    return best[2]


At = Literal["lead", "anywhere", "soft"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    at: At
    regex: re.Pattern[str]
    words: frozenset[str]
    statement: bool


def compile_rule(
    rule: Mapping[str, object],
    classes: _Classes,
    prefix: str,
    common: frozenset[str],
) -> CompiledRule:
    """Compile one rule of a grammar file.

    'lead' and 'soft' rules start the clause (after the grammar's prefix class for
    'lead', from the first word for 'soft'); 'anywhere' rules start at any word.
    """
    at = rule["at"]
    if at not in ("lead", "anywhere", "soft"):
        raise GrammarError(f"rule {rule.get('id')}: 'at' must be lead, anywhere or soft")
    form = str(rule["form"])
    tree = parse(form)
    body = f"(?P<phrase>{to_regex(tree, classes)})"
    if at == "lead":
        pattern = f"(?:{to_regex(('cls', prefix), classes)})*{body}"
    elif at == "soft":
        pattern = body
    else:
        pattern = f"(?<![^ ]){body}"
    anchor = rule.get("anchor")
    words = anchor_words(tree, classes, common, str(anchor) if anchor else None)
    return CompiledRule(
        id=str(rule["id"]),
        at=at,
        regex=re.compile(pattern),
        words=words,
        statement=bool(rule.get("statement", False)),
    )


def classes_of(classes: Mapping[str, Sequence[str]]) -> _Classes:
    """Parse a grammar file's ``classes`` (exposed for :mod:`.packs` and the tests)."""
    return _Classes.of(classes)
