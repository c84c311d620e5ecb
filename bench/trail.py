"""§4: reading the audit trail at national scale, as an auditor does.

- one object's history: the incident with the most records, among those no run of the
  benchmark wrote to, its ``history`` connection;
- one hour of the global ``auditLog``: the first page (50) of a busy hour thirty days back;
- ``asOf``: that incident as it stood halfway through its recorded life.
"""

import dataclasses
import datetime

from django.db import connection
from django.db.models import Count, Max, Min
from django.test.utils import CaptureQueriesContext
from strawberry import relay

from bench.client import ApiClient, BenchError
from bench.queries import AS_OF, AUDIT_LOG_HOUR, OBJECT_HISTORY
from bench.timing import Contender, Samples, interleave
from coordination.models import Incident
from opsapi.audit import trail

HOUR = datetime.timedelta(hours=1)
SEEDED = "bench:"  # request ids of the records the seeder wrote (bench.timeline)


@dataclasses.dataclass
class AuditResult:
    read: str
    what: str
    samples: Samples
    queries: int


def _seeded(records):
    """Only the seeded records: the benchmark's own writes must not move what it measures
    from one run to the next."""
    return records.filter(request_id__startswith=SEEDED)


def _busiest_incident() -> tuple[int, int]:
    """(id, records) of the incident with the longest history of those only seeded ones."""
    records = Incident.history.model.objects
    touched = records.exclude(request_id__startswith=SEEDED).values("id")
    row = (
        records.exclude(id__in=touched)
        .values("id")
        .annotate(records=Count("history_id"))
        .order_by("-records", "id")
        .first()
    )
    if row is None:
        raise BenchError("No incident history to read.")
    return row["id"], row["records"]


def _busy_hour() -> tuple[datetime.datetime, int]:
    """The start of the hour, thirty days before the newest seeded incident record, with the
    most records among the 48 hours around it; and how many records that hour holds."""
    newest = _seeded(Incident.history.model.objects).aggregate(at=Max("history_date"))["at"]
    if newest is None:
        raise BenchError("The audit trail holds no seeded incident.")
    around = newest.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(days=30)
    best = (around, -1)
    for k in range(-24, 24):
        since = around + k * HOUR
        held = trail.count(trail.TrailFilter(since=since, until=since + HOUR))
        best = max(best, (since, held), key=lambda b: b[1])
    return best


def measure_audit(client: ApiClient, rounds: int) -> list[AuditResult]:
    incident_pk, records = _busiest_incident()
    incident_id = relay.to_base64("Incident", incident_pk)
    span = Incident.history.model.objects.filter(id=incident_pk).aggregate(
        first=Min("history_date"), last=Max("history_date")
    )
    midway = span["first"] + (span["last"] - span["first"]) / 2
    since, in_hour = _busy_hour()
    reads = {
        "object history": (
            OBJECT_HISTORY,
            {"id": incident_id},
            f"incident with the most records ({records})",
        ),
        "auditLog, one hour": (
            AUDIT_LOG_HOUR,
            {"since": since.isoformat(), "until": (since + HOUR).isoformat()},
            f"first page of 50, of {in_hour} records in the hour from {since:%Y-%m-%d %H:%M} UTC",
        ),
        "asOf": (AS_OF, {"id": incident_id, "at": midway.isoformat()}, "that incident, midway"),
    }
    _check(client, reads)
    contenders = [
        Contender(name, lambda q=query, v=variables: client.post("/graphql/", q, v))
        for name, (query, variables, _) in reads.items()
    ]
    samples = interleave(contenders, rounds=rounds)
    results = []
    for name, (query, variables, what) in reads.items():
        with CaptureQueriesContext(connection) as captured:
            client.post("/graphql/", query, variables)
        results.append(AuditResult(name, what, samples[name], len(captured)))
    return results


def _check(client: ApiClient, reads: dict) -> None:
    """Each read must answer something (an empty answer would be timed as fast)."""
    history = client.data(*reads["object history"][:2])["node"]["history"]["edges"]
    log = client.data(*reads["auditLog, one hour"][:2])["auditLog"]["edges"]
    as_of = client.data(*reads["asOf"][:2])["asOf"]
    if len(history) < 2 or not log or as_of is None:
        raise BenchError(
            f"Audit reads answered too little: {len(history)} history records, "
            f"{len(log)} log entries, asOf {'null' if as_of is None else 'found'}."
        )
