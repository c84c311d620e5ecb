"""Racing writers on PostgreSQL, through the GraphQL view: real threads, real transactions and
row locks. Whatever the interleaving, every accepted write is on the record exactly once, every
refused one says why, and the audit trail verifies afterwards."""

import pytest
from django.db import connection

from coordination.choices import ActionStatus
from coordination.models import CoordinationAction, Incident
from opsapi.accounts.access import OPS_OFFICER
from opsapi.accounts.services import issue_token
from tests.audit.test_verify import verify
from tests.coordination.test_concurrency import run_together
from tests.factories import global_id, make_action, make_incident, make_partner
from tests.graphql import GraphQLClient, messages
from tests.operations import ACKNOWLEDGE, CREATE_INCIDENT, UPDATE_INCIDENT

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="races need PostgreSQL's row locks (SQLite serializes every writer)",
    ),
]

WRITERS = 8
UPDATES_PER_WRITER = 50

READ_VERSION = "query ($id: ID!) { node(id: $id) { ... on Incident { version } } }"


def api_client(user) -> GraphQLClient:
    """A token-authenticated client of its own (Django's test client is not thread-safe)."""
    return GraphQLClient.with_token(issue_token(user=user, name="race", actor=user)[1])


def watch_officers(make_user) -> list:
    """One officer per writer: a watch floor, each within the per-user request rate."""
    return [make_user(f"watch-officer-{n}", roles=[OPS_OFFICER]) for n in range(WRITERS)]


def assert_audit_trail_verifies():
    status, output = verify()
    assert status == 0, output
    assert output.startswith("OK")


def test_racing_writers_each_sending_the_version_they_read_lose_no_update(officer, make_user):
    incident = make_incident(officer, title="Contested")
    incident_id = global_id(incident)
    clients = [api_client(user) for user in watch_officers(make_user)]

    def writer(i):
        client = clients[i]
        outcomes = []
        for n in range(UPDATES_PER_WRITER):
            read = client.data(READ_VERSION, {"id": incident_id})["node"]["version"]
            title = f"Writer {i}, update {n}"
            variables = {"input": {"id": incident_id, "version": read, "title": title}}
            outcomes.append(
                (read, title, client.data(UPDATE_INCIDENT, variables)["updateIncident"])
            )
        return outcomes

    outcomes = [outcome for writes in run_together(WRITERS, writer) for outcome in writes]

    accepted = [
        (read, title, result["version"]) for read, title, result in outcomes if "version" in result
    ]
    refused = [result for _, _, result in outcomes if "version" not in result]
    assert len(accepted) + len(refused) == WRITERS * UPDATES_PER_WRITER == 400
    assert refused, "the writers raced (otherwise this test shows nothing)"
    assert all(messages(result) == [("version", "stale_version")] for result in refused)
    assert all(version == read + 1 for read, _, version in accepted), "one step per update"
    versions = sorted(version for _, _, version in accepted)
    assert versions == list(range(2, len(accepted) + 2)), "each version issued exactly once"

    incident.refresh_from_db()
    assert incident.version == 1 + len(accepted)
    assert incident.title == max(accepted, key=lambda write: write[2])[1], "the last write won"
    assert incident.history.filter(history_type="+").count() == 1
    updates = incident.history.filter(history_type="~")
    assert updates.count() == len(accepted)
    assert sorted(updates.values_list("version", flat=True)) == versions
    assert set(updates.values_list("title", flat=True)) == {title for _, title, _ in accepted}
    assert_audit_trail_verifies()


def test_two_partner_users_acknowledging_one_action_at_once_one_succeeds(officer, make_user):
    partner = make_partner(officer, name="Gulf Coast Fusion Center")
    responders = [make_user(f"watch{n}", partner=partner) for n in (1, 2)]
    clients = [api_client(user) for user in responders]
    incident = make_incident(officer, shared_with=[partner])
    actions = [make_action(officer, incident, partner) for _ in range(10)]

    for action in actions:
        variables = {"input": {"id": global_id(action), "version": 1}}
        results = run_together(
            2,
            lambda i, v=variables: clients[i].data(ACKNOWLEDGE, v)["acknowledgeCoordinationAction"],
        )
        winners = [i for i, result in enumerate(results) if result == {"status": "ACKNOWLEDGED"}]
        assert len(winners) == 1, results
        (loser,) = [result for result in results if "messages" in result]
        assert messages(loser) in (
            [("version", "stale_version")],
            [("status", "invalid_transition")],
        )

        action.refresh_from_db()
        assert action.status == ActionStatus.ACKNOWLEDGED
        assert action.version == 2
        assert action.acknowledged_by == responders[winners[0]]
        acknowledgement = action.history.filter(history_type="~")
        assert acknowledgement.count() == 1
        assert acknowledgement.get().history_user == responders[winners[0]]

    assert CoordinationAction.history.filter(history_type="~").count() == 10
    assert_audit_trail_verifies()


def test_incidents_created_at_once_get_unique_gap_free_references(make_user):
    per_thread = 25
    clients = [api_client(user) for user in watch_officers(make_user)]
    before = Incident.objects.count()

    def create(i):
        references = []
        for n in range(per_thread):
            variables = {
                "input": {
                    "title": f"Flood {i}-{n}",
                    "category": "NATURAL_HAZARD",
                    "severity": "LOW",
                }
            }
            references.append(
                clients[i].data(CREATE_INCIDENT, variables)["createIncident"]["reference"]
            )
        return references

    references = [ref for batch in run_together(WRITERS, create) for ref in batch]

    assert len(references) == len(set(references)) == WRITERS * per_thread == 200
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in references)
    assert numbers == list(range(numbers[0], numbers[0] + 200)), "no gaps, no duplicates"
    assert Incident.objects.count() == before + 200
    created = Incident.history.filter(history_type="+", reference__in=references)
    assert created.count() == 200
    assert set(created.values_list("reference", flat=True)) == set(references)
    assert_audit_trail_verifies()
