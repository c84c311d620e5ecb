"""The audit API: auditLog, asOf, and the record of who read the trail."""

import datetime

import pytest
from django.utils import timezone

from coordination.choices import IncidentStatus, Severity, Tlp
from coordination.services import change_incident_status, share_incident, update_incident
from opsapi.accounts.access import OPS_OFFICER
from opsapi.accounts.services import issue_token
from opsapi.audit.models import AuditAccess
from tests.factories import global_id, make_incident, make_partner
from tests.graphql import GraphQLClient

AUDIT_LOG = """
query($filters: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filters: $filters, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      __typename at action changeReason requestId objectId
      user { username }
      changes { field old new }
      object { id }
    } }
  }
}"""

AS_OF = """
query($id: ID!, $at: DateTime!) {
  asOf(id: $id, at: $at) {
    __typename at action objectId snapshot
    ... on IncidentHistoryEntry { recordHash }
  }
}"""

AUDIT_READS = """
{ auditReads { totalCount edges { node { operation target arguments user { username } } } } }
"""


@pytest.fixture
def auditor_gql(auditor):
    return GraphQLClient.logged_in(auditor)


@pytest.fixture
def timeline(officer):
    """An incident that changed over time, with the instants between the changes."""
    partner = make_partner(officer, name="Gulf fusion center")
    incident = make_incident(officer, title="Refinery fire", severity=Severity.HIGH, tlp=Tlp.GREEN)
    after_creation = timezone.now()
    update_incident(
        actor=officer,
        incident=incident,
        version=1,
        severity=Severity.CRITICAL,
        tlp=Tlp.RED,
        reason="Casualties confirmed",
    )
    after_update = timezone.now()
    share_incident(actor=officer, incident=incident, version=2, partners=[partner])
    change_incident_status(
        actor=officer, incident=incident, version=3, status=IncidentStatus.ACTIVE
    )
    after_all = timezone.now()
    return {
        "incident": incident,
        "partner": partner,
        "after_creation": after_creation,
        "after_update": after_update,
        "after_all": after_all,
    }


def test_audit_log_lists_every_change_newest_first(auditor_gql, timeline):
    log = auditor_gql.data(AUDIT_LOG, {"filters": {"objectId": global_id(timeline["incident"])}})[
        "auditLog"
    ]
    actions = [e["node"]["action"] for e in log["edges"]]
    assert actions == ["UPDATED", "UPDATED", "UPDATED", "CREATED"]
    assert log["totalCount"] == 4
    times = [e["node"]["at"] for e in log["edges"]]
    assert times == sorted(times, reverse=True)
    update = log["edges"][2]["node"]
    assert update["__typename"] == "IncidentHistoryEntry"
    assert update["changeReason"] == "Casualties confirmed"
    assert update["user"] == {"username": "officer"}
    assert {"field": "tlp", "old": "GREEN", "new": "RED"} in update["changes"]
    assert update["object"] == {"id": global_id(timeline["incident"])}


def test_audit_log_spans_every_model_and_filters(auditor_gql, officer, timeline):
    everything = auditor_gql.data(AUDIT_LOG, {"first": 100})["auditLog"]
    kinds = {e["node"]["__typename"] for e in everything["edges"]}
    assert {"IncidentHistoryEntry", "PartnerHistoryEntry", "IncidentUpdateHistoryEntry"} <= kinds

    partners_only = auditor_gql.data(AUDIT_LOG, {"filters": {"model": ["PARTNER"]}})["auditLog"]
    assert {e["node"]["__typename"] for e in partners_only["edges"]} == {"PartnerHistoryEntry"}

    created = auditor_gql.data(
        AUDIT_LOG, {"filters": {"action": "CREATED", "model": ["INCIDENT", "PARTNER"]}}
    )["auditLog"]
    assert created["totalCount"] == 2

    by_user = auditor_gql.data(AUDIT_LOG, {"filters": {"user": global_id(officer)}})["auditLog"]
    assert by_user["totalCount"] >= 6
    assert all(e["node"]["user"]["username"] == "officer" for e in by_user["edges"])

    window = auditor_gql.data(
        AUDIT_LOG,
        {
            "filters": {
                "model": ["INCIDENT"],
                "since": timeline["after_creation"].isoformat(),
                "until": timeline["after_update"].isoformat(),
            }
        },
    )["auditLog"]
    assert [e["node"]["changeReason"] for e in window["edges"]] == ["Casualties confirmed"]

    request_id = window["edges"][0]["node"]["requestId"]
    assert (
        request_id == ""
        or auditor_gql.data(AUDIT_LOG, {"filters": {"requestId": request_id}})["auditLog"][
            "totalCount"
        ]
        >= 1
    )


