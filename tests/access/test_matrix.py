"""The permission matrix of docs/access.md, cell by cell.

Each role against each list (the rows it sees, through the list and through ``nodes``), each
nested visibility rule, history, the TLP rules, each of the 16 mutations (allowed: it succeeds
and writes its history record; refused: the documented code, and nothing written), the audit
API (auditLog, asOf, auditReads, inclusionProof), the HTTP export and the Django admin, screen
by screen.
"""

import dataclasses
import json
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from strawberry import relay

from coordination.choices import Tlp
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from coordination.services import share_incident, update_incident
from opsapi.accounts.models import ApiToken
from opsapi.accounts.services import issue_token
from opsapi.audit import trail
from opsapi.audit.models import AuditAccess
from partners.models import Contact, Partner, Sector, State, UrbanArea
from tests.access.conftest import (
    ADMINISTRATOR,
    ANONYMOUS,
    AUDITOR_ROLE,
    NO_ROLE,
    OFFICER,
    PARTNER,
    ROLES,
    snapshot,
)
from tests.factories import global_id, make_incident

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not_found"

EVERY_INCIDENT = (
    "shared",
    "asked",
    "bravo_only",
    "red_unnamed",
    "red_named",
    "red_bravo_named",
    "unshared",
)
EVERY_ACTION = (
    "alpha_on_shared",
    "bravo_on_shared",
    "alpha_on_asked",
    "bravo_on_bravo_only",
    "alpha_on_red_unnamed",
)
EVERY_UPDATE = (
    "shared_internal",
    "shared_public",
    "shared_by_bravo",
    "bravo_only_public",
    "red_unnamed_public",
)
EVERY_USER = (
    OFFICER,
    PARTNER,
    AUDITOR_ROLE,
    ADMINISTRATOR,
    NO_ROLE,
    "alpha_colleague",
    "bravo",
    "bravo_colleague",
    "former_officer",
)

# Which rows of the world each role sees: the "reads" rows of the matrix.
SEEN = {
    "incidents": {
        OFFICER: EVERY_INCIDENT,
        PARTNER: ("shared", "asked", "red_named"),
        AUDITOR_ROLE: EVERY_INCIDENT,
        ADMINISTRATOR: (),
        NO_ROLE: (),
    },
    "actions": {
        OFFICER: EVERY_ACTION,
        PARTNER: ("alpha_on_shared", "alpha_on_asked"),
        AUDITOR_ROLE: EVERY_ACTION,
        ADMINISTRATOR: (),
        NO_ROLE: (),
    },
    "updates": {
        OFFICER: EVERY_UPDATE,
        PARTNER: ("shared_public", "shared_by_bravo"),
        AUDITOR_ROLE: EVERY_UPDATE,
        ADMINISTRATOR: (),
        NO_ROLE: (),
    },
    "partners": {
        OFFICER: ("alpha", "bravo"),
        PARTNER: ("alpha",),
        AUDITOR_ROLE: ("alpha", "bravo"),
        ADMINISTRATOR: ("alpha", "bravo"),
        NO_ROLE: (),
    },
    "contacts": {
        OFFICER: ("alpha", "bravo"),
        PARTNER: ("alpha",),
        AUDITOR_ROLE: ("alpha", "bravo"),
        ADMINISTRATOR: ("alpha", "bravo"),
        NO_ROLE: (),
    },
    "users": {
        OFFICER: EVERY_USER,
        PARTNER: (OFFICER, PARTNER, "alpha_colleague"),
        AUDITOR_ROLE: EVERY_USER,
        ADMINISTRATOR: EVERY_USER,
        NO_ROLE: (),
    },
}

# How each family is listed, and what names a row in the answer.
INCIDENT_LIST = "{ incidents { totalCount edges { node { id } } } }"
ACTION_LIST = "{ coordinationActions { totalCount edges { node { id } } } }"
TIMELINE = "{ incidents { edges { node { updates { totalCount edges { node { id } } } } } } }"
PARTNER_LIST = "{ partners { totalCount edges { node { id } } } }"
CONTACTS_OF_PARTNERS = (
    "{ partners { edges { node { contacts { totalCount edges { node { id } } } } } } }"
)
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
ME = "{ me { id username } }"
REFERENCE_DATA = "{ states { totalCount } urbanAreas { totalCount } sectors { totalCount } }"


def _rows(world, family) -> dict:
    return {
        "incidents": world.incidents,
        "actions": world.actions,
        "updates": world.updates,
        "partners": world.partners,
        "contacts": world.contacts,
        "users": world.users,
    }[family]


