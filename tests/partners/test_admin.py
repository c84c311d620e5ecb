"""Partner and reference-data admin: saves go through the services, one history record each.

Every test drives the real admin views through the test client (the ``admin_client`` fixture is
logged in as the ``admin_user`` superuser), so middleware, forms and inlines all take part.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from partners import services
from partners.choices import PartnerKind, PartnerLevel
from partners.models import Contact, Partner, Sector, State, UrbanArea
from tests.factories import make_contact, make_incident, make_partner, sector, state

pytestmark = pytest.mark.django_db

PARTNER_ADD = reverse("admin:partners_partner_add")
PARTNER_LIST = reverse("admin:partners_partner_changelist")


def partner_change_url(partner):
    return reverse("admin:partners_partner_change", args=[partner.pk])


def contacts_management(total: int, initial: int = 0) -> dict:
    return {
        "contacts-TOTAL_FORMS": str(total),
        "contacts-INITIAL_FORMS": str(initial),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }


def partner_form(**overrides) -> dict:
    """POST data of the partner add form: a Virginia state agency with no contacts."""
    data = {
        "name": "Virginia Department of Emergency Management",
        "kind": PartnerKind.EMERGENCY_MANAGEMENT,
        "level": PartnerLevel.STATE,
        "state": str(state("VA").pk),
        "urban_area": "",
        "sectors": [],
        "watch_phone": "+1 804 555 0100",
        "watch_email": "watch@vdem.example.gov",
        "active": "on",
        "change_reason": "",
        **contacts_management(0),
    }
    data.update(overrides)
    return data


def existing_partner_form(partner, **overrides) -> dict:
    """POST data of ``partner``'s change form as shown, its contacts included."""
    contacts = list(partner.contacts.all())
    data = partner_form(
        name=partner.name,
        kind=partner.kind,
        level=partner.level,
        state=str(partner.state_id or ""),
        sectors=[str(pk) for pk in partner.sectors.values_list("pk", flat=True)],
        watch_phone=partner.watch_phone,
        watch_email=partner.watch_email,
        **contacts_management(len(contacts), initial=len(contacts)),
    )
    for i, contact in enumerate(contacts):
        data.update(
            {
                f"contacts-{i}-id": str(contact.pk),
                f"contacts-{i}-partner": str(partner.pk),
                f"contacts-{i}-name": contact.name,
                f"contacts-{i}-title": contact.title,
                f"contacts-{i}-email": contact.email,
                f"contacts-{i}-phone": contact.phone,
            }
        )
        if contact.is_primary:
            data[f"contacts-{i}-is_primary"] = "on"
    data.update(overrides)
    return data


def form_errors(response) -> dict:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors


def contact_errors(response) -> list:
    formset = response.context["inline_admin_formsets"][0].formset
    return [form.errors for form in formset.forms]


@pytest.fixture
def partner(admin_user):
    partner = make_partner(
        admin_user, name="Texas Division of Emergency Management", state=state("TX")
    )
    make_contact(admin_user, partner, name="Ana Duty", email="ana@tdem.example.gov")
    return partner


# --- adding and changing partners -------------------------------------------------------------


def test_add_partner_with_sectors_and_contact_writes_one_record_each(admin_client, admin_user):
    data = partner_form(
        sectors=[str(sector("energy").pk), str(sector("water-wastewater").pk)],
        change_reason="Joined the state watch network",
        **contacts_management(1),
    )
    data.update({"contacts-0-name": "Sam Watch", "contacts-0-email": "sam@vdem.example.gov"})

    response = admin_client.post(PARTNER_ADD, data)

    assert response.status_code == 302, response.context and form_errors(response)
    partner = Partner.objects.get(name="Virginia Department of Emergency Management")
    assert set(partner.sectors.values_list("code", flat=True)) == {"energy", "water-wastewater"}
    record = partner.history.get()  # exactly one: the row and its sectors together
    assert record.history_type == "+"
    assert record.history_user == admin_user
    assert record.history_change_reason == "Joined the state watch network"
    assert set(record.sectors.values_list("sector__code", flat=True)) == {
        "energy",
        "water-wastewater",
    }
    changes = {change["field"]: change["new"] for change in record.changes}
    assert changes["sectors"] == sorted(partner.sectors.values_list("pk", flat=True))
    contact = partner.contacts.get()
    contact_record = contact.history.get()
    assert contact_record.history_type == "+"
    assert contact_record.history_user == admin_user
    assert contact_record.history_change_reason == "Joined the state watch network"


