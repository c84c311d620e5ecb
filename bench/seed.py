"""Seeding a benchmark database at national scale: fast, and with a valid audit trail.

Why a bulk loader
-----------------
Through the services, one incident with its timeline and actions costs hundreds of queries; a
national data set (20,000 incidents, 100,000 actions, a million history records) would take
hours. So the operational data — incidents, timeline entries, coordination actions — is
written in bulk (``COPY`` on PostgreSQL, ``executemany`` on SQLite) by
:class:`~bench.bulk.BulkWriter`, while the few hundred accounts and partners are saved one by
one the normal way (:mod:`bench.directory`).

Why it is not a way around history
----------------------------------
The project refuses bulk writes on tracked models (``TrackedQuerySet.bulk_create`` raises)
because they would change rows *without a history record*. This loader goes around that
refusal — it writes SQL itself — but not around what the refusal protects:

- every row it inserts gets, in the same transaction, the history records that the services
  would have written for the life it gives the object — the creation, then each change in
  order (an action's acknowledgement and responses, an incident's status changes, shares and
  reassessments), with who, when, why and a request id per simulated request;
- each record holds the row's full snapshot and its many-to-many snapshot rows, ``changes``
  diffed against the previous record as :func:`opsapi.audit.recording.compute_changes` does,
  and the chain fields computed by :func:`opsapi.audit.chain.record_digest` itself — so
  ``manage.py verify_audit`` checks these records exactly like any others (the live row is
  reconciled against the newest record too), and ``tests/bench/test_bench.py`` proves it;
- it only inserts: no row is ever updated or deleted behind the trail's back.

So the database ends up as if the services had been called in that order, only faster. The
request ids are ``bench:<hex>``, marking every record as seeded. The loader writes ids itself
and assumes nothing else writes to the database while it runs (use a dedicated benchmark
database); it runs in one transaction, so an interrupted seed leaves nothing behind.
"""

import random
import time
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from bench.actions import ActionLife
from bench.bulk import BulkWriter, Tracked
from bench.directory import create_directory
from bench.scale import Scale, history_count
from bench.timeline import DAY, HOUR, MINUTE, SECOND, Seeding, Timeline
from coordination.choices import (
    STATUS_TIMESTAMP_FIELDS,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
    UpdateKind,
)
from coordination.models import ReferenceCounter
from opsapi.audit.context import command_context
from partners.models import Sector, State, UrbanArea

SPAN = 730 * DAY  # incidents are reported over the two years before the seed
# Timeline entries per incident are chosen to bring the history to the scale's count, within:
NOTES = (0, 80)

TLP_WEIGHTS = {Tlp.CLEAR: 8, Tlp.GREEN: 30, Tlp.AMBER: 45, Tlp.AMBER_STRICT: 13, Tlp.RED: 4}
SEVERITY_WEIGHTS = {
    Severity.LOW: 30,
    Severity.MODERATE: 40,
    Severity.HIGH: 22,
    Severity.CRITICAL: 8,
}
SITUATION_REPORT = (
    "Situation report: field teams on scene, no further casualties reported, next update "
    "within four hours."
)
NOTE = "Spoke with the state watch desk; they confirm the latest figures."


def _weighted(rng, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0].value


