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
    !X            not followed by X (matches nothing itself)
    X?  X*  X+    optional, any number, at least one
    X{0,2}        between 0 and 2 times
    $             the end of the clause

:func:`compile_rule` turns a form into a regular expression over the clause
followed by one space (every word consumes "word "), and computes the words
the rule needs: one of them is in every clause it matches (:func:`anchor_words`).
A rule is tried only on messages containing one of them, which keeps the
classifier fast without hand-kept "requires" lists that could drift from the
form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GrammarError",
    "Node",
    "anchor_words",
    "compile_rule",
    "parse",
    "required_words",
    "to_regex",
]


class GrammarError(ValueError):
    """A grammar file that cannot be compiled (a packaging bug, caught by the tests)."""


# Nodes: ("lit", word), ("cls", NAME), ("any",), ("end",), ("not", node),
# ("seq", nodes), ("alt", seqs), ("rep", node, low, high).
Node = tuple[object, ...]

_TOKENS = re.compile(r"\(|\)|\||\?|\*|\+|!|\{\d+,\d+\}|[^\s()|?*+{!]+")
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
        if len(options) > 1 and any(not option[1] for option in options):
            raise GrammarError(f"an empty alternative in form {form!r}")
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
        if token == "!":
            if position >= len(tokens):
                raise GrammarError(f"'!' with nothing after it in form {form!r}")
            return ("not", atom())
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
        while (position < len(tokens) and tokens[position] in ("?", "*", "+")) or (
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

    @classmethod
    def of(cls, classes: Mapping[str, Sequence[str]]) -> _Classes:
        return cls({name: tuple(parse(f) for f in forms) for name, forms in classes.items()}, {})


_QUANTIFIERS: dict[tuple[object, object], str] = {(0, 1): "?", (0, None): "*", (1, None): "+"}


def to_regex(node: Node, classes: _Classes, seen: tuple[str, ...] = ()) -> str:
    """The regular expression of ``node``; each word it matches is followed by a space."""
    kind = node[0]
    if kind == "lit":
        return re.escape(str(node[1])) + " "
    if kind == "any":
        return "[^ \\n]+ "
    if kind == "end":
        return "$"
    if kind == "not":
        return f"(?!{to_regex(_child(node), classes, seen)})"
    if kind == "seq":
        return "".join(to_regex(child, classes, seen) for child in _children(node))
    if kind == "alt":
        return "(?:" + "|".join(to_regex(child, classes, seen) for child in _children(node)) + ")"
    if kind == "rep":
        low, high = node[2], node[3]
        inner = to_regex(_child(node), classes, seen)
        quantifier = _QUANTIFIERS.get((low, high), f"{{{low},{'' if high is None else high}}}")
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


def anchor_words(tree: Node, classes: _Classes, frequent: Sequence[str]) -> frozenset[str]:
    """Words one of which every clause the rule matches contains.

    Built bottom-up: a word's own set; for a sequence, the best set among its
    mandatory parts; for alternatives (and classes), the union of each option's
    best set. "Best" means the lowest sum of word weights, an estimate of how
    many messages contain one of the words: an everyday word (``frequent``, most
    frequent first: "i", "you", "to"...) weighs 10000 / (rank + 1), as word
    frequencies fall off (Zipf), any other word 1. A rule is tried only on
    messages containing one of its anchor words, so rarer anchors make the
    classifier faster without changing what it finds.
    """
    words = _anchors(tree, classes, _weights(frequent))
    if not words:
        raise GrammarError("the form has no mandatory word to anchor on")
    return words


def required_words(
    tree: Node, classes: _Classes, frequent: Sequence[str]
) -> tuple[frozenset[str], ...]:
    """For each mandatory part of the form, the words one of which it contains.

    A clause the rule matches contains a word of every one of these sets, so a
    message missing any of them cannot match: the classifier checks them all
    (cheap set tests) before running the rule's regex.
    """
    weights = _weights(frequent)
    parts = _children(tree) if tree[0] == "seq" else (tree,)
    found = (_anchors(part, classes, weights) for part in parts)
    return tuple(sorted((words for words in found if words), key=lambda w: _cost(w, weights)))


def _weights(frequent: Sequence[str]) -> dict[str, float]:
    """How many messages an everyday word is in, roughly: 10000 / (rank + 1), plus 1."""
    return {word: 1 + 10000 / (rank + 1) for rank, word in enumerate(frequent)}


def _cost(words: frozenset[str], weights: Mapping[str, float]) -> float:
    return sum(weights.get(word, 1.0) for word in words)


def _anchors(node: Node, classes: _Classes, weights: Mapping[str, float]) -> frozenset[str] | None:
    """The anchor set of ``node``, or ``None`` when it can match without a fixed word."""
    kind = node[0]
    if kind == "lit":
        return frozenset({str(node[1])})
    if kind in ("any", "end", "not"):
        return None
    if kind == "rep":
        return _anchors(_child(node), classes, weights) if node[2] else None
    if kind == "seq":
        best: frozenset[str] | None = None
        for child in _children(node):
            words = _anchors(child, classes, weights)
            if words is not None and (best is None or _cost(words, weights) < _cost(best, weights)):
                best = words
        return best
    options = _children(node) if kind == "alt" else classes.forms.get(str(node[1]), ())
    union: set[str] = set()
    for option in options:
        words = _anchors(option, classes, weights)
        if words is None:
            return None
        union |= words
    return frozenset(union)


At = Literal["lead", "anywhere", "soft", "review"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    at: At
    regex: re.Pattern[str]
    words: frozenset[str]
    required: tuple[frozenset[str], ...]
    statement: bool


def compile_rule(
    rule: Mapping[str, object],
    classes: _Classes,
    prefix: str,
    frequent: Sequence[str],
) -> CompiledRule:
    """Compile one rule of a grammar file.

    The regex runs over all clauses at once, each followed by one space and
    separated by newlines. 'lead' rules start a clause (after the grammar's prefix
    class), 'soft' rules start the message (matched, not searched), 'anywhere'
    and 'review' rules start at any word; no form crosses a newline.
    """
    at = rule["at"]
    if at not in ("lead", "anywhere", "soft", "review"):
        raise GrammarError(f"rule {rule.get('id')}: 'at' must be lead, anywhere, soft or review")
    form = str(rule["form"])
    tree = parse(form)
    body = f"(?P<phrase>{to_regex(tree, classes)})"
    if at == "lead":
        pattern = f"(?m)^(?:{to_regex(('cls', prefix), classes)})*{body}"
    elif at == "soft":
        pattern = body
    else:
        pattern = f"(?m)(?<![^ \n]){body}"
    words = anchor_words(tree, classes, frequent)
    return CompiledRule(
        id=str(rule["id"]),
        at=at,
        regex=re.compile(pattern),
        words=words,
        required=required_words(tree, classes, frequent),
        statement=bool(rule.get("statement", False)),
    )


def classes_of(classes: Mapping[str, Sequence[str]]) -> _Classes:
    """Parse a grammar file's ``classes`` (exposed for :mod:`.packs` and the tests)."""
    return _Classes.of(classes)
