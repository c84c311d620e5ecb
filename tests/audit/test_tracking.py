"""No code path changes a tracked row without a history record."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import F

from coordination.models import CoordinationAction, Incident, IncidentUpdate
from opsapi.accounts.models import ApiToken, PartnerMembership
from opsapi.audit.context import command_context
from opsapi.audit.tracking import HistoryBypassError, TrackedModel, save_with_history
from partners.models import Contact, Partner, Sector, State, UrbanArea
from tests.factories import make_incident, make_partner, state

TRACKED = [
    State,
    UrbanArea,
    Sector,
    Partner,
    Contact,
    Incident,
    IncidentUpdate,
    CoordinationAction,
    ApiToken,
    PartnerMembership,
]


def test_every_domain_model_is_tracked():
    domain_apps = {"partners", "coordination", "accounts"}
    tracked = {
        m
        for m in apps.get_models()
        if m._meta.app_label in domain_apps
        and not m.__name__.startswith("Historical")
        # Counters and the escalation outbox (see coordination.models.Notification) are not.
        and m.__name__ not in {"ReferenceCounter", "Notification", "NotificationAttempt"}
    }
    assert tracked == set(TRACKED)
    assert all(issubclass(model, TrackedModel) for model in TRACKED)
    # Users are tracked too (role changes are on the record), with the same history model.
    for model in [*TRACKED, get_user_model()]:
        assert model.history.model._meta.pk.get_internal_type() == "BigAutoField"


def test_many_to_many_links_are_tracked():
    assert {f.name for f in Incident.history.model._history_m2m_fields} == {
        "states",
        "urban_areas",
        "sectors",
        "shared_with",
        "shared_with_users",
    }
    assert {f.name for f in get_user_model().history.model._history_m2m_fields} == {"groups"}
    assert {f.name for f in Partner.history.model._history_m2m_fields} == {"sectors"}
    assert {f.name for f in UrbanArea.history.model._history_m2m_fields} == {"states"}


@pytest.mark.parametrize("model", TRACKED)
def test_queryset_update_is_refused(db, model):
    with pytest.raises(HistoryBypassError, match="without a history record"):
        model.objects.all().update(pk=1)


def test_bulk_create_and_bulk_update_are_refused(officer):
    partner = make_partner(officer)
    with pytest.raises(HistoryBypassError):
        Partner.objects.bulk_create([Partner(name="x", kind="other", level="federal")])
    with pytest.raises(HistoryBypassError):
        Partner.objects.bulk_update([partner], ["name"])
    with pytest.raises(HistoryBypassError):
        partner.contacts.bulk_create([])
    assert Partner.objects.count() == 1


def test_saving_a_database_expression_is_refused(officer):
    incident = make_incident(officer)
    incident.version = F("version") + 1
    with pytest.raises(HistoryBypassError, match="expression"):
        incident.save()
    incident.refresh_from_db()
    assert incident.version == 1
    assert incident.history.count() == 1


def test_deleting_keeps_the_history_and_adds_a_deletion_record(officer):
    partner = make_partner(officer)
    pk = partner.pk
    partner.delete()
    records = Partner.history.filter(id=pk).order_by("history_date")
    assert [r.history_type for r in records] == ["+", "-"]


def test_cascading_deletes_leave_a_record_for_every_row(officer):
    from tests.factories import make_contact

    partner = make_partner(officer)
    contacts = [make_contact(officer, partner) for _ in range(2)]
    partner.delete()
    for contact in contacts:
        assert Contact.history.filter(id=contact.pk, history_type="-").count() == 1


def test_one_save_with_links_writes_one_record_holding_the_links(officer):
    incident = make_incident(officer, states=[state("TX"), state("LA")])
    record = incident.history.get()
    assert sorted(s.state.code for s in record.states.all()) == ["LA", "TX"]


def test_plain_link_changes_outside_the_services_are_still_recorded(officer):
    incident = make_incident(officer)
    incident.states.add(state("FL"))
    latest = incident.history.first()
    assert latest.history_type == "~"
    assert {"field": "states", "old": [], "new": [state("FL").pk]} in latest.changes


def test_command_runs_carry_a_request_id(officer):
    with command_context("import_partners") as request_id:
        partner = make_partner(officer)
    assert request_id.startswith("cmd:import_partners:")
    assert partner.history.get().request_id == request_id


def test_history_without_a_request_or_command_has_an_empty_request_id(officer):
    sector = Sector(code="test-sector", name="Test sector")
    save_with_history(sector, actor=officer, reason="test")
    record = sector.history.get()
    assert record.request_id == ""
    assert record.history_change_reason == "test"


def test_duplicate_within_a_composite_unique_constraint_names_the_field(officer):
    from django.core.exceptions import ValidationError

    make_partner(officer, name="Same name", state=state("OH"))
    duplicate = Partner(name="Same name", kind="other", level="state", state=state("OH"))
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert caught.value.error_dict["name"][0].code == "unique"
