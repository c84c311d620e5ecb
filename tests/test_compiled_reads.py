"""Compiled reads (opsapi.graphql.compiled) answer exactly what normal execution answers.

A differential test: hypothesis writes queries over the list connections — random fields,
aliases, fragments, nested relations, lists and connections with random ``first``/``after``
(a keyset cursor of a real row of that connection), page info, cursors and counts — and
each one is sent by every role (officers, auditors, two partner users, one of them named on a
TLP:RED incident, and a user with no role) with compiled reads on and off. The two response
bodies must be equal byte for byte, and a query made only of plain fields must really have
been compiled (or the test would compare normal execution with itself).

The data is the benchmark's ``tiny`` data set (30 incidents, 150 actions, 8 partners), plus
a TLP:RED incident shared with a partner and naming one of its users.
"""

import json
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.client import ApiClient
from bench.directory import AUDITOR_NAME, OFFICER, PARTNER_USERNAME
from bench.queries import WATCH_FLOOR
from bench.scale import SCALES
from bench.seed import seed
from coordination.choices import Tlp
from coordination.models import Incident
from coordination.services import share_incident
from opsapi.graphql.compiled.plan import STRAWBERRY_FIELD
from opsapi.graphql.connection import _with_tiebreak, field_scope
from opsapi.graphql.keyset import ordered
from opsapi.schema import schema
from partners.models import Partner
from tests.factories import make_incident

pytestmark = pytest.mark.django_db

# Plain fields per type: (scalars, relations as name -> (kind, type)).
TYPES = {
    "Incident": (
        "id reference title summary category severity status tlp occurredAt reportedAt "
        "activatedAt monitoringAt resolvedAt closedAt source version createdAt updatedAt",
        {
            "states": ("list", "State"),
            "urbanAreas": ("list", "UrbanArea"),
            "sectors": ("list", "Sector"),
            "sharedWithUsers": ("list", "User"),
            "lead": ("object", "User"),
            "sharedWith": ("connection", "Partner"),
            "updates": ("connection", "IncidentUpdate"),
            "actions": ("connection", "CoordinationAction"),
        },
    ),
    "CoordinationAction": (
        "id kind instructions priority dueAt status acknowledgedAt response respondedAt "
        "closedAt escalatedAt version createdAt updatedAt",
        {
            "incident": ("object", "Incident"),
            "partner": ("object", "Partner"),
            "acknowledgedBy": ("object", "User"),
            "createdBy": ("object", "User"),
        },
    ),
    "Partner": (
        "id name kind level watchPhone watchEmail active createdAt updatedAt",
        {
            "state": ("object", "State"),
            "urbanArea": ("object", "UrbanArea"),
            "sectors": ("list", "Sector"),
            "contacts": ("connection", "Contact"),
            "actions": ("connection", "CoordinationAction"),
        },
    ),
    "State": ("id code name fips kind", {}),
    "UrbanArea": ("id name program fiscalYear active", {"states": ("list", "State")}),
    "Sector": ("id code name", {}),
    "Contact": (
        "id name title email phone isPrimary is24x7 createdAt updatedAt",
        {"partner": ("object", "Partner")},
    ),
    "IncidentUpdate": (
        "id kind body partnerVisible postedAt",
        {"incident": ("object", "Incident"), "author": ("object", "User")},
    ),
    "User": ("id username", {}),
}
ROOTS = {
    "incidents": "Incident",
    "coordinationActions": "CoordinationAction",
    "partners": "Partner",
    "states": "State",
    "urbanAreas": "UrbanArea",
    "sectors": "Sector",
}
# Fields the compiled path leaves to normal execution (resolvers, computed values).
NOT_PLAIN = {
    "Incident": "location { latitude longitude }",
    "CoordinationAction": "isOverdue",
    "User": "displayName",
}
PAGE_INFO = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")

names = st.sampled_from(["a", "b", "x1"])


# A cursor in a generated query: "@Parent.field:n@", replaced by the cursor of the n-th row of
# that connection's model in its order (_real_cursors) before the query is sent.
PLACEHOLDER = re.compile(r"@(\w+)\.(\w+):(\d+)@")


def _sample(field):
    """A value of ``field``'s kind: a time, a text, or 1 for a number."""
    try:
        return field.to_python("2026-01-01T00:00:00+00:00")
    except Exception:  # a number: not a time
        return 1


