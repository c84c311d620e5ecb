"""Reading incidents and actions: pages, filters, ordering, nodes and the SQL it costs."""

import datetime

import pytest
from django.utils import timezone
from strawberry.relay import to_base64

from coordination.choices import IncidentCategory, IncidentStatus, Severity, Tlp
from coordination.services import add_incident_update, change_incident_status, share_incident
from partners.models import UrbanArea
from tests.factories import (
    global_id,
    make_action,
    make_incident,
    make_partner,
    sector,
    state,
)

INCIDENT_REFS = """
query($filters: IncidentFilter, $ordering: [IncidentOrder!], $first: Int, $after: String) {
  incidents(filters: $filters, ordering: $ordering, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { title severity } }
  }
}"""

WATCH_FLOOR = """
query($first: Int) {
  incidents(first: $first) {
    totalCount
    edges { node {
      id reference title severity status tlp
      states { code name }
      urbanAreas { name }
      sectors { name }
      lead { username }
      sharedWith { totalCount edges { node { name } } }
      updates(first: 5) { edges { node { kind body author { username } } } }
      actions { totalCount edges { node {
        kind status dueAt isOverdue
        partner { name kind state { code } }
      } } }
      history(first: 3) { totalCount edges { node {
        at action changeReason user { username } changes { field old new }
      } } }
    } }
  }
}"""


def titles(result) -> list[str]:
    return [edge["node"]["title"] for edge in result["incidents"]["edges"]]


# --- pages ------------------------------------------------------------------------------------


def test_pages_default_to_50_and_walk_without_overlap(gql, officer):
    for i in range(55):
        make_incident(officer, title=f"Event {i:02d}")
    first = gql.data(INCIDENT_REFS)["incidents"]
    assert first["totalCount"] == 55
    assert len(first["edges"]) == 50
    assert first["pageInfo"]["hasNextPage"] is True

    rest = gql.data(INCIDENT_REFS, {"after": first["pageInfo"]["endCursor"]})["incidents"]
    assert len(rest["edges"]) == 5
    assert rest["pageInfo"]["hasNextPage"] is False
    seen = [e["node"]["title"] for e in first["edges"] + rest["edges"]]
    assert sorted(seen) == [f"Event {i:02d}" for i in range(55)]


def test_pages_are_stable_when_the_order_has_ties(gql, officer):
    for i in range(7):
        make_incident(officer, title=f"Tie {i}", severity=Severity.HIGH)
    seen, after = [], None
    while True:
        page = gql.data(
            INCIDENT_REFS,
            {"ordering": [{"severity": "DESC"}], "first": 2, "after": after},
        )["incidents"]
        seen += [e["node"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == [f"Tie {i}" for i in range(7)]


@pytest.mark.parametrize("size", [101, -1, 100_000])
def test_page_size_over_the_cap_is_a_clear_error(gql, size):
    body = gql(INCIDENT_REFS, {"first": size})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert "between 0 and 100" in error["message"]


def test_nested_page_size_is_capped_too(gql):
    body = gql("{ incidents { edges { node { actions(last: 500) { totalCount } } } } }")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "last"}


# --- filters and ordering ---------------------------------------------------------------------


@pytest.fixture
def catalogue(officer):
    """A small, varied set of incidents."""
    fusion = make_partner(officer, name="Fusion center")
    now = timezone.now()
    flood = make_incident(
        officer,
        title="River flooding",
        category=IncidentCategory.NATURAL_HAZARD,
        severity=Severity.HIGH,
        tlp=Tlp.GREEN,
        states=[state("TX")],
        reported_at=now - datetime.timedelta(days=3),
        summary="Levee overtopping expected",
    )
    hack = make_incident(
        officer,
        title="Water utility intrusion",
        category=IncidentCategory.CYBER,
        severity=Severity.CRITICAL,
        tlp=Tlp.RED,
        states=[state("VA"), state("MD")],
        sectors=[sector("water-wastewater")],
        reported_at=now - datetime.timedelta(days=1),
        shared_with=[fusion],
    )
    crowd = make_incident(
        officer,
        title="Stadium crowd surge",
        category=IncidentCategory.PUBLIC_SAFETY,
        severity=Severity.LOW,
        urban_areas=[UrbanArea.objects.filter(states__code="VA").first()],
        reported_at=now - datetime.timedelta(hours=2),
    )
    change_incident_status(actor=officer, incident=hack, version=1, status=IncidentStatus.ACTIVE)
    make_action(officer, crowd, make_partner(officer, name="Metro police"))
    return {"flood": flood, "hack": hack, "crowd": crowd, "fusion": fusion}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": {"exact": "ACTIVE"}}, ["Water utility intrusion"]),
        (
            {"severity": {"inList": ["HIGH", "CRITICAL"]}},
            ["Water utility intrusion", "River flooding"],
        ),
        ({"category": {"exact": "PUBLIC_SAFETY"}}, ["Stadium crowd surge"]),
        ({"tlp": {"exact": "RED"}}, ["Water utility intrusion"]),
        ({"state": "va"}, ["Water utility intrusion"]),
        ({"text": "levee"}, ["River flooding"]),
        ({"text": "INTRUSION"}, ["Water utility intrusion"]),
        ({"OR": {"state": "TX"}, "state": "MD"}, ["Water utility intrusion", "River flooding"]),
    ],
)
def test_incident_filters(gql, catalogue, filters, expected):
    assert titles(gql.data(INCIDENT_REFS, {"filters": filters})) == expected


