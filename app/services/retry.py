"""Bounded, jittered retries that always resend the same transaction id."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay_s: float = 0.01
    max_delay_s: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to an exponentially growing cap."""
        cap = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        return self.rng.uniform(0, cap)

    def pause(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))


DEFAULT_RETRY = RetryPolicy()
