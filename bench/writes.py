"""§3: mutation latency with history on and with history off: the cost of the audit trail.

History off is simple-history's own switch: the ``SIMPLE_HISTORY_ENABLED`` setting, set to
False with ``override_settings`` before each timed call of a "history off" contender and
restored after it (outside the timing). simple-history's ``post_save`` handler then returns at
once: no history record, so none of its stamping (request id, ``changes`` diffed against the
previous record, the HMAC chain) and no many-to-many snapshot. Everything else is the same:
the view, authentication, the service's permission and version checks, the row lock, the
``UPDATE`` and the commit.

The floor (:mod:`bench.raw`) is the same change written by hand in one transaction:
authenticate, lock, check the version, UPDATE, INSERT the history record with its chain link.
Each round times all three — the mutation with history, without, and the floor — on objects
of their own, in a rotating order.

Rows written with history off differ from their newest history record, which
``verify_audit`` rightly reports. So afterwards each of them is saved once more through
``save_with_history`` with the reason :data:`CATCH_UP_REASON`: that record holds the changes
made off the record, and the trail verifies again.
"""

import dataclasses
import datetime
import json
import secrets

from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from strawberry import relay

from bench.client import ApiClient, BenchError
from bench.queries import ACKNOWLEDGE_ACTION, UPDATE_INCIDENT
from bench.timing import Contender, Samples, interleave
from bench.urls import RAW_ACKNOWLEDGE_ACTION, RAW_UPDATE_INCIDENT
from coordination.choices import ActionKind, ActionStatus, IncidentCategory, Severity
from coordination.models import CoordinationAction, Incident
from coordination.services import create_action, create_incident
from opsapi.audit.tracking import save_with_history
from partners.models import Partner

WRITES_INCIDENT = "make bench: acknowledgements"
CATCH_UP_REASON = (
    "make bench: recording the changes its history-off measurement made without a record"
)


class Mutation:
    """Sends one mutation at a time, each to the next object of a pool, tracking versions."""

    def __init__(
        self, client: ApiClient, query: str, field: str, objects: list, changes, path="/graphql/"
    ):
        self.client = client
        self.path = path
        self.query = query
        self.field = field
        self.pool = [
            {
                "id": relay.to_base64(type(obj).__name__, obj.pk),
                "version": obj.version,
                "pk": obj.pk,
            }
            for obj in objects
        ]
        self.changes = changes  # (round number) -> extra input fields
        self.sent = 0
        self.touched = set()

    def __call__(self):
        target = self.pool[self.sent % len(self.pool)]
        extra = self.changes(self.sent)
        self.sent += 1
        body = json.loads(
            self.client.post(
                self.path,
                self.query,
                {"input": {"id": target["id"], "version": target["version"], **extra}},
            )
        )
        result = (body.get("data") or {}).get(self.field) or {}
        if result.get("version") != target["version"] + 1:  # a no-op would be timed as fast
            raise BenchError(f"{self.field} did not change the object: {body}")
        target["version"] = result["version"]
        self.touched.add(target["pk"])


@dataclasses.dataclass
class WriteResult:
    mutation: str
    on: Samples
    off: Samples
    floor: Samples  # the raw-SQL floor (bench.raw)
    queries_on: int
    queries_off: int
    queries_floor: int
    links: int  # many-to-many fields of the model written, each snapshot in its records

    @property
    def overhead(self) -> float:
        return self.on.median / self.off.median

    @property
    def floor_ratio(self) -> float:
        """The mutation's p50 (history on) over the floor's."""
        return self.on.median / self.floor.median


def _history_off():
    switch = override_settings(SIMPLE_HISTORY_ENABLED=False)
    return switch.enable, switch.disable


def _queries(mutation: Mutation, off: bool) -> int:
    switch = override_settings(SIMPLE_HISTORY_ENABLED=False) if off else None
    if switch:
        switch.enable()
    try:
        with CaptureQueriesContext(connection) as captured:
            mutation()
    finally:
        if switch:
            switch.disable()
    return len(captured)


