"""Revocation benchmark: consentline and three keyword matchers on the labelled corpus.

Run from the repository root::

    .venv/bin/python bench/bench_revocations.py                  # both parts, Markdown
    .venv/bin/python bench/bench_revocations.py --part heldout   # one part: dev | heldout | both
    .venv/bin/python bench/bench_revocations.py --json           # the same figures as JSON
    .venv/bin/python bench/bench_revocations.py --part dev --list  # and every disagreement

The corpus is ``tests/data/revocations/`` (``dev.tsv`` and ``heldout.tsv``; its README.md
defines the labels opt_out, ambiguous, none, help and opt_in). Each text is classified
with ``consentline.domain.classifier.classify`` and the default configuration. For each
part, separately:

* per language and labelled intent: entries and exact agreement (the classified intent
  equals the label);
* opt-out recall (labelled ``opt_out``, classified ``opt_out``); false opt-outs (labelled
  anything else, classified ``opt_out``: listed); revocations sent to review (labelled
  ``opt_out``, classified ``ambiguous``); revocations missed (labelled ``opt_out``,
  classified ``none``, ``help`` or ``opt_in``: listed);
* peers side by side: for each matcher and for consentline, reduced to "opt_out or not",
  *right* (it says opt_out exactly when the label is opt_out, over all entries), *recall*
  and *false opt-outs* (count), per language and overall.

The peers are deliberately plain, the way providers and hand-written filters match:

* **exact**: the whole message, trimmed of whitespace and of punctuation at both ends,
  case-folded and with inner whitespace collapsed, equals a keyword (Twilio's default
  behaviour, with its language packs added);
* **begins-with**: the first word (the first two, for a two-word keyword) is a keyword;
* **contains-word**: any word, or pair of adjacent words for a two-word keyword, is a
  keyword.

Words are runs of letters and digits (``\\w+``) of the case-folded text. The keywords are
Twilio's default opt-out words STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT
plus the C4 opt-out words of every language pack (ARRET, ARRÊT, ARRETE, ARRETT; ALTO,
DETENER, SALIR, CANCELAR, NO MAS, BAJA, with NO MÁS spelled with its accent too; PARAR, PARE,
SAIR; STOPP; UIT), so the comparison is fair in Spanish, French and Portuguese. The
matchers do no Unicode normalisation and no typo matching.

``--list`` prints every entry whose classification differs from its label, with the rule
that fired. Use it on the development part (``--part dev --list``) when tuning rules; the
held-out part is for the figures, and its false opt-outs and missed revocations are listed
only so that a final report can say which they are, not to tune on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from consentline.domain.classifier import CLASSIFIER_VERSION, classify

ROOT = Path(__file__).resolve().parents[1]
CORPUS_READER = ROOT / "tests" / "data" / "revocations" / "corpus.py"

TWILIO_WORDS = ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout")
PACK_WORDS = (
    "arret", "arrêt", "arrete", "arrett",  # fr
    "alto", "detener", "salir", "cancelar", "no mas", "no más", "baja",  # es
    "parar", "pare", "sair",  # pt (cancelar as in es)
    "stopp",  # no/sv
    "uit",  # nl
)  # fmt: skip
KEYWORDS = tuple(tuple(word.split()) for word in TWILIO_WORDS + PACK_WORDS)
EXACT = frozenset(" ".join(words) for words in KEYWORDS)
_WORD = re.compile(r"\w+")


def _load_reader() -> ModuleType:
    """The corpus reader the format tests use, loaded from its file (tests/ is no package
    on the benchmark's path)."""
    spec = importlib.util.spec_from_file_location("revocation_corpus", CORPUS_READER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def _edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def _trimmed(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _edge(text[start]):
        start += 1
    while end > start and _edge(text[end - 1]):
        end -= 1
    return " ".join(text[start:end].casefold().split())


def exact_matcher(text: str) -> bool:
    """The whole trimmed, case-folded message is a keyword."""
    return _trimmed(text) in EXACT


def begins_with_matcher(text: str) -> bool:
    """The message's first word (or first two words) is a keyword."""
    words = tuple(_WORD.findall(text.casefold()))
    return any(words[: len(keyword)] == keyword for keyword in KEYWORDS)


def contains_word_matcher(text: str) -> bool:
    """Some word (or pair of adjacent words) of the message is a keyword."""
    words = tuple(_WORD.findall(text.casefold()))
    return any(
        words[i : i + len(keyword)] == keyword for keyword in KEYWORDS for i in range(len(words))
    )


PEERS: dict[str, Callable[[str], bool]] = {
    "exact": exact_matcher,
    "begins-with": begins_with_matcher,
    "contains-word": contains_word_matcher,
}


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _item(entry: Any, result: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "language": entry.language,
        "label": entry.intent,
        "classified": result.intent,
        "rule": result.rule,
        "text": entry.text,
    }


def measure(entries: list[Any], languages: Iterable[str], intents: Iterable[str]) -> dict[str, Any]:
    """Every figure of one part (see the module docstring)."""
    languages, intents = tuple(languages), tuple(intents)
    results = [(entry, classify(entry.text)) for entry in entries]
    groups = {lang: [r for r in results if r[0].language == lang] for lang in languages}
    groups["all"] = results

    agreement: dict[str, dict[str, dict[str, int]]] = {}
    revocations: dict[str, dict[str, Any]] = {}
    for name, rows in groups.items():
        agreement[name] = {}
        for intent in (*intents, "all"):
            cell = [(e, c) for e, c in rows if intent in ("all", e.intent)]
            agree = sum(c.intent == e.intent for e, c in cell)
            agreement[name][intent] = {"entries": len(cell), "agree": agree}
        positives = [c.intent for e, c in rows if e.intent == "opt_out"]
        negatives = [c.intent for e, c in rows if e.intent != "opt_out"]
        caught = positives.count("opt_out")
        revocations[name] = {
            "revocations": len(positives),
            "opt_out": caught,
            "recall_pct": _pct(caught, len(positives)),
            "sent_to_review": positives.count("ambiguous"),
            "missed": len(positives) - caught - positives.count("ambiguous"),
            "non_revocations": len(negatives),
            "false_opt_outs": negatives.count("opt_out"),
        }

    deciders: dict[str, Callable[[Any, Any], bool]] = {
        name: (lambda entry, _result, match=match: match(entry.text))
        for name, match in PEERS.items()
    }
    deciders["consentline"] = lambda _entry, result: result.intent == "opt_out"
    peers: dict[str, dict[str, dict[str, Any]]] = {}
    for matcher, decide in deciders.items():
        peers[matcher] = {}
        for name, rows in groups.items():
            said = [(e.intent == "opt_out", decide(e, c)) for e, c in rows]
            positives = sum(gold for gold, _ in said)
            peers[matcher][name] = {
                "right_pct": _pct(sum(gold == guess for gold, guess in said), len(said)),
                "recall_pct": _pct(sum(gold and guess for gold, guess in said), positives),
                "false_opt_outs": sum(guess and not gold for gold, guess in said),
            }

    return {
        "entries": len(entries),
        "agreement": agreement,
        "revocations": revocations,
        "peers": peers,
        "false_opt_outs": [
            _item(e, c) for e, c in results if e.intent != "opt_out" and c.intent == "opt_out"
        ],
        "revocations_missed": [
            _item(e, c)
            for e, c in results
            if e.intent == "opt_out" and c.intent not in ("opt_out", "ambiguous")
        ],
        "disagreements": [_item(e, c) for e, c in results if e.intent != c.intent],
    }


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def run(parts: Iterable[str], *, with_list: bool = False) -> dict[str, Any]:
    reader = _load_reader()
    corpus = reader.read_all()
    measured = {}
    for part in parts:
        figures = measure(corpus[part], reader.LANGUAGES, reader.INTENTS)
        if not with_list:
            del figures["disagreements"]
        measured[part] = figures
    return {
        "classifier_version": CLASSIFIER_VERSION,
        "commit": _commit(),
        "python": sys.version.split()[0],
        "languages": list(reader.LANGUAGES),
        "intents": list(reader.INTENTS),
        "parts": measured,
    }


def _cell(agree: int, entries: int) -> str:
    return f"{agree}/{entries} ({_pct(agree, entries)} %)" if entries else "–"


def _items(title: str, items: list[dict[str, Any]]) -> list[str]:
    lines = ["", f"#### {title} ({len(items)})", ""]
    if not items:
        return [*lines, "none"]
    lines += ["| id | label | classified | rule | text |", "|---|---|---|---|---|"]
    for i in items:
        text = json.dumps(i["text"], ensure_ascii=False)[1:-1].replace("|", "\\|")
        lines.append(f"| {i['id']} | {i['label']} | {i['classified']} | {i['rule']} | {text} |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    names = [*result["languages"], "all"]
    intents = result["intents"]
    lines = [
        f"## Revocation corpus benchmark (classifier {result['classifier_version']}, "
        f"commit {result['commit']}, Python {result['python']})",
    ]
    titles = {"heldout": "Held-out part", "dev": "Development part"}
    for part, fig in result["parts"].items():
        lines += ["", f"### {titles[part]} ({fig['entries']} entries)", ""]
        lines += ["Exact agreement, per language and labelled intent:", ""]
        lines += [
            "| language | " + " | ".join(intents) + " | all |",
            "|---|" + "---:|" * (len(intents) + 1),
        ]
        for name in names:
            row = fig["agreement"][name]
            cells = [_cell(row[i]["agree"], row[i]["entries"]) for i in (*intents, "all")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Revocations (labelled opt_out) and false opt-outs:", ""]
        lines += [
            "| language | revocations | opt-out recall | sent to review | missed "
            "| non-revocations | false opt-outs |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in names:
            r = fig["revocations"][name]
            lines.append(
                f"| {name} | {r['revocations']} | {r['opt_out']} ({r['recall_pct']} %) "
                f"| {r['sent_to_review']} | {r['missed']} | {r['non_revocations']} "
                f"| {r['false_opt_outs']} |"
            )
        lines += [
            "",
            "Peers, reduced to opt_out or not; each cell is right % / recall % / false opt-outs:",
            "",
            "| matcher | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for matcher, per in fig["peers"].items():
            cells = [
                f"{per[n]['right_pct']} / {per[n]['recall_pct']} / {per[n]['false_opt_outs']}"
                for n in names
            ]
            lines.append(f"| {matcher} | " + " | ".join(cells) + " |")
        lines += _items("False opt-outs", fig["false_opt_outs"])
        lines += _items("Revocations missed (none, help or opt_in)", fig["revocations_missed"])
        if "disagreements" in fig:
            lines += _items("Every disagreement", fig["disagreements"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--list", action="store_true", help="also list every disagreement (tune on dev only)"
    )
    args = parser.parse_args()
    parts = ("heldout", "dev") if args.part == "both" else (args.part,)
    result = run(parts, with_list=args.list)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else markdown(result))


if __name__ == "__main__":
    main()