def test_partner_without_its_state_shows_the_error_and_writes_nothing(admin_client):
    data = partner_form(state="", **contacts_management(1))
    data.update({"contacts-0-name": "Sam Watch", "contacts-0-email": "sam@vdem.example.gov"})
    records_before = Partner.history.count(), Contact.history.count()

    response = admin_client.post(PARTNER_ADD, data)

    assert "state" in form_errors(response)
    assert not Partner.objects.filter(name=data["name"]).exists()
    assert (Partner.history.count(), Contact.history.count()) == records_before


def test_contact_without_email_or_phone_shows_the_error_on_its_row(admin_client):
    data = partner_form(**contacts_management(1))
    data["contacts-0-name"] = "Nobody Reachable"

    response = admin_client.post(PARTNER_ADD, data)

    assert response.status_code == 200
    assert "email" in contact_errors(response)[0]
    assert not Partner.objects.filter(name=data["name"]).exists()


def test_change_reason_is_bounded(admin_client):
    response = admin_client.post(PARTNER_ADD, partner_form(change_reason="x" * 1001))

    assert "change_reason" in form_errors(response)


def test_change_partner_fields_and_sectors_writes_one_record(admin_client, admin_user, partner):
    data = existing_partner_form(
        partner,
        name="Texas Emergency Management",
        sectors=[str(sector("energy").pk)],
        change_reason="Renamed by statute",
    )

    response = admin_client.post(partner_change_url(partner), data)

    assert response.status_code == 302
    assert partner.history.count() == 2
    record = partner.history.order_by("-history_id").first()
    assert record.history_type == "~"
    assert record.history_user == admin_user
    assert record.history_change_reason == "Renamed by statute"
    changes = {change["field"]: (change["old"], change["new"]) for change in record.changes}
    assert changes == {
        "name": ("Texas Division of Emergency Management", "Texas Emergency Management"),
        "sectors": ([], [sector("energy").pk]),
        "updated_at": changes["updated_at"],
    }
    contact = partner.contacts.get()
    assert contact.history.count() == 1  # the unchanged contact is left alone


def test_saving_an_unchanged_partner_writes_nothing(admin_client, partner):
    response = admin_client.post(partner_change_url(partner), existing_partner_form(partner))

    assert response.status_code == 302
    assert partner.history.count() == 1


def test_contacts_are_changed_added_and_deleted_through_the_services(
    admin_client, admin_user, partner
):
    kept = partner.contacts.get()
    leaving = make_contact(admin_user, partner, name="Lee Leaving", email="lee@example.gov")
    data = existing_partner_form(partner, change_reason="Contact list review")
    rows = {data[f"contacts-{i}-name"]: i for i in range(2)}
    data.update(contacts_management(3, initial=2))
    data[f"contacts-{rows['Ana Duty']}-phone"] = "+1 512 555 0199"
    data[f"contacts-{rows['Lee Leaving']}-DELETE"] = "on"
    data.update({"contacts-2-name": "Nia New", "contacts-2-email": "nia@example.gov"})

    response = admin_client.post(partner_change_url(partner), data)

    assert response.status_code == 302
    assert partner.history.count() == 1  # the partner row itself did not change
    kept_record = kept.history.order_by("-history_id").first()
    assert kept.history.count() == 2
    assert kept_record.history_change_reason == "Contact list review"
    assert kept_record.changes[0] == {"field": "phone", "old": "", "new": "+1 512 555 0199"}
    assert not Contact.objects.filter(pk=leaving.pk).exists()
    deletion = Contact.history.filter(id=leaving.pk).order_by("-history_id").first()
    assert deletion.history_type == "-"
    assert deletion.history_user == admin_user
    assert deletion.name == "Lee Leaving"
    new = partner.contacts.get(name="Nia New")
    assert new.history.get().history_user == admin_user


def test_a_service_error_shows_on_the_form_and_nothing_is_kept(admin_client, monkeypatch):
    def refuse(**kwargs):
        raise ValidationError(
            {"name": ValidationError("Taken by a partner added a moment ago.", code="unique")}
        )

    monkeypatch.setattr(services, "create_partner", refuse)

    response = admin_client.post(PARTNER_ADD, partner_form())

    assert form_errors(response)["name"] == ["Taken by a partner added a moment ago."]


