"""Incident mutations: createIncident, updateIncident, changeIncidentStatus, addIncidentUpdate,
shareIncident, unshareIncident — happy path, validation, permission, history."""

import datetime

import pytest
from django.utils import timezone

from coordination.choices import IncidentStatus, UpdateKind
from coordination.models import Incident, IncidentUpdate
from tests.factories import global_id, make_incident, make_partner, sector, state
from tests.graphql import GraphQLClient, messages

INCIDENT_FIELDS = """
    ... on Incident {
        id reference title summary category severity status tlp version
        occurredAt reportedAt activatedAt monitoringAt resolvedAt closedAt
        states { code } urbanAreas { name } sectors { code }
        location { latitude longitude }
        source lead { username }
        sharedWith { totalCount edges { node { name } } }
    }
    ... on OperationInfo { messages { kind field code message } }
"""

CREATE_INCIDENT = f"""
mutation Create($input: CreateIncidentInput!) {{
  createIncident(input: $input) {{ {INCIDENT_FIELDS} }}
}}"""

UPDATE_INCIDENT = f"""
mutation Update($input: UpdateIncidentInput!) {{
  updateIncident(input: $input) {{ {INCIDENT_FIELDS} }}
}}"""

CHANGE_STATUS = f"""
mutation Change($input: ChangeIncidentStatusInput!) {{
  changeIncidentStatus(input: $input) {{ {INCIDENT_FIELDS} }}
}}"""

SHARE = f"""
mutation Share($input: ShareIncidentInput!) {{
  shareIncident(input: $input) {{ {INCIDENT_FIELDS} }}
}}"""

UNSHARE = f"""
mutation Unshare($input: UnshareIncidentInput!) {{
  unshareIncident(input: $input) {{ {INCIDENT_FIELDS} }}
}}"""

ADD_UPDATE = """
mutation Add($input: AddIncidentUpdateInput!) {
  addIncidentUpdate(input: $input) {
    ... on IncidentUpdate { id kind body partnerVisible author { username } incident { id } }
    ... on OperationInfo { messages { kind field code message } }
  }
}"""


def latest_history(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


@pytest.fixture
def incident(officer):
    return make_incident(officer, title="Levee breach near Sacramento")


# --- createIncident ---------------------------------------------------------------------------


def test_create_incident_opens_a_referenced_incident_with_its_links(gql, officer):
    partner = make_partner(officer, name="California Governor's Office of Emergency Services")
    occurred = timezone.now() - datetime.timedelta(hours=2)

    result = gql.data(
        CREATE_INCIDENT,
        {
            "input": {
                "title": "Wildfire threatens transmission lines",
                "summary": "Fire front 3 miles from a 500 kV corridor.",
                "category": "NATURAL_HAZARD",
                "severity": "HIGH",
                "tlp": "GREEN",
                "occurredAt": occurred.isoformat(),
                "states": [global_id(state("CA")), global_id(state("NV"))],
                "sectors": [global_id(sector("energy"))],
                "sharedWith": [global_id(partner)],
                "location": {"latitude": 38.58157, "longitude": -121.4944},
                "source": "State warning point",
                "lead": global_id(officer),
                "changeReason": "Reported by CalOES duty officer",
            }
        },
    )["createIncident"]

    year = timezone.localtime().year
    assert result["reference"].startswith(f"OPS-{year}-")
    assert len(result["reference"]) == len(f"OPS-{year}-000001")
    assert result["status"] == "REPORTED"
    assert result["version"] == 1
    assert result["tlp"] == "GREEN"
    assert {s["code"] for s in result["states"]} == {"CA", "NV"}
    assert [s["code"] for s in result["sectors"]] == ["energy"]
    assert result["location"] == {"latitude": 38.58157, "longitude": -121.4944}
    assert result["lead"] == {"username": "officer"}
    assert result["sharedWith"]["edges"][0]["node"]["name"].startswith("California")
    assert result["reportedAt"] is not None

    incident = Incident.objects.get(reference=result["reference"])
    assert incident.history.count() == 1, "one record for the row and all its links"
    record = latest_history(incident)
    assert record.history_type == "+"
    assert record.history_user == officer
    assert record.history_change_reason == "Reported by CalOES duty officer"
    assert record.request_id
    changed = {c["field"] for c in record.changes}
    assert {"title", "severity", "states", "sectors", "shared_with"} <= changed


def test_create_incident_defaults_tlp_amber_and_reported_now(gql):
    before = timezone.now()
    result = gql.data(
        CREATE_INCIDENT,
        {"input": {"title": "Suspicious package", "category": "PUBLIC_SAFETY", "severity": "LOW"}},
    )["createIncident"]
    assert result["tlp"] == "AMBER"
    assert datetime.datetime.fromisoformat(result["reportedAt"]) >= before


def test_references_are_sequential_and_unique(gql):
    refs = [
        gql.data(
            CREATE_INCIDENT,
            {"input": {"title": f"Event {i}", "category": "CYBER", "severity": "LOW"}},
        )["createIncident"]["reference"]
        for i in range(3)
    ]
    numbers = [int(ref.rsplit("-", 1)[1]) for ref in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"title": ""}, "title", "blank"),
        ({"title": "x" * 201}, "title", "max_length"),
        ({"summary": "x" * 20_001}, "summary", "max_length"),
        ({"title": "bad\x00byte"}, "title", "null_characters"),
        ({"occurredAt": "2999-01-01T00:00:00Z"}, "occurredAt", "in_future"),
        ({"occurredAt": "1900-01-01T00:00:00Z"}, "occurredAt", "out_of_range"),
        ({"occurredAt": "2026-01-01T00:00:00"}, "occurredAt", "invalid"),
        ({"location": {"latitude": 91, "longitude": 0}}, "latitude", "max_value"),
        ({"location": {"latitude": 0, "longitude": -180.5}}, "longitude", "min_value"),
        ({"states": ["not-an-id"]}, "states", "invalid_id"),
        ({"sectors": ["UGFydG5lcjox"]}, "sectors", "invalid_id"),  # a Partner ID
        ({"states": ["U3RhdGU6OTk5OTk5"]}, "states", "not_found"),  # State:999999
        ({"changeReason": "r" * 1001}, "changeReason", "max_length"),
    ],
)
def test_create_incident_rejects_bad_input_naming_the_field(gql, overrides, field, code):
    before = Incident.objects.count(), Incident.history.count()
    result = gql.data(
        CREATE_INCIDENT,
        {
            "input": {"title": "Bridge strike", "category": "TRANSPORTATION", "severity": "LOW"}
            | overrides
        },
    )["createIncident"]
    assert (field, code) in messages(result)
    assert all(m["kind"] == "VALIDATION" for m in result["messages"])
    assert (Incident.objects.count(), Incident.history.count()) == before


