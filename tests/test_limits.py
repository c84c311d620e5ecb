"""Hostile queries are refused before any SQL runs, with an error naming the limit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_incident

WATCH_FLOOR = """
query ($n: Int) {
  incidents(first: $n) { edges { node { reference
    states { code }
    actions(first: 50) { edges { node { kind status dueAt partner { name kind state { code } } } } }
    updates { edges { node { body } } }
  } } }
}"""

TOO_COSTLY = """
{ incidents(first: 100) { edges { node {
    actions(first: 100) { edges { node { history(first: 100) { edges { node { at } } } } } }
} } } }"""


def operational_sql(queries) -> list[str]:
    """The statements that touched operational data (not the session or the user)."""
    return [q["sql"] for q in queries if "coordination_" in q["sql"] or "partners_" in q["sql"]]


def refused(gql, query, variables=None):
    with CaptureQueriesContext(connection) as queries:
        body = gql(query, variables)
    assert body.get("data") is None, body
    assert operational_sql(queries.captured_queries) == [], "refused before any SQL ran"
    (error,) = body["errors"]
    return error


def test_the_watch_floor_query_is_within_every_limit(gql, officer):
    make_incident(officer)
    assert len(gql.data(WATCH_FLOOR, {"n": 100})["incidents"]["edges"]) == 1


def test_a_query_that_could_fetch_a_million_rows_is_refused(gql):
    error = refused(gql, TOO_COSTLY)
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 1_010_100, "limit": 25_000}
    assert "the limit is 25000" in error["message"]


def test_the_cost_follows_fragments_variables_and_default_page_sizes(gql):
    query = """
    query ($n: Int) { incidents(first: $n) { edges { node { ...Deep } } } }
    fragment Deep on Incident {
      actions { edges { node { ... on CoordinationAction { history { totalCount } } } } }
    }"""
    error = refused(gql, query, {"n": 20})
    # 20 incidents, 50 actions each (default page), 50 history entries per action.
    assert error["extensions"]["cost"] == 20 + 20 * 50 + 20 * 50 * 50


def test_too_deep_a_query_is_refused(gql):
    level = "incident { actions(first: 1) { edges { node { "
    nested = level * 4 + "status" + " } } } }" * 4
    query = f"{{ coordinationActions(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}"
    error = refused(gql, query)
    assert "exceeds maximum operation depth of 15" in error["message"]


def test_too_many_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: incidents(first: 1) {{ totalCount }}" for i in range(31))
    error = refused(gql, f"{{ {aliases} }}")
    assert "30" in error["message"]


def test_too_long_a_document_is_refused(gql):
    fields = " ".join(["reference"] * 3001)
    error = refused(gql, f"{{ incidents {{ edges {{ node {{ {fields} }} }} }} }}")
    assert "3000" in error["message"]


@pytest.mark.parametrize("setting", ["GRAPHQL_MAX_DEPTH", "GRAPHQL_MAX_QUERY_COST"])
def test_limits_are_settings(setting, settings):
    assert getattr(settings, setting) > 0
