"""What reading the trail costs in SQL: a fixed number of queries for one object's history,
a page of the audit log and an object as it was — whatever the number of records — and only
what the selection needs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coordination.services import update_incident
from opsapi.accounts.services import issue_token
from tests.factories import global_id, make_action, make_incident, make_partner, sector, state
from tests.graphql import GraphQLClient

ENTRY = """
  __typename at action changeReason requestId objectId recordHash
  user { username }
  changes { field old new }
"""

OBJECT_HISTORY = f"""
query($id: ID!) {{
  node(id: $id) {{
    ... on Incident {{ reference history(first: 50) {{ edges {{ node {{ {ENTRY} }} }} }} }}
  }}
}}"""

AUDIT_LOG = f"""
query($since: DateTime!) {{
  auditLog(filters: {{ since: $since }}, first: 50) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {ENTRY} }} }}
  }}
}}"""

AUDIT_LOG_WITH_OBJECTS = AUDIT_LOG.replace("recordHash", "recordHash object { id }")

AS_OF = """
query($id: ID!, $at: DateTime!) {
  asOf(id: $id, at: $at) { __typename at action objectId snapshot }
}"""

AS_OF_WITH_OBJECT = AS_OF.replace("snapshot", "snapshot object { id }")

# Outside a transaction, as a request runs: the read goes on the record without one of its own.
# (serialized_rollback brings the reference data back after the flush.)
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Bearer-token authentication, as API clients (and the benchmark) read: the token with its
# user and the user's roles, in one statement.
AUTHENTICATION = 1


@pytest.fixture
def auditor_api(auditor):
    _, raw = issue_token(user=auditor, name="reader", actor=auditor, reason="Queries")
    return GraphQLClient.with_token(raw)


def queries(client, query, variables) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        data = client.data(query, variables)
    assert data
    return [q["sql"] for q in captured.captured_queries]


def edited(officer, times: int):
    """An incident linked to two states and a sector, edited ``times`` times."""
    incident = make_incident(officer, states=[state("TX"), state("LA")], sectors=[sector("energy")])
    for n in range(times):
        incident = update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"Edit {n}"
        )
    return incident


def test_one_objects_history_costs_the_same_five_queries_for_any_number_of_records(
    officer, auditor_api
):
    """The object, its records (a page, newest first), their users; the read on the record
    (its number, its row)."""
    counts = []
    for times in (1, 12):
        incident = edited(officer, times)
        sql = queries(auditor_api, OBJECT_HISTORY, {"id": global_id(incident)})
        counts.append(len(sql) - AUTHENTICATION)
        assert sql[-1].startswith("INSERT INTO")  # the read, on the record, without BEGIN/COMMIT
    assert counts == [5, 5]


def test_an_audit_log_page_costs_one_query_per_table_on_it(officer, auditor_api):
    """The page (one statement over every history table), the records of each table on the
    page, the read on the record (its number, its row); the live objects only when asked for."""
    since = timezone.now()
    incident = edited(officer, 2)
    make_action(officer, incident, make_partner(officer))
    tables = 3  # records of incidents, partners and actions are on the page
    variables = {"since": since.isoformat()}

    sql = queries(auditor_api, AUDIT_LOG, variables)
    assert len(sql) - AUTHENTICATION == 1 + tables + 2, sql
    assert sql[AUTHENTICATION].count("UNION ALL") >= 10  # the page, over every history table

    with_objects = queries(auditor_api, AUDIT_LOG_WITH_OBJECTS, variables)
    assert len(with_objects) == len(sql) + tables


def test_an_object_as_it_was_costs_four_queries_links_included(officer, auditor_api):
    """The record in effect, its links in every many-to-many table (one statement), the read
    on the record (its number, its row); the live object only when asked for."""
    incident = edited(officer, 1)
    variables = {"id": global_id(incident), "at": timezone.now().isoformat()}

    sql = queries(auditor_api, AS_OF, variables)
    assert len(sql) - AUTHENTICATION == 4, sql
    assert "UNION ALL" in sql[AUTHENTICATION + 1]

    assert len(queries(auditor_api, AS_OF_WITH_OBJECT, variables)) == len(sql) + 1


def test_the_links_read_in_one_statement_are_the_snapshot_the_record_holds(officer, auditor_api):
    incident = edited(officer, 1)
    at = timezone.now().isoformat()
    snapshot = auditor_api.data(AS_OF, {"id": global_id(incident), "at": at})["asOf"]["snapshot"]
    assert sorted(snapshot["states"]) == sorted(global_id(state(c)) for c in ("TX", "LA"))
    assert snapshot["sectors"] == [global_id(sector("energy"))]
    assert snapshot["sharedWith"] == []
    assert snapshot["title"] == "Edit 0"
