"""Search: what it finds, in which order, for whom, page by page, and what it costs."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from coordination.choices import Tlp
from coordination.models import Incident, IncidentUpdate
from coordination.services import add_incident_update, share_incident, update_incident
from partners.models import Contact, Partner
from partners.services import update_contact, update_partner
from tests.factories import make_action, make_contact, make_incident, make_partner, state
from tests.graphql import GraphQLClient

SEARCH = """
query($query: String!, $first: Int, $after: String) {
  search(query: $query, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      rank
      node {
        __typename
        ... on Incident { reference title }
        ... on Partner { name }
      }
    }
  }
}"""

SEARCH_WITH_DETAILS = """
query($query: String!, $first: Int) {
  search(query: $query, first: $first) {
    totalCount
    edges { rank node {
      ... on Incident {
        reference title states { code } sharedWith { totalCount edges { node { name } } }
      }
      ... on Partner { name state { code } contacts { edges { node { name } } } }
    } }
  }
}"""

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search and its indexes are PostgreSQL's"
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the substring fallback runs where PostgreSQL does not"
)


def run(client, query, **variables) -> dict:
    return client.data(SEARCH, {"query": query, **variables})["search"]


def found(client, query, **variables) -> list[str]:
    """What a search shows, as incident titles and partner names, best first."""
    edges = run(client, query, **variables)["edges"]
    return [edge["node"].get("title") or edge["node"]["name"] for edge in edges]


def bad_input(client, query, **variables) -> tuple[str, str]:
    body = client(SEARCH, {"query": query, **variables})
    assert body["data"] is None, body
    error = body["errors"][0]
    return error["extensions"]["code"], error["extensions"]["argument"]


@pytest.fixture
def partner_org(officer):
    return make_partner(officer, name="Richmond Emergency Management")


@pytest.fixture
def partner_gql(make_user, partner_org):
    return GraphQLClient.logged_in(make_user("rem-watch", partner=partner_org))


# --- what is found, and in which order --------------------------------------------------------


def test_an_exact_reference_number_ranks_first_even_below_text_that_ranks_higher(gql, officer):
    target = make_incident(officer, title="Water main break")
    make_incident(
        officer,
        title=f"Follow-up to {target.reference}",
        summary=f"See {target.reference}; {target.reference} was reopened.",
    )

    result = run(gql, target.reference.lower())

    assert [edge["node"]["title"] for edge in result["edges"]] == [
        "Water main break",
        f"Follow-up to {target.reference}",
    ]
    exact, follow_up = (edge["rank"] for edge in result["edges"])
    assert follow_up > exact  # first by the reference rule, not by the text's rank
    assert result["totalCount"] == 2


def test_part_of_a_reference_number_finds_the_incident(gql, officer):
    incident = make_incident(officer, title="Bridge closure")
    number = incident.reference.rsplit("-", 1)[1]

    assert found(gql, number) == ["Bridge closure"]


def test_title_ranks_above_summary_above_timeline_and_ties_go_to_incidents(gql, officer):
    by_update = make_incident(officer, title="Plant inspection")
    add_incident_update(actor=officer, incident=by_update, body="Chlorine readings normal.")
    make_incident(officer, title="Rail yard alert", summary="A tank car of chlorine is leaking.")
    make_incident(officer, title="Chlorine release at water plant")
    make_partner(officer, name="Chlorine Institute Response Team")
    make_incident(officer, title="Flooding on I-95")

    assert found(gql, "chlorine") == [
        "Chlorine release at water plant",
        "Rail yard alert",
        "Chlorine Institute Response Team",
        "Plant inspection",
    ]


def test_the_last_term_is_a_prefix_and_case_does_not_matter(gql, officer):
    make_incident(officer, title="Chlorine leak at Dale City plant")
    make_incident(officer, title="Chlorine drill")
    make_incident(officer, title="Gas leak downtown")

    assert found(gql, "CHLOR") == ["Chlorine leak at Dale City plant", "Chlorine drill"]
    assert found(gql, "leak chlor") == ["Chlorine leak at Dale City plant"]
    assert found(gql, "chlorine lea") == ["Chlorine leak at Dale City plant"]
    assert found(gql, "chlorine le") == ["Chlorine leak at Dale City plant"]
    assert sorted(found(gql, "leak d")) == ["Chlorine leak at Dale City plant", "Gas leak downtown"]


@pytest.mark.postgres
@postgres_only
def test_only_the_last_term_is_a_prefix(gql, officer):
    make_incident(officer, title="Chlorine leak")

    assert found(gql, "chlor leak") == []
    assert found(gql, "leak chlor") == ["Chlorine leak"]


def test_the_search_follows_edits_through_the_services(gql, officer):
    incident = make_incident(officer, title="Chlorine leak")
    partner = make_partner(officer, name="Chlorine Response Team")
    contact = make_contact(officer, partner, name="Avery Stone")

    update_incident(
        actor=officer, incident=incident, version=incident.version, title="Ammonia leak"
    )
    add_incident_update(actor=officer, incident=incident, body="Valve replaced.")
    update_partner(actor=officer, partner=partner, name="Ammonia Response Team")
    update_contact(actor=officer, contact=contact, name="Jordan Stone")

    assert found(gql, "chlorine") == []
    assert found(gql, "ammonia") == ["Ammonia leak", "Ammonia Response Team"]
    assert found(gql, "valve") == ["Ammonia leak"]
    assert found(gql, "jordan") == ["Ammonia Response Team"]
    assert run(gql, "avery")["totalCount"] == 0


def test_every_term_must_occur_in_the_same_document(gql, officer):
    incident = make_incident(officer, title="Pipeline rupture", summary="Near Norfolk.")
    add_incident_update(actor=officer, incident=incident, body="Crews contained the spill.")

    assert found(gql, "pipeline norfolk") == ["Pipeline rupture"]
    assert found(gql, "contained spill") == ["Pipeline rupture"]
    assert found(gql, "pipeline spill") == []


def test_partners_are_found_by_name_and_by_contacts(gql, officer):
    fusion = make_partner(officer, name="Virginia Fusion Center")
    port = make_partner(officer, name="Port of Norfolk Security")
    make_contact(officer, port, name="Dana Whitfield", title="Fusion liaison officer")
    make_contact(officer, fusion, name="Sam Ortega")

    assert found(gql, "fusion") == ["Virginia Fusion Center", "Port of Norfolk Security"]
    assert found(gql, "whitfield") == ["Port of Norfolk Security"]
    assert found(gql, "dana ortega") == []


def test_text_that_is_not_a_word_finds_nothing_and_is_no_error(gql, officer):
    make_incident(officer, title="Chlorine leak")

    assert run(gql, "&|!():*") == {
        "totalCount": 0,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


@pytest.mark.parametrize(
    "text",
    [
        "chlorine & | ! ( :*",
        "chlorine:*",
        "!chlorine",
        '"chlorine',
        "chlorine'",
        "'chlorine'' & '",
        "chlorine\\",
        "(chlorine))",
        "chlorine <-> leak",
        "chlorine | leak",
        "chlorine --",
        "-chlorine",
        "chlorine\u200b",
        "chlorine\t\n",
        "chlorine & le",
        "chlorine (le",
        "'chlorine' le:*",
        "chlorine !le",
        "chlorine | le)",
        '"chlorine le"',
    ],
)
def test_search_syntax_in_the_text_is_taken_as_text(gql, officer, text):
    make_incident(officer, title="Chlorine leak")

    assert found(gql, text) == ["Chlorine leak"]


def test_text_without_letters_or_digits_finds_nothing(gql, officer):
    make_incident(officer, title="Chlorine leak")

    for text in ("'", '"', "\\", "::**", "_", "<->", "!!(", "& | !", "\u200b"):
        assert run(gql, text)["totalCount"] == 0, text


@pytest.mark.parametrize(
    "text",
    [
        "a & | ! ( :*",
        "the",
        "chlorine:AB",
        "Chlorine½",
        "chlorine ²³ Ⅻ",
        "漢字",
        "ǅemal",
        "x\u0301",
        "\U0001f525 fire",
        "٣",
        "a" * 200,
        " ".join("x" * 99),
    ],
)
def test_stop_words_odd_letters_and_long_words_are_no_error(gql, officer, text):
    make_incident(officer, title="Chlorine leak")

    result = run(gql, text)

    assert result["totalCount"] == len(result["edges"]) <= 1


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n", "x" * 201, "chlorine\x00", "\x00", " " * 198 + "ab\x00"],
    ids=["empty", "blanks", "whitespace", "201-characters", "nul", "only-nul", "trailing-nul"],
)
def test_unusable_query_text_is_a_clear_error_naming_the_argument(gql, text):
    assert bad_input(gql, text) == ("BAD_USER_INPUT", "query")


def test_the_error_says_what_is_wrong(gql):
    assert gql(SEARCH, {"query": "x" * 201})["errors"][0]["message"] == (
        "The search text is limited to 200 characters."
    )
    assert gql(SEARCH, {"query": " "})["errors"][0]["message"] == "Give some text to search for."


def test_200_characters_is_not_too_long(gql, officer):
    make_incident(officer, title="Chlorine leak")

    assert found(gql, "chlorine " + "x" * 191) == []
    assert found(gql, " chlorine ".ljust(200)) == ["Chlorine leak"]


@pytest.mark.parametrize("size", [101, -1])
def test_page_size_outside_0_to_100_is_a_clear_error(gql, size):
    assert bad_input(gql, "chlorine", first=size) == ("BAD_USER_INPUT", "first")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        to_base64("arrayconnection", 3),  # a cursor of another list
        to_base64("search", "x"),
        to_base64("search", -1),
        "",
    ],
)
def test_a_cursor_not_from_search_is_a_clear_error(gql, cursor):
    assert bad_input(gql, "chlorine", after=cursor) == ("BAD_USER_INPUT", "after")


# --- pages ------------------------------------------------------------------------------------


def test_pages_walk_every_hit_once_in_a_stable_order(gql, officer):
    incidents = [make_incident(officer, title=f"Flood warning {n}") for n in range(4)]
    partners = [make_partner(officer, name=f"Flood Control District {n}") for n in range(3)]

    seen, after, pages = [], None, 0
    while True:
        page = run(gql, "flood", first=3, after=after)
        pages += 1
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"].get("reference") or edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # Titles rank above partner names; equal ranks go by kind, then oldest first.
    assert pages == 3
    assert seen == [i.reference for i in incidents] + [p.name for p in partners]


def test_a_page_holds_20_hits_unless_told_otherwise(gql, officer):
    for n in range(21):
        make_partner(officer, name=f"Levee Board {n:02d}")

    page = run(gql, "levee")

    assert len(page["edges"]) == 20
    assert page["totalCount"] == 21
    assert page["pageInfo"]["hasNextPage"] is True
    assert len(run(gql, "levee", first=100)["edges"]) == 21


def test_a_page_of_zero_still_counts(gql, officer):
    make_incident(officer, title="Chlorine leak")

    page = run(gql, "chlorine", first=0)

    assert page["edges"] == []
    assert page["totalCount"] == 1
    assert page["pageInfo"]["hasNextPage"] is True


# --- who sees what ----------------------------------------------------------------------------


def test_a_partner_user_finds_only_incidents_shared_with_its_organisation(
    officer, make_user, partner_org, partner_gql
):
    make_incident(officer, title="Shared tornado damage", shared_with=[partner_org])
    asked = make_incident(officer, title="Asked tornado shelter count")
    make_action(officer, asked, partner_org)
    make_incident(officer, title="Internal tornado assessment")
    red = make_incident(
        officer, title="Red tornado source report", tlp=Tlp.RED, shared_with=[partner_org]
    )

    assert found(partner_gql, "tornado") == [
        "Shared tornado damage",
        "Asked tornado shelter count",
    ]
    named = make_user("named-watch", partner=partner_org)
    share_incident(actor=officer, incident=red, version=red.version, users=[named])
    assert found(GraphQLClient.logged_in(named), "tornado") == [
        "Shared tornado damage",
        "Asked tornado shelter count",
        "Red tornado source report",
    ]


def test_a_partner_user_never_finds_an_incident_through_an_internal_entry(
    officer, gql, partner_org, partner_gql
):
    incident = make_incident(officer, title="Port closure", shared_with=[partner_org])
    add_incident_update(actor=officer, incident=incident, body="Source: informant Zebra.")
    add_incident_update(
        actor=officer,
        incident=incident,
        body="Giraffe terminal reopens at noon.",
        partner_visible=True,
    )
    hidden = make_incident(officer, title="Harbor survey")
    add_incident_update(
        actor=officer, incident=hidden, body="Giraffe crane inspected.", partner_visible=True
    )

    assert run(partner_gql, "zebra")["totalCount"] == 0
    assert found(partner_gql, "giraffe") == ["Port closure"]
    assert run(partner_gql, "giraffe")["totalCount"] == 1
    assert found(gql, "zebra") == ["Port closure"]
    assert sorted(found(gql, "giraffe")) == ["Harbor survey", "Port closure"]


def test_an_internal_entry_adds_nothing_to_the_rank_a_partner_user_sees(
    officer, partner_org, partner_gql
):
    plain = make_incident(officer, title="Wildfire evacuation", shared_with=[partner_org])
    noted = make_incident(officer, title="Wildfire evacuation", shared_with=[partner_org])
    add_incident_update(actor=officer, incident=noted, body="Wildfire: informant report.")

    edges = run(partner_gql, "wildfire")["edges"]

    assert [edge["node"]["reference"] for edge in edges] == [plain.reference, noted.reference]
    assert edges[0]["rank"] == edges[1]["rank"]


def test_a_partner_user_finds_its_own_organisation_and_contacts_only(
    officer, partner_org, partner_gql
):
    other = make_partner(officer, name="Richmond Police Department")
    make_contact(officer, partner_org, name="Avery Stone")
    make_contact(officer, other, name="Jordan Stone")

    assert found(partner_gql, "richmond") == ["Richmond Emergency Management"]
    assert found(partner_gql, "stone") == ["Richmond Emergency Management"]
    assert run(partner_gql, "jordan")["totalCount"] == 0
    assert run(partner_gql, "police")["totalCount"] == 0


def test_an_exact_reference_the_caller_may_not_see_finds_nothing(officer, partner_gql):
    hidden = make_incident(officer, title="Hidden water outage")

    assert run(partner_gql, hidden.reference)["totalCount"] == 0


def test_an_administrator_finds_partners_but_no_incidents(officer, administrator):
    make_incident(officer, title="Storm surge")
    make_partner(officer, name="Storm Response Office")

    assert found(GraphQLClient.logged_in(administrator), "storm") == ["Storm Response Office"]


def test_an_auditor_finds_what_an_officer_finds(officer, auditor, gql):
    incident = make_incident(officer, title="Cyber intrusion")
    add_incident_update(actor=officer, incident=incident, body="Ransomware note recovered.")
    make_partner(officer, name="Cyber Command Liaison")

    auditor_gql = GraphQLClient.logged_in(auditor)
    for text in ("cyber", "ransomware"):
        assert found(auditor_gql, text) == found(gql, text)


def test_someone_without_a_role_finds_nothing(officer, outsider):
    make_incident(officer, title="Storm surge")
    make_partner(officer, name="Storm Response Office")

    assert run(GraphQLClient.logged_in(outsider), "storm")["totalCount"] == 0


def test_anonymous_callers_get_the_authentication_error(anonymous_gql):
    response = anonymous_gql.post(SEARCH, {"query": "storm"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- what it costs ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 50])
def test_a_page_costs_the_same_sql_whatever_its_size(
    gql, officer, size, django_assert_max_num_queries
):
    for n in range(size // 2):
        incident = make_incident(officer, title=f"Ice storm {n}", states=[state("VA")])
        add_incident_update(actor=officer, incident=incident, body="Ice storm lines down.")
    for n in range(size - size // 2):
        partner = make_partner(officer, name=f"Ice Storm Task Force {n}")
        make_contact(officer, partner, name=f"Ice Contact {n}")

    with django_assert_max_num_queries(11):
        result = gql.data(SEARCH_WITH_DETAILS, {"query": "ice storm", "first": size})

    edges = result["search"]["edges"]
    assert len(edges) == size
    assert result["search"]["totalCount"] == size
    assert edges[0]["node"]["states"] == [{"code": "VA"}]
    assert edges[-1]["node"]["state"] == {"code": "VA"}
    assert edges[-1]["node"]["contacts"]["edges"][0]["node"]["name"].startswith("Ice Contact")


SEARCH_WITH_FRAGMENTS = """
query($query: String!) {
  search(query: $query) { edges { ...Hit } }
}
fragment Hit on SearchEdge { rank node { ...IncidentCard ...PartnerCard } }
fragment IncidentCard on Incident { title updates { edges { node { body } } } }
fragment PartnerCard on Partner { name contacts { edges { node { name } } } }
"""


def test_what_hits_show_of_their_objects_is_scoped_and_prefetched_through_fragments(
    officer, partner_org, partner_gql, django_assert_max_num_queries
):
    for n in range(6):
        incident = make_incident(officer, title=f"Heat wave {n}", shared_with=[partner_org])
        add_incident_update(actor=officer, incident=incident, body="Internal: heat sources.")
        add_incident_update(
            actor=officer, incident=incident, body="Cooling centres open.", partner_visible=True
        )
    make_contact(officer, partner_org, name="Heat Desk")

    with django_assert_max_num_queries(11):
        edges = partner_gql.data(SEARCH_WITH_FRAGMENTS, {"query": "heat"})["search"]["edges"]

    assert [edge["node"].get("title") or edge["node"]["name"] for edge in edges] == [
        *(f"Heat wave {n}" for n in range(6)),
        "Richmond Emergency Management",
    ]
    for edge in edges[:6]:
        assert edge["node"]["updates"]["edges"] == [{"node": {"body": "Cooling centres open."}}]
    assert edges[6]["node"]["contacts"]["edges"] == [{"node": {"name": "Heat Desk"}}]


# --- the fallback (SQLite) --------------------------------------------------------------------


@sqlite_only
def test_the_fallback_scores_each_term_by_the_weight_of_each_field_it_occurs_in(gql, officer):
    incident = make_incident(officer, title="Chlorine leak", summary="Chlorine gas near a leak.")
    add_incident_update(actor=officer, incident=incident, body="Chlorine leak contained.")
    partner = make_partner(officer, name="Chlorine Leak Team")
    make_contact(officer, partner, name="Lee Chlorine-Leak")

    ranks = {
        edge["node"]["__typename"]: edge["rank"] for edge in run(gql, "chlorine leak")["edges"]
    }

    # Title 0.4 + summary 0.2 per term, + 0.1 for a timeline entry holding every term.
    assert ranks["Incident"] == pytest.approx(2 * (0.4 + 0.2) + 0.1)
    # Name 0.2 per term, + 0.1 for a contact holding every term.
    assert ranks["Partner"] == pytest.approx(2 * 0.2 + 0.1)


# --- the indexes (PostgreSQL) -----------------------------------------------------------------


def explain(sql: str) -> str:
    """PostgreSQL's plan for ``sql`` when it may not read whole tables if an index will do."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def ranking_sql(client, text) -> str:
    """The SQL of the query that ranks the hits of a search."""
    with CaptureQueriesContext(connection) as queries:
        run(client, text)
    (sql,) = [q["sql"] for q in queries if "ts_rank" in q["sql"] and "COUNT(" not in q["sql"]]
    return sql


