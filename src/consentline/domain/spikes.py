"""Opt-out rate of a send and spike detection (pure; C23: counts only).

A send's opt-out rate is the opt-outs attributed to it within the attribution window
divided by the recipients it was allowed to reach. A send is a *spike* when its rate
is well above the account's recent baseline, judged robustly: the median of the last
sends' rates plus ``k`` scaled median absolute deviations (MAD x 1.4826 estimates a
standard deviation and ignores a few odd sends). Three guards keep it quiet when it
should be:

* a minimum count: fewer than ``min_opt_outs`` opt-outs is never a spike, whatever the
  rate (2 opt-outs of 40 recipients is 5 %, and noise);
* a margin floor: when the baseline sends all had the same rate the MAD is 0, and any
  rate above it would alarm; the margin is at least ``min_margin`` (absolute) and
  ``relative_margin`` x the median;
* too short a history: with fewer than ``min_baseline`` earlier sends there is no
  baseline, and the send is compared with ``fallback_rate`` instead.

>>> detect(30, 1000, [0.001] * 10).spike
True
>>> detect(2, 40, [0.0] * 10).spike   # the minimum count
False
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

MAD_SCALE: Final = 1.4826


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The thresholds (one per installation; the defaults suit marketing SMS)."""

    k: float = 3.0
    min_opt_outs: int = 5
    min_baseline: int = 5
    baseline_sends: int = 20
    min_margin: float = 0.002  # 0.2 percentage points
    relative_margin: float = 0.5
    fallback_rate: float = 0.02  # 2 %, with no baseline yet


DEFAULT_RULE: Final = SpikeRule()


@dataclass(frozen=True, slots=True)
class SpikeVerdict:
    spike: bool
    rate: float
    threshold: float | None  # the rate above which it is a spike (None: too few opt-outs)
    median: float | None  # of the baseline (None: too short a history)
    mad: float | None
    reason: str  # spike, below_threshold, too_few_opt_outs, no_recipients


def rate(opt_outs: int, allowed: int) -> float:
    """Opt-outs per recipient allowed (0.0 for a send that reached nobody)."""
    return opt_outs / allowed if allowed > 0 else 0.0


def detect(
    opt_outs: int,
    allowed: int,
    baseline: Sequence[float],
    rule: SpikeRule = DEFAULT_RULE,
) -> SpikeVerdict:
    """Is a send with ``opt_outs`` of ``allowed`` a spike against ``baseline`` (the
    opt-out rates of the account's earlier sends, newest first; only the first
    ``rule.baseline_sends`` are used)?"""
    current = rate(opt_outs, allowed)
    if allowed <= 0:
        return SpikeVerdict(False, current, None, None, None, "no_recipients")
    recent = [float(r) for r in baseline[: rule.baseline_sends]]
    median = mad = None
    if len(recent) >= rule.min_baseline:
        median = statistics.median(recent)
        mad = statistics.median(abs(r - median) for r in recent)
        margin = max(rule.k * MAD_SCALE * mad, rule.min_margin, rule.relative_margin * median)
        threshold = median + margin
    else:
        threshold = rule.fallback_rate
    if opt_outs < rule.min_opt_outs:
        return SpikeVerdict(False, current, None, median, mad, "too_few_opt_outs")
    if current > threshold:
        return SpikeVerdict(True, current, threshold, median, mad, "spike")
    return SpikeVerdict(False, current, threshold, median, mad, "below_threshold")
