"""IDOR: a partner user walks every entry point with the IDs of rows it may not see.

P (a user of partner Alpha) is given the global IDs of rows hidden from it — incidents never
shared with Alpha, shared only with Bravo, TLP:AMBER/AMBER+STRICT reaching Bravo only, TLP:RED
not naming P, once shared and then unshared; Bravo's actions and Alpha's own action on a RED
incident P is not named on; internal timeline entries; Bravo and its contact; users outside
Alpha who are not officers; other people's API tokens — and, for each, a made-up ID of the same
type that names no row at all. Every answer for the hidden row must be the answer for the
made-up one: ``node``/``nodes``, ID filters and their ``totalCount``, the audit API, every
mutation taking an ID (``not_found``, same message, nothing written), the export and the admin.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from strawberry import relay

from coordination.choices import Tlp
from coordination.models import Incident
from coordination.services import unshare_incident
from opsapi.accounts.models import ApiToken, PartnerMembership
from opsapi.accounts.services import issue_token
from opsapi.audit.models import AuditAccess
from opsapi.audit.tracking import save_with_history
from tests.access.conftest import ADMINISTRATOR, AUDITOR_ROLE, NO_ROLE, OFFICER, PARTNER, snapshot
from tests.factories import global_id, make_action, make_incident

pytestmark = pytest.mark.django_db

MADE_UP_PK = 987_654_321  # no row of any table has this primary key


def made_up(global_id_: str) -> str:
    """A global ID of the same type as ``global_id_`` naming no row."""
    return relay.to_base64(relay.GlobalID.from_id(global_id_).type_name, MADE_UP_PK)


@pytest.fixture(scope="module")
def hidden(world):
    """Everything P may not see, by kind, with extra rows built on top of the shared world."""
    officer, alpha, bravo = world.users[OFFICER], world.partners["alpha"], world.partners["bravo"]
    amber_bravo = make_incident(
        officer, title="Ransomware at a county 911 center", tlp=Tlp.AMBER, shared_with=[bravo]
    )
    strict_bravo = make_incident(officer, title="Port crane sabotage", tlp=Tlp.AMBER_STRICT)
    strict_action = make_action(officer, strict_bravo, bravo, instructions="Sweep berth 7.")
    withdrawn = make_incident(
        officer, title="Bridge cable corrosion", tlp=Tlp.GREEN, shared_with=[alpha]
    )
    unshare_incident(actor=officer, incident=withdrawn, version=1, partners=[alpha])
    bravo_token, _ = issue_token(
        user=world.users["bravo"], name="Bravo app", actor=world.users["bravo"]
    )
    officer_token, _ = issue_token(user=officer, name="Watch floor app", actor=officer)
    incidents = {
        "never shared": world.incidents["unshared"],
        "CLEAR shared with Bravo only": world.incidents["bravo_only"],
        "AMBER shared with Bravo only": amber_bravo,
        "AMBER+STRICT asked of Bravo only": strict_bravo,
        "RED shared with Alpha, P not named": world.incidents["red_unnamed"],
        "RED naming a Bravo user": world.incidents["red_bravo_named"],
        "unshared from Alpha": withdrawn,
    }
    incidents = {k: Incident.objects.get(pk=v.pk) for k, v in incidents.items()}
    return {
        "Incident": incidents,
        "CoordinationAction": {
            "Bravo's action on a shared incident": world.actions["bravo_on_shared"],
            "Bravo's action on a Bravo-only incident": world.actions["bravo_on_bravo_only"],
            "Alpha's action on a RED incident P is not named on": world.actions[
                "alpha_on_red_unnamed"
            ],
            "Bravo's action on an AMBER+STRICT incident": strict_action,
        },
        "IncidentUpdate": {
            "internal note on a shared incident": world.updates["shared_internal"],
            "partner-visible entry on a Bravo-only incident": world.updates["bravo_only_public"],
            "partner-visible entry on a hidden RED incident": world.updates["red_unnamed_public"],
        },
        "Partner": {"another organisation": bravo},
        "Contact": {"another organisation's contact": world.contacts["bravo"]},
        "User": {
            "a Bravo user": world.users["bravo"],
            "another Bravo user": world.users["bravo_colleague"],
            "a former officer": world.users["former_officer"],
            "an auditor": world.users[AUDITOR_ROLE],
            "an administrator": world.users[ADMINISTRATOR],
            "a user without a role": world.users[NO_ROLE],
        },
        "ApiToken": {"a Bravo user's token": bravo_token, "an officer's token": officer_token},
        "PartnerMembership": {
            "a Bravo user's membership": PartnerMembership.objects.get(user=world.users["bravo"])
        },
    }


def _gid(row) -> str:
    if isinstance(row, ApiToken | PartnerMembership):
        return relay.to_base64(type(row).__name__, row.pk)
    return global_id(row)


HIDDEN_KINDS = {
    "Incident": (
        "never shared",
        "CLEAR shared with Bravo only",
        "AMBER shared with Bravo only",
        "AMBER+STRICT asked of Bravo only",
        "RED shared with Alpha, P not named",
        "RED naming a Bravo user",
        "unshared from Alpha",
    ),
    "CoordinationAction": (
        "Bravo's action on a shared incident",
        "Bravo's action on a Bravo-only incident",
        "Alpha's action on a RED incident P is not named on",
        "Bravo's action on an AMBER+STRICT incident",
    ),
    "IncidentUpdate": (
        "internal note on a shared incident",
        "partner-visible entry on a Bravo-only incident",
        "partner-visible entry on a hidden RED incident",
    ),
    "Partner": ("another organisation",),
    "Contact": ("another organisation's contact",),
    "User": (
        "a Bravo user",
        "another Bravo user",
        "a former officer",
        "an auditor",
        "an administrator",
        "a user without a role",
    ),
}
# Node types, and the rows only the audit API could name.
NODE_CASES = [(kind, name) for kind, names in HIDDEN_KINDS.items() for name in names]
TRAIL_CASES = [
    *NODE_CASES,
    ("ApiToken", "a Bravo user's token"),
    ("ApiToken", "an officer's token"),
    ("PartnerMembership", "a Bravo user's membership"),
]


def _ids(cases):
    return [f"{kind}: {name}" for kind, name in cases]


def hidden_id(hidden, kind, name) -> str:
    return _gid(hidden[kind][name])


def answer(client, document, variables):
    """The whole HTTP answer: status and body (request ids are in headers, not the body)."""
    response = client.post(document, variables)
    return response.status_code, response.json()


# --- node and nodes ---------------------------------------------------------------------------

NODE = """query($id: ID!) { node(id: $id) {
  __typename id
  ... on Incident { title tlp sharedWith { totalCount } actions { totalCount } }
  ... on CoordinationAction { instructions incident { id } partner { id } }
  ... on IncidentUpdate { body incident { id } author { id } }
  ... on Partner { name contacts { totalCount } actions { totalCount } }
  ... on Contact { name email partner { id } }
  ... on User { username displayName }
} }"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def test_the_world_has_every_kind_of_hidden_row_and_p_sees_none_of_them(world, hidden):
    """Guards the cases below: each hidden row exists, and the officer sees it."""
    officer = world.client(OFFICER)
    ids = [hidden_id(hidden, kind, name) for kind, name in NODE_CASES]
    assert None not in officer.data(NODES, {"ids": ids})["nodes"]
    assert world.client(PARTNER).data(NODES, {"ids": ids})["nodes"] == [None] * len(ids)