def _ids_in(connection) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def listed_ids(client, family) -> set[str] | None:
    """The global IDs the family's list entry point returns (None: it has none)."""
    if family == "incidents":
        result = client.data(INCIDENT_LIST)["incidents"]
        assert result["totalCount"] == len(result["edges"])
        return set(_ids_in(result))
    if family == "actions":
        result = client.data(ACTION_LIST)["coordinationActions"]
        assert result["totalCount"] == len(result["edges"])
        return set(_ids_in(result))
    if family == "partners":
        result = client.data(PARTNER_LIST)["partners"]
        assert result["totalCount"] == len(result["edges"])
        return set(_ids_in(result))
    if family == "updates":
        edges = client.data(TIMELINE)["incidents"]["edges"]
        return {i for edge in edges for i in _ids_in(edge["node"]["updates"])}
    if family == "contacts":
        edges = client.data(CONTACTS_OF_PARTNERS)["partners"]["edges"]
        return {i for edge in edges for i in _ids_in(edge["node"]["contacts"])}
    return None  # users have no list: they are reached through node and nested fields


# --- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(SEEN))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_rows_in_lists_and_nodes(world, role, family):
    rows = _rows(world, family)
    expected = {global_id(rows[key]) for key in SEEN[family][role]}
    client = world.client(role)

    listed = listed_ids(client, family)
    if listed is not None:
        assert listed == expected

    every = [global_id(row) for row in rows.values()]
    found = client.data(NODES, {"ids": every})["nodes"]
    assert {node["id"] for node in found if node is not None} == expected


@pytest.mark.parametrize("role", ROLES)
def test_every_role_knows_who_it_is(world, role):
    assert world.client(role).data(ME)["me"]["username"] == world.users[role].username


@pytest.mark.parametrize("role", ROLES)
def test_reference_data_is_seen_by_every_role_with_a_role(world, role):
    result = world.client(role).data(REFERENCE_DATA)
    counts = {name: result[name]["totalCount"] for name in ("states", "urbanAreas", "sectors")}
    if role == NO_ROLE:
        assert counts == {"states": 0, "urbanAreas": 0, "sectors": 0}
    else:
        assert counts == {
            "states": State.objects.count(),
            "urbanAreas": UrbanArea.objects.count(),
            "sectors": Sector.objects.count(),
        }


NESTED_ON_INCIDENT = """
query($id: ID!) { node(id: $id) { ... on Incident {
  actions { totalCount edges { node { id } } }
  updates { totalCount edges { node { id } } }
  sharedWith { totalCount edges { node { id } } }
  sharedWithUsers { id }
} } }"""

NESTED_ON_PARTNER = """
query($id: ID!) { node(id: $id) { ... on Partner {
  contacts { totalCount edges { node { id partner { id } } } }
  actions { totalCount edges { node { id incident { id } } } }
} } }"""

# incident "shared": its actions, timeline, partners and named users, as each role sees them.
NESTED_SHARED = {
    OFFICER: (
        EVERY_ACTION[:2],
        ("shared_internal", "shared_public", "shared_by_bravo"),
        ("alpha", "bravo"),
        (PARTNER, "bravo"),
    ),
    PARTNER: (("alpha_on_shared",), ("shared_public", "shared_by_bravo"), ("alpha",), (PARTNER,)),
    AUDITOR_ROLE: (
        EVERY_ACTION[:2],
        ("shared_internal", "shared_public", "shared_by_bravo"),
        ("alpha", "bravo"),
        (PARTNER, "bravo"),
    ),
    ADMINISTRATOR: None,
    NO_ROLE: None,
}

# partner Alpha: its contacts and the actions addressed to it, as each role sees them.
NESTED_ALPHA = {
    OFFICER: (("alpha",), ("alpha_on_shared", "alpha_on_asked", "alpha_on_red_unnamed")),
    PARTNER: (("alpha",), ("alpha_on_shared", "alpha_on_asked")),
    AUDITOR_ROLE: (("alpha",), ("alpha_on_shared", "alpha_on_asked", "alpha_on_red_unnamed")),
    ADMINISTRATOR: (("alpha",), ()),
    NO_ROLE: None,
}


@pytest.mark.parametrize("role", ROLES)
def test_nested_lists_of_an_incident_follow_the_same_rules(world, role):
    node = world.client(role).data(NESTED_ON_INCIDENT, {"id": global_id(world.incidents["shared"])})
    expected = NESTED_SHARED[role]
    if expected is None:
        assert node["node"] is None
        return
    actions, updates, partners, users = expected
    node = node["node"]
    assert set(_ids_in(node["actions"])) == {global_id(world.actions[k]) for k in actions}
    assert node["actions"]["totalCount"] == len(actions)
    assert set(_ids_in(node["updates"])) == {global_id(world.updates[k]) for k in updates}
    assert node["updates"]["totalCount"] == len(updates)
    assert set(_ids_in(node["sharedWith"])) == {global_id(world.partners[k]) for k in partners}
    assert node["sharedWith"]["totalCount"] == len(partners)
    assert {u["id"] for u in node["sharedWithUsers"]} == {global_id(world.users[k]) for k in users}


