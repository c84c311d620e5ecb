"""Hostile documents are refused before validation and before any SQL runs, with an error naming
the limit, its value and the field or argument at fault."""

import hashlib
import json
import re

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse
from strawberry.channels.handlers.base import ChannelsConsumer

from opsapi.graphql.compiled.plan import Planner
from opsapi.graphql.limits import document_limits
from opsapi.graphql.scoping import SubscriptionContext
from opsapi.schema import schema
from tests.factories import global_id, make_incident

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

NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }"
ACTIONS_WITH_STATUS = """
query ($f: CoordinationActionFilter) { coordinationActions(filters: $f) { totalCount } }"""

# The session lookup of the logged-in caller; a refused document reads nothing else.
AUTHENTICATION = {"django_session", "auth_user"}


def fan_out(levels: int, on: str = "Incident", leaf: str = "reference") -> str:
    """Fragment F<n> spreads F<n-1> twice: 2**levels copies of ``leaf`` once expanded."""
    fragments = [f"fragment F0 on {on} {{ {leaf} }}"]
    fragments += [
        f"fragment F{n} on {on} {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels + 1)
    ]
    return "\n".join(fragments)


def tables_read(queries) -> set[str]:
    return {table for q in queries for table in re.findall(r'FROM "(\w+)"', q["sql"])}


def refused(gql, query, variables=None) -> list[dict]:
    """The errors of a refused document, which must have run no SQL but authentication."""
    with CaptureQueriesContext(connection) as queries:
        body = gql(query, variables)
    assert body.get("data") is None, body
    assert tables_read(queries) <= AUTHENTICATION, "refused before any SQL"
    assert len(queries) <= len(AUTHENTICATION)
    return body["errors"]


def refusal(gql, query, variables=None) -> dict:
    (error,) = refused(gql, query, variables)
    return error


def test_the_watch_floor_query_is_within_every_limit(gql, officer):
    make_incident(officer)
    assert len(gql.data(WATCH_FLOOR, {"n": 100})["incidents"]["edges"]) == 1


def test_a_query_that_could_fetch_a_million_rows_is_refused(gql):
    error = refusal(gql, TOO_COSTLY)
    # 100 + 100 * 100 + 100 * 100 * 100 objects, and 10 fields selected.
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 1_010_110, "limit": 25_000}
    assert "the limit is 25000" in error["message"]


def test_the_cost_follows_fragments_variables_and_default_page_sizes(gql):
    query = """
    query ($n: Int) { incidents(first: $n) { edges { node { ...Deep } } } }
    fragment Deep on Incident {
      actions { edges { node { ... on CoordinationAction { history { totalCount } } } } }
    }"""
    error = refusal(gql, query, {"n": 20})
    # 20 incidents, 50 actions each (default page), 50 history entries per action; 8 fields.
    assert error["extensions"]["cost"] == 20 + 20 * 50 + 20 * 50 * 50 + 8


def test_a_fragment_fan_out_is_refused_as_too_costly(gql):
    query = "{ incidents(first: 1) { edges { node { ...F20 } } } }\n" + fan_out(20)
    assert len(query) < 1000, "small enough to pass the token limit"
    error = refusal(gql, query)
    # 2**20 copies of `reference`, the three fields above them, one incident.
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 2**20 + 3 + 1,
        "limit": 25_000,
    }


def test_a_fan_out_of_aliases_is_refused_with_a_count_a_client_can_read(gql):
    query = "{ ...F80 }\n" + fan_out(80, on="Query", leaf="a: __typename")
    codes = {e["extensions"]["code"]: e["extensions"] for e in refused(gql, query)}
    assert codes["TOO_MANY_ALIASES"] == {
        "code": "TOO_MANY_ALIASES",
        "aliases": 2**53 - 1,
        "limit": 30,
    }
    assert codes["QUERY_TOO_COSTLY"]["cost"] == 2**53 - 1


def test_measuring_is_linear_in_the_document_not_in_its_expansion():
    """2**300 fields once expanded: measured exactly, which no expansion could do."""
    document = parse("{ incidents(first: 1) { edges { node { ...F300 } } } }\n" + fan_out(300))
    (error,) = document_limits(schema._schema, document, {})
    assert error.extensions["cost"] == 2**53 - 1
    assert f"more than {2**53 - 1} objects" in error.message


def test_the_compiled_planner_follows_each_fragment_once_per_selection():
    document = parse("{ incidents(first: 1) { edges { node { ...F300 } } } }\n" + fan_out(300))
    (operation,) = [d for d in document.definitions if d.kind == "operation_definition"]
    plan = Planner(schema._schema, document, {}).operation(operation)
    (incidents,) = plan.fields
    assert [f.key for f in incidents.target.fields] == ["reference"]


