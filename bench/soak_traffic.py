"""The soak's traffic: users of every role, each thread one user on a keep-alive connection.

Officers read the watch floor, open incidents, update them and share them (each time sending
the version they have just read, so racing officers get ``stale_version``) and ask partners to
act. Partner users read their own watch floor and their pending actions, open the incidents
those are about, and acknowledge them (two threads per partner user, so they race for the same
action). The auditor reads the audit log since the run began and incidents' histories.

Every answer is tallied by operation: HTTP status, latency, top-level GraphQL errors by
``extensions.code``, and refusals in the result (``OperationInfo``) by code. Accepted writes
go to the :class:`~bench.soak_ledger.Ledger`, to be reconciled with the database afterwards.
"""

import dataclasses
import datetime
import http.client
import json
import random
import threading
import time
from collections import Counter, defaultdict

from strawberry import relay

from bench.queries import (
    ACKNOWLEDGE_ACTION,
    AUDIT_LOG_HOUR,
    OBJECT_HISTORY,
    UPDATE_INCIDENT,
    WATCH_FLOOR,
)
from bench.soak_ledger import Ledger
from coordination.errors import INVALID_TRANSITION
from opsapi.errors import STALE_VERSION

PAGE = 25  # incidents per watch-floor read
HOT = 8  # most updates and shares go to the newest incidents, so officers race for them
SAMPLES = 10  # failures kept verbatim per tally

# The refusals a soak provokes on purpose; any other code is reported as unexpected.
EXPECTED_REFUSALS = {
    "updateIncident": {STALE_VERSION},
    "shareIncident": {STALE_VERSION},
    "acknowledgeCoordinationAction": {STALE_VERSION, INVALID_TRANSITION},
}

CATEGORIES = ("TERRORISM", "NATURAL_HAZARD", "INFRASTRUCTURE", "CYBER", "PUBLIC_SAFETY")
SEVERITIES = ("LOW", "MODERATE", "HIGH", "CRITICAL")
ACTION_KINDS = ("NOTIFICATION", "REQUEST_FOR_INFORMATION", "RESOURCE_REQUEST", "BRIEFING")
PRIORITIES = ("ROUTINE", "PRIORITY", "IMMEDIATE")

INCIDENT_VERSION = (
    "query IncidentVersion($id: ID!) { node(id: $id) { ... on Incident { version } } }"
)

