"""Timing contenders against each other, interleaved so that machine noise falls on all alike.

Each round runs every contender once, in a rotating order (A B C, B C A, C A B, ...): a slow
spell of the machine — another process, a CPU frequency change — lands on every contender in
turn rather than on whichever ran during it, and no contender always runs right after another.
Medians are compared; min and max show the spread.
"""

import dataclasses
import gc
import statistics
import time
from collections.abc import Callable


@dataclasses.dataclass
class Samples:
    """The times (seconds) one contender took, one per round."""

    name: str
    times: list[float] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def low(self) -> float:
        return min(self.times)

    @property
    def high(self) -> float:
        return max(self.times)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def ms(self) -> str:
        """``median (min-max)`` in milliseconds."""
        return f"{self.median * 1e3:.2f} ({self.low * 1e3:.2f}-{self.high * 1e3:.2f})"


@dataclasses.dataclass(frozen=True)
class Contender:
    """Something to time: ``run`` does one operation; ``before`` and ``after``, if given, run
    around each one outside the timing (to switch something on and off again)."""

    name: str
    run: Callable[[], object]
    before: Callable[[], object] | None = None
    after: Callable[[], object] | None = None

    def timed(self) -> float:
        if self.before is not None:
            self.before()
        try:
            started = time.perf_counter()
            self.run()
            return time.perf_counter() - started
        finally:
            if self.after is not None:
                self.after()


def interleave(contenders: list[Contender], *, rounds: int, warmup: int = 2) -> dict:
    """{name: Samples} after ``warmup`` untimed and ``rounds`` timed rounds."""
    for _ in range(warmup):
        for contender in contenders:
            contender.timed()
    samples = {c.name: Samples(c.name) for c in contenders}
    n = len(contenders)
    for r in range(rounds):
        gc.collect()  # a collection is not charged to whoever happens to trigger it
        for contender in contenders[r % n :] + contenders[: r % n]:
            samples[contender.name].times.append(contender.timed())
    return samples


def ratio(slower: Samples, faster: Samples) -> float:
    """How many times ``faster``'s median ``slower``'s median is."""
    return slower.median / faster.median