@pytest.mark.parametrize("role", ROLES)
def test_nested_lists_of_a_partner_follow_the_same_rules(world, role):
    alpha = world.partners["alpha"]
    node = world.client(role).data(NESTED_ON_PARTNER, {"id": global_id(alpha)})["node"]
    expected = NESTED_ALPHA[role]
    if expected is None:
        assert node is None
        return
    contacts, actions = expected
    assert set(_ids_in(node["contacts"])) == {global_id(world.contacts[k]) for k in contacts}
    assert node["contacts"]["totalCount"] == len(contacts)
    assert {e["node"]["partner"]["id"] for e in node["contacts"]["edges"]} == {global_id(alpha)}
    assert set(_ids_in(node["actions"])) == {global_id(world.actions[k]) for k in actions}
    assert node["actions"]["totalCount"] == len(actions)


HISTORY = """
query($ids: [ID!]!) { nodes(ids: $ids) {
  ... on Incident { history { totalCount } }
  ... on IncidentUpdate { history { totalCount } }
  ... on CoordinationAction { history { totalCount } }
  ... on Partner { history { totalCount } }
  ... on Contact { history { totalCount } }
  ... on State { history { totalCount } }
  ... on UrbanArea { history { totalCount } }
  ... on Sector { history { totalCount } }
  ... on User { history { totalCount } }
} }"""

HISTORY_OF = (
    "incident",
    "update",
    "action",
    "partner",
    "contact",
    "state",
    "urban_area",
    "sector",
    "user",
)
# Per role: for each object above, None if the object is hidden, else whether its history
# shows records.
HISTORY_SEEN = {
    OFFICER: (True,) * 9,
    PARTNER: (False,) * 9,
    AUDITOR_ROLE: (True,) * 9,
    ADMINISTRATOR: (None, None, None, True, True, True, True, True, True),
    NO_ROLE: (None,) * 9,
}


@pytest.mark.parametrize("role", ROLES)
def test_history_is_read_by_officers_auditors_and_administrators_but_never_partner_users(
    world, role
):
    objects = [
        world.incidents["shared"],
        world.updates["shared_public"],
        world.actions["alpha_on_shared"],
        world.partners["alpha"],
        world.contacts["alpha"],
        State.objects.get(code="VA"),
        UrbanArea.objects.filter(states__code="VA").first(),
        Sector.objects.get(code="energy"),
        world.users[PARTNER],
    ]
    nodes = world.client(role).data(HISTORY, {"ids": [global_id(o) for o in objects]})["nodes"]
    seen = tuple(None if n is None else n["history"]["totalCount"] > 0 for n in nodes)
    assert dict(zip(HISTORY_OF, seen, strict=True)) == dict(
        zip(HISTORY_OF, HISTORY_SEEN[role], strict=True)
    )


@pytest.mark.parametrize(
    "query",
    [
        INCIDENT_LIST,
        ACTION_LIST,
        PARTNER_LIST,
        REFERENCE_DATA,
        ME,
        TIMELINE,
        '{ node(id: "SW5jaWRlbnQ6MQ==") { id } }',
        '{ nodes(ids: ["SW5jaWRlbnQ6MQ=="]) { id } }',
    ],
)
def test_anonymous_callers_read_nothing_and_get_an_authentication_error(world, query):
    response = world.client(ANONYMOUS).post(query)
    assert response.status_code == 401
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- TLP --------------------------------------------------------------------------------------

INCIDENT_IDS = "{ incidents { totalCount edges { node { id tlp } } } }"


def incidents_seen_by(world, who) -> set[str]:
    result = world.client(who).data(INCIDENT_IDS)["incidents"]
    return set(_ids_in(result))


@pytest.mark.parametrize("tlp", [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED])
def test_shared_incidents_are_seen_up_to_amber_strict_and_red_only_by_named_users(world, tlp):
    officer = world.users[OFFICER]
    shared, asked = world.incidents["shared"], world.incidents["asked"]
    # The same incidents re-marked: "shared" is shared with Alpha and names P (not P's
    # colleague); "asked" reaches Alpha only through an action and names nobody.
    for incident in (shared, asked):
        update_incident(actor=officer, incident=incident, version=incident.version, tlp=tlp)

    p_sees = incidents_seen_by(world, PARTNER)
    colleague_sees = incidents_seen_by(world, "alpha_colleague")
    both = {global_id(shared), global_id(asked)}
    if tlp == Tlp.RED:
        assert p_sees & both == {global_id(shared)}, "named on it"
        assert colleague_sees & both == set(), "same organisation, not named"
    else:
        assert p_sees & both == both
        assert colleague_sees & both == both


def test_a_red_incident_naming_a_user_of_another_organisation_is_seen_by_that_user_only(world):
    red = global_id(world.incidents["red_bravo_named"])  # shared with Alpha, names Bravo's user
    assert red in incidents_seen_by(world, "bravo")
    for other in (PARTNER, "alpha_colleague", "bravo_colleague"):
        assert red not in incidents_seen_by(world, other), other