@pytest.mark.postgres
@postgres_only
def test_the_search_is_answered_from_the_gin_indexes(gql, officer):
    incident = make_incident(officer, title="Chlorine leak")
    add_incident_update(actor=officer, incident=incident, body="Chlorine contained.")
    make_contact(officer, make_partner(officer), name="Chlorine Officer")

    plan = explain(ranking_sql(gql, "chlorine le"))

    for index in (
        "incident_search_idx",
        "incident_update_search_idx",
        "partner_search_idx",
        "contact_search_idx",
    ):
        assert f"Index Scan on {index}" in plan, plan
    # Matched and ranked on the stored vectors: no document is parsed at query time.
    assert "search_vector @@ '''chlorin'' & ''le'':*'::tsquery" in plan, plan
    assert "to_tsvector" not in plan, plan
    assert "regexp_replace" not in plan, plan


@pytest.mark.postgres
@postgres_only
def test_a_partner_users_search_uses_the_incident_indexes_and_its_own_partner_row(
    officer, partner_org, partner_gql
):
    incident = make_incident(officer, title="Chlorine leak", shared_with=[partner_org])
    add_incident_update(
        actor=officer, incident=incident, body="Chlorine contained.", partner_visible=True
    )
    make_contact(officer, partner_org, name="Chlorine Officer")

    plan = explain(ranking_sql(partner_gql, "chlorine"))

    assert "Index Scan on incident_search_idx" in plan, plan
    assert "Index Scan on incident_update_search_idx" in plan, plan
    # Partner users see one partner: its primary key beats any text index.
    assert "Index Scan using partners_partner_pkey on partners_partner" in plan, plan


