"""Coordination-action mutations: create, update, acknowledge, respond, cancel."""

import datetime

import pytest
from django.utils import timezone

from coordination.choices import ActionStatus
from coordination.models import CoordinationAction
from coordination.services import acknowledge_action, change_incident_status
from tests.factories import global_id, make_action, make_incident, make_partner
from tests.graphql import GraphQLClient, messages

ACTION_FIELDS = """
    ... on CoordinationAction {
        id kind instructions priority dueAt status version isOverdue
        acknowledgedAt acknowledgedBy { username }
        response respondedAt respondedBy { username } closedAt
        createdBy { username }
        incident { reference } partner { name }
    }
    ... on OperationInfo { messages { kind field code message } }
"""


def mutation(name: str, input_type: str) -> str:
    return f"""
    mutation Run($input: {input_type}!) {{ {name}(input: $input) {{ {ACTION_FIELDS} }} }}"""


CREATE_ACTION = mutation("createCoordinationAction", "CreateCoordinationActionInput")
UPDATE_ACTION = mutation("updateCoordinationAction", "UpdateCoordinationActionInput")
ACKNOWLEDGE = mutation("acknowledgeCoordinationAction", "AcknowledgeCoordinationActionInput")
RESPOND = mutation("respondToCoordinationAction", "RespondToCoordinationActionInput")
CANCEL = mutation("cancelCoordinationAction", "CancelCoordinationActionInput")


def in_hours(hours: float) -> str:
    return (timezone.now() + datetime.timedelta(hours=hours)).isoformat()


def latest_history(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


@pytest.fixture
def incident(officer):
    return make_incident(officer, title="Ransomware at a regional hospital")


@pytest.fixture
def partner(officer):
    return make_partner(officer, name="Virginia Fusion Center")


@pytest.fixture
def action(officer, incident, partner):
    return make_action(officer, incident, partner)


# --- createCoordinationAction -----------------------------------------------------------------


def test_create_action_addresses_a_partner_about_an_incident(gql, officer, incident, partner):
    due = in_hours(6)
    result = gql.data(
        CREATE_ACTION,
        {
            "input": {
                "incident": global_id(incident),
                "partner": global_id(partner),
                "kind": "RESOURCE_REQUEST",
                "instructions": "Confirm availability of two cyber response teams.",
                "priority": "IMMEDIATE",
                "dueAt": due,
                "changeReason": "Hospital requested support",
            }
        },
    )["createCoordinationAction"]
    assert result["status"] == "PENDING"
    assert result["priority"] == "IMMEDIATE"
    assert result["version"] == 1
    assert result["isOverdue"] is False
    assert result["createdBy"] == {"username": "officer"}
    assert result["incident"]["reference"] == incident.reference
    assert result["partner"]["name"] == "Virginia Fusion Center"
    action = CoordinationAction.objects.get()
    record = latest_history(action)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        officer,
        "Hospital requested support",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"instructions": ""}, "instructions", "blank"),
        ({"dueAt": "2020-01-01T00:00:00Z"}, "dueAt", "in_past"),
        ({"dueAt": "2099-01-01T00:00:00Z"}, "dueAt", "out_of_range"),
        ({"partner": "SW5jaWRlbnQ6MQ=="}, "partner", "invalid_id"),  # an Incident ID
        ({"incident": "SW5jaWRlbnQ6OTk5OTk5"}, "incident", "not_found"),
    ],
)
def test_create_action_validation(gql, incident, partner, overrides, field, code):
    base = {
        "incident": global_id(incident),
        "partner": global_id(partner),
        "kind": "BRIEFING",
        "instructions": "Join the 1400 call.",
    }
    result = gql.data(CREATE_ACTION, {"input": base | overrides})["createCoordinationAction"]
    assert messages(result) == [(field, code)]
    assert not CoordinationAction.objects.exists()


def test_create_action_refuses_closed_incidents_and_inactive_partners(
    gql, officer, incident, partner
):
    inactive = make_partner(officer, active=False)
    base = {"kind": "ADVISORY", "instructions": "Heads up."}
    result = gql.data(
        CREATE_ACTION,
        {"input": base | {"incident": global_id(incident), "partner": global_id(inactive)}},
    )["createCoordinationAction"]
    assert messages(result) == [("partner", "inactive_partner")]

    change_incident_status(actor=officer, incident=incident, version=1, status="closed")
    result = gql.data(
        CREATE_ACTION,
        {"input": base | {"incident": global_id(incident), "partner": global_id(partner)}},
    )["createCoordinationAction"]
    assert messages(result) == [("incident", "incident_closed")]
    assert not CoordinationAction.objects.exists()


def test_create_action_is_not_possible_without_a_role(make_user, incident, partner):
    client = GraphQLClient.logged_in(make_user("visitor"))
    result = client.data(
        CREATE_ACTION,
        {
            "input": {
                "incident": global_id(incident),
                "partner": global_id(partner),
                "kind": "BRIEFING",
                "instructions": "x",
            }
        },
    )["createCoordinationAction"]
    assert messages(result) == [("incident", "not_found")]


# --- updateCoordinationAction -----------------------------------------------------------------


def test_update_action(gql, officer, action):
    result = gql.data(
        UPDATE_ACTION,
        {
            "input": {
                "id": global_id(action),
                "version": 1,
                "priority": "PRIORITY",
                "dueAt": None,
                "changeReason": "No deadline after all",
            }
        },
    )["updateCoordinationAction"]
    assert (result["priority"], result["dueAt"], result["version"]) == ("PRIORITY", None, 2)
    record = latest_history(action)
    assert record.history_user == officer
    assert record.history_change_reason == "No deadline after all"
    assert {"field": "priority", "old": "routine", "new": "priority"} in record.changes