def test_create_incident_rejects_an_inactive_partner(gql, officer):
    partner = make_partner(officer, active=False)
    result = gql.data(
        CREATE_INCIDENT,
        {
            "input": {
                "title": "Chemical release",
                "category": "HAZMAT",
                "severity": "HIGH",
                "sharedWith": [global_id(partner)],
            }
        },
    )["createIncident"]
    assert messages(result) == [("sharedWith", "inactive_partner")]


def test_create_incident_rejects_unknown_enum_value_as_a_malformed_request(gql):
    body = gql(
        CREATE_INCIDENT,
        {"input": {"title": "x", "category": "ALIENS", "severity": "LOW"}},
    )
    assert body["data"] is None
    assert "category" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_create_incident_is_forbidden_without_a_role(make_user):
    client = GraphQLClient.logged_in(make_user("visitor"))
    result = client.data(
        CREATE_INCIDENT, {"input": {"title": "x", "category": "CYBER", "severity": "LOW"}}
    )["createIncident"]
    assert messages(result) == [(None, "forbidden")]
    assert result["messages"][0]["kind"] == "PERMISSION"
    assert not Incident.objects.exists()


# --- updateIncident ---------------------------------------------------------------------------


def test_update_incident_changes_fields_bumps_version_and_records_the_diff(gql, officer, incident):
    result = gql.data(
        UPDATE_INCIDENT,
        {
            "input": {
                "id": global_id(incident),
                "version": 1,
                "severity": "CRITICAL",
                "states": [global_id(state("CA"))],
                "changeReason": "Second levee failed",
            }
        },
    )["updateIncident"]
    assert result["severity"] == "CRITICAL"
    assert result["version"] == 2
    assert [s["code"] for s in result["states"]] == ["CA"]
    assert result["title"] == "Levee breach near Sacramento", "fields left out are unchanged"

    record = latest_history(incident)
    assert incident.history.count() == 2
    assert record.history_type == "~"
    assert record.history_user == officer
    assert record.history_change_reason == "Second levee failed"
    changes = {c["field"]: (c["old"], c["new"]) for c in record.changes}
    assert changes["severity"] == ("moderate", "critical")
    assert changes["states"] == ([], [state("CA").pk])
    assert changes["version"] == (1, 2)