@pytest.mark.parametrize(("kind", "name"), NODE_CASES, ids=_ids(NODE_CASES))
def test_node_of_a_hidden_row_answers_like_a_missing_one(world, hidden, kind, name):
    client = world.client(PARTNER)
    row = hidden_id(hidden, kind, name)
    seen = answer(client, NODE, {"id": row})
    assert seen == (200, {"data": {"node": None}})
    assert seen == answer(client, NODE, {"id": made_up(row)})


def test_nodes_answers_hidden_rows_like_missing_ones_in_place(world, hidden):
    client = world.client(PARTNER)
    visible = global_id(world.incidents["shared"])
    rows = [hidden_id(hidden, kind, name) for kind, name in NODE_CASES]
    mixed = [visible, *rows, visible]
    fakes = [visible, *(made_up(r) for r in rows), visible]
    seen = answer(client, NODES, {"ids": mixed})
    assert seen == answer(client, NODES, {"ids": fakes})
    nodes = seen[1]["data"]["nodes"]
    assert nodes[0]["id"] == nodes[-1]["id"] == visible
    assert nodes[1:-1] == [None] * len(rows)


# --- lists filtered by an ID ------------------------------------------------------------------

FILTERED = {
    "incidents by partner": (
        "query($id: ID!) { incidents(filters: {partner: $id}) "
        "{ totalCount edges { node { id } } } }",
        "Partner",
    ),
    "actions by partner": (
        "query($id: ID!) { coordinationActions(filters: {partner: $id}) "
        "{ totalCount edges { node { id } } } }",
        "Partner",
    ),
    "actions by incident": (
        "query($id: ID!) { coordinationActions(filters: {incident: $id}) "
        "{ totalCount edges { node { id } } } }",
        "Incident",
    ),
    "audit reads by user": (
        "query($id: ID!) { auditReads(filters: {user: $id}) { totalCount edges { node { id } } } }",
        "User",
    ),
    "audit log by user": (
        "query($id: ID!) { auditLog(filters: {user: $id}) { totalCount edges { node { at } } } }",
        "User",
    ),
    "audit log by object": (
        "query($id: ID!) { auditLog(filters: {objectId: $id}) "
        "{ totalCount pageInfo { hasNextPage } edges { node { at } } } }",
        None,  # any tracked kind
    ),
}

