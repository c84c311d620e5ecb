"""Incident and coordination-action admin: rows and history visible, nothing changeable."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from coordination import services
from coordination.choices import (
    ActionKind,
    ActionStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
)
from coordination.models import CoordinationAction, Incident
from tests.factories import make_action, make_incident, make_partner

pytestmark = pytest.mark.django_db

INCIDENT_LIST = reverse("admin:coordination_incident_changelist")
ACTION_LIST = reverse("admin:coordination_coordinationaction_changelist")


@pytest.fixture
def incidents(officer):
    """A critical cyber event (active, TLP:RED) and a moderate flood (reported, TLP:AMBER)."""
    cyber = make_incident(
        officer,
        title="Ransomware at a regional water utility",
        category=IncidentCategory.CYBER,
        severity=Severity.CRITICAL,
        tlp=Tlp.RED,
    )
    cyber = services.change_incident_status(
        actor=officer, incident=cyber, version=cyber.version, status=IncidentStatus.ACTIVE
    )
    flood = make_incident(
        officer,
        title="River flooding along the Ohio",
        category=IncidentCategory.NATURAL_HAZARD,
        severity=Severity.MODERATE,
    )
    return {"cyber": cyber, "flood": flood}


@pytest.fixture
def actions(officer, incidents):
    """An overdue request for information and a fresh deployment request."""
    partner = make_partner(officer, name="Ohio EMA")
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    overdue = make_action(
        officer,
        incidents["flood"],
        partner,
        due_at=an_hour_ago + datetime.timedelta(minutes=30),
        now=an_hour_ago - datetime.timedelta(minutes=1),
    )
    deployment = make_action(officer, incidents["cyber"], partner, kind=ActionKind.DEPLOYMENT)
    deployment = services.acknowledge_action(
        actor=officer, action=deployment, version=deployment.version
    )
    return {"overdue": overdue, "deployment": deployment}


def listed(client, url, **params) -> set:
    response = client.get(url, params)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


# --- finding incidents and actions ------------------------------------------------------------


def test_search_incidents_by_reference_and_title(officer_client, incidents):
    cyber, flood = incidents["cyber"], incidents["flood"]

    assert listed(officer_client, INCIDENT_LIST, q=cyber.reference) == {cyber}
    assert listed(officer_client, INCIDENT_LIST, q="ohio") == {flood}


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("status__exact", IncidentStatus.ACTIVE, "cyber"),
        ("status__exact", IncidentStatus.REPORTED, "flood"),
        ("severity__exact", Severity.CRITICAL, "cyber"),
        ("category__exact", IncidentCategory.NATURAL_HAZARD, "flood"),
        ("tlp__exact", Tlp.RED, "cyber"),
    ],
)
def test_incident_list_filters(officer_client, incidents, parameter, value, expected):
    assert listed(officer_client, INCIDENT_LIST, **{parameter: value}) == {incidents[expected]}


def test_search_actions_by_incident_reference_and_title(officer_client, incidents, actions):
    reference = incidents["cyber"].reference

    assert listed(officer_client, ACTION_LIST, q=reference) == {actions["deployment"]}
    assert listed(officer_client, ACTION_LIST, q="flooding") == {actions["overdue"]}


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("status__exact", ActionStatus.ACKNOWLEDGED, "deployment"),
        ("status__exact", ActionStatus.PENDING, "overdue"),
        ("kind__exact", ActionKind.DEPLOYMENT, "deployment"),
        ("overdue", "yes", "overdue"),
        ("overdue", "no", "deployment"),
    ],
)
def test_action_list_filters(officer_client, actions, parameter, value, expected):
    assert listed(officer_client, ACTION_LIST, **{parameter: value}) == {actions[expected]}


# --- read-only --------------------------------------------------------------------------------


def test_incident_page_shows_its_timeline_and_actions(officer_client, incidents, actions):
    cyber = incidents["cyber"]

    response = officer_client.get(reverse("admin:coordination_incident_change", args=[cyber.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert cyber.reference in page
    assert "Status change" in page  # the timeline entry the status change wrote
    assert (
        reverse("admin:coordination_coordinationaction_change", args=[actions["deployment"].pk])
        in page
    )
    assert 'name="_save"' not in page


@pytest.mark.parametrize("model", ["incident", "coordinationaction"])
def test_no_add_change_or_delete(officer_client, incidents, actions, model):
    row = incidents["cyber"] if model == "incident" else actions["deployment"]
    change_url = reverse(f"admin:coordination_{model}_change", args=[row.pk])
    records_before = row.history.count()

    assert officer_client.get(reverse(f"admin:coordination_{model}_add")).status_code == 403
    assert (
        officer_client.post(change_url, {"title": "Changed", "status": "closed"}).status_code == 403
    )
    delete_url = reverse(f"admin:coordination_{model}_delete", args=[row.pk])
    assert officer_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = officer_client.get(reverse(f"admin:coordination_{model}_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    assert row.history.count() == records_before
    assert type(row).objects.filter(pk=row.pk).exists()


def test_history_page_lists_the_records(officer_client, officer, incidents):
    cyber = incidents["cyber"]

    response = officer_client.get(reverse("admin:coordination_incident_history", args=[cyber.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count(officer.username) >= 2  # created, then activated
    assert "Active" in page


@pytest.mark.parametrize("model", [Incident, CoordinationAction])
def test_history_versions_cannot_be_saved_back(officer_client, incidents, actions, model):
    row = model.objects.order_by("pk").first()
    record = row.history.order_by("history_id").first()
    name = model._meta.model_name
    url = reverse(f"admin:coordination_{name}_simple_history", args=[row.pk, record.pk])
    records_before = row.history.count()

    assert officer_client.get(url).status_code == 200
    assert officer_client.post(url, {"title": "Rewritten", "status": "closed"}).status_code == 403
    assert row.history.count() == records_before