def test_too_deep_a_query_is_refused(gql):
    level = "incident { actions(first: 1) { edges { node { "
    nested = level * 4 + "status" + " } } } }" * 4
    query = f"{{ coordinationActions(first: 1) {{ edges {{ node {{ {nested} }} }} }} }}"
    error = refusal(gql, query)
    assert error["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert error["extensions"]["depth"] == 19
    assert error["extensions"]["limit"] == 15
    assert error["extensions"]["field"].endswith("incident.actions.edges.node.status")
    assert "the maximum depth is 15" in error["message"]


def test_depth_is_counted_through_fragments_as_if_they_were_written_out(gql):
    level = "incident {{ actions(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"
    fragments = [f"fragment L0 on CoordinationAction {{ {level.format(inner='status')} }}"]
    fragments += [
        f"fragment L{n} on CoordinationAction {{ {level.format(inner=f'...L{n - 1}')} }}"
        for n in range(1, 4)
    ]
    query = "{ coordinationActions(first: 1) { edges { node { ...L3 } } } }\n" + "\n".join(
        fragments
    )
    error = refusal(gql, query)
    assert (error["extensions"]["code"], error["extensions"]["depth"]) == ("QUERY_TOO_DEEP", 19)


def test_too_many_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: incidents(first: 1) {{ totalCount }}" for i in range(31))
    error = refusal(gql, f"{{ {aliases} }}")
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES", "aliases": 31, "limit": 30}


def test_too_long_a_document_is_refused(gql):
    fields = " ".join(["reference"] * 3001)
    error = refusal(gql, f"{{ incidents {{ edges {{ node {{ {fields} }} }} }} }}")
    assert "3000" in error["message"]
    # Refused while parsing, as a syntax error is.
    assert error["extensions"]["code"] in {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"}


def test_a_document_whose_validation_would_compare_too_many_pairs_is_refused(gql):
    """graphql-core checks every two same-named fields of a selection set can be merged: 700
    copies of `me { username }` (2,800 tokens) took its validation 5 s."""
    error = refusal(gql, "{ " + "me { username } " * 100 + "}")
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "checks": 100 * 99 // 2,
        "limit": 2000,
    }
    assert "the limit is 2000" in error["message"]


def test_fragments_spread_side_by_side_count_as_pairs_to_check(gql):
    spreads = " ".join(f"...F{i}" for i in range(50))
    fragments = "\n".join(f"fragment F{i} on Query {{ me {{ username }} }}" for i in range(50))
    error = refusal(gql, f"{{ {spreads} }}\n{fragments}")
    # 50 fragments side by side, and the 50 `me` fields they bring into one selection set.
    assert error["extensions"]["checks"] == 2 * (50 * 49 // 2)


# --- list arguments ---------------------------------------------------------------------------


def test_nodes_with_a_hundred_thousand_ids_under_aliases_is_refused(gql, officer):
    ids = [global_id(make_incident(officer))] * 100_000
    aliases = " ".join(f"a{i}: nodes(ids: $ids) {{ id }}" for i in range(30))
    errors = refused(gql, f"query ($ids: [ID!]!) {{ {aliases} }}", {"ids": ids})
    assert errors[0]["extensions"] == {
        "code": "TOO_MANY_IDS",
        "field": "nodes",
        "argument": "ids",
        "count": 100_000,
        "limit": 100,
    }
    assert "at most 100" in errors[0]["message"]
    # One error for the variable, however often it is used; and the cost of 3 million objects.
    assert [e["extensions"]["code"] for e in errors] == ["TOO_MANY_IDS", "QUERY_TOO_COSTLY"]


def test_nodes_takes_a_hundred_ids_and_no_more(gql, officer):
    incident = global_id(make_incident(officer))
    error = refusal(gql, f"{{ nodes(ids: [{', '.join([json.dumps(incident)] * 101)}]) {{ id }} }}")
    assert (error["extensions"]["code"], error["extensions"]["count"]) == ("TOO_MANY_IDS", 101)
    assert refusal(gql, NODES, {"ids": [incident] * 101})["extensions"]["count"] == 101
    assert gql.data(NODES, {"ids": [incident] * 100})["nodes"] == [{"id": incident}] * 100


def test_a_list_argument_of_1001_items_is_refused_inline_and_in_variables(gql):
    inline = "PENDING " * 1001
    error = refusal(
        gql,
        f"{{ coordinationActions(filters: {{status: {{inList: [{inline}]}}}}) {{ totalCount }} }}",
    )
    expected = {
        "code": "LIST_TOO_LONG",
        "field": "coordinationActions",
        "argument": "filters.status.inList",
        "count": 1001,
        "limit": 1000,
    }
    assert error["extensions"] == expected
    statuses = {"f": {"status": {"inList": ["PENDING"] * 1001}}}
    error = refusal(gql, ACTIONS_WITH_STATUS, statuses)
    assert error["extensions"] == expected
    assert "(in variable $f)" in error["message"]


def test_a_list_argument_of_1000_items_is_accepted(gql):
    statuses = {"f": {"status": {"inList": ["PENDING"] * 1000}}}
    assert gql.data(ACTIONS_WITH_STATUS, statuses) == {"coordinationActions": {"totalCount": 0}}


def test_list_items_count_toward_the_cost_once_per_page_above(gql, settings):
    settings.GRAPHQL_MAX_QUERY_COST = 5_000
    query = """query ($s: [ActionStatus!]) { incidents(first: 10) { edges { node {
        actions(filters: {status: {inList: $s}}) { totalCount } } } } }"""
    # 10 incidents, 10 x 50 actions, 10 x 450 statuses; 5 fields.
    cost = refusal(gql, query, {"s": ["PENDING"] * 450})["extensions"]["cost"]
    assert cost == 10 + 10 * 50 + 10 * 450 + 5


# --- documents not (yet) valid ----------------------------------------------------------------


def validation_errors(gql, query) -> list[str]:
    errors = refused(gql, query)
    assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}, errors
    return [e["message"] for e in errors]


def test_a_fragment_cycle_is_a_validation_error(gql):
    query = """{ incidents { edges { node { ...A } } } }
    fragment A on Incident { reference ...B }
    fragment B on Incident { title ...A }"""
    assert any(
        "Cannot spread fragment 'A' within itself" in m for m in validation_errors(gql, query)
    )


def test_unknown_fragments_fields_and_types_are_validation_errors(gql):
    query = """{ incidents { edges { node { ...Missing ...OnNothing nonsense { deeper } } } } }
    fragment OnNothing on Nothing { reference }"""
    messages = validation_errors(gql, query)
    assert any("Unknown fragment 'Missing'" in m for m in messages)
    assert any("Unknown type 'Nothing'" in m for m in messages)
    assert any("Cannot query field 'nonsense'" in m for m in messages)


# --- every way in -----------------------------------------------------------------------------


def test_a_subscription_is_held_to_the_same_limits(officer, django_assert_num_queries):
    query = "subscription { incidentChanged { incident { ...F20 } } }\n" + fan_out(20)

    async def first_result():
        context = SubscriptionContext(ws=ChannelsConsumer(), user=officer)
        stream = await schema.subscribe(query, context_value=context)
        async for result in stream:
            return result
        return None

    with django_assert_num_queries(0):
        result = async_to_sync(first_result)()
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["QUERY_TOO_COSTLY"]


def test_a_trusted_document_is_held_to_the_limits_on_its_variables(
    gql, officer, settings, tmp_path
):
    manifest = tmp_path / "persisted.json"
    manifest.write_text(json.dumps({hashlib.sha256(NODES.encode()).hexdigest(): NODES}))
    settings.GRAPHQL_TRUSTED_DOCUMENTS = [str(manifest)]
    incident = global_id(make_incident(officer))
    assert refusal(gql, NODES, {"ids": [incident] * 101})["extensions"]["code"] == "TOO_MANY_IDS"
    assert gql.data(NODES, {"ids": [incident]})["nodes"] == [{"id": incident}]


@pytest.mark.parametrize(
    ("setting", "value", "query", "variables", "code"),
    [
        ("GRAPHQL_MAX_NODE_IDS", 2, NODES, {"ids": ["a", "b", "c"]}, "TOO_MANY_IDS"),
        (
            "GRAPHQL_MAX_LIST_ITEMS",
            2,
            ACTIONS_WITH_STATUS,
            {"f": {"status": {"inList": ["PENDING"] * 3}}},
            "LIST_TOO_LONG",
        ),
        ("GRAPHQL_MAX_DEPTH", 0, "{ me { username } }", None, "QUERY_TOO_DEEP"),
        (
            "GRAPHQL_MAX_ALIASES",
            2,
            "{ a: me { b: username c: username } }",
            None,
            "TOO_MANY_ALIASES",
        ),
        ("GRAPHQL_MAX_QUERY_COST", 1, "{ me { username } }", None, "QUERY_TOO_COSTLY"),
    ],
)
def test_each_limit_is_a_setting(gql, settings, setting, value, query, variables, code):
    setattr(settings, setting, value)
    assert refusal(gql, query, variables)["extensions"]["code"] == code