def test_incident_filters_by_related_ids(gql, catalogue):
    area = catalogue["crowd"].urban_areas.get()
    by_area = gql.data(INCIDENT_REFS, {"filters": {"urbanArea": global_id(area)}})
    assert titles(by_area) == ["Stadium crowd surge"]
    by_sector = gql.data(
        INCIDENT_REFS, {"filters": {"sector": global_id(sector("water-wastewater"))}}
    )
    assert titles(by_sector) == ["Water utility intrusion"]
    by_share = gql.data(INCIDENT_REFS, {"filters": {"partner": global_id(catalogue["fusion"])}})
    assert titles(by_share) == ["Water utility intrusion"]
    police = catalogue["crowd"].actions.get().partner
    by_action = gql.data(INCIDENT_REFS, {"filters": {"partner": global_id(police)}})
    assert titles(by_action) == ["Stadium crowd surge"]


def test_incident_filter_by_reported_time_range(gql, catalogue):
    since = (timezone.now() - datetime.timedelta(days=2)).isoformat()
    result = gql.data(INCIDENT_REFS, {"filters": {"reportedAt": {"gte": since}}})
    assert titles(result) == ["Stadium crowd surge", "Water utility intrusion"]


def test_filter_with_an_id_of_the_wrong_type_is_a_clear_error(gql, catalogue):
    body = gql(INCIDENT_REFS, {"filters": {"sector": global_id(catalogue["fusion"])}})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "sector"}


def test_incident_ordering(gql, catalogue):
    by_severity = gql.data(INCIDENT_REFS, {"ordering": [{"severity": "DESC"}]})
    assert titles(by_severity) == [
        "Water utility intrusion",
        "River flooding",
        "Stadium crowd surge",
    ]
    oldest_first = gql.data(INCIDENT_REFS, {"ordering": [{"reportedAt": "ASC"}]})
    assert titles(oldest_first) == [
        "River flooding",
        "Water utility intrusion",
        "Stadium crowd surge",
    ]
    assert titles(gql.data(INCIDENT_REFS)) == titles(oldest_first)[::-1], "newest report first"


# --- nodes ------------------------------------------------------------------------------------