FILTER_CASES = [
    pytest.param(
        query,
        kind,
        name,
        id=f"{query} <- {kind}: {name}",
    )
    for query, (_, wanted) in FILTERED.items()
    for kind, name in TRAIL_CASES
    if wanted == kind or (wanted is None)
]


@pytest.mark.parametrize(("query", "kind", "name"), FILTER_CASES)
def test_lists_filtered_by_a_hidden_id_answer_like_a_missing_id(world, hidden, query, kind, name):
    document = FILTERED[query][0]
    client = world.client(PARTNER)
    row = hidden_id(hidden, kind, name)
    seen = answer(client, document, {"id": row})
    assert seen[0] == 200
    connection = next(iter(seen[1]["data"].values()))
    assert (connection["totalCount"], connection["edges"]) == (0, [])
    assert seen == answer(client, document, {"id": made_up(row)})


def test_text_search_finds_no_hidden_incident(world, hidden):
    document = (
        "query($text: String!) { incidents(filters: {text: $text}) "
        "{ totalCount edges { node { id } } } }"
    )
    client = world.client(PARTNER)
    nothing = answer(client, document, {"text": "no incident has this title"})
    for incident in hidden["Incident"].values():
        assert answer(client, document, {"text": incident.title}) == nothing
        assert answer(client, document, {"text": incident.reference}) == nothing


# --- nested fields, counts and history of what P does see -------------------------------------

# Page sizes kept small enough for the query-cost limit (opsapi.graphql.limits); the world
# holds a handful of rows of each kind.
EVERYTHING_P_SEES = """{
  me { id history { totalCount edges { node { snapshot changes { field old new } } } } }
  incidents(first: 10) { totalCount edges { node {
    id title summary source
    lead { id username }
    sharedWithUsers { id username }
    sharedWith { totalCount edges { node { id name } } }
    updates { totalCount edges { node { id body author { id username } incident { id } } } }
    actions { totalCount edges { node {
      id instructions response partner { id name } incident { id }
      createdBy { id } acknowledgedBy { id } respondedBy { id }
    } } }
    history { totalCount edges { node {
      snapshot changes { field old new } user { id } object { id }
    } } }
  } } }
  coordinationActions(first: 10) { totalCount edges { node {
    id instructions incident { id title } partner { id name }
    history { totalCount edges { node { snapshot object { id } } } }
  } } }
  partners(first: 10) { totalCount edges { node {
    id name
    contacts(first: 10) { totalCount edges { node { id name email history { totalCount } } } }
    actions { totalCount edges { node { id incident { id } } } }
    history { totalCount edges { node { snapshot changes { field old new } } } }
  } } }
  auditLog { totalCount edges { node { objectId snapshot } } }
  auditReads { totalCount edges { node { target arguments } } }
}"""