class IncidentSeeder:
    """Writes incidents with their timelines and actions, each object with its history."""

    def __init__(self, seeding: Seeding):
        self.seeding = seeding
        self.rng = seeding.rng
        self.states = list(State.objects.values_list("pk", "name"))
        self.areas = list(UrbanArea.objects.values_list("pk", flat=True))
        self.sectors = list(Sector.objects.values_list("pk", flat=True))
        self.counters = dict(ReferenceCounter.objects.values_list("year", "last_number"))

    def seed(self, count: int, actions: int, history: int) -> None:
        """``count`` incidents reported over :data:`SPAN`, with ``actions`` actions in all and
        timelines long enough for about ``history`` records."""
        seeding, rng = self.seeding, self.rng
        start = seeding.now - SPAN
        reported = sorted(seeding.between(start, seeding.now - HOUR) for _ in range(count))
        per_incident = _spread(rng, actions, count, 1, 9)
        for i, at in enumerate(reported):
            aim = round(history * (i + 1) / count) - seeding.records
            self._incident(at, per_incident[i], aim)
            seeding.writer.flush_if_full()
        seeding.writer.finish()
        for year, number in self.counters.items():
            ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": number})

    def _reference(self, at) -> str:
        """The next OPS-<year>-<number>, as ``services._next_reference`` issues it."""
        year = timezone.localtime(at).year
        self.counters[year] = self.counters.get(year, 0) + 1
        return f"OPS-{year}-{self.counters[year]:06d}"

    def _incident(self, reported, action_count: int, aim: int) -> None:
        seeding, rng = self.seeding, self.rng
        officer = seeding.officer()
        category = rng.choice(IncidentCategory.values)
        states = rng.sample(self.states, rng.choice((1, 1, 1, 2, 3)))
        place = states[0][1]
        has_point = rng.random() < 0.6
        values = {
            "reference": self._reference(reported),
            "title": f"{IncidentCategory(category).label} in {place}",
            "summary": f"First reports from {place}; the situation is being assessed with the "
            "state's watch center. Further details will follow in situation reports.",
            "category": category,
            "severity": _weighted(rng, SEVERITY_WEIGHTS),
            "status": IncidentStatus.REPORTED.value,
            "tlp": _weighted(rng, TLP_WEIGHTS),
            "occurred_at": reported - rng.randint(5, 240) * MINUTE,
            "reported_at": reported,
            "activated_at": None,
            "monitoring_at": None,
            "resolved_at": None,
            "closed_at": None,
            "latitude": Decimal(f"{rng.uniform(25, 48):.5f}") if has_point else None,
            "longitude": Decimal(f"{rng.uniform(-124, -67):.5f}") if has_point else None,
            "source": rng.choice(("State fusion center", "Public report", "Partner watch desk")),
            "lead_id": officer,
            "version": 1,
            "created_at": reported,
            "updated_at": reported,
        }
        links = {
            "states": [pk for pk, _ in states],
            "urban_areas": rng.sample(self.areas, rng.choice((0, 0, 1))),
            "sectors": rng.sample(self.sectors, rng.randint(0, 2)),
            "shared_with": self._partners_near(states, rng.randint(0, 3)),
        }
        incident = seeding.incidents.new(values, links)
        seeding.write(seeding.incidents, incident, "+", reported, officer, "New incident")

        timeline = Timeline()
        end = self._status_path(timeline, incident, reported, officer)
        for _ in range(action_count):
            partner = self._partners_near(states, 1)[0]
            ActionLife(seeding, incident, partner).plan(timeline, reported, end)
        if rng.random() < 0.5:
            timeline.add(
                at := seeding.between(reported + HOUR, end), partial(self._reassess, incident, at)
            )
        if rng.random() < 0.4:
            partners = self._partners_near(states, rng.randint(1, 3))
            at = seeding.between(reported + HOUR, end)
            timeline.add(at, partial(self._share, incident, at, partners))
        notes = min(max(aim - 1 - timeline.records, NOTES[0]), NOTES[1])
        for _ in range(notes):
            at = seeding.between(reported + 10 * MINUTE, end)
            timeline.add(at, partial(self._note, incident, at))
        created = timeline.play()
        seeding.incidents.save_live(incident)
        for history, obj in created:
            history.save_live(obj)

    def _partners_near(self, states, count: int) -> list[int]:
        """Partners to involve: mostly the states' own, some federal agencies."""
        directory, rng = self.seeding.directory, self.rng
        chosen = set()
        for _ in range(count):
            local = directory.by_state.get(rng.choice(states)[0])
            if local and rng.random() < 0.7:
                chosen.add(rng.choice(local))
            elif directory.federal and rng.random() < 0.8:
                chosen.add(rng.choice(directory.federal))
            else:
                chosen.add(rng.choice(directory.partners))
        return sorted(chosen)

    def _status_path(self, timeline: Timeline, incident: Tracked, reported, officer):
        """Plan the status changes that have happened by now; return when the incident was
        resolved (now, if it is still open)."""
        rng, now = self.rng, self.seeding.now
        path = [
            (IncidentStatus.ACTIVE, rng.randint(10, 180) * MINUTE),
            (IncidentStatus.MONITORING, rng.randint(4, 72) * HOUR),
            (IncidentStatus.RESOLVED, rng.randint(1, 10) * DAY),
            (IncidentStatus.CLOSED, rng.randint(1, 5) * DAY),
        ]
        if rng.random() < 0.25:
            path.pop(1)  # resolved straight from active
        at, end = reported, now
        for status, after in path:
            at += after + rng.randint(0, 3599) * SECOND
            if at > now - MINUTE:
                break
            if status == IncidentStatus.RESOLVED:
                end = at
            timeline.add(at, partial(self._status, incident, status, at, officer), records=2)
        return end

    def _status(self, incident: Tracked, status, at, officer):
        """As ``services.change_incident_status``: the incident and its timeline entry, in one
        request."""
        seeding, values = self.seeding, incident.values
        previous = IncidentStatus(values["status"])
        values["status"] = status.value
        values[STATUS_TIMESTAMP_FIELDS[status]] = at
        values["version"] += 1
        values["updated_at"] = at
        reason = f"Assessment: {status.label.lower()}"
        request = seeding.request()
        seeding.write(seeding.incidents, incident, "~", at, officer, reason, request)
        update = seeding.updates.new(
            {
                "incident_id": incident.pk,
                "kind": UpdateKind.STATUS_CHANGE.value,
                "body": f"Status changed from {previous.label} to {status.label}. Reason: {reason}",
                "partner_visible": False,
                "author_id": officer,
                "posted_at": at,
            }
        )
        seeding.write(seeding.updates, update, "+", at, officer, reason, request)
        return seeding.updates, update

    def _reassess(self, incident: Tracked, at) -> None:
        values = incident.values
        values["severity"] = self.rng.choice(
            [s for s in Severity.values if s != values["severity"]]
        )
        values["version"] += 1
        values["updated_at"] = at
        seeding = self.seeding
        seeding.write(seeding.incidents, incident, "~", at, seeding.officer(), "Reassessed")

    def _share(self, incident: Tracked, at, partners) -> None:
        if set(partners) <= set(incident.links["shared_with"]):
            return  # nothing new: the service writes nothing either
        seeding = self.seeding
        seeding.incidents.link(incident, "shared_with", partners)
        incident.values["version"] += 1
        incident.values["updated_at"] = at
        seeding.write(seeding.incidents, incident, "~", at, seeding.officer(), "Shared")

    def _note(self, incident: Tracked, at):
        seeding, rng = self.seeding, self.rng
        officer = seeding.officer()
        report = rng.random() < 0.3
        update = seeding.updates.new(
            {
                "incident_id": incident.pk,
                "kind": (UpdateKind.SITUATION_REPORT if report else UpdateKind.NOTE).value,
                "body": SITUATION_REPORT if report else NOTE,
                "partner_visible": rng.random() < 0.4,
                "author_id": officer,
                "posted_at": at,
            }
        )
        seeding.write(seeding.updates, update, "+", at, officer)
        return seeding.updates, update


