"""What each incident must be, decided up front so that every value appears at least once."""

import dataclasses
import random

from coordination.demo.lifecycles import PATHS, SHOWCASE_PATH
from coordination.demo.scenarios import CATEGORY_WEIGHTS, SEVERITY_WEIGHTS, TLP_WEIGHTS


@dataclasses.dataclass(frozen=True)
class Assignment:
    """What one incident must be, decided up front so that every value appears at least once."""

    category: str
    severity: str
    tlp: str
    path: str | None  # forced status path, or None to choose one by the incident's age
    showcase: bool


def _covering(rng: random.Random, weights: dict, count: int) -> list:
    """``count`` values drawn by weight, containing each value at least once, shuffled."""
    values = list(weights) + rng.choices(
        list(weights), list(weights.values()), k=count - len(weights)
    )
    rng.shuffle(values)
    return values


def plan_assignments(rng: random.Random, scale: int) -> list[Assignment]:
    """One assignment per incident; every category, severity, TLP and status path is covered."""
    categories = _covering(rng, CATEGORY_WEIGHTS, scale)
    severities = _covering(rng, SEVERITY_WEIGHTS, scale)
    markings = _covering(rng, TLP_WEIGHTS, scale)
    forced = dict(zip(rng.sample(range(scale), len(PATHS)), PATHS, strict=True))
    return [
        Assignment(
            category=categories[i],
            severity=severities[i],
            tlp=markings[i],
            path=forced.get(i),
            showcase=forced.get(i) == SHOWCASE_PATH,
        )
        for i in range(scale)
    ]