def measure_writes(client: ApiClient, rounds: int, warmup: int = 2) -> list[WriteResult]:
    """updateIncident (a new title, on the oldest incidents) and acknowledgeCoordinationAction
    (a pending action, each call its own), history on and off, and their raw-SQL floors,
    interleaved."""
    calls = rounds + warmup + 1  # +1: the call whose queries are counted
    desk = _writes_incident(client.user)
    incidents = list(Incident.objects.exclude(pk=desk.pk).order_by("reported_at", "pk")[:60])
    if len(incidents) < 3:
        raise BenchError("Too few incidents to time mutations on.")
    pending = _pending_actions(client.user, desk, 3 * calls)
    reason = {"changeReason": "Benchmark"}
    run = secrets.token_hex(4)  # titles never seen before, so that every update changes one
    mutations = {
        "updateIncident": [
            Mutation(
                client,
                UPDATE_INCIDENT,
                "updateIncident",
                incidents[i::3],
                lambda n, i=i: {"title": f"Benchmark update {run}.{i}.{n}", **reason},
                path=path,
            )
            for i, path in enumerate(("/graphql/", "/graphql/", RAW_UPDATE_INCIDENT))
        ],
        "acknowledgeCoordinationAction": [
            Mutation(
                client,
                ACKNOWLEDGE_ACTION,
                "acknowledgeCoordinationAction",
                pending[i * calls : (i + 1) * calls],
                lambda n: reason,
                path=path,
            )
            for i, path in enumerate(("/graphql/", "/graphql/", RAW_ACKNOWLEDGE_ACTION))
        ],
    }
    contenders = []
    for name, (on, off, floor) in mutations.items():
        enable, disable = _history_off()
        contenders.append(Contender(f"{name} on", on))
        contenders.append(Contender(f"{name} off", off, before=enable, after=disable))
        contenders.append(Contender(f"{name} floor", floor))
    samples = interleave(contenders, rounds=rounds, warmup=warmup)
    results = [
        WriteResult(
            mutation=name,
            on=samples[f"{name} on"],
            off=samples[f"{name} off"],
            floor=samples[f"{name} floor"],
            queries_on=_queries(on, off=False),
            queries_off=_queries(off, off=True),
            queries_floor=_queries(floor, off=False),
            links=len(model.history.model._history_m2m_fields),
        )
        for model, (name, (on, off, floor)) in zip(
            (Incident, CoordinationAction), mutations.items(), strict=True
        )
    ]
    _catch_up(client.user, mutations)
    return results


def _writes_incident(officer) -> Incident:
    """The incident whose actions the benchmark acknowledges, made on the first run: reported
    before every seeded incident, so that it and its actions stay off the pages the reads
    measure (the writes change only the oldest incidents, run after run)."""
    found = Incident.objects.filter(title=WRITES_INCIDENT).first()
    if found is not None:
        return found
    oldest = Incident.objects.order_by("reported_at").first()
    reported = (oldest.reported_at if oldest else timezone.now()) - datetime.timedelta(days=1)
    return create_incident(
        actor=officer,
        title=WRITES_INCIDENT,
        category=IncidentCategory.OTHER,
        severity=Severity.LOW,
        reported_at=reported,
        reason="make bench: actions to acknowledge",
    )


def _pending_actions(officer, incident, count: int) -> list:
    """``count`` pending actions on ``incident``: those left from earlier runs, and as many
    more as needed issued through the service (each acknowledgement takes one)."""
    pending = list(incident.actions.filter(status=ActionStatus.PENDING).order_by("pk")[:count])
    due = timezone.now() + datetime.timedelta(days=1)
    partners = list(Partner.objects.filter(active=True).order_by("pk")[:10])
    for n in range(count - len(pending)):
        pending.append(
            create_action(
                actor=officer,
                incident=incident,
                partner=partners[n % len(partners)],
                kind=ActionKind.NOTIFICATION,
                instructions="Benchmark: acknowledge this notification.",
                due_at=due,
                reason="make bench: an action to acknowledge",
            )
        )
    return pending


def _catch_up(actor, mutations) -> None:
    """Record, after the fact, the changes made with history off (see the module docstring)."""
    for model, (_, off, _) in zip((Incident, CoordinationAction), mutations.values(), strict=True):
        for obj in model.objects.filter(pk__in=off.touched):
            save_with_history(obj, actor=actor, reason=CATCH_UP_REASON)
