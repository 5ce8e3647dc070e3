"""Classifier benchmark: quality on labelled text and speed on one core.

Run from the repository root::

    .venv/bin/python bench/bench_classify.py          # Markdown report
    .venv/bin/python bench/bench_classify.py --json   # the same figures as JSON

Quality: the classification examples of docs/compliance.md, the unit-test case table, and the
4,827 ``ham`` messages of the SMS Spam Collection (false opt-outs: ham classified
``opt_out``; every such message and every ``ambiguous`` one is listed).
Speed: classifications per second of CPU time (``time.process_time``, so other
processes on the machine do not distort it), single thread, over the ham corpus
repeated to at least 200,000 classifications, and over a mix of short keyword
replies.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
import time
from collections import Counter
from pathlib import Path

from consentline.domain.classifier import CLASSIFIER_VERSION, classify

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "sms-spam-collection" / "SMSSpamCollection.tsv"
CASES = ROOT / "tests" / "unit" / "data" / "classifier_cases.tsv"
TARGET = 50_000
MIN_CLASSIFICATIONS = 200_000

PUBLIC_EXAMPLES = [
    ("STOP", "opt_out"), ("Stop.", "opt_out"), ("STOP!!", "opt_out"), ("opt out", "opt_out"),
    ("STOPALL", "opt_out"), ("STOP ALL", "opt_out"), ("stop please", "opt_out"),
    ("Please stop texting me", "opt_out"), ("remove me", "opt_out"),
    ("I've changed my mind and don't want to receive these anymore", "opt_out"),
    ("STOP MARKETING", "opt_out"), ("Stpo", "opt_out"), ("SHOP", "none"),
    ("\uff33\uff34\uff2f\uff30", "opt_out"), ("S\u200bTOP", "opt_out"),
    ("\u0405\u0422\u041e\u0420", "opt_out"), ("S T O P", "opt_out"), ("\U0001f6d1", "ambiguous"),
    ("don't stop", "ambiguous"), ("cancel my appointment", "ambiguous"),
    ("nonstop deals!", "none"), ("What is your cancellation policy?", "none"), ("HELP", "help"),
    ("Can you help me change my order?", "none"), ("START", "opt_in"), ("Yes", "opt_in"),
    ("HELP STOP", "opt_out"), ("ARRET", "opt_out"), ("AIDE", "help"), ("ALTO", "opt_out"),
    ("Quiero darme de baja", "opt_out"), ("PARAR", "opt_out"), ("NO", "ambiguous"),
    ("wrong number", "opt_out"), ("", "none"),
]  # fmt: skip

SHORT_MIX = [
    "STOP", "Stop.", "stop please", "START", "HELP", "yes", "No", "ok", "Thanks!", "ARRET",
    "unsubscribe", "Stpo", "STOP ALL", "remove me", "\U0001f6d1", "S\u200bTOP", "ALTO",
    "wrong number", "See you at 5", "cancel my appointment",
]  # fmt: skip


def _cases() -> list[tuple[str, str]]:
    rows = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith(("#", "text\t")):
            continue
        text, intent = line.split("\t")[:2]
        rows.append((codecs.decode(text, "unicode_escape") if "\\" in text else text, intent))
    return rows


def _ham() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [text for label, _, text in (line.partition("\t") for line in lines) if label == "ham"]


def _agreement(rows: list[tuple[str, str]]) -> tuple[int, int, list[str]]:
    wrong = [text for text, intent in rows if classify(text).intent != intent]
    return len(rows) - len(wrong), len(rows), wrong


def _rate(messages: list[str]) -> float:
    """Classifications per CPU second over ``messages`` repeated to 200,000+ calls."""
    repeats = -(-MIN_CLASSIFICATIONS // len(messages))
    for text in messages[:1000]:  # warm up: lazy tables, regex caches
        classify(text)
    start = time.process_time()
    for _ in range(repeats):
        for text in messages:
            classify(text)
    return repeats * len(messages) / (time.process_time() - start)


def run() -> dict[str, object]:
    public_ok, public_n, public_wrong = _agreement(PUBLIC_EXAMPLES)
    cases_ok, cases_n, cases_wrong = _agreement(_cases())
    result: dict[str, object] = {
        "classifier_version": CLASSIFIER_VERSION,
        "python": sys.version.split()[0],
        "public_examples": {"passed": public_ok, "total": public_n, "failed": public_wrong},
        "case_table": {"passed": cases_ok, "total": cases_n, "failed": cases_wrong},
    }
    if CORPUS.exists():
        ham = _ham()
        results = [(text, classify(text)) for text in ham]
        intents = Counter(c.intent for _, c in results)
        result["ham"] = {
            "messages": len(ham),
            "intents": dict(intents),
            "opt_out": [{"text": t, "rule": c.rule, "keyword": c.keyword} for t, c in results
                        if c.intent == "opt_out"],
            "ambiguous": [{"text": t, "rule": c.rule, "keyword": c.keyword} for t, c in results
                          if c.intent == "ambiguous"],
        }  # fmt: skip
        result["speed_ham_msgs_per_s"] = round(_rate(ham))
    result["speed_short_mix_msgs_per_s"] = round(_rate(SHORT_MIX))
    result["target_msgs_per_s"] = TARGET
    return result


def _markdown(result: dict[str, object]) -> str:
    public = result["public_examples"]
    cases = result["case_table"]
    assert isinstance(public, dict) and isinstance(cases, dict)
    lines = [
        f"## Classifier benchmark ({result['classifier_version']}, Python {result['python']})",
        "",
        "| measure | result |",
        "|---|---|",
        f"| docs/compliance.md examples | {public['passed']}/{public['total']} |",
        f"| case table (tests/unit/data) | {cases['passed']}/{cases['total']} |",
    ]
    ham = result.get("ham")
    if isinstance(ham, dict):
        lines += [
            f"| ham messages | {ham['messages']} |",
            f"| ham classified opt_out | {len(ham['opt_out'])} |",
            f"| ham classified ambiguous (review queue) | {len(ham['ambiguous'])} |",
            f"| speed, ham corpus (msgs/s, one core) | {result['speed_ham_msgs_per_s']:,} |",
        ]
    else:
        lines.append(f"| ham corpus | not found at {CORPUS} |")
    lines += [
        f"| speed, short keyword mix (msgs/s) | {result['speed_short_mix_msgs_per_s']:,} |",
        f"| speed target (msgs/s) | {result['target_msgs_per_s']:,} |",
    ]
    for label, data in (("public examples", public), ("case table", cases)):
        if data["failed"]:
            lines += ["", f"### Failed {label}", *[f"- `{t!r}`" for t in data["failed"]]]
    if isinstance(ham, dict):
        for kind in ("opt_out", "ambiguous"):
            lines += ["", f"### Ham classified {kind} ({len(ham[kind])})", ""]
            lines += [f"- {m['rule']} {m['keyword']}: {m['text'][:120]!r}" for m in ham[kind]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    result = run()
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else _markdown(result))


if __name__ == "__main__":
    main()
