"""``manage.py seed_demo``: the demo data set a newcomer sees, and that it is seeded only once."""

import datetime
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from coordination.choices import (
    OPEN_ACTION_STATUSES,
    ActionStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
    UpdateKind,
)
from coordination.demo import OFFICERS
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from partners.choices import PartnerKind, PartnerLevel
from partners.models import Contact, Partner, State, UrbanArea

SCALE = 40
SEED = 11
DEMO_OFFICERS = {username for username, _, _ in OFFICERS}
REFERENCE_FORM = re.compile(r"^OPS-[0-9]{4}-[0-9]{6}$")
FICTIONAL_PHONE = re.compile(r"^\+1 [0-9]{3} 555 01[0-9]{2}( ext [0-9]+)?$")


def seed(**options) -> str:
    output = StringIO()
    call_command("seed_demo", stdout=output, **options)
    return output.getvalue()


@pytest.fixture(scope="class")
def demo_output(django_db_setup, django_db_blocker):
    """The demo data set, seeded once for the class and rolled back after its last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed(scale=SCALE, seed=SEED)
        transaction.set_rollback(True)


@pytest.mark.usefixtures("demo_output", "db")
class TestDemoDataSet:
    def test_every_partner_kind_is_present(self):
        assert set(Partner.objects.values_list("kind", flat=True)) == set(PartnerKind.values)

    def test_every_state_has_an_active_governors_office_and_advisor(self):
        for kind in (PartnerKind.GOVERNORS_OFFICE, PartnerKind.HOMELAND_SECURITY_ADVISOR):
            covered = Partner.objects.filter(kind=kind, active=True).values_list("state", flat=True)
            assert set(covered) == set(State.objects.values_list("pk", flat=True))

    def test_partners_have_contacts_and_a_watch_line(self):
        partners = Partner.objects.prefetch_related("contacts")
        for partner in partners:
            contacts = list(partner.contacts.all())
            assert 1 <= len(contacts) <= 3, partner
            assert sum(c.is_primary for c in contacts) == 1, partner
            assert FICTIONAL_PHONE.match(partner.watch_phone), partner.watch_phone
            assert partner.watch_email.endswith((".example.org", ".example.com"))
        assert Contact.objects.filter(is_24x7=True).exists()
        assert all(
            FICTIONAL_PHONE.match(phone)
            for phone in Contact.objects.values_list("phone", flat=True)
        )

    def test_partners_sit_in_real_places(self):
        for office in Partner.objects.filter(kind=PartnerKind.URBAN_AREA_OFFICE):
            assert office.urban_area.states.filter(pk=office.state_id).exists()
        needs_state = [PartnerLevel.STATE, PartnerLevel.LOCAL, PartnerLevel.TERRITORIAL]
        assert not Partner.objects.filter(level__in=needs_state, state=None).exists()
        assert Partner.objects.filter(sectors__isnull=False).exists()

    def test_inactive_partners_exist_but_are_never_asked_or_shared_with(self):
        inactive = Partner.objects.filter(active=False)
        assert inactive.exists()
        assert not CoordinationAction.objects.filter(partner__in=inactive).exists()
        assert not Incident.objects.filter(shared_with__in=inactive).exists()

    def test_every_category_severity_status_and_marking_is_present(self):
        incidents = Incident.objects.all()
        assert incidents.count() == SCALE
        assert set(incidents.values_list("category", flat=True)) == set(IncidentCategory.values)
        assert set(incidents.values_list("severity", flat=True)) == set(Severity.values)
        assert set(incidents.values_list("status", flat=True)) == set(IncidentStatus.values)
        assert set(incidents.values_list("tlp", flat=True)) == set(Tlp.values)

    def test_some_incidents_were_reopened(self):
        reopenings = IncidentUpdate.objects.filter(
            kind=UpdateKind.STATUS_CHANGE, body__startswith="Status changed from Resolved to Active"
        )
        assert reopenings.exists()

    def test_incidents_have_places_sectors_locations_and_shares(self):
        incidents = Incident.objects.all()
        assert not incidents.filter(states=None).exists()
        assert incidents.filter(urban_areas__isnull=False).exists()
        assert incidents.filter(sectors__isnull=False).exists()
        assert incidents.filter(latitude__isnull=False, longitude__isnull=False).exists()
        assert incidents.filter(shared_with__isnull=False).exists()

    def test_status_times_tell_a_consistent_past_timeline(self):
        now = timezone.now()
        month_ago = now - datetime.timedelta(days=31)
        for incident in Incident.objects.all():
            assert month_ago < incident.reported_at < now
            entered = [incident.activated_at, incident.monitoring_at, incident.closed_at]
            assert all(incident.reported_at <= t < now for t in entered if t), incident
            if incident.status == IncidentStatus.CLOSED:
                assert incident.closed_at is not None
            if incident.status == IncidentStatus.RESOLVED:
                assert incident.resolved_at is not None

    def test_timelines_have_notes_and_situation_reports_some_for_partners(self):
        updates = IncidentUpdate.objects.all()
        # Escalations are written by escalate_overdue, which emails partners: not run here.
        expected = set(UpdateKind.values) - {UpdateKind.ESCALATION}
        assert set(updates.values_list("kind", flat=True)) == expected
        assert updates.filter(partner_visible=True).exists()
        assert updates.filter(partner_visible=False).exists()
        assert not updates.filter(posted_at__gt=timezone.now()).exists()

    def test_every_action_status_is_present_and_some_are_overdue(self):
        actions = CoordinationAction.objects.all()
        assert set(actions.values_list("status", flat=True)) == set(ActionStatus.values)
        overdue = CoordinationAction.objects.overdue()
        assert overdue.exists()
        assert set(overdue.values_list("status", flat=True)) <= set(OPEN_ACTION_STATUSES)

    def test_actions_are_created_in_the_past_before_anything_happens_to_them(self):
        now = timezone.now()
        actions = CoordinationAction.objects.select_related("incident")
        assert actions.exists()
        for action in actions:
            assert action.incident.reported_at <= action.created_at < now, action
            later = [action.acknowledged_at, action.responded_at, action.closed_at]
            assert all(action.created_at <= t for t in later if t), action

    def test_references_are_unique_and_well_formed(self):
        references = list(Incident.objects.values_list("reference", flat=True))
        assert len(set(references)) == len(references) == SCALE
        assert all(REFERENCE_FORM.match(reference) for reference in references)

    def test_every_seeded_row_has_history_by_a_demo_officer_in_the_seed_run(self):
        officers = set(
            get_user_model().objects.filter(username__in=DEMO_OFFICERS).values_list("pk", flat=True)
        )
        assert len(officers) == len(DEMO_OFFICERS)
        for model in (Partner, Contact, Incident, IncidentUpdate, CoordinationAction):
            created = model.history.filter(history_type="+")
            assert set(created.values_list("id", flat=True)) == set(
                model.objects.values_list("pk", flat=True)
            ), model
            records = model.history.all()
            assert set(records.values_list("history_user", flat=True)) <= officers, model
            request_ids = set(records.values_list("request_id", flat=True))
            assert len(request_ids) == 1, model
            assert request_ids.pop().startswith("cmd:seed_demo:")

    def test_demo_officers_are_staff_who_cannot_log_in(self):
        for officer in get_user_model().objects.filter(username__in=DEMO_OFFICERS):
            assert officer.is_staff
            assert officer.is_active
            assert not officer.has_usable_password()

    def test_prints_a_summary_by_kind(self, demo_output):
        assert f"Incidents: {SCALE} " in demo_output
        assert "governors_office 56" in demo_output
        assert "overdue" in demo_output

    def test_running_again_stops_and_changes_nothing(self):
        before = [model.objects.count() for model in (Partner, Incident, CoordinationAction)]
        with pytest.raises(CommandError, match="already present"):
            seed(scale=SCALE, seed=SEED)
        after = [model.objects.count() for model in (Partner, Incident, CoordinationAction)]
        assert after == before


def seeded_data_set(seed_value: int) -> dict:
    """What the seed decides, from a run on the empty database that is then rolled back."""
    with transaction.atomic():
        seed(scale=20, seed=seed_value)
        data_set = {
            "partners": sorted(Partner.objects.values_list("name", "kind", "active")),
            "contacts": sorted(Contact.objects.values_list("partner__name", "name", "title")),
            "incidents": list(
                Incident.objects.order_by("reference").values_list(
                    "reference", "title", "category", "severity", "status", "tlp"
                )
            ),
            "actions": sorted(CoordinationAction.objects.values_list("incident__title", "status")),
            "updates": IncidentUpdate.objects.count(),
        }
        transaction.set_rollback(True)
    return data_set


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data_set_and_another_seed_another():
    first = seeded_data_set(7)

    assert seeded_data_set(7) == first
    assert seeded_data_set(8)["incidents"] != first["incidents"]


@pytest.mark.django_db
def test_refuses_to_run_without_reference_data():
    UrbanArea.objects.all().delete()
    State.objects.all().delete()

    with pytest.raises(CommandError, match="load_reference_data"):
        seed(scale=20)

    assert not get_user_model().objects.filter(username__in=DEMO_OFFICERS).exists()


@pytest.mark.django_db
def test_refuses_a_scale_too_small_to_show_everything():
    with pytest.raises(CommandError, match="scale"):
        seed(scale=5)

    assert not Incident.objects.exists()