def _real_cursors(query: str) -> str:
    def cursor(match) -> str:
        parent, name, index = match.group(1), match.group(2), int(match.group(3))
        definition = schema._schema.get_type(parent).fields[name]
        field = definition.extensions[STRAWBERRY_FIELD]
        model = field.django_model
        queryset, order = ordered(_with_tiebreak(model._default_manager.all()), field_scope(field))
        rows = list(queryset.values(*(key.name for key in order.keys))[: index + 1])
        if not rows:  # no row at all: a cursor of a row that might be there
            return order.cursor([_sample(key.output_field) for key in order.keys])
        return order.cursor([rows[-1][key.name] for key in order.keys])

    return PLACEHOLDER.sub(cursor, query)


@st.composite
def _field(draw, name: str) -> str:
    """``name``, sometimes under an alias."""
    return f"{draw(names)}{name.title()}: {name}" if draw(st.integers(0, 4)) == 0 else name


@st.composite
def _page_arguments(draw, largest: int, parent: str, name: str) -> str:
    arguments = []
    if draw(st.booleans()):
        arguments.append(f"first: {draw(st.integers(0, largest))}")
    if draw(st.integers(0, 2)) == 0:
        arguments.append(f'after: "@{parent}.{name}:{draw(st.integers(0, 3))}@"')
    return f"({', '.join(arguments)})" if arguments else ""


@st.composite
def _object(draw, type_name: str, depth: int, plain: bool) -> str:
    """A selection set on ``type_name``; ``plain``: only fields the compiled path answers."""
    scalars, relations = TYPES[type_name]
    picked = draw(st.lists(st.sampled_from(scalars.split()), min_size=1, max_size=5, unique=True))
    parts = [draw(_field(name)) for name in picked]
    if draw(st.integers(0, 3)) == 0:
        parts.append("__typename")
    if relations and depth < 3:
        most = 1 if depth else 0  # the top level always reaches into a relation
        chosen = draw(
            st.lists(st.sampled_from(sorted(relations)), min_size=1 - most, max_size=2, unique=True)
        )
        for name in chosen:
            kind, target = relations[name]
            if kind == "connection":
                selection = draw(_connection(target, depth + 1, plain, largest=4))
                page = draw(_page_arguments(4, type_name, name))
                parts.append(f"{draw(_field(name))}{page} {selection}")
            else:
                parts.append(f"{draw(_field(name))} {draw(_object(target, depth + 1, plain))}")
    if not plain and type_name in NOT_PLAIN and draw(st.booleans()):
        parts.append(NOT_PLAIN[type_name])
    if draw(st.integers(0, 4)) == 0:  # some of it through a fragment on the type
        parts = [*parts[:1], f"... on {type_name} {{ {' '.join(parts[1:]) or 'id'} }}"]
    return "{ " + " ".join(parts) + " }"


@st.composite
def _connection(draw, type_name: str, depth: int, plain: bool, largest: int) -> str:
    parts = []
    if draw(st.integers(0, 5)) > 0:
        edge = []
        if draw(st.booleans()):
            edge.append("cursor")
        if draw(st.integers(0, 7)) > 0:
            edge.append(f"node {draw(_object(type_name, depth, plain))}")
        if draw(st.integers(0, 5)) == 0:
            edge.append("__typename")
        parts.append(f"edges {{ {' '.join(edge) or 'cursor'} }}")
    if draw(st.booleans()):
        info = draw(st.lists(st.sampled_from(PAGE_INFO), min_size=1, max_size=5, unique=True))
        parts.append(f"pageInfo {{ {' '.join(info)} }}")
    if draw(st.booleans()):
        parts.append("totalCount")
    if not parts or draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    return "{ " + " ".join(parts) + " }"


@st.composite
def queries(draw, plain: bool) -> str:
    roots = draw(st.lists(st.sampled_from(sorted(ROOTS)), min_size=1, max_size=2, unique=True))
    fields = []
    for name in roots:
        selection = draw(_connection(ROOTS[name], 0, plain, largest=12))
        page = draw(_page_arguments(12, "Query", name))
        fields.append(f"{draw(_field(name))}{page} {selection}")
    if not plain and draw(st.booleans()):
        fields.append("me { username }")
    return "query { " + " ".join(fields) + " }"


@pytest.fixture
def callers(db, settings):
    """API clients of every role over the tiny data set."""
    seed(SCALES["tiny"], log=lambda message: None)
    users = get_user_model().objects
    officer = users.get(username=OFFICER.format(1))
    partners = sorted(Partner.objects.all(), key=lambda p: -p.actions.count())
    named = users.get(username=PARTNER_USERNAME.format(partners[1].pk))
    red = make_incident(officer, title="Named-only incident", tlp=Tlp.RED)
    share_incident(
        actor=officer, incident=red, version=red.version, partners=[partners[1]], users=[named]
    )
    nobody = users.create_user(username="no.role", password="not-used-here-1")
    return {
        "officer": ApiClient(officer),
        "auditor": ApiClient(users.get(username=AUDITOR_NAME)),
        "partner": ApiClient(users.get(username=PARTNER_USERNAME.format(partners[0].pk))),
        "named partner": ApiClient(named),
        "no role": ApiClient(nobody),
    }