def test_a_contact_service_error_shows_on_its_row_and_the_partner_is_not_kept(
    admin_client, monkeypatch
):
    def refuse(**kwargs):
        raise ValidationError({"phone": ValidationError("Not a reachable number.", code="x")})

    monkeypatch.setattr(services, "create_contact", refuse)
    data = partner_form(**contacts_management(1))
    data.update({"contacts-0-name": "Sam Watch", "contacts-0-email": "sam@vdem.example.gov"})
    records_before = Partner.history.count()

    response = admin_client.post(PARTNER_ADD, data)

    assert response.status_code == 200
    assert contact_errors(response)[0]["phone"] == ["Not a reachable number."]
    assert not Partner.objects.filter(name=data["name"]).exists()
    assert Partner.history.count() == records_before


def test_partners_cannot_be_deleted_in_admin(admin_client, partner):
    response = admin_client.post(
        reverse("admin:partners_partner_delete", args=[partner.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Partner.objects.filter(pk=partner.pk).exists()


# --- finding partners -------------------------------------------------------------------------


@pytest.fixture
def partners(admin_user):
    """Three partners that differ in every filtered field."""
    fusion = make_partner(
        admin_user,
        name="Northern Virginia Fusion Center",
        kind=PartnerKind.FUSION_CENTER,
        sectors=[sector("government-facilities")],
    )
    make_contact(admin_user, fusion, name="Riley Analyst", email="riley@nvfc.example.gov")
    utility = make_partner(
        admin_user,
        name="Lone Star Power",
        kind=PartnerKind.CRITICAL_INFRASTRUCTURE,
        level=PartnerLevel.PRIVATE,
        state=state("TX"),
        sectors=[sector("energy")],
    )
    make_contact(admin_user, utility, name="Jo Grid", email="soc@lonestar.example.com")
    agency = make_partner(
        admin_user,
        name="Federal Watch Office",
        kind=PartnerKind.FEDERAL_AGENCY,
        level=PartnerLevel.FEDERAL,
        state=None,
        active=False,
    )
    return {"fusion": fusion, "utility": utility, "agency": agency}


def listed(admin_client, **params) -> set[str]:
    response = admin_client.get(PARTNER_LIST, params)
    assert response.status_code == 200
    return {partner.name for partner in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("fusion", {"Northern Virginia Fusion Center"}),
        ("Jo Grid", {"Lone Star Power"}),
        ("riley@nvfc", {"Northern Virginia Fusion Center"}),
    ],
)
def test_search_by_name_contact_name_and_contact_email(admin_client, partners, query, expected):
    assert listed(admin_client, q=query) == expected


def test_each_list_filter(admin_client, partners):
    assert listed(admin_client, kind__exact="fusion_center") == {"Northern Virginia Fusion Center"}
    assert listed(admin_client, level__exact="federal") == {"Federal Watch Office"}
    assert listed(admin_client, state__id__exact=state("TX").pk) == {"Lone Star Power"}
    assert listed(admin_client, sectors__id__exact=sector("energy").pk) == {"Lone Star Power"}
    assert listed(admin_client, active__exact="0") == {"Federal Watch Office"}
    assert listed(admin_client, active__exact="1") == {
        "Northern Virginia Fusion Center",
        "Lone Star Power",
    }


# --- history pages ----------------------------------------------------------------------------


def test_history_page_shows_who_changed_what_and_why(admin_client, admin_user, partner):
    data = existing_partner_form(
        partner, watch_phone="+1 512 555 0111", sectors=[str(sector("dams").pk)]
    )
    data["change_reason"] = "New watch desk number"
    admin_client.post(partner_change_url(partner), data)

    response = admin_client.get(reverse("admin:partners_partner_history", args=[partner.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "New watch desk number" in page
    assert admin_user.username in page
    assert "+1 512 555 0111" in page
    assert "Dams" in page  # many-to-many changes are shown by name
    assert "Revert" not in page


def test_past_versions_are_shown_but_never_saved(admin_client, partner):
    record = partner.history.get()
    url = reverse("admin:partners_partner_simple_history", args=[partner.pk, record.pk])

    shown = admin_client.get(url)
    assert shown.status_code == 200
    assert "Texas Division of Emergency Management" in shown.content.decode()
    assert 'name="name"' not in shown.content.decode()  # shown read-only, no inputs
    response = admin_client.post(url, existing_partner_form(partner, name="Rewritten"))

    assert response.status_code == 403
    partner.refresh_from_db()
    assert partner.name == "Texas Division of Emergency Management"
    assert partner.history.count() == 1


# --- reference data ---------------------------------------------------------------------------


def test_add_state_through_the_service(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:partners_state_add"),
        {
            "code": "ZZ",
            "name": "Test Territory",
            "fips": "99",
            "kind": "territory",
            "change_reason": "Exercise data",
        },
    )

    assert response.status_code == 302
    record = State.objects.get(code="ZZ").history.get()
    assert record.history_user == admin_user
    assert record.history_change_reason == "Exercise data"


def test_invalid_state_shows_the_error(admin_client):
    response = admin_client.post(
        reverse("admin:partners_state_add"),
        {"code": "ZZ", "name": "Test Territory", "fips": "9X", "kind": "territory"},
    )

    assert "fips" in form_errors(response)
    assert not State.objects.filter(code="ZZ").exists()


def test_change_urban_area_states_writes_one_record(admin_client, admin_user):
    area = UrbanArea.objects.get(name="Hampton Roads Area")
    records_before = area.history.count()
    response = admin_client.post(
        reverse("admin:partners_urbanarea_change", args=[area.pk]),
        {
            "name": area.name,
            "states": [str(state("VA").pk), str(state("NC").pk)],
            "program": area.program,
            "fiscal_year": str(area.fiscal_year + 1),
            "active": "on",
            "change_reason": "FY list update",
        },
    )

    assert response.status_code == 302
    assert set(area.states.values_list("code", flat=True)) == {"VA", "NC"}
    assert area.history.count() == records_before + 1
    record = area.history.order_by("-history_id").first()
    assert record.history_user == admin_user
    assert {change["field"] for change in record.changes} == {"states", "fiscal_year"}


def test_change_sector_name(admin_client, admin_user):
    dams = sector("dams")
    response = admin_client.post(
        reverse("admin:partners_sector_change", args=[dams.pk]),
        {"code": "dams", "name": "Dams Sector"},
    )

    assert response.status_code == 302
    assert Sector.objects.get(pk=dams.pk).name == "Dams Sector"
    assert dams.history.order_by("-history_id").first().history_user == admin_user


def test_deleting_a_state_in_use_fails_with_a_message(admin_client, partner):
    texas = state("TX")

    response = admin_client.post(
        reverse("admin:partners_state_delete", args=[texas.pk]), {"post": "yes"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cannot delete state" in page
    assert partner.name in page
    assert State.objects.filter(pk=texas.pk).exists()


def test_a_state_linked_only_by_an_incident_is_in_use_too(admin_client, admin_user, officer):
    state_row = services.save_state(
        actor=admin_user, code="ZZ", name="Test Territory", fips="99", kind="territory"
    )
    incident = make_incident(officer, states=[state_row])

    response = admin_client.post(
        reverse("admin:partners_state_delete", args=[state_row.pk]), {"post": "yes"}
    )

    assert "Cannot delete state" in response.content.decode()
    assert list(incident.states.all()) == [state_row]


def test_bulk_deleting_sectors_in_use_fails_with_a_message(admin_client, partners):
    energy = sector("energy")

    response = admin_client.post(
        reverse("admin:partners_sector_changelist"),
        {"action": "delete_selected", "_selected_action": [str(energy.pk)], "post": "yes"},
    )

    assert response.status_code == 200
    assert "Lone Star Power" in response.content.decode()
    assert Sector.objects.filter(pk=energy.pk).exists()


def test_deleting_an_unused_state_keeps_its_history(admin_client, admin_user):
    state_row = services.save_state(
        actor=admin_user, code="ZZ", name="Test Territory", fips="99", kind="territory"
    )

    response = admin_client.post(
        reverse("admin:partners_state_delete", args=[state_row.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not State.objects.filter(pk=state_row.pk).exists()
    deletion = State.history.filter(id=state_row.pk).order_by("-history_id").first()
    assert deletion.history_type == "-"
    assert deletion.history_user == admin_user