CREATE_INCIDENT = """
mutation CreateIncident($input: CreateIncidentInput!) {
  createIncident(input: $input) {
    ... on Incident { id reference version }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

SHARE_INCIDENT = """
mutation ShareIncident($input: ShareIncidentInput!) {
  shareIncident(input: $input) {
    ... on Incident { version sharedWith { edges { node { name } } } }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

CREATE_ACTION = """
mutation CreateAction($input: CreateCoordinationActionInput!) {
  createCoordinationAction(input: $input) {
    ... on CoordinationAction { id version status }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

PENDING_ACTIONS = """
query PendingActions {
  coordinationActions(
    filters: { status: { exact: PENDING } }, ordering: [{ createdAt: DESC }], first: 20
  ) {
    edges { node { id version kind priority dueAt incident { id reference title } } }
  }
}
"""

PARTNER_INCIDENT = """
query PartnerIncident($id: ID!) {
  node(id: $id) {
    ... on Incident {
      reference title summary severity status tlp version
      states { code }
      actions { edges { node { kind status instructions partner { name } } } }
    }
  }
}
"""


@dataclasses.dataclass
class Tally:
    """What one thread (or, merged, the whole run) sent and got back."""

    requests: Counter = dataclasses.field(default_factory=Counter)  # operation -> answered
    latencies: dict = dataclasses.field(default_factory=lambda: defaultdict(list))
    statuses: Counter = dataclasses.field(default_factory=Counter)  # HTTP status -> count
    errors: Counter = dataclasses.field(default_factory=Counter)  # (operation, code)
    refusals: Counter = dataclasses.field(default_factory=Counter)  # (operation, code)
    unchanged: Counter = dataclasses.field(default_factory=Counter)  # operation -> no-op writes
    transport: Counter = dataclasses.field(default_factory=Counter)  # operation -> no answer
    samples: list = dataclasses.field(default_factory=list)  # failures, verbatim

    def note(self, text: str) -> None:
        if len(self.samples) < SAMPLES:
            self.samples.append(text[:500])

    def merge(self, other: "Tally") -> None:
        for name in ("requests", "statuses", "errors", "refusals", "unchanged", "transport"):
            getattr(self, name).update(getattr(other, name))
        for operation, values in other.latencies.items():
            self.latencies[operation].extend(values)
        self.samples.extend(other.samples[: max(0, SAMPLES - len(self.samples))])

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def unexpected_refusals(self) -> Counter:
        return Counter(
            {
                (operation, code): n
                for (operation, code), n in self.refusals.items()
                if code not in EXPECTED_REFUSALS.get(operation, ())
            }
        )


class Session:
    """One user's keep-alive HTTP/1.1 connection to the server, POSTing GraphQL with a
    bearer token and tallying every answer."""

    def __init__(self, port: int, token: str, tally: Tally):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Connection": "keep-alive",
        }
        self.tally = tally

    def call(self, operation: str, query: str, variables: dict | None = None) -> dict | None:
        """The ``data`` of a 200 answer without errors, else None (tallied either way)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/graphql/", body=body, headers=self.headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.tally.transport[operation] += 1
            self.tally.note(f"{operation}: no answer: {error!r}")
            self.connection.close()  # reopened by the next request
            return None
        tally = self.tally
        tally.requests[operation] += 1
        tally.latencies[operation].append(time.perf_counter() - started)
        tally.statuses[response.status] += 1
        try:
            payload = json.loads(content)
        except ValueError:
            payload = {}
        errors = payload.get("errors") if isinstance(payload, dict) else None
        for error in errors or ():
            code = (error.get("extensions") or {}).get("code") or "(no code)"
            tally.errors[(operation, code)] += 1
        if response.status != 200 or errors or not isinstance(payload.get("data"), dict):
            tally.note(f"{operation}: HTTP {response.status}: {content[:300]!r}")
            return None
        return payload["data"]

    def mutate(self, operation: str, query: str, variables: dict) -> dict | None:
        """The mutation's result if it was accepted, else None (refusals tallied by code)."""
        data = self.call(operation, query, variables)
        result = None if data is None else data.get(operation)
        if not result:
            return None
        if "messages" in result:
            for message in result["messages"]:
                self.tally.refusals[(operation, message.get("code") or "(no code)")] += 1
                if message.get("code") not in EXPECTED_REFUSALS.get(operation, ()):
                    self.tally.note(f"{operation}: refused: {message}")
            return None
        return result

    def close(self) -> None:
        self.connection.close()


@dataclasses.dataclass
class World:
    """What every simulated user knows: the run's tag and start, the ledger, the reference
    data and partners to refer to (global IDs)."""

    ledger: Ledger
    started: datetime.datetime
    states: list[str]
    partners: list[str]
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)  # end early


class Officer:
    """An ops officer on the watch floor."""

    def __init__(self, session: Session, world: World, rng: random.Random, name: str):
        self.session, self.world, self.rng, self.name = session, world, rng, name
        self.sent = 0
        self.operations = (
            (self.read_floor, 25),
            (self.create_incident, 15),
            (self.update_incident, 35),
            (self.share_incident, 10),
            (self.create_action, 15),
        )

    def step(self) -> None:
        operations, weights = zip(*self.operations, strict=True)
        self.rng.choices(operations, weights)[0]()

    def read_floor(self) -> None:
        self.session.call("watch floor (officer)", WATCH_FLOOR, {"first": PAGE})

    def _incident(self) -> tuple[str, str] | None:
        incidents = self.world.ledger.incident_ids()
        if not incidents:
            return None
        return self.rng.choice(incidents[-HOT:] if self.rng.random() < 0.75 else incidents)

    def create_incident(self) -> None:
        self.sent += 1
        rng = self.rng
        variables = {
            "input": {
                "title": f"Soak {self.name} #{self.sent}",
                "category": rng.choice(CATEGORIES),
                "severity": rng.choice(SEVERITIES),
                "summary": "Opened by the soak run.",
                "source": self.world.ledger.tag,
                "states": [rng.choice(self.world.states)],
                "sharedWith": rng.sample(self.world.partners, rng.randint(0, 1)),
                "changeReason": "Soak: opened",
            }
        }
        result = self.session.mutate("createIncident", CREATE_INCIDENT, variables)
        if result is not None:
            self.world.ledger.incident_created(result["reference"], result["id"])

    def _read_version(self, incident_id: str) -> int | None:
        data = self.session.call(
            "incident version (officer)", INCIDENT_VERSION, {"id": incident_id}
        )
        return None if data is None or not data["node"] else data["node"]["version"]

    def _versioned(self, operation: str, query: str, changes) -> None:
        """Read an incident's version, send ``changes`` with it; count an accepted change."""
        picked = self._incident()
        if picked is None:
            self.create_incident()
            return
        reference, incident_id = picked
        version = self._read_version(incident_id)
        if version is None:
            return
        variables = {"input": {"id": incident_id, "version": version, **changes}}
        result = self.session.mutate(operation, query, variables)
        if result is None:
            return
        if result["version"] == version + 1:
            self.world.ledger.incident_changed(reference)
        elif result["version"] == version:
            self.session.tally.unchanged[operation] += 1
        else:
            self.session.tally.note(f"{operation}: sent version {version}, got {result}")

    def update_incident(self) -> None:
        self.sent += 1
        changes = {
            "title": f"Soak {self.name} #{self.sent}, reassessed",
            "severity": self.rng.choice(SEVERITIES),
            "changeReason": "Soak: reassessed",
        }
        self._versioned("updateIncident", UPDATE_INCIDENT, changes)

    def share_incident(self) -> None:
        changes = {"partners": [self.rng.choice(self.world.partners)], "changeReason": "Soak"}
        self._versioned("shareIncident", SHARE_INCIDENT, changes)

    def create_action(self) -> None:
        picked = self._incident()
        if picked is None:
            self.create_incident()
            return
        rng = self.rng
        variables = {
            "input": {
                "incident": picked[1],
                "partner": rng.choice(self.world.partners),
                "kind": rng.choice(ACTION_KINDS),
                "priority": rng.choice(PRIORITIES),
                "instructions": f"Soak: confirm receipt ({self.name}).",
                "changeReason": "Soak: asked",
            }
        }
        result = self.session.mutate("createCoordinationAction", CREATE_ACTION, variables)
        if result is not None:
            pk = int(relay.from_base64(result["id"])[1])
            self.world.ledger.action_created(pk, result["id"])


class PartnerUser:
    """A partner organisation's user answering the center's requests."""

    def __init__(self, session: Session, world: World, rng: random.Random, name: str):
        self.session, self.world, self.rng, self.name = session, world, rng, name
        self.incidents: list[str] = []  # incidents its actions were about, last seen
        self.operations = (
            (self.read_floor, 30),
            (self.acknowledge, 50),
            (self.read_incident, 20),
        )

    def step(self) -> None:
        operations, weights = zip(*self.operations, strict=True)
        self.rng.choices(operations, weights)[0]()

    def read_floor(self) -> None:
        self.session.call("watch floor (partner)", WATCH_FLOOR, {"first": PAGE})

    def acknowledge(self) -> None:
        data = self.session.call("pending actions (partner)", PENDING_ACTIONS)
        if data is None:
            return
        pending = [edge["node"] for edge in data["coordinationActions"]["edges"]]
        self.incidents = [action["incident"]["id"] for action in pending] or self.incidents
        ledger = self.world.ledger
        ours = [a for a in pending if ledger.is_soak_action(int(relay.from_base64(a["id"])[1]))]
        if not ours:
            return
        action = self.rng.choice(ours[:3])  # the other thread of this user may take it too
        variables = {
            "input": {"id": action["id"], "version": action["version"], "changeReason": "Soak"}
        }
        result = self.session.mutate("acknowledgeCoordinationAction", ACKNOWLEDGE_ACTION, variables)
        if result is not None and result["status"] == "ACKNOWLEDGED":
            ledger.action_acknowledged(int(relay.from_base64(action["id"])[1]))

    def read_incident(self) -> None:
        if not self.incidents:
            self.read_floor()
            return
        incident_id = self.rng.choice(self.incidents)
        self.session.call("incident (partner)", PARTNER_INCIDENT, {"id": incident_id})


class Auditor:
    """An auditor reading what the run has done so far."""

    def __init__(self, session: Session, world: World, rng: random.Random, name: str):
        self.session, self.world, self.rng, self.name = session, world, rng, name

    def step(self) -> None:
        incidents = self.world.ledger.incident_ids()
        if incidents and self.rng.random() < 0.4:
            incident_id = self.rng.choice(incidents)[1]
            self.session.call("incident history (auditor)", OBJECT_HISTORY, {"id": incident_id})
            return
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
        variables = {"since": self.world.started.isoformat(), "until": until.isoformat()}
        self.session.call("auditLog (auditor)", AUDIT_LOG_HOUR, variables)


ROLES = {"officer": Officer, "partner user": PartnerUser, "auditor": Auditor}
# Who each thread is, in order: at 16 threads, 8 officers, 6 partner-user threads, 2 auditors.
THREAD_ROLES = (
    "officer",
    "partner user",
    "auditor",
    "officer",
    "partner user",
    "officer",
    "officer",
    "partner user",
)


def run_user(
    role: str,
    port: int,
    token: str,
    world: World,
    seed: float,
    name: str,
    deadline: float,
    tally: Tally,
) -> None:
    """One thread: user ``name`` in ``role`` at work until ``deadline``, tallied in ``tally``."""
    session = Session(port, token, tally)
    user = ROLES[role](session, world, random.Random(seed), name)
    try:
        while time.monotonic() < deadline and not world.stop.is_set():
            user.step()
    finally:
        session.close()