@pytest.mark.postgres
@postgres_only
def test_a_lone_term_under_3_characters_is_a_whole_word_not_a_prefix(gql, officer):
    make_incident(officer, title="Chlorine leak on route VA 7")

    assert found(gql, "ch") == []
    assert found(gql, "va") == ["Chlorine leak on route VA 7"]
    assert found(gql, "chl") == ["Chlorine leak on route VA 7"]
    assert found(gql, "route 7") == ["Chlorine leak on route VA 7"]
    assert found(gql, "leak ro") == ["Chlorine leak on route VA 7"]


@pytest.mark.postgres
@postgres_only
def test_the_stored_vectors_are_the_databases_not_the_models_nor_the_historys(db):
    tables = {
        Incident: "coordination_incident",
        IncidentUpdate: "coordination_incidentupdate",
        Partner: "partners_partner",
        Contact: "partners_contact",
    }
    with connection.cursor() as cursor:
        for model, table in tables.items():
            history = model.history.model._meta.db_table
            columns = {
                name: [c.name for c in connection.introspection.get_table_description(cursor, name)]
                for name in (table, history)
            }
            assert "search_vector" in columns[table], table
            assert "search_vector" not in columns[history], history
            assert "search_vector" not in [f.column for f in model._meta.concrete_fields]


@pytest.mark.postgres
@postgres_only
def test_entries_and_contacts_add_a_flat_amount_to_the_relevance_of_the_own_text(gql, officer):
    plain = make_incident(officer, title="Chlorine leak")
    noted = make_incident(officer, title="Chlorine leak")
    add_incident_update(actor=officer, incident=noted, body="Chlorine leak: chlorine, chlorine.")

    ranks = {edge["node"]["reference"]: edge["rank"] for edge in run(gql, "chlorine")["edges"]}

    assert ranks[noted.reference] == pytest.approx(ranks[plain.reference] + 0.1)


@pytest.mark.postgres
@postgres_only
def test_the_indexes_exist_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s",
            ["%search_idx"],
        )
        indexes = dict(cursor.fetchall())

    assert sorted(indexes) == [
        "contact_search_idx",
        "incident_search_idx",
        "incident_update_search_idx",
        "partner_search_idx",
    ]
    assert all("USING gin" in definition for definition in indexes.values())
