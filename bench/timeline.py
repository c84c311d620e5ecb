"""What the seeder shares: the objects' histories, who acts, the clock, and a timeline that
applies the events of one incident's life in the order they happen."""

import dataclasses
import datetime
import random
from collections.abc import Callable

from bench.bulk import BulkWriter, History, Tracked
from bench.directory import Directory
from coordination.models import CoordinationAction, Incident, IncidentUpdate

SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


class Seeding:
    """The state of one seeding run: where records go, who acts, what time it is."""

    def __init__(self, rng: random.Random, directory: Directory, now, writer: BulkWriter):
        self.rng = rng
        self.directory = directory
        self.now = now
        self.writer = writer
        self.incidents = History(writer, Incident)
        self.updates = History(writer, IncidentUpdate)
        self.actions = History(writer, CoordinationAction)
        self.records = 0

    def request(self) -> str:
        """A request id for one simulated request, marked as seeded."""
        return f"bench:{self.rng.getrandbits(96):024x}"

    def officer(self) -> int:
        return self.rng.choice(self.directory.officers)

    def write(self, history: History, obj: Tracked, kind, at, user, reason="", request=None):
        """One history record of ``obj`` as it stands now."""
        history.record(
            obj, kind, at=at, user_id=user, reason=reason, request_id=request or self.request()
        )
        self.records += 1

    def between(self, start, end) -> datetime.datetime:
        """A whole second in [start, end] (``start`` if the span is empty)."""
        if end <= start:
            return start
        return start + int(self.rng.random() * (end - start).total_seconds()) * SECOND


@dataclasses.dataclass(order=True)
class Event:
    at: datetime.datetime
    order: int
    records: int = dataclasses.field(compare=False)  # history records it writes
    apply: Callable = dataclasses.field(compare=False)  # returns (History, obj) it created


class Timeline:
    """The events of one incident's life, applied in time order (ties in planning order)."""

    def __init__(self):
        self.events: list[Event] = []

    def add(self, at, apply: Callable, records: int = 1) -> None:
        self.events.append(Event(at, len(self.events), records, apply))

    @property
    def records(self) -> int:
        return sum(event.records for event in self.events)

    def play(self) -> list[tuple[History, Tracked]]:
        """Apply every event; return the objects created, to be saved once they are final."""
        created = []
        for event in sorted(self.events):
            made = event.apply()
            if made is not None:
                created.append(made)
        return created