def _spread(rng, total: int, count: int, low: int, high: int) -> list[int]:
    """``count`` numbers between ``low`` and ``high`` adding up to ``total`` exactly."""
    numbers = [rng.randint(low, high) for _ in range(count)]
    gap = total - sum(numbers)  # kept up to date: summing again each step is quadratic
    while gap != 0:
        i = rng.randrange(count)
        step = 1 if gap > 0 else -1
        if low <= numbers[i] + step <= high:
            numbers[i] += step
            gap -= step
    return numbers


def seed(scale: Scale, *, seed: int = 5, log=print) -> None:
    """Seed ``scale`` into the current database in one transaction (reference data loaded)."""
    rng = random.Random(seed)
    started = time.monotonic()
    with command_context("bench_seed"), transaction.atomic():
        directory = create_directory(rng, scale.partners, scale.officers)
        log(
            f"  directory: {len(directory.partners)} partners, {len(directory.officers)} "
            f"officers ({time.monotonic() - started:.1f} s)"
        )
        seeding = Seeding(rng, directory, timezone.now().replace(microsecond=0), BulkWriter())
        IncidentSeeder(seeding).seed(
            scale.incidents, scale.actions, round(scale.history * 1.01) - history_count()
        )
        log(
            f"  incidents, timelines and actions: {seeding.records:,} history records "
            f"({time.monotonic() - started:.1f} s)"
        )