def test_update_incident_null_clears_optional_fields(gql, officer):
    incident = make_incident(officer, lead=officer, occurred_at=timezone.now())
    result = gql.data(
        UPDATE_INCIDENT,
        {"input": {"id": global_id(incident), "version": 1, "lead": None, "occurredAt": None}},
    )["updateIncident"]
    assert result["lead"] is None
    assert result["occurredAt"] is None


def test_update_incident_refuses_null_for_required_fields(gql, incident):
    result = gql.data(
        UPDATE_INCIDENT, {"input": {"id": global_id(incident), "version": 1, "title": None}}
    )["updateIncident"]
    assert messages(result) == [("title", "null")]


def test_update_incident_with_a_stale_version_writes_nothing(gql, incident):
    gql.data(UPDATE_INCIDENT, {"input": {"id": global_id(incident), "version": 1, "title": "A"}})
    history_before = incident.history.count()

    result = gql.data(
        UPDATE_INCIDENT, {"input": {"id": global_id(incident), "version": 1, "title": "B"}}
    )["updateIncident"]

    assert messages(result) == [("version", "stale_version")]
    incident.refresh_from_db()
    assert incident.title == "A"
    assert incident.version == 2
    assert incident.history.count() == history_before


def test_update_incident_without_changes_writes_no_history(gql, incident):
    result = gql.data(
        UPDATE_INCIDENT,
        {"input": {"id": global_id(incident), "version": 1, "title": incident.title}},
    )["updateIncident"]
    assert result["version"] == 1
    assert incident.history.count() == 1


@pytest.mark.parametrize(
    ("incident_id", "code"),
    [
        ("garbage", "invalid_id"),
        ("UGFydG5lcjox", "invalid_id"),  # Partner:1, an ID of the wrong type
        ("SW5jaWRlbnQ6OTk5OTk5", "not_found"),  # Incident:999999
    ],
)
def test_update_incident_with_a_bad_id(gql, incident_id, code):
    result = gql.data(UPDATE_INCIDENT, {"input": {"id": incident_id, "version": 1}})
    assert messages(result["updateIncident"]) == [("id", code)]


def test_update_incident_by_a_user_without_a_role_finds_nothing(make_user, incident):
    client = GraphQLClient.logged_in(make_user("visitor"))
    result = client.data(
        UPDATE_INCIDENT, {"input": {"id": global_id(incident), "version": 1, "title": "x"}}
    )["updateIncident"]
    assert messages(result) == [("id", "not_found")]
    incident.refresh_from_db()
    assert incident.title == "Levee breach near Sacramento"


# --- changeIncidentStatus ---------------------------------------------------------------------


def test_status_walks_the_lifecycle_with_a_timestamp_per_state(gql, officer, incident):
    version = 1
    for status in ("ACTIVE", "MONITORING", "RESOLVED", "CLOSED"):
        result = gql.data(
            CHANGE_STATUS,
            {"input": {"id": global_id(incident), "version": version, "status": status}},
        )["changeIncidentStatus"]
        assert result["status"] == status
        version = result["version"]
    assert all(
        result[f] for f in ("reportedAt", "activatedAt", "monitoringAt", "resolvedAt", "closedAt")
    )
    kinds = list(incident.updates.values_list("kind", flat=True))
    assert kinds.count(UpdateKind.STATUS_CHANGE) == 4, "each change is on the timeline"


def test_reopening_a_resolved_incident_clears_its_resolution(gql, officer, incident):
    from coordination.services import change_incident_status

    for version, status in enumerate((IncidentStatus.ACTIVE, IncidentStatus.RESOLVED), start=1):
        change_incident_status(actor=officer, incident=incident, version=version, status=status)

    result = gql.data(
        CHANGE_STATUS,
        {
            "input": {
                "id": global_id(incident),
                "version": 3,
                "status": "ACTIVE",
                "changeReason": "Flooding resumed",
            }
        },
    )["changeIncidentStatus"]
    assert result["status"] == "ACTIVE"
    assert result["resolvedAt"] is None
    record = latest_history(incident)
    assert record.history_change_reason == "Flooding resumed"
    assert {"field": "status", "old": "resolved", "new": "active"} in record.changes
    note = incident.updates.order_by("-id").first()
    assert note.body == "Status changed from Resolved to Active. Reason: Flooding resumed"
    assert note.author == officer


