"""What the soak's clients saw accepted, and whether the database holds exactly that.

Every incident the soak opens carries the run's tag as its ``source``, so the database can be
asked for the soak's rows without trusting the client's list. A write counts as accepted only
when the answer shows it (a new reference, an action's ID, a version one above the one sent);
refusals (``stale_version`` and the like) are not writes. Afterwards :func:`reconcile` compares
the two sides: the same incidents and actions, each incident's version is 1 + the changes
accepted for it, each action acknowledged exactly when an acknowledgement was accepted, and
exactly one history record per accepted write.
"""

import dataclasses
import threading
from collections import Counter

from django.db.models import Count

from coordination.models import CoordinationAction, Incident

SHOWN = 5  # discrepancies listed per kind; the rest are counted


@dataclasses.dataclass
class Ledger:
    """Accepted writes as the clients saw them (shared by the client threads)."""

    tag: str  # every soak incident's ``source``
    incidents: dict[str, str] = dataclasses.field(default_factory=dict)  # reference -> global ID
    incident_changes: Counter = dataclasses.field(default_factory=Counter)  # reference -> count
    actions: dict[int, str] = dataclasses.field(default_factory=dict)  # pk -> global ID
    acknowledged: set[int] = dataclasses.field(default_factory=set)  # action pks

    def __post_init__(self):
        self._lock = threading.Lock()

    def incident_created(self, reference: str, global_id: str) -> None:
        with self._lock:
            self.incidents[reference] = global_id

    def incident_changed(self, reference: str) -> None:
        """An update or share of the incident was accepted (its version went up by one)."""
        with self._lock:
            self.incident_changes[reference] += 1

    def action_created(self, pk: int, global_id: str) -> None:
        with self._lock:
            self.actions[pk] = global_id

    def action_acknowledged(self, pk: int) -> None:
        with self._lock:
            self.acknowledged.add(pk)

    def incident_ids(self) -> list[tuple[str, str]]:
        """(reference, global ID) of every incident created so far, oldest first."""
        with self._lock:
            return list(self.incidents.items())

    def is_soak_action(self, pk: int) -> bool:
        return pk in self.actions


@dataclasses.dataclass
class Line:
    """One reconciled quantity: what the clients saw accepted, what the database holds."""

    what: str
    accepted: int
    stored: int

    @property
    def agrees(self) -> bool:
        return self.accepted == self.stored


@dataclasses.dataclass
class Reconciliation:
    lines: list[Line]
    problems: list[str]  # one sentence per discrepancy found, row by row

    @property
    def clean(self) -> bool:
        return not self.problems and all(line.agrees for line in self.lines)


def _listed(problems: list[str], kind: str, items: list) -> None:
    if items:
        more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
        problems.append(f"{kind}: {', '.join(str(i) for i in items[:SHOWN])}{more}")


def _history_counts(model, pks) -> dict[int, int]:
    history = model.history.model.objects.filter(id__in=pks)
    return dict(history.values("id").annotate(n=Count("history_id")).values_list("id", "n"))


def reconcile(ledger: Ledger) -> Reconciliation:
    """Compare ``ledger`` with the database, row by row."""
    problems: list[str] = []
    stored = dict(Incident.objects.filter(source=ledger.tag).values_list("reference", "version"))
    pks = dict(Incident.objects.filter(source=ledger.tag).values_list("reference", "pk"))
    accepted = set(ledger.incidents)
    _listed(problems, "Incidents accepted but not stored (lost)", sorted(accepted - set(stored)))
    _listed(problems, "Incidents stored but never seen accepted", sorted(set(stored) - accepted))
    expected_versions = {ref: 1 + ledger.incident_changes[ref] for ref in accepted}
    _listed(
        problems,
        "Incident versions that differ from 1 + accepted changes (reference: stored/expected)",
        [
            f"{ref}: {stored[ref]}/{expected_versions[ref]}"
            for ref in sorted(accepted & set(stored))
            if stored[ref] != expected_versions[ref]
        ],
    )
    incident_records = _history_counts(Incident, pks.values())
    _listed(
        problems,
        "Incidents whose history records differ from their accepted writes "
        "(reference: records/writes)",
        [
            f"{ref}: {incident_records.get(pks[ref], 0)}/{expected_versions[ref]}"
            for ref in sorted(accepted & set(pks))
            if incident_records.get(pks[ref], 0) != expected_versions[ref]
        ],
    )

    actions = CoordinationAction.objects.filter(incident__source=ledger.tag)
    action_rows = {
        pk: (at, version)
        for pk, at, version in actions.values_list("pk", "acknowledged_at", "version")
    }
    _listed(
        problems,
        "Actions accepted but not stored (lost)",
        sorted(set(ledger.actions) - set(action_rows)),
    )
    _listed(
        problems,
        "Actions stored but never seen accepted",
        sorted(set(action_rows) - set(ledger.actions)),
    )
    stored_acks = {pk for pk, (at, _) in action_rows.items() if at is not None}
    _listed(
        problems,
        "Acknowledgements accepted but not stored",
        sorted(ledger.acknowledged - stored_acks),
    )
    _listed(
        problems,
        "Acknowledgements stored but never seen accepted",
        sorted(stored_acks - ledger.acknowledged),
    )
    action_records = _history_counts(CoordinationAction, action_rows)
    _listed(
        problems,
        "Actions whose version or history records differ from their accepted writes "
        "(pk: version/records/writes)",
        [
            f"{pk}: {version}/{action_records.get(pk, 0)}/{1 + (pk in ledger.acknowledged)}"
            for pk, (_, version) in sorted(action_rows.items())
            if pk in ledger.actions
            and not version == action_records.get(pk, 0) == 1 + (pk in ledger.acknowledged)
        ],
    )

    changes = sum(ledger.incident_changes[ref] for ref in accepted)
    lines = [
        Line("Incidents created", len(accepted), len(stored)),
        Line(
            "Incident versions, summed (1 + accepted updates and shares each)",
            sum(expected_versions.values()),
            sum(stored.values()),
        ),
        Line(
            "Incident history records (create + accepted updates and shares)",
            len(accepted) + changes,
            sum(incident_records.values()),
        ),
        Line("Coordination actions created", len(ledger.actions), len(action_rows)),
        Line("Acknowledgements", len(ledger.acknowledged), len(stored_acks)),
        Line(
            "Action history records (create + acknowledgement)",
            len(ledger.actions) + len(ledger.acknowledged),
            sum(action_records.values()),
        ),
    ]
    return Reconciliation(lines=lines, problems=problems)