def test_audit_log_pages_by_keyset_without_gaps_or_repeats(auditor_gql, officer, timeline):
    for i in range(7):
        make_incident(officer, title=f"Filler {i}")
    total = auditor_gql.data(AUDIT_LOG, {"first": 1})["auditLog"]["totalCount"]
    seen, after = [], None
    while True:
        page = auditor_gql.data(AUDIT_LOG, {"first": 3, "after": after})["auditLog"]
        seen += [(e["node"]["__typename"], e["node"]["at"], e["cursor"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == total
    assert len({cursor for *_, cursor in seen}) == total
    assert [at for _, at, _ in seen] == sorted((at for _, at, _ in seen), reverse=True)


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"after": "bm90LWEtY3Vyc29y"}, "after"),
        ({"first": 101}, "first"),
        ({"filters": {"objectId": "garbage"}}, "filters.objectId"),
        ({"filters": {"objectId": "Rm9vOjE="}}, "filters.objectId"),  # Foo:1
        ({"filters": {"user": "UGFydG5lcjox"}}, "filters.user"),  # a Partner ID
        (
            {"filters": {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}},
            "filters.since",
        ),
        ({"filters": {"since": "2026-05-02T00:00:00"}}, "filters.since"),
    ],
)
def test_audit_log_bad_input_is_a_clear_error(auditor_gql, variables, argument):
    body = auditor_gql(AUDIT_LOG, variables)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


def test_audit_log_with_an_unknown_model_is_refused(auditor_gql):
    body = auditor_gql(AUDIT_LOG, {"filters": {"model": ["SPACESHIP"]}})
    assert "SPACESHIP" in body["errors"][0]["message"]


# --- asOf ---------------------------------------------------------------------------------


def test_as_of_reconstructs_what_the_center_knew(auditor_gql, timeline):
    incident_id = global_id(timeline["incident"])

    def state_at(instant):
        return auditor_gql.data(AS_OF, {"id": incident_id, "at": instant.isoformat()})["asOf"]

    first = state_at(timeline["after_creation"])["snapshot"]
    assert (first["status"], first["severity"], first["tlp"]) == ("REPORTED", "HIGH", "GREEN")
    assert first["sharedWith"] == []

    second = state_at(timeline["after_update"])["snapshot"]
    assert (second["severity"], second["tlp"], second["version"]) == ("CRITICAL", "RED", 2)
    assert second["sharedWith"] == []

    now = state_at(timeline["after_all"])
    assert now["__typename"] == "IncidentHistoryEntry"
    assert now["snapshot"]["status"] == "ACTIVE"
    assert now["snapshot"]["sharedWith"] == [global_id(timeline["partner"])]
    assert now["snapshot"]["reference"] == timeline["incident"].reference
    assert len(now["recordHash"]) == 64


def test_as_of_before_creation_and_after_deletion_is_null(auditor_gql, officer):
    from partners.services import delete_contact
    from tests.factories import make_contact

    before = timezone.now()
    contact = make_contact(officer, make_partner(officer))
    contact_id = global_id(contact)
    existed = timezone.now()
    delete_contact(actor=officer, contact=contact)
    assert auditor_gql.data(AS_OF, {"id": contact_id, "at": before.isoformat()})["asOf"] is None
    assert auditor_gql.data(AS_OF, {"id": contact_id, "at": existed.isoformat()})["asOf"]
    gone = timezone.now().isoformat()
    assert auditor_gql.data(AS_OF, {"id": contact_id, "at": gone})["asOf"] is None