@pytest.mark.parametrize("target", ["RESOLVED", "REPORTED"])
def test_invalid_transition_is_refused_and_writes_nothing(gql, incident, target):
    result = gql.data(
        CHANGE_STATUS, {"input": {"id": global_id(incident), "version": 1, "status": target}}
    )["changeIncidentStatus"]
    assert messages(result) == [("status", "invalid_transition")]
    assert "Reported" in result["messages"][0]["message"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
    assert incident.history.count() == 1
    assert not incident.updates.exists()


def test_closed_is_final(gql, officer, incident):
    from coordination.services import change_incident_status

    change_incident_status(
        actor=officer, incident=incident, version=1, status=IncidentStatus.CLOSED
    )
    result = gql.data(
        CHANGE_STATUS, {"input": {"id": global_id(incident), "version": 2, "status": "ACTIVE"}}
    )["changeIncidentStatus"]
    assert messages(result) == [("status", "invalid_transition")]


def test_change_status_with_stale_version(gql, incident):
    result = gql.data(
        CHANGE_STATUS, {"input": {"id": global_id(incident), "version": 7, "status": "ACTIVE"}}
    )["changeIncidentStatus"]
    assert messages(result) == [("version", "stale_version")]


# --- addIncidentUpdate ------------------------------------------------------------------------


def test_add_incident_update_posts_to_the_timeline(gql, officer, incident):
    result = gql.data(
        ADD_UPDATE,
        {
            "input": {
                "incident": global_id(incident),
                "kind": "SITUATION_REPORT",
                "body": "SITREP 1: 200 residents evacuated.",
                "partnerVisible": True,
                "changeReason": "Morning sitrep",
            }
        },
    )["addIncidentUpdate"]
    assert result["kind"] == "SITUATION_REPORT"
    assert result["partnerVisible"] is True
    assert result["author"] == {"username": "officer"}
    assert result["incident"]["id"] == global_id(incident)
    update = IncidentUpdate.objects.get()
    record = latest_history(update)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        officer,
        "Morning sitrep",
    )
    incident.refresh_from_db()
    assert incident.version == 1, "a timeline entry does not change the incident itself"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"body": "   "}, "body", "blank"),
        ({"body": "x" * 20_001}, "body", "max_length"),
        ({"kind": "STATUS_CHANGE"}, "kind", "reserved_kind"),
        ({"kind": "ESCALATION"}, "kind", "reserved_kind"),
        ({"incident": "SW5jaWRlbnQ6OTk5OTk5"}, "incident", "not_found"),
    ],
)
def test_add_incident_update_validation(gql, incident, overrides, field, code):
    result = gql.data(
        ADD_UPDATE, {"input": {"incident": global_id(incident), "body": "Note"} | overrides}
    )["addIncidentUpdate"]
    assert messages(result) == [(field, code)]
    assert not IncidentUpdate.objects.exists()


# --- shareIncident / unshareIncident ----------------------------------------------------------


def test_share_and_unshare(gql, officer, incident):
    fusion, police = make_partner(officer, name="Fusion"), make_partner(officer, name="Police")

    shared = gql.data(
        SHARE,
        {
            "input": {
                "id": global_id(incident),
                "version": 1,
                "partners": [global_id(fusion), global_id(police)],
                "changeReason": "Need to know: regional partners",
            }
        },
    )["shareIncident"]
    assert shared["sharedWith"]["totalCount"] == 2
    assert shared["version"] == 2
    record = latest_history(incident)
    assert record.history_change_reason == "Need to know: regional partners"
    assert {c["field"] for c in record.changes} == {"shared_with", "version", "updated_at"}

    unshared = gql.data(
        UNSHARE,
        {"input": {"id": global_id(incident), "version": 2, "partners": [global_id(police)]}},
    )["unshareIncident"]
    assert [e["node"]["name"] for e in unshared["sharedWith"]["edges"]] == ["Fusion"]
    assert unshared["version"] == 3
    assert incident.history.count() == 3


def test_share_validation(gql, officer, incident):
    inactive = make_partner(officer, active=False)
    result = gql.data(
        SHARE,
        {"input": {"id": global_id(incident), "version": 1, "partners": [global_id(inactive)]}},
    )["shareIncident"]
    assert messages(result) == [("partners", "inactive_partner")]
    too_many = gql.data(
        SHARE,
        {"input": {"id": global_id(incident), "version": 1, "partners": ["UGFydG5lcjox"] * 101}},
    )["shareIncident"]
    assert messages(too_many) == [("partners", "too_many_items")]
    stale = gql.data(UNSHARE, {"input": {"id": global_id(incident), "version": 9, "partners": []}})[
        "unshareIncident"
    ]
    assert messages(stale) == [("version", "stale_version")]
    assert incident.history.count() == 1