def test_update_action_validation(gql, officer, action):
    assert messages(
        gql.data(
            UPDATE_ACTION,
            {"input": {"id": global_id(action), "version": 1, "instructions": None}},
        )["updateCoordinationAction"]
    ) == [("instructions", "null")]
    assert messages(
        gql.data(
            UPDATE_ACTION,
            {"input": {"id": global_id(action), "version": 1, "dueAt": "2001-01-01T00:00:00Z"}},
        )["updateCoordinationAction"]
    ) == [("dueAt", "in_past")]
    assert messages(
        gql.data(
            UPDATE_ACTION, {"input": {"id": global_id(action), "version": 5, "kind": "BRIEFING"}}
        )["updateCoordinationAction"]
    ) == [("version", "stale_version")]
    assert action.history.count() == 1


# --- acknowledgeCoordinationAction ------------------------------------------------------------


def test_acknowledge_action(gql, officer, action):
    result = gql.data(
        ACKNOWLEDGE,
        {"input": {"id": global_id(action), "version": 1, "changeReason": "Duty officer on it"}},
    )["acknowledgeCoordinationAction"]
    assert result["status"] == "ACKNOWLEDGED"
    assert result["acknowledgedBy"] == {"username": "officer"}
    assert result["acknowledgedAt"] is not None
    assert result["version"] == 2
    record = latest_history(action)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "~",
        officer,
        "Duty officer on it",
    )
    assert {"field": "status", "old": "pending", "new": "acknowledged"} in record.changes


def test_acknowledging_twice_is_an_invalid_transition(gql, officer, action):
    acknowledge_action(actor=officer, action=action, version=1)
    result = gql.data(ACKNOWLEDGE, {"input": {"id": global_id(action), "version": 2}})[
        "acknowledgeCoordinationAction"
    ]
    assert messages(result) == [("status", "invalid_transition")]
    assert action.history.count() == 2


def test_acknowledge_with_stale_version(gql, action):
    result = gql.data(ACKNOWLEDGE, {"input": {"id": global_id(action), "version": 2}})[
        "acknowledgeCoordinationAction"
    ]
    assert messages(result) == [("version", "stale_version")]
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING


# --- respondToCoordinationAction --------------------------------------------------------------


def test_respond_in_progress_then_complete(gql, officer, action):
    progress = gql.data(
        RESPOND,
        {
            "input": {
                "id": global_id(action),
                "version": 1,
                "outcome": "IN_PROGRESS",
                "response": "Teams mobilising.",
            }
        },
    )["respondToCoordinationAction"]
    assert progress["status"] == "IN_PROGRESS"
    assert progress["acknowledgedBy"] == {"username": "officer"}, "responding acknowledges"
    assert progress["closedAt"] is None

    done = gql.data(
        RESPOND,
        {
            "input": {
                "id": global_id(action),
                "version": 2,
                "outcome": "COMPLETED",
                "response": "Two teams on site at 1530.",
                "changeReason": "Partner confirmed by phone",
            }
        },
    )["respondToCoordinationAction"]
    assert done["status"] == "COMPLETED"
    assert done["response"] == "Two teams on site at 1530."
    assert done["respondedBy"] == {"username": "officer"}
    assert done["closedAt"] is not None
    record = latest_history(action)
    assert record.history_change_reason == "Partner confirmed by phone"
    assert {"field": "status", "old": "in_progress", "new": "completed"} in record.changes


def test_decline_keeps_it_unacknowledged(gql, action):
    result = gql.data(
        RESPOND,
        {
            "input": {
                "id": global_id(action),
                "version": 1,
                "outcome": "DECLINED",
                "response": "Out of our jurisdiction.",
            }
        },
    )["respondToCoordinationAction"]
    assert result["status"] == "DECLINED"
    assert result["acknowledgedAt"] is None
    assert result["closedAt"] is not None


def test_respond_validation(gql, officer, action):
    blank = gql.data(
        RESPOND,
        {"input": {"id": global_id(action), "version": 1, "outcome": "COMPLETED", "response": " "}},
    )["respondToCoordinationAction"]
    assert messages(blank) == [("response", "required")]

    gql.data(CANCEL, {"input": {"id": global_id(action), "version": 1}})
    closed = gql.data(
        RESPOND,
        {"input": {"id": global_id(action), "version": 2, "outcome": "COMPLETED", "response": "x"}},
    )["respondToCoordinationAction"]
    assert messages(closed) == [("status", "action_closed")]


# --- cancelCoordinationAction -----------------------------------------------------------------


def test_cancel_action(gql, officer, action):
    result = gql.data(
        CANCEL,
        {"input": {"id": global_id(action), "version": 1, "changeReason": "Duplicate request"}},
    )["cancelCoordinationAction"]
    assert result["status"] == "CANCELLED"
    assert result["closedAt"] is not None
    record = latest_history(action)
    assert (record.history_user, record.history_change_reason) == (officer, "Duplicate request")

    again = gql.data(CANCEL, {"input": {"id": global_id(action), "version": 2}})[
        "cancelCoordinationAction"
    ]
    assert messages(again) == [("status", "action_closed")]
    assert action.history.count() == 2


def test_overdue_is_computed_from_the_due_time(officer, incident, partner, gql):
    action = make_action(
        officer,
        incident,
        partner,
        due_at=timezone.now() - datetime.timedelta(minutes=5),
        now=timezone.now() - datetime.timedelta(hours=1),
    )
    result = gql.data(
        "query($id: ID!) { node(id: $id) { ... on CoordinationAction { isOverdue } } }",
        {"id": global_id(action)},
    )
    assert result["node"]["isOverdue"] is True
