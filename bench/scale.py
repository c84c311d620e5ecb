"""How big a benchmark database is: the scales the seeder builds, and whether one is reached."""

import dataclasses

from coordination.models import CoordinationAction, Incident
from opsapi.audit.checkpoints import tracked_models
from partners.models import Partner


@dataclasses.dataclass(frozen=True)
class Scale:
    """The least a seeded database holds. Timelines are filled with as many entries as it
    takes to bring the history to ``history`` records."""

    name: str
    partners: int
    incidents: int
    actions: int
    history: int
    officers: int = 24


SCALES = {
    # The national scale: what the targets are measured at.
    "national": Scale("national", 520, 20_000, 100_000, 1_000_000),
    # SQLite's default, and a quick look on PostgreSQL.
    "small": Scale("small", 120, 2_000, 10_000, 100_000),
    # The test suite's.
    "tiny": Scale("tiny", 8, 30, 150, 1_000, officers=3),
}


def history_count() -> int:
    """History records of every tracked model (many-to-many snapshot rows not counted)."""
    return sum(model.history.model._base_manager.count() for model in tracked_models())


@dataclasses.dataclass(frozen=True)
class Census:
    """What a database holds, counted the way a scale is stated."""

    partners: int
    incidents: int
    actions: int
    history: int

    @classmethod
    def take(cls) -> "Census":
        return cls(
            partners=Partner._base_manager.count(),
            incidents=Incident._base_manager.count(),
            actions=CoordinationAction._base_manager.count(),
            history=history_count(),
        )

    def reaches(self, scale: Scale) -> bool:
        return (
            self.partners >= scale.partners
            and self.incidents >= scale.incidents
            and self.actions >= scale.actions
            and self.history >= scale.history
        )

    def __str__(self):
        return (
            f"{self.partners:,} partners, {self.incidents:,} incidents, "
            f"{self.actions:,} coordination actions, {self.history:,} history records"
        )