def _hidden_traces(world, hidden) -> set[str]:
    """Strings that would give a hidden row away: its ID, and its words."""
    traces = {_gid(row) for rows in hidden.values() for row in rows.values()}
    traces |= {i.title for i in hidden["Incident"].values()}
    traces |= {i.reference for i in hidden["Incident"].values()}
    traces |= {a.instructions for a in hidden["CoordinationAction"].values()}
    traces |= {u.body for u in hidden["IncidentUpdate"].values()}
    traces |= {world.partners["bravo"].name, world.contacts["bravo"].email}
    traces |= {u.username for u in hidden["User"].values()}
    return traces


def test_nothing_p_can_read_mentions_a_hidden_row(world, hidden):
    body = world.client(PARTNER).data(EVERYTHING_P_SEES)
    text = json.dumps(body)
    leaks = sorted(trace for trace in _hidden_traces(world, hidden) if trace in text)
    assert leaks == []

    # ... and what it does see is there, with counts that match the rows listed.
    incidents = body["incidents"]
    assert incidents["totalCount"] == len(incidents["edges"]) == 3
    shared = next(
        e["node"]
        for e in incidents["edges"]
        if e["node"]["id"] == global_id(world.incidents["shared"])
    )
    assert shared["actions"]["totalCount"] == len(shared["actions"]["edges"]) == 1
    assert shared["updates"]["totalCount"] == len(shared["updates"]["edges"]) == 2
    assert shared["sharedWith"]["totalCount"] == 1
    assert [u["username"] for u in shared["sharedWithUsers"]] == [world.users[PARTNER].username]


def test_links_to_hidden_people_read_as_empty(world, hidden):
    """The lead of "asked" (no longer an officer) and the Bravo author of a timeline entry on
    "shared" are not people P may see: the links read as null, as if never set."""
    client = world.client(PARTNER)
    asked = client.data(
        "query($id: ID!) { node(id: $id) { ... on Incident { lead { id } } } }",
        {"id": global_id(world.incidents["asked"])},
    )
    assert asked == {"node": {"lead": None}}
    assert world.incidents["asked"].lead_id == world.users["former_officer"].pk

    entry = client.data(
        "query($id: ID!) { node(id: $id) { ... on IncidentUpdate { body author { id } } } }",
        {"id": global_id(world.updates["shared_by_bravo"])},
    )
    assert entry == {"node": {"body": "Bravo teams on standby.", "author": None}}


def test_history_of_what_p_sees_shows_nothing_of_what_it_does_not(world, hidden):
    """The incident "shared" was shared with Bravo and named a Bravo user; its history would
    say so. P reads no history at all: every history connection is empty."""
    shared = global_id(world.incidents["shared"])
    officer_view = world.client(OFFICER).data(
        "query($id: ID!) { node(id: $id) { ... on Incident "
        "{ history { edges { node { snapshot } } } } } }",
        {"id": shared},
    )
    assert global_id(world.partners["bravo"]) in json.dumps(officer_view), "the history says it"

    body = world.client(PARTNER).data(EVERYTHING_P_SEES)
    counts = [e["node"]["history"]["totalCount"] for e in body["incidents"]["edges"]]
    counts += [e["node"]["history"]["totalCount"] for e in body["coordinationActions"]["edges"]]
    counts += [e["node"]["history"]["totalCount"] for e in body["partners"]["edges"]]
    counts.append(body["me"]["history"]["totalCount"])
    assert set(counts) == {0}


# --- the audit API ----------------------------------------------------------------------------