def _both_ways(client, settings, caplog, query, variables=None) -> tuple[bytes, bytes, bool]:
    """The response body with compiled reads off, with them on, and whether the compiled
    path answered."""
    settings.GRAPHQL_COMPILED_READS = False
    executed = client.post("/graphql/", query, variables)
    settings.GRAPHQL_COMPILED_READS = True
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="opsapi.graphql"):
        compiled = client.post("/graphql/", query, variables)
    answered = any(r.getMessage().startswith("Compiled read answered") for r in caplog.records)
    return executed, compiled, answered


def _differential(callers, settings, caplog, query, must_compile: bool):
    query = _real_cursors(query)
    for role, client in callers.items():
        executed, compiled, answered = _both_ways(client, settings, caplog, query)
        assert compiled == executed, f"{role}: {query}"
        if must_compile:
            assert answered, f"{role}: not compiled: {query}"
        assert b'"errors"' not in executed or not must_compile, executed[:300]


# The fixtures only read (settings are restored by pytest-django after the test).
SAME_DATA = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(
    max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=SAME_DATA
)
@given(query=queries(plain=True))
def test_plain_queries_compile_to_the_same_bytes_for_every_role(callers, settings, caplog, query):
    _differential(callers, settings, caplog, query, must_compile=True)


@settings(
    max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=SAME_DATA
)
@given(query=queries(plain=False))
def test_other_queries_answer_the_same_either_way(callers, settings, caplog, query):
    _differential(callers, settings, caplog, query, must_compile=False)


def test_the_watch_floor_compiles_page_after_page_with_variables(callers, settings, caplog):
    after = None
    for _ in range(4):
        variables = {"first": 9, "after": after}
        for role, client in callers.items():
            executed, compiled, answered = _both_ways(
                client, settings, caplog, WATCH_FLOOR, variables
            )
            assert compiled == executed, role
            assert answered, role
            if role == "officer":
                page = json.loads(executed)["data"]["incidents"]
        assert page["edges"], "the test should page through real rows"
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query { incidents(first: 2) { edges { node { id } } } }", None),  # plain: compiled
        ("query($n: Int!) { incidents(first: $n) { totalCount } }", {"n": "two"}),  # bad variable
        ("query { incidents(first: 2) { edges { node { id @skip(if: true) } } } }", None),
        ("query { incidents(last: 2) { edges { node { id } } } }", None),
        (
            "query { incidents(first: 2, filters: {status: {exact: ACTIVE}}) "
            "{ edges { node { id } } } }",
            None,
        ),
        ('query { node(id: "SW5jaWRlbnQ6MQ==") { id } }', None),
        ("query { __schema { queryType { name } } incidents(first: 1) { totalCount } }", None),
    ],
)
def test_what_is_not_compiled_is_executed_normally(callers, settings, caplog, query, variables):
    client = callers["officer"]
    executed, compiled, answered = _both_ways(client, settings, caplog, query, variables)

    assert compiled == executed
    assert answered == (query.startswith("query { incidents(first: 2) { edges { node { id } }"))


def test_a_compiled_read_makes_the_same_few_queries_for_any_page_size(callers, settings):
    client = callers["partner"]
    counts = []
    for first in (1, 10, 100):
        with CaptureQueriesContext(connection) as queries_made:
            client.post("/graphql/", WATCH_FLOOR, {"first": first})
        counts.append(len(queries_made))
    assert counts[0] == counts[1] == counts[2] <= 9, counts


def test_an_invisible_row_is_missing_as_in_execution(callers, settings, caplog):
    """A partner user reading incidents never meets the TLP:RED incident it is not named on."""
    query = "query { incidents(first: 100) { totalCount edges { node { title tlp } } } }"
    _, compiled, answered = _both_ways(callers["partner"], settings, caplog, query)
    titles = [edge["node"]["title"] for edge in json.loads(compiled)["data"]["incidents"]["edges"]]

    assert answered
    assert "Named-only incident" not in titles
    _, named, _ = _both_ways(callers["named partner"], settings, caplog, query)
    assert "Named-only incident" in named.decode()
    assert Incident.objects.filter(title="Named-only incident").count() == 1
