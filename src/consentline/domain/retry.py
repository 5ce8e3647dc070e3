"""When to try again: one exponential backoff policy for every retrying job.

A failed attempt is retried after ``first_s``, then twice as long each time, up to
``cap_s``; ``spread`` adds up to that fraction of the delay, drawn by the caller
(time and randomness are passed in, never read here), so that many deliveries
failing together do not retry in lock-step.

>>> REPLY_RETRY.delay_s(1), REPLY_RETRY.delay_s(3), REPLY_RETRY.delay_s(20)
(5.0, 20.0, 300.0)
>>> WEBHOOK_RETRY.delay_s(2, jitter=0.5)
11.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["REPLY_RETRY", "WEBHOOK_RETRY", "Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """``first_s`` doubling to ``cap_s``, plus up to ``spread`` of it as jitter."""

    first_s: float
    cap_s: float
    spread: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s or not 0 <= self.spread <= 1:
            raise ValueError("a backoff needs 0 < first_s <= cap_s and 0 <= spread <= 1")

    def delay_s(self, attempt: int, *, jitter: float = 0.0) -> float:
        """Seconds before retry number ``attempt`` (1, 2, ...); ``jitter`` in [0, 1).

        Any attempt count is fine: the doubling stops at the cap (no overflow after
        a thousand failures of a subscriber that has been down for weeks).
        """
        delay = self.first_s
        for _ in range(max(attempt - 1, 0)):
            if delay >= self.cap_s:
                break
            delay *= 2.0
        return min(delay, self.cap_s) * (1.0 + self.spread * jitter)


# Webhook deliveries: 5 s doubling to an hour, spread by up to 20%.
WEBHOOK_RETRY: Final = Backoff(first_s=5.0, cap_s=3600.0, spread=0.2)
# Replies (C17: an opt-out confirmation must go within 5 minutes): 5 s doubling to 5 min.
REPLY_RETRY: Final = Backoff(first_s=5.0, cap_s=300.0)