def test_node_and_nodes_resolve_global_ids(gql, catalogue):
    flood, hack = catalogue["flood"], catalogue["hack"]
    result = gql.data(
        """query($id: ID!, $ids: [ID!]!) {
          node(id: $id) { id ... on Incident { reference } }
          nodes(ids: $ids) { id ... on Incident { title } ... on Partner { name } }
        }""",
        {"id": global_id(flood), "ids": [global_id(hack), global_id(catalogue["fusion"])]},
    )
    assert result["node"] == {"id": global_id(flood), "reference": flood.reference}
    assert [n.get("title") or n.get("name") for n in result["nodes"]] == [
        "Water utility intrusion",
        "Fusion center",
    ]


def test_node_of_a_missing_row_is_null(gql):
    assert gql.data('{ node(id: "SW5jaWRlbnQ6OTk5OTk5") { id } }')["node"] is None


@pytest.mark.parametrize("type_name", ["ApiToken", "Bogus", "IncidentHistoryEntry"])
def test_node_of_an_id_naming_no_node_type_is_a_clear_error(gql, type_name):
    result = gql("query($id: ID!) { node(id: $id) { id } }", {"id": to_base64(type_name, 1)})
    assert result["data"] == {"node": None}
    [error] = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "id"}
    assert error["message"] == "This ID does not name a kind of object that has IDs."


# --- actions ----------------------------------------------------------------------------------

ACTIONS = """
query($filters: CoordinationActionFilter, $ordering: [CoordinationActionOrder!]) {
  coordinationActions(filters: $filters, ordering: $ordering) {
    totalCount edges { node { instructions status isOverdue partner { name } } }
  }
}"""


def test_action_filters(gql, officer):
    incident = make_incident(officer)
    police, fire = make_partner(officer, name="Police"), make_partner(officer, name="Fire")
    past = timezone.now() - datetime.timedelta(hours=3)
    make_action(
        officer,
        incident,
        police,
        instructions="late",
        due_at=timezone.now() - datetime.timedelta(hours=1),
        now=past,
    )
    make_action(officer, incident, fire, instructions="on time")

    def instructions(filters, ordering=()):
        result = gql.data(ACTIONS, {"filters": filters, "ordering": list(ordering)})
        return [e["node"]["instructions"] for e in result["coordinationActions"]["edges"]]

    assert instructions({"overdue": True}) == ["late"]
    assert instructions({"overdue": False}) == ["on time"]
    assert instructions({"partner": global_id(fire)}) == ["on time"]
    assert sorted(instructions({"incident": global_id(incident)})) == ["late", "on time"]
    assert sorted(instructions({"status": {"exact": "PENDING"}})) == ["late", "on time"]
    assert instructions({"kind": {"exact": "BRIEFING"}}) == []
    assert instructions({}, [{"dueAt": "ASC"}]) == ["late", "on time"]


# --- SQL cost ---------------------------------------------------------------------------------


def build_watch_floor(officer, count: int) -> None:
    partners = [make_partner(officer, name=f"Partner {i}", state=state("VA")) for i in range(3)]
    for i in range(count):
        incident = make_incident(
            officer,
            title=f"Incident {i}",
            states=[state("VA"), state("DC")],
            sectors=[sector("energy")],
            lead=officer,
        )
        share_incident(actor=officer, incident=incident, version=1, partners=partners[:2])
        add_incident_update(actor=officer, incident=incident, body="Initial assessment")
        for partner in partners:
            make_action(officer, incident, partner)


def test_watch_floor_query_costs_the_same_sql_for_10_and_100_incidents(
    gql, officer, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_watch_floor(officer, 100)
    costs = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            result = gql.data(WATCH_FLOOR, {"first": size})
        costs[size] = len(queries)
        edges = result["incidents"]["edges"]
        assert len(edges) == size
        node = edges[0]["node"]
        assert node["actions"]["totalCount"] == 3
        assert node["sharedWith"]["totalCount"] == 2
        assert node["history"]["totalCount"] == 2
        assert {s["code"] for s in node["states"]} == {"VA", "DC"}
        assert node["actions"]["edges"][0]["node"]["partner"]["state"] == {"code": "VA"}
    assert costs[10] == costs[100], costs
    with django_assert_max_num_queries(20):
        gql.data(WATCH_FLOOR, {"first": 100})