AS_OF = """query($id: ID!, $at: DateTime!) { asOf(id: $id, at: $at) {
  __typename at action snapshot object { id }
} }"""


@pytest.mark.parametrize(("kind", "name"), TRAIL_CASES, ids=_ids(TRAIL_CASES))
def test_as_of_a_hidden_row_answers_like_a_missing_one(world, hidden, kind, name):
    client = world.client(PARTNER)
    row = hidden_id(hidden, kind, name)
    at = timezone.now().isoformat()
    seen = answer(client, AS_OF, {"id": row, "at": at})
    assert seen == (200, {"data": {"asOf": None}})
    assert seen == answer(client, AS_OF, {"id": made_up(row), "at": at})


def test_officers_see_their_own_token_at_a_past_instant(world, hidden):
    """Positive control for the next test: asOf does answer for a row the caller may see."""
    token = hidden["ApiToken"]["an officer's token"]
    result = world.client(OFFICER).data(
        "query($id: ID!, $at: DateTime!) { asOf(id: $id, at: $at) { snapshot } }",
        {"id": _gid(token), "at": timezone.now().isoformat()},
    )["asOf"]
    assert result["snapshot"]["name"] == "Watch floor app"


def test_officers_cannot_read_another_users_token_through_the_audit_api(world, hidden):
    client = world.client(OFFICER)
    token = _gid(hidden["ApiToken"]["a Bravo user's token"])
    at = timezone.now().isoformat()
    assert answer(client, AS_OF, {"id": token, "at": at}) == answer(
        client, AS_OF, {"id": made_up(token), "at": at}
    )
    document = FILTERED["audit log by object"][0]
    assert answer(client, document, {"id": token}) == answer(
        client, document, {"id": made_up(token)}
    )


# --- mutations --------------------------------------------------------------------------------

MUTATION = """mutation($input: {input_type}!) {{ {name}(input: $input) {{
  __typename ... on OperationInfo {{ messages {{ kind field code message }} }}
}} }}"""

INPUT_TYPES = {
    "createIncident": "CreateIncidentInput",
    "updateIncident": "UpdateIncidentInput",
    "changeIncidentStatus": "ChangeIncidentStatusInput",
    "addIncidentUpdate": "AddIncidentUpdateInput",
    "shareIncident": "ShareIncidentInput",
    "unshareIncident": "UnshareIncidentInput",
    "createCoordinationAction": "CreateCoordinationActionInput",
    "updateCoordinationAction": "UpdateCoordinationActionInput",
    "acknowledgeCoordinationAction": "AcknowledgeCoordinationActionInput",
    "respondToCoordinationAction": "RespondToCoordinationActionInput",
    "cancelCoordinationAction": "CancelCoordinationActionInput",
    "updatePartner": "UpdatePartnerInput",
    "createContact": "CreateContactInput",
    "updateContact": "UpdateContactInput",
    "deleteContact": "DeleteContactInput",
}


def _version(row) -> int:
    return type(row).objects.get(pk=row.pk).version


# mutation, the hidden kind whose ID goes in, and input(world, row, id) with that ID in place.
def _incident_input(w, row, id_):
    return {"id": id_, "version": _version(row), "severity": "HIGH"}