@pytest.mark.parametrize(
    "at", [(timezone.now() + datetime.timedelta(days=1)).isoformat(), "1969-12-31T23:59:59Z"]
)
def test_as_of_in_the_future_or_before_the_epoch_is_refused(auditor_gql, timeline, at):
    body = auditor_gql(AS_OF, {"id": global_id(timeline["incident"]), "at": at})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "at"}


# --- who may read -------------------------------------------------------------------------


def test_partner_users_and_people_without_a_role_get_nothing(make_user, timeline):
    partner_user = make_user("pat", partner=timeline["partner"])
    for user in (partner_user, make_user("visitor")):
        client = GraphQLClient.logged_in(user)
        log = client.data(AUDIT_LOG)["auditLog"]
        assert (log["totalCount"], log["edges"]) == (0, [])
        at = timeline["after_all"].isoformat()
        assert client.data(AS_OF, {"id": global_id(timeline["incident"]), "at": at})["asOf"] is None
        assert client.data(AUDIT_READS)["auditReads"]["totalCount"] == 0


def test_officers_read_the_audit_log(gql, timeline):
    assert gql.data(AUDIT_LOG)["auditLog"]["totalCount"] > 0


# --- reads are recorded -------------------------------------------------------------------


def test_reading_history_is_recorded_with_the_filters(auditor_gql, gql, timeline):
    incident_id = global_id(timeline["incident"])
    auditor_gql.data(AUDIT_LOG, {"filters": {"objectId": incident_id, "action": "UPDATED"}})
    gql.data(
        "query($id: ID!) { node(id: $id) { ... on Incident { history { totalCount } } } }",
        {"id": incident_id},
    )

    audit_read = AuditAccess.objects.get(operation="auditLog")
    assert audit_read.user.username == "auditor"
    assert audit_read.arguments["auditLog"]["filters"] == {
        "objectId": incident_id,
        "action": "UPDATED",
    }
    assert len(audit_read.request_id) == 32

    history_read = AuditAccess.objects.get(operation="history")
    assert history_read.user.username == "officer"
    assert history_read.target == "node.history"
    assert history_read.arguments == {"node": {"id": incident_id}, "history": {"first": 50}}

    reads = auditor_gql.data(AUDIT_READS)["auditReads"]
    operations = {e["node"]["operation"] for e in reads["edges"]}
    assert {"auditLog", "history"} <= operations


def test_queries_that_do_not_touch_history_are_not_recorded(gql, timeline):
    gql.data("{ incidents { totalCount } }")
    assert not AuditAccess.objects.exists()


def test_records_of_objects_the_api_does_not_serve_have_no_live_object(auditor_gql, make_user):
    # Memberships and API tokens have history but no GraphQL type: their entries say which
    # object they are about (objectId) and give no `object`, without an error.
    partner = make_partner(make_user("officer2", roles=[OPS_OFFICER]), name="Port authority")
    make_user("dockhand", partner=partner)
    integrator = make_user("integrator", roles=[OPS_OFFICER])
    issue_token(user=integrator, actor=integrator, name="Dispatch bridge")

    body = auditor_gql(AUDIT_LOG, {"filters": {"model": ["PARTNER_MEMBERSHIP", "API_TOKEN"]}})

    assert "errors" not in body, body["errors"]
    entries = [e["node"] for e in body["data"]["auditLog"]["edges"]]
    assert {e["__typename"] for e in entries} == {
        "PartnerMembershipHistoryEntry",
        "ApiTokenHistoryEntry",
    }
    assert all(e["object"] is None and e["objectId"] for e in entries)
