"""What a change through the API costs in SQL, its history record included: the two writes the
benchmark times (docs/benchmark.md), sent as API clients send them, outside a transaction."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from tests.factories import global_id, make_action, make_incident, make_partner, sector, state
from tests.graphql import GraphQLClient
from tests.operations import ACKNOWLEDGE, UPDATE_INCIDENT, token_for

# Outside a transaction, as a request runs (serialized_rollback restores the reference data).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Common to both writes: the token with its user and the user's roles (one statement), the
# object looked up, BEGIN, the row locked, UPDATE, COMMIT.
PLAIN = 6


def sent(client, query, variables) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        data = client.data(query, variables)
    assert "messages" not in next(iter(data.values())), data
    return [q["sql"] for q in captured.captured_queries]


def test_update_incident_costs_four_queries_more_than_without_history(officer):
    """The previous record, every link table (and the previous record's links) in one
    statement, the record, and its snapshot rows: on PostgreSQL one statement for the two
    tables that hold links, elsewhere one each."""
    client = GraphQLClient.with_token(token_for(officer))
    incident = make_incident(officer, states=[state("TX"), state("LA")], sectors=[sector("energy")])
    link_inserts = 1 if connection.vendor == "postgresql" else 2

    def update(version, title):
        return sent(
            client,
            UPDATE_INCIDENT,
            {"input": {"id": global_id(incident), "version": version, "title": title}},
        )

    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        assert len(update(1, "Without a record")) == PLAIN
    assert len(update(2, "With its record")) == PLAIN + 3 + link_inserts


def test_acknowledge_action_costs_two_queries_more_than_without_history(officer):
    """The previous record and the record (acknowledged by an officer, as the benchmark does)."""
    partner = make_partner(officer)
    client = GraphQLClient.with_token(token_for(officer))
    incident = make_incident(officer)

    def acknowledge(action):
        return sent(client, ACKNOWLEDGE, {"input": {"id": global_id(action), "version": 1}})

    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        assert len(acknowledge(make_action(officer, incident, partner))) == PLAIN
    assert len(acknowledge(make_action(officer, incident, partner))) == PLAIN + 2