MUTATION_CASES = {
    "updateIncident": ("Incident", _incident_input, "id"),
    "changeIncidentStatus": (
        "Incident",
        lambda w, row, id_: {"id": id_, "version": _version(row), "status": "ACTIVE"},
        "id",
    ),
    "addIncidentUpdate": (
        "Incident",
        lambda w, row, id_: {"incident": id_, "body": "We can help."},
        "incident",
    ),
    "shareIncident": (
        "Incident",
        lambda w, row, id_: {
            "id": id_,
            "version": _version(row),
            "partners": [global_id(w.partners["alpha"])],
        },
        "id",
    ),
    "unshareIncident": (
        "Incident",
        lambda w, row, id_: {
            "id": id_,
            "version": _version(row),
            "partners": [global_id(w.partners["alpha"])],
        },
        "id",
    ),
    "createCoordinationAction": (
        "Incident",
        lambda w, row, id_: {
            "incident": id_,
            "partner": global_id(w.partners["alpha"]),
            "kind": "BRIEFING",
            "instructions": "Brief us.",
        },
        "incident",
    ),
    "updateCoordinationAction": (
        "CoordinationAction",
        lambda w, row, id_: {"id": id_, "version": _version(row), "priority": "IMMEDIATE"},
        "id",
    ),
    "acknowledgeCoordinationAction": (
        "CoordinationAction",
        lambda w, row, id_: {"id": id_, "version": _version(row)},
        "id",
    ),
    "respondToCoordinationAction": (
        "CoordinationAction",
        lambda w, row, id_: {
            "id": id_,
            "version": _version(row),
            "outcome": "COMPLETED",
            "response": "Done.",
        },
        "id",
    ),
    "cancelCoordinationAction": (
        "CoordinationAction",
        lambda w, row, id_: {"id": id_, "version": _version(row)},
        "id",
    ),
    "updatePartner": ("Partner", lambda w, row, id_: {"id": id_, "active": False}, "id"),
    "createContact": (
        "Partner",
        lambda w, row, id_: {"partner": id_, "name": "Mole", "email": "mole@alpha.example"},
        "partner",
    ),
    "updateContact": ("Contact", lambda w, row, id_: {"id": id_, "title": "Chief"}, "id"),
    "deleteContact": ("Contact", lambda w, row, id_: {"id": id_}, "id"),
}

# IDs of hidden rows inside otherwise acceptable input on rows P does see: the hidden ID is
# resolved (and refused as missing) before anything else is decided.
SHARED = "shared"


def _on_shared(field, list_=False):
    def build(w, row, id_):
        incident = w.incidents[SHARED]
        values = {"id": global_id(incident), "version": _version(incident)}
        values[field] = [id_] if list_ else id_
        return values

    return build


LINK_CASES = {
    "shareIncident with a hidden partner": (
        "shareIncident",
        "Partner",
        _on_shared("partners", True),
        "partners",
    ),
    "shareIncident with a hidden user": (
        "shareIncident",
        "User",
        _on_shared("users", True),
        "users",
    ),
    "unshareIncident with a hidden partner": (
        "unshareIncident",
        "Partner",
        _on_shared("partners", True),
        "partners",
    ),
    "unshareIncident with a hidden user": (
        "unshareIncident",
        "User",
        _on_shared("users", True),
        "users",
    ),
    "updateIncident with a hidden lead": ("updateIncident", "User", _on_shared("lead"), "lead"),
    "createIncident shared with a hidden partner": (
        "createIncident",
        "Partner",
        lambda w, row, id_: {
            "title": "Spill",
            "category": "HAZMAT",
            "severity": "LOW",
            "sharedWith": [id_],
        },
        "sharedWith",
    ),
    "createIncident led by a hidden user": (
        "createIncident",
        "User",
        lambda w, row, id_: {
            "title": "Spill",
            "category": "HAZMAT",
            "severity": "LOW",
            "lead": id_,
        },
        "lead",
    ),
    "createCoordinationAction for a hidden partner": (
        "createCoordinationAction",
        "Partner",
        lambda w, row, id_: {
            "incident": global_id(w.incidents[SHARED]),
            "partner": id_,
            "kind": "BRIEFING",
            "instructions": "Brief us.",
        },
        "partner",
    ),
}

CASES = [
    pytest.param(mutation, kind, name, build, field, id=f"{mutation} <- {kind}: {name}")
    for mutation, (kind, build, field) in MUTATION_CASES.items()
    for name in HIDDEN_KINDS[kind]
] + [
    pytest.param(mutation, kind, name, build, field, id=f"{case} ({name})")
    for case, (mutation, kind, build, field) in LINK_CASES.items()
    for name in HIDDEN_KINDS[kind]
]

NOUNS = {
    "Incident": "incident",
    "CoordinationAction": "coordination action",
    "Partner": "partner",
    "Contact": "contact",
    "User": "user",
}