@pytest.mark.parametrize("tlp", [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT])
def test_being_named_shows_no_incident_below_red_that_the_organisation_does_not_have(world, tlp):
    officer = world.users[OFFICER]
    incident = make_incident(
        officer, title="Named but not shared", tlp=tlp, shared_with=[world.partners["bravo"]]
    )
    share_incident(actor=officer, incident=incident, version=1, users=[world.users[PARTNER]])
    assert global_id(incident) not in incidents_seen_by(world, PARTNER)
    assert global_id(incident) in incidents_seen_by(world, "bravo")


def test_a_red_incident_shared_with_the_organisation_is_hidden_from_its_unnamed_users(world):
    seen = incidents_seen_by(world, PARTNER)
    assert global_id(world.incidents["red_unnamed"]) not in seen
    assert global_id(world.incidents["red_named"]) in seen


# --- mutations --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A mutation run against rows the partner user P can see (so that its refusals are
    ``forbidden``, not ``not_found``), and the history record it writes when allowed."""

    input_type: str
    values: Callable  # world -> input
    record: str  # history_type of the record it writes: + ~ -
    target: Callable | None = None  # world -> the row it changes (None: creates one)


def _version(obj) -> int:
    return type(obj).objects.get(pk=obj.pk).version


MUTATIONS = {
    "createIncident": Mutation(
        "CreateIncidentInput",
        lambda w: {
            "title": "Chemical release at a rail yard",
            "category": "HAZMAT",
            "severity": "HIGH",
        },
        "+",
    ),
    "updateIncident": Mutation(
        "UpdateIncidentInput",
        lambda w: {
            "id": global_id(w.incidents["shared"]),
            "version": _version(w.incidents["shared"]),
            "severity": "HIGH",
        },
        "~",
        lambda w: w.incidents["shared"],
    ),
    "changeIncidentStatus": Mutation(
        "ChangeIncidentStatusInput",
        lambda w: {
            "id": global_id(w.incidents["shared"]),
            "version": _version(w.incidents["shared"]),
            "status": "ACTIVE",
        },
        "~",
        lambda w: w.incidents["shared"],
    ),
    "addIncidentUpdate": Mutation(
        "AddIncidentUpdateInput",
        lambda w: {"incident": global_id(w.incidents["shared"]), "body": "Water receding."},
        "+",
    ),
    "shareIncident": Mutation(
        "ShareIncidentInput",
        lambda w: {
            "id": global_id(w.incidents["asked"]),
            "version": _version(w.incidents["asked"]),
            "partners": [global_id(w.partners["alpha"])],
        },
        "~",
        lambda w: w.incidents["asked"],
    ),
    "unshareIncident": Mutation(
        "UnshareIncidentInput",
        lambda w: {
            "id": global_id(w.incidents["shared"]),
            "version": _version(w.incidents["shared"]),
            "partners": [global_id(w.partners["alpha"])],
        },
        "~",
        lambda w: w.incidents["shared"],
    ),
    "createCoordinationAction": Mutation(
        "CreateCoordinationActionInput",
        lambda w: {
            "incident": global_id(w.incidents["shared"]),
            "partner": global_id(w.partners["alpha"]),
            "kind": "BRIEFING",
            "instructions": "Brief the county executive.",
        },
        "+",
    ),
    "updateCoordinationAction": Mutation(
        "UpdateCoordinationActionInput",
        lambda w: {
            "id": global_id(w.actions["alpha_on_shared"]),
            "version": 1,
            "priority": "IMMEDIATE",
        },
        "~",
        lambda w: w.actions["alpha_on_shared"],
    ),
    "acknowledgeCoordinationAction": Mutation(
        "AcknowledgeCoordinationActionInput",
        lambda w: {"id": global_id(w.actions["alpha_on_shared"]), "version": 1},
        "~",
        lambda w: w.actions["alpha_on_shared"],
    ),
    "respondToCoordinationAction": Mutation(
        "RespondToCoordinationActionInput",
        lambda w: {
            "id": global_id(w.actions["alpha_on_shared"]),
            "version": 1,
            "outcome": "COMPLETED",
            "response": "Shelters hold 400 people.",
        },
        "~",
        lambda w: w.actions["alpha_on_shared"],
    ),
    "cancelCoordinationAction": Mutation(
        "CancelCoordinationActionInput",
        lambda w: {"id": global_id(w.actions["alpha_on_shared"]), "version": 1},
        "~",
        lambda w: w.actions["alpha_on_shared"],
    ),
    "createPartner": Mutation(
        "CreatePartnerInput",
        lambda w: {"name": "Charlie Port Authority", "kind": "FEDERAL_AGENCY", "level": "FEDERAL"},
        "+",
    ),
    "updatePartner": Mutation(
        "UpdatePartnerInput",
        lambda w: {"id": global_id(w.partners["alpha"]), "watchPhone": "+1 202 555 0100"},
        "~",
        lambda w: w.partners["alpha"],
    ),
    "createContact": Mutation(
        "CreateContactInput",
        lambda w: {
            "partner": global_id(w.partners["alpha"]),
            "name": "Casey Alpha",
            "email": "casey@alpha.example",
        },
        "+",
    ),
    "updateContact": Mutation(
        "UpdateContactInput",
        lambda w: {"id": global_id(w.contacts["alpha"]), "title": "Duty officer"},
        "~",
        lambda w: w.contacts["alpha"],
    ),
    "deleteContact": Mutation(
        "DeleteContactInput",
        lambda w: {"id": global_id(w.contacts["alpha"])},
        "-",
        lambda w: w.contacts["alpha"],
    ),
}

# The mutation rows of the matrix: officer, partner user, auditor, administrator, no role.
# (Anonymous callers get HTTP 401 for every one.)
EXPECTED = {
    "createIncident": (OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "updateIncident": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "changeIncidentStatus": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "addIncidentUpdate": (OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "shareIncident": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "unshareIncident": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "createCoordinationAction": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "updateCoordinationAction": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "acknowledgeCoordinationAction": (OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "respondToCoordinationAction": (OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "cancelCoordinationAction": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    "createPartner": (OK, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    "updatePartner": (OK, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND),
    "createContact": (OK, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND),
    "updateContact": (OK, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND),
    "deleteContact": (OK, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND),
}

MODELS = {
    model.__name__: model
    for model in (Incident, IncidentUpdate, CoordinationAction, Partner, Contact)
}


def run(client, name, values):
    document = (
        f"mutation($input: {MUTATIONS[name].input_type}!) {{ {name}(input: $input) {{ "
        "__typename ... on Node { id } "
        "... on OperationInfo { messages { kind field code message } } } }"
    )
    return client.post(document, {"input": values})


def history_of(model, pk):
    return model.history.filter(id=pk).order_by("-history_date", "-history_id")


def test_the_matrix_covers_every_mutation_of_the_schema():
    from opsapi.schema import schema

    assert set(schema._schema.mutation_type.fields) == set(EXPECTED) == set(MUTATIONS)


CELLS = [
    (name, role, outcome)
    for name, outcomes in EXPECTED.items()
    for role, outcome in zip(ROLES, outcomes, strict=True)
]


@pytest.mark.parametrize(("name", "role", "outcome"), CELLS)
def test_each_role_may_run_exactly_the_mutations_of_the_matrix(world, name, role, outcome):
    mutation = MUTATIONS[name]
    actor = world.users[role]
    target = mutation.target(world) if mutation.target else None
    records_before = history_of(type(target), target.pk).count() if target else 0
    before = snapshot()

    response = run(world.client(role), name, mutation.values(world))
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body["errors"]
    result = body["data"][name]

    if outcome != OK:
        assert result["__typename"] == "OperationInfo", result
        assert result["messages"][0]["code"] == outcome, result
        assert snapshot() == before, "a refused mutation wrote something"
        return

    assert result["__typename"] != "OperationInfo", result
    written = relay.GlobalID.from_id(result["id"])
    records = history_of(MODELS[written.type_name], int(written.node_id))
    assert records.count() == records_before + 1
    record = records.first()
    assert record.history_user_id == actor.pk
    assert record.history_type == mutation.record


@pytest.mark.parametrize("name", list(EXPECTED))
def test_anonymous_callers_run_no_mutation(world, name):
    before = snapshot()
    response = run(world.client(ANONYMOUS), name, MUTATIONS[name].values(world))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert snapshot() == before


def test_updates_posted_by_partner_users_are_always_partner_visible(world):
    values = {
        "incident": global_id(world.incidents["shared"]),
        "body": "County shelters at 80%.",
        "partnerVisible": False,
    }
    partner_result = run(world.client(PARTNER), "addIncidentUpdate", values).json()
    officer_result = run(world.client(OFFICER), "addIncidentUpdate", values).json()

    def posted(result):
        global_id_ = result["data"]["addIncidentUpdate"]["id"]
        return IncidentUpdate.objects.get(pk=relay.GlobalID.from_id(global_id_).node_id)

    assert posted(partner_result).partner_visible is True
    assert posted(officer_result).partner_visible is False, "officers may keep notes internal"


def test_an_officer_answers_an_action_on_the_partners_behalf(world):
    action = world.actions["bravo_on_shared"]
    values = {"id": global_id(action), "version": 1, "outcome": "IN_PROGRESS", "response": "Phoned"}
    result = run(world.client(OFFICER), "respondToCoordinationAction", values).json()
    assert result["data"]["respondToCoordinationAction"]["__typename"] == "CoordinationAction"
    action.refresh_from_db()
    assert action.responded_by == world.users[OFFICER]


def test_partner_users_answer_only_their_own_organisations_actions(world):
    values = {"id": global_id(world.actions["bravo_on_shared"]), "version": 1}
    by_bravo = run(world.client("bravo"), "acknowledgeCoordinationAction", values).json()
    assert by_bravo["data"]["acknowledgeCoordinationAction"]["__typename"] == "CoordinationAction"

    values["version"] = 2
    by_alpha = run(world.client(PARTNER), "acknowledgeCoordinationAction", values).json()
    [message] = by_alpha["data"]["acknowledgeCoordinationAction"]["messages"]
    assert message["code"] == NOT_FOUND


# --- the audit API ----------------------------------------------------------------------------

AUDIT_LOG = "{ auditLog(first: 5) { totalCount edges { node { at objectId } } } }"
AS_OF = "query($id: ID!, $at: DateTime!) { asOf(id: $id, at: $at) { at objectId snapshot } }"
AUDIT_READS = "{ auditReads { totalCount edges { node { operation user { username } } } } }"

# auditLog, asOf, auditReads: what each role gets (anonymous: HTTP 401 for all three).
AUDIT_API = {
    OFFICER: ("all", "record", "none"),
    PARTNER: ("none", "null", "none"),
    AUDITOR_ROLE: ("all", "record", "all"),
    ADMINISTRATOR: ("none", "null", "none"),
    NO_ROLE: ("none", "null", "none"),
}


@pytest.mark.parametrize("role", ROLES)
def test_the_audit_log_lists_every_record_to_officers_and_auditors_only(world, role):
    log = world.client(role).data(AUDIT_LOG)["auditLog"]
    if AUDIT_API[role][0] == "all":
        # Officers see every record but those of other users' API tokens.
        hidden = ApiToken.history.exclude(user=world.users[role]) if role == OFFICER else []
        assert log["totalCount"] == trail.count(trail.TrailFilter()) - len(hidden)
        assert len(log["edges"]) == 5
    else:
        assert log == {"totalCount": 0, "edges": []}
    # The attempt is on the record whoever made it.
    assert AuditAccess.objects.filter(user=world.users[role], operation="auditLog").exists()


@pytest.mark.parametrize("role", ROLES)
def test_as_of_shows_officers_and_auditors_any_object_at_a_past_instant(world, role):
    from django.utils import timezone

    # An incident no partner user sees, as it stood before it was re-marked.
    incident = world.incidents["unshared"]
    before = timezone.now()
    update_incident(actor=world.users[OFFICER], incident=incident, version=1, tlp=Tlp.RED)
    variables = {"id": global_id(incident), "at": before.isoformat()}
    as_of = world.client(role).data(AS_OF, variables)["asOf"]
    if AUDIT_API[role][1] == "record":
        assert as_of["objectId"] == global_id(incident)
        assert as_of["snapshot"]["tlp"] == "CLEAR"
    else:
        assert as_of is None


@pytest.mark.parametrize("role", ROLES)
def test_who_read_the_trail_is_read_by_auditors_only(world, role):
    world.client(OFFICER).data(AUDIT_LOG)  # a read by someone else
    recorded = AuditAccess.objects.count()  # this read is recorded after it ran
    reads = world.client(role).data(AUDIT_READS)["auditReads"]
    if AUDIT_API[role][2] == "all":
        assert reads["totalCount"] == recorded > 0
        users = {edge["node"]["user"]["username"] for edge in reads["edges"]}
        assert world.users[OFFICER].username in users
    else:
        assert reads == {"totalCount": 0, "edges": []}


PROOFS = """
query($id: ID!) { node(id: $id) { ... on Partner { history { edges { node {
  inclusionProof { log leafIndex treeSize checkpoint { number } }
} } } } } }"""
# inclusionProof of each record of a partner's history: what each role gets (the
# administrator reads that history; the partner user reads none).
PROOFS_SEEN = {
    OFFICER: "null",
    PARTNER: "no records",
    AUDITOR_ROLE: "proof",
    ADMINISTRATOR: "proof",
    NO_ROLE: "hidden",
}


@pytest.mark.parametrize("role", ROLES)
def test_inclusion_proofs_are_given_to_auditors_and_administrators(world, role, settings):
    from opsapi.audit import signing
    from opsapi.audit.checkpoints import take_checkpoint

    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signing.generate_private_key())
    take_checkpoint()
    partner = world.partners["alpha"]
    node = world.client(role).data(PROOFS, {"id": global_id(partner)})["node"]
    if PROOFS_SEEN[role] == "hidden":
        assert node is None
        return
    proofs = [edge["node"]["inclusionProof"] for edge in node["history"]["edges"]]
    if PROOFS_SEEN[role] == "no records":
        assert proofs == []
    elif PROOFS_SEEN[role] == "null":
        assert proofs
        assert set(proofs) == {None}
    else:
        assert len(proofs) == partner.history.count()
        assert {(p["log"], p["checkpoint"]["number"]) for p in proofs} == {
            (Partner.history.model._meta.db_table, 1)
        }
    # The read is on the record whoever made it.
    assert AuditAccess.objects.filter(user=world.users[role], operation="inclusionProof").exists()


@pytest.mark.parametrize("query", [AUDIT_LOG, AUDIT_READS, PROOFS])
def test_anonymous_callers_get_no_audit_api(world, query):
    response = world.client(ANONYMOUS).post(query)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not AuditAccess.objects.exists()


def test_anonymous_callers_get_no_as_of(world):
    variables = {"id": global_id(world.partners["alpha"]), "at": "2026-01-01T00:00:00Z"}
    response = world.client(ANONYMOUS).post(AS_OF, variables)
    assert response.status_code == 401
    assert "data" not in response.json()


# --- the HTTP export --------------------------------------------------------------------------

# /audit/export/: officer, partner user, auditor, administrator, no role.
EXPORT_EXPECTED = dict(zip(ROLES, (403, 403, 200, 403, 403), strict=True))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.http_only
def test_only_auditors_download_the_export(world, role):
    response = admin_client(world, role).get("/audit/export/", {"format": "jsonl"})
    assert response.status_code == EXPORT_EXPECTED[role]
    if response.status_code == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert not AuditAccess.objects.filter(operation="export").exists()
        return
    lines = b"".join(response.streaming_content).splitlines()
    assert json.loads(lines[-1])["summary"]["count"] == trail.count(trail.TrailFilter())
    assert AuditAccess.objects.get(operation="export").user == world.users[role]


@pytest.mark.http_only
def test_anonymous_callers_get_no_export(world):
    response = Client().get("/audit/export/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    browser = Client().get("/audit/export/", headers={"Accept": "text/html"})
    assert browser.status_code == 302
    assert browser["Location"].startswith("/login/")


# --- the Django admin -------------------------------------------------------------------------

ADMIN_PAGES = {
    "index": "/admin/",
    "partners": "/admin/partners/partner/",
    "add partner": "/admin/partners/partner/add/",
    "contacts": "/admin/partners/contact/",
    "states": "/admin/partners/state/",
    "add state": "/admin/partners/state/add/",
    "incidents": "/admin/coordination/incident/",
    "actions": "/admin/coordination/coordinationaction/",
    "users": "/admin/auth/user/",
    "add user": "/admin/auth/user/add/",
    "roles": "/admin/auth/group/",
    "partner memberships": "/admin/accounts/partnermembership/",
    "API tokens": "/admin/accounts/apitoken/",
    "add API token": "/admin/accounts/apitoken/add/",
}
LOGIN = 302  # not staff: sent to the admin's login page

# page: officer, partner user, auditor, administrator, no role (anonymous: LOGIN everywhere)
ADMIN_EXPECTED = {
    "index": (200, LOGIN, 200, 200, LOGIN),
    "partners": (200, LOGIN, 200, 200, LOGIN),
    "add partner": (200, LOGIN, 403, 200, LOGIN),
    "contacts": (200, LOGIN, 200, 200, LOGIN),
    "states": (200, LOGIN, 200, 200, LOGIN),
    "add state": (403, LOGIN, 403, 200, LOGIN),
    "incidents": (200, LOGIN, 200, 403, LOGIN),
    "actions": (200, LOGIN, 200, 403, LOGIN),
    "users": (403, LOGIN, 200, 200, LOGIN),
    "add user": (403, LOGIN, 403, 200, LOGIN),
    "roles": (403, LOGIN, 403, 200, LOGIN),
    "partner memberships": (200, LOGIN, 200, 200, LOGIN),
    "API tokens": (403, LOGIN, 200, 200, LOGIN),
    "add API token": (403, LOGIN, 403, 200, LOGIN),
}

ADMIN_CELLS = [
    (page, role, status)
    for page, statuses in ADMIN_EXPECTED.items()
    for role, status in zip((*ROLES, ANONYMOUS), (*statuses, LOGIN), strict=True)
]


def admin_client(world, role) -> Client:
    client = Client()
    if role != ANONYMOUS:
        client.force_login(world.users[role])
    return client


@pytest.mark.parametrize(("page", "role", "status"), ADMIN_CELLS)
@pytest.mark.http_only
def test_admin_pages_open_to_exactly_the_roles_of_the_matrix(world, page, role, status):
    response = admin_client(world, role).get(ADMIN_PAGES[page])
    assert response.status_code == status
    if status == LOGIN:
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.http_only
def test_admin_lists_show_officers_and_auditors_every_incident_and_action(world):
    for role in (OFFICER, AUDITOR_ROLE):
        client = admin_client(world, role)
        for page, model in (("incidents", Incident), ("actions", CoordinationAction)):
            response = client.get(ADMIN_PAGES[page])
            assert response.context_data["cl"].result_count == model.objects.count(), page


@pytest.mark.http_only
def test_administrators_set_roles_and_membership_on_the_users_page(world):
    page = f"/admin/auth/user/{world.users[PARTNER].pk}/change/"
    response = admin_client(world, ADMINISTRATOR).get(page)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"roles", "partner"} <= set(form.fields)
    assert form.fields["partner"].initial == world.partners["alpha"].pk
    assert admin_client(world, OFFICER).get(page).status_code == 403


@pytest.mark.http_only
def test_auditors_see_every_api_token_in_the_admin(world):
    before = ApiToken.objects.count()  # the world's own tokens, one per user
    issue_token(user=world.users[OFFICER], name="Watch floor app", actor=world.users[OFFICER])
    response = admin_client(world, AUDITOR_ROLE).get(ADMIN_PAGES["API tokens"])
    assert response.context_data["cl"].result_count == ApiToken.objects.count() == before + 1


@pytest.mark.http_only
def test_administrators_read_a_users_recorded_history_in_the_admin(world):
    partner_user = world.users[PARTNER]
    assert get_user_model().history.filter(id=partner_user.pk).exists()
    page = f"/admin/auth/user/{partner_user.pk}/history/"
    response = admin_client(world, ADMINISTRATOR).get(page)
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count > 0


# Each admin screen, per role: v = list, change page (read-only) and history page; a = add
# page; c = the change page saves (else a POST is refused, 403, nothing written); d = delete
# page. Missing letters are 403. Partner users, people without a role and anonymous callers
# are not staff: every page sends them to the login page.
ADMIN_RIGHTS = {
    # model: (officer, auditor, administrator)
    "coordination/incident": ("v", "v", ""),
    "coordination/coordinationaction": ("v", "v", ""),
    "partners/partner": ("vac", "v", "vac"),
    "partners/contact": ("vacd", "v", "vacd"),
    "partners/state": ("v", "v", "vacd"),
    "partners/urbanarea": ("v", "v", "vacd"),
    "partners/sector": ("v", "v", "vacd"),
    "auth/user": ("", "v", "vacd"),  # d: the delete page deactivates (never deletes)
    "auth/group": ("", "", "v"),
    "accounts/partnermembership": ("v", "v", "v"),
    "accounts/apitoken": ("", "v", "va"),
    "audit/auditaccess": ("", "v", "v"),
    "audit/auditcheckpoint": ("", "v", "v"),
}
STAFF = (OFFICER, AUDITOR_ROLE, ADMINISTRATOR)


def _admin_row(world, model):
    from django.contrib.auth.models import Group

    from opsapi.accounts.access import AUDITOR
    from opsapi.accounts.models import PartnerMembership
    from opsapi.audit.checkpoints import take_checkpoint

    rows = {
        "coordination/incident": lambda: world.incidents["unshared"],
        "coordination/coordinationaction": lambda: world.actions["bravo_on_shared"],
        "partners/partner": lambda: world.partners["bravo"],
        "partners/contact": lambda: world.contacts["bravo"],
        "partners/state": lambda: State.objects.get(code="WY"),
        "partners/urbanarea": lambda: UrbanArea.objects.order_by("pk").first(),
        "partners/sector": lambda: Sector.objects.get(code="energy"),
        "auth/user": lambda: world.users["bravo"],
        "auth/group": lambda: Group.objects.get(name=AUDITOR),
        "accounts/partnermembership": lambda: PartnerMembership.objects.get(
            user=world.users["bravo"]
        ),
        "accounts/apitoken": lambda: issue_token(
            user=world.users["bravo"], name="Bravo app", actor=world.users["bravo"]
        )[0],
        "audit/auditaccess": lambda: AuditAccess.record(
            user=world.users[OFFICER], operation="history", target="node.history", arguments={}
        ),
        "audit/auditcheckpoint": take_checkpoint,
    }
    return rows[model]()


ADMIN_RIGHT_CELLS = [
    (model, role, rights[STAFF.index(role)] if role in STAFF else None)
    for model, rights in ADMIN_RIGHTS.items()
    for role in (*ROLES, ANONYMOUS)
]


@pytest.mark.parametrize(("model", "role", "rights"), ADMIN_RIGHT_CELLS)
@pytest.mark.http_only
def test_each_admin_screen_offers_each_role_exactly_its_rights(world, model, role, rights):
    row = _admin_row(world, model)
    base = f"/admin/{model}/"
    pages = {
        "list": base,
        "change": f"{base}{row.pk}/change/",
        "history": f"{base}{row.pk}/history/",
        "add": f"{base}add/",
        "delete": f"{base}{row.pk}/delete/",
    }
    client = admin_client(world, role)
    got = {name: client.get(url) for name, url in pages.items()}

    if rights is None:  # not staff
        for name, response in got.items():
            assert response.status_code == LOGIN, name
            assert response["Location"].startswith("/admin/login/"), name
        return

    viewing = 200 if "v" in rights else 403
    expected = {
        "list": viewing,
        "change": viewing,
        "history": viewing,
        "add": 200 if "a" in rights else 403,
        "delete": 200 if "d" in rights else 403,
    }
    assert {name: r.status_code for name, r in got.items()} == expected
    if "v" not in rights:
        return
    saves = 'name="_save"' in got["change"].content.decode()
    assert saves == ("c" in rights)
    if "c" not in rights:
        records = row.history.count() if hasattr(row, "history") else None
        assert client.post(pages["change"], {"name": "Renamed"}).status_code == 403
        type(row).objects.get(pk=row.pk)  # still there
        if records is not None:
            assert row.history.count() == records
