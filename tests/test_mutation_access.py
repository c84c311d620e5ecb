"""Every mutation refuses anonymous callers and users without a role, and writes nothing."""

import pytest

from coordination.models import CoordinationAction, Incident, IncidentUpdate
from partners.models import Contact, Partner
from tests.factories import global_id, make_action, make_contact, make_incident, make_partner
from tests.graphql import GraphQLClient, messages


@pytest.fixture
def world(officer):
    partner = make_partner(officer, name="Ohio Homeland Security")
    incident = make_incident(officer, title="Bridge closure")
    return {
        "partner": partner,
        "incident": incident,
        "contact": make_contact(officer, partner),
        "action": make_action(officer, incident, partner),
    }


def inputs(world) -> dict[str, tuple[str, dict]]:
    """Each mutation with an input that an officer could run successfully."""
    incident, partner = global_id(world["incident"]), global_id(world["partner"])
    action, contact = global_id(world["action"]), global_id(world["contact"])
    return {
        "createIncident": (
            "CreateIncidentInput",
            {"title": "x", "category": "CYBER", "severity": "LOW"},
        ),
        "updateIncident": ("UpdateIncidentInput", {"id": incident, "version": 1, "title": "y"}),
        "changeIncidentStatus": (
            "ChangeIncidentStatusInput",
            {"id": incident, "version": 1, "status": "ACTIVE"},
        ),
        "addIncidentUpdate": ("AddIncidentUpdateInput", {"incident": incident, "body": "note"}),
        "shareIncident": (
            "ShareIncidentInput",
            {"id": incident, "version": 1, "partners": [partner]},
        ),
        "unshareIncident": (
            "UnshareIncidentInput",
            {"id": incident, "version": 1, "partners": [partner]},
        ),
        "createCoordinationAction": (
            "CreateCoordinationActionInput",
            {"incident": incident, "partner": partner, "kind": "BRIEFING", "instructions": "x"},
        ),
        "updateCoordinationAction": (
            "UpdateCoordinationActionInput",
            {"id": action, "version": 1, "instructions": "y"},
        ),
        "acknowledgeCoordinationAction": (
            "AcknowledgeCoordinationActionInput",
            {"id": action, "version": 1},
        ),
        "respondToCoordinationAction": (
            "RespondToCoordinationActionInput",
            {"id": action, "version": 1, "outcome": "COMPLETED", "response": "done"},
        ),
        "cancelCoordinationAction": ("CancelCoordinationActionInput", {"id": action, "version": 1}),
        "createPartner": (
            "CreatePartnerInput",
            {"name": "New", "kind": "FEDERAL_AGENCY", "level": "FEDERAL"},
        ),
        "updatePartner": ("UpdatePartnerInput", {"id": partner, "name": "Renamed"}),
        "createContact": (
            "CreateContactInput",
            {"partner": partner, "name": "N", "email": "n@example.org"},
        ),
        "updateContact": ("UpdateContactInput", {"id": contact, "name": "M"}),
        "deleteContact": ("DeleteContactInput", {"id": contact}),
    }


MUTATIONS = [
    "createIncident",
    "updateIncident",
    "changeIncidentStatus",
    "addIncidentUpdate",
    "shareIncident",
    "unshareIncident",
    "createCoordinationAction",
    "updateCoordinationAction",
    "acknowledgeCoordinationAction",
    "respondToCoordinationAction",
    "cancelCoordinationAction",
    "createPartner",
    "updatePartner",
    "createContact",
    "updateContact",
    "deleteContact",
]

TRACKED = (Incident, IncidentUpdate, CoordinationAction, Partner, Contact)


def snapshot():
    """Row and history counts of everything a mutation could write."""
    return [(m.objects.count(), m.history.count()) for m in TRACKED]


def operation(name, world) -> tuple[str, dict]:
    """The GraphQL document and variables running mutation ``name``."""
    input_type, values = inputs(world)[name]
    query = (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename "
        "... on OperationInfo { messages { kind field code } } } }"
    )
    return query, {"input": values}


def test_the_list_covers_every_mutation():
    from opsapi.schema import schema

    assert set(schema._schema.mutation_type.fields) == set(MUTATIONS)


@pytest.mark.parametrize("name", MUTATIONS)
def test_anonymous_callers_get_an_authentication_error_and_nothing_is_written(
    anonymous_gql, world, name
):
    before = snapshot()
    response = anonymous_gql.post(*operation(name, world))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert snapshot() == before


@pytest.mark.parametrize("name", MUTATIONS)
def test_users_without_a_role_are_refused_and_nothing_is_written(make_user, world, name):
    client = GraphQLClient.logged_in(make_user("visitor"))
    before = snapshot()
    result = client.data(*operation(name, world))[name]
    kinds = {m["kind"] for m in result["messages"]}
    # Objects they cannot see do not exist for them; creating from nothing is forbidden.
    assert messages(result)[0][1] in {"forbidden", "not_found"}
    assert kinds <= {"PERMISSION", "VALIDATION"}
    assert snapshot() == before


@pytest.mark.parametrize("name", MUTATIONS)
def test_an_officer_can_run_each_of_them(gql, world, name):
    result = gql.data(*operation(name, world))[name]
    assert result["__typename"] != "OperationInfo", result