def _history_counts():
    return [*snapshot(), (get_user_model().history.count(), PartnerMembership.history.count())]


@pytest.mark.parametrize(("mutation", "kind", "name", "build", "field"), CASES)
def test_mutations_refuse_a_hidden_id_exactly_like_a_missing_one(
    world, hidden, mutation, kind, name, build, field
):
    row = hidden[kind][name]
    row_id = _gid(row)
    document = MUTATION.format(input_type=INPUT_TYPES[mutation], name=mutation)
    client = world.client(PARTNER)
    before = _history_counts()
    row_records = type(row).history.filter(id=row.pk).count()

    seen = answer(client, document, {"input": build(world, row, row_id)})

    assert seen == (
        200,
        {
            "data": {
                mutation: {
                    "__typename": "OperationInfo",
                    "messages": [
                        {
                            "kind": "VALIDATION",
                            "field": field,
                            "code": "not_found",
                            "message": f"No {NOUNS[kind]} with this ID.",
                        }
                    ],
                }
            }
        },
    )
    assert seen == answer(client, document, {"input": build(world, row, made_up(row_id))})
    assert _history_counts() == before, "a refused mutation wrote something"
    assert type(row).history.filter(id=row.pk).count() == row_records


def test_every_mutation_taking_an_id_is_walked():
    from opsapi.schema import schema

    every = set(schema._schema.mutation_type.fields)
    walked = set(MUTATION_CASES) | {m for m, *_ in LINK_CASES.values()}
    assert every - walked == {"createPartner"}  # its only IDs are reference data P sees


# --- the export and the admin -----------------------------------------------------------------


@pytest.mark.http_only
def test_the_export_gives_partner_users_nothing_whatever_they_ask(world, hidden):
    client = Client()
    client.force_login(world.users[PARTNER])
    asks = [
        {},
        {"model": "Incident"},
        {"model": "ApiToken", "format": "csv"},
        {"since": "2000-01-01T00:00:00Z", "until": timezone.now().isoformat()},
    ]
    answers = set()
    for params in asks:
        response = client.get("/audit/export/", params)
        assert response.status_code == 403
        answers.add(response.content)
    assert answers == {
        b'{"errors": [{"message": "Only auditors may export the audit trail.", '
        b'"extensions": {"code": "FORBIDDEN"}}]}'
    }
    assert not AuditAccess.objects.filter(user=world.users[PARTNER]).exists()


ADMIN_URLS = [
    ("coordination/incident", "Incident", "never shared"),
    (
        "coordination/coordinationaction",
        "CoordinationAction",
        "Bravo's action on a shared incident",
    ),
    ("partners/partner", "Partner", "another organisation"),
    ("partners/contact", "Contact", "another organisation's contact"),
    ("auth/user", "User", "a Bravo user"),
    ("accounts/apitoken", "ApiToken", "a Bravo user's token"),
    ("accounts/partnermembership", "PartnerMembership", "a Bravo user's membership"),
]


@pytest.mark.parametrize("staff", [False, True], ids=["partner user", "partner user made staff"])
@pytest.mark.parametrize(("path", "kind", "name"), ADMIN_URLS, ids=[p for p, *_ in ADMIN_URLS])
@pytest.mark.parametrize("page", ["change", "history", "delete"])
@pytest.mark.http_only
def test_admin_pages_of_hidden_rows_answer_like_missing_ones(
    world, hidden, staff, path, kind, name, page
):
    user = world.users[PARTNER]
    if staff:
        user.is_staff = True
        save_with_history(user, actor=None)
    client = Client()
    client.force_login(user)
    pk = hidden[kind][name].pk
    row = client.get(f"/admin/{path}/{pk}/{page}/")
    missing = client.get(f"/admin/{path}/{MADE_UP_PK}/{page}/")
    assert row.status_code == missing.status_code == (403 if staff else 302)
    if staff:
        assert row.content == missing.content
    else:
        assert row["Location"].replace(str(pk), "?") == missing["Location"].replace(
            str(MADE_UP_PK), "?"
        )
