"""What a seed run created, counted by kind."""

import dataclasses
from collections import Counter


@dataclasses.dataclass
class DemoSummary:
    """What was seeded, counted by kind."""

    officers: int = 0
    partners: Counter = dataclasses.field(default_factory=Counter)
    inactive_partners: int = 0
    contacts: int = 0
    incidents: Counter = dataclasses.field(default_factory=Counter)
    reopened_incidents: int = 0
    timeline: Counter = dataclasses.field(default_factory=Counter)
    actions: Counter = dataclasses.field(default_factory=Counter)
    overdue_actions: int = 0

    def lines(self) -> list[str]:
        """The summary as short lines of text."""

        def by_kind(counter: Counter) -> str:
            return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))

        return [
            f"Officers: {self.officers}",
            f"Partners: {self.partners.total()} ({self.inactive_partners} inactive) - "
            + by_kind(self.partners),
            f"Contacts: {self.contacts}",
            f"Incidents: {self.incidents.total()} ({self.reopened_incidents} reopened) - "
            + by_kind(self.incidents),
            f"Timeline entries: {self.timeline.total()} - {by_kind(self.timeline)}",
            f"Actions: {self.actions.total()} ({self.overdue_actions} overdue) - "
            + by_kind(self.actions),
        ]
