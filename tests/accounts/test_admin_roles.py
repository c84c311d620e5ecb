"""Accounts, roles and memberships in the admin, and what each role may do there.

Every test drives the real admin views through the test client: ``admin_client`` is logged in
as the ``admin_user`` superuser (an administrator), the others as the conftest's officer and
auditor.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from opsapi.accounts import services
from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER, Forbidden, roles_of
from opsapi.accounts.models import ApiToken, PartnerMembership
from opsapi.audit.models import AuditAccess
from tests.factories import make_action, make_contact, make_incident, make_partner, state

pytestmark = pytest.mark.django_db

User = get_user_model()
USER_ADD = reverse("admin:auth_user_add")
USER_LIST = reverse("admin:auth_user_changelist")
INCIDENT_LIST = reverse("admin:coordination_incident_changelist")


def user_url(user, view="change") -> str:
    return reverse(f"admin:auth_user_{view}", args=[user.pk])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def user_form(user, **overrides) -> dict:
    """POST data of ``user``'s change form as shown."""
    membership = PartnerMembership.objects.filter(user=user).first()
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "roles": list(user.groups.values_list("name", flat=True)),
        "partner": str(membership.partner_id) if membership else "",
        "change_reason": "",
    }
    flags = ("is_active", "is_staff", "is_superuser")
    data.update({flag: "on" for flag in flags if getattr(user, flag)})
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def form_errors(response) -> dict:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors.as_data()


def codes(errors, field) -> list[str]:
    return [error.code for error in errors[field]]


@pytest.fixture
def partner(admin_user):
    return make_partner(admin_user, name="Alpha County Emergency Management")


@pytest.fixture
def newcomer(make_user):
    """An account without any role yet."""
    return make_user("newcomer", first_name="Nia", last_name="Newcomer")


# --- roles and memberships --------------------------------------------------------------------


def test_partner_user_role_and_partner_in_one_save(admin_client, admin_user, newcomer, partner):
    user_records, membership_records = newcomer.history.count(), PartnerMembership.history.count()

    response = admin_client.post(
        user_url(newcomer),
        user_form(
            newcomer, roles=[PARTNER_USER], partner=str(partner.pk), change_reason="Duty desk"
        ),
    )

    assert response.status_code == 302, response.context and form_errors(response)
    assert newcomer.history.count() == user_records + 1
    record = newcomer.history.order_by("-history_id").first()
    assert record.history_type == "~"
    assert record.history_user == admin_user
    assert record.history_change_reason == "Duty desk"
    group = Group.objects.get(name=PARTNER_USER)
    assert [change["field"] for change in record.changes] == ["groups"]
    assert record.changes[0]["new"] == [group.pk]
    assert list(record.groups.values_list("group_id", flat=True)) == [group.pk]
    assert PartnerMembership.history.count() == membership_records + 1
    membership = PartnerMembership.objects.get(user=newcomer)
    assert membership.partner == partner
    membership_record = membership.history.get()
    assert membership_record.history_type == "+"
    assert membership_record.history_user == admin_user
    assert membership_record.history_change_reason == "Duty desk"
    assert roles_of(User.objects.get(pk=newcomer.pk)).partner_id == partner.pk


def test_partner_user_role_without_partner_is_refused(admin_client, newcomer):
    records = newcomer.history.count(), PartnerMembership.history.count()

    response = admin_client.post(user_url(newcomer), user_form(newcomer, roles=[PARTNER_USER]))

    assert codes(form_errors(response), "partner") == [services.MEMBERSHIP_REQUIRED]
    assert "choose it" in response.content.decode()
    assert not newcomer.groups.exists()
    assert (newcomer.history.count(), PartnerMembership.history.count()) == records


def test_partner_without_the_partner_user_role_is_refused(admin_client, newcomer, partner):
    records = newcomer.history.count(), PartnerMembership.history.count()

    response = admin_client.post(
        user_url(newcomer), user_form(newcomer, roles=[OPS_OFFICER], partner=str(partner.pk))
    )

    assert codes(form_errors(response), "partner") == [services.MEMBERSHIP_WITHOUT_ROLE]
    assert not newcomer.groups.exists()
    assert not PartnerMembership.objects.filter(user=newcomer).exists()
    assert (newcomer.history.count(), PartnerMembership.history.count()) == records


def test_moving_a_partner_user_changes_only_the_membership(
    admin_client, admin_user, make_user, partner
):
    other = make_partner(admin_user, name="Bravo Regional Fusion Center")
    duty = make_user("alpha.duty", partner=partner)
    user_records = duty.history.count()

    response = admin_client.post(
        user_url(duty), user_form(duty, partner=str(other.pk), change_reason="Moved to Bravo")
    )

    assert response.status_code == 302
    assert duty.history.count() == user_records
    membership = PartnerMembership.objects.get(user=duty)
    assert membership.partner == other
    record = membership.history.order_by("-history_id").first()
    assert record.history_type == "~"
    assert record.changes == [{"field": "partner", "old": partner.pk, "new": other.pk}]
    assert record.history_change_reason == "Moved to Bravo"


def test_ending_a_membership_with_the_role(admin_client, admin_user, make_user, partner):
    duty = make_user("alpha.duty", partner=partner)

    response = admin_client.post(
        user_url(duty), user_form(duty, roles=[], partner="", change_reason="Left Alpha")
    )

    assert response.status_code == 302
    assert not duty.groups.exists()
    assert duty.history.order_by("-history_id").first().history_change_reason == "Left Alpha"
    deletion = PartnerMembership.history.filter(user=duty).order_by("-history_id").first()
    assert deletion.history_type == "-"
    assert deletion.history_user == admin_user
    assert roles_of(User.objects.get(pk=duty.pk)).partner_id is None


def test_fields_and_roles_are_one_record(admin_client, newcomer):
    response = admin_client.post(
        user_url(newcomer),
        user_form(newcomer, roles=[AUDITOR], is_staff="on", email="nia@example.gov"),
    )

    assert response.status_code == 302
    record = newcomer.history.order_by("-history_id").first()
    assert {change["field"] for change in record.changes} == {"groups", "is_staff", "email"}
    assert newcomer.history.count() == 2  # opened, then this change


def test_saving_an_unchanged_user_writes_nothing(admin_client, make_user, partner):
    duty = make_user("alpha.duty", partner=partner)
    records = duty.history.count(), PartnerMembership.history.count()

    response = admin_client.post(user_url(duty), user_form(duty))

    assert response.status_code == 302
    assert (duty.history.count(), PartnerMembership.history.count()) == records


def test_other_groups_are_kept_when_roles_change(admin_client, newcomer):
    watch = Group.objects.create(name="night-watch")
    newcomer.groups.add(watch)

    admin_client.post(user_url(newcomer), user_form(newcomer, roles=[OPS_OFFICER]))

    assert set(newcomer.groups.values_list("name", flat=True)) == {"night-watch", OPS_OFFICER}


def test_an_administrator_cannot_take_their_own_access(admin_client, admin_user):
    response = admin_client.post(user_url(admin_user), user_form(admin_user, is_superuser=None))

    assert codes(form_errors(response), "is_superuser") == [services.OWN_ACCESS]
    admin_user.refresh_from_db()
    assert admin_user.is_superuser


def test_role_change_shows_on_the_next_request(admin_client, newcomer):
    newcomer_client = logged_in(newcomer)
    assert newcomer_client.get(INCIDENT_LIST).status_code == 302  # not staff: to the login page

    admin_client.post(user_url(newcomer), user_form(newcomer, roles=[OPS_OFFICER], is_staff="on"))

    assert newcomer_client.get(INCIDENT_LIST).status_code == 200
    admin_client.post(
        user_url(newcomer), user_form(User.objects.get(pk=newcomer.pk), roles=[AUDITOR])
    )
    page = newcomer_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:auth_user_changelist") in page  # auditors read accounts
    assert reverse("admin:partners_partner_add") not in page


def test_user_history_page_shows_role_changes(admin_client, newcomer):
    admin_client.post(
        user_url(newcomer),
        user_form(newcomer, roles=[AUDITOR], change_reason="Joins the audit team"),
    )

    page = admin_client.get(user_url(newcomer, "history")).content.decode()

    assert "Joins the audit team" in page
    assert AUDITOR in page  # the group's name, in the record's changes


def test_change_page_shows_roles_and_partner(admin_client, make_user, partner):
    duty = make_user("alpha.duty", partner=partner)

    form = admin_client.get(user_url(duty)).context["adminform"].form

    assert form["roles"].initial == [PARTNER_USER]
    assert form["partner"].initial == partner.pk


# --- accounts ---------------------------------------------------------------------------------


def test_open_an_account(admin_client, admin_user):
    response = admin_client.post(
        USER_ADD,
        {
            "username": "new.officer",
            "usable_password": "true",
            "password1": "a long pass phrase 2026",
            "password2": "a long pass phrase 2026",
            "change_reason": "Hired",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="new.officer")
    assert user.check_password("a long pass phrase 2026")
    assert response["Location"] == user_url(user)  # on to its roles
    record = user.history.get()
    assert record.history_type == "+"
    assert record.history_user == admin_user
    assert record.history_change_reason == "Hired"


def test_an_account_name_differing_only_in_case_is_refused(admin_client, newcomer):
    response = admin_client.post(
        USER_ADD, {"username": "NewComer", "usable_password": "false", "change_reason": ""}
    )

    assert "username" in form_errors(response)
    assert not User.objects.filter(username="NewComer").exists()


def test_password_change_keeps_working(admin_client, admin_user, newcomer):
    response = admin_client.post(
        user_url(newcomer, "password_change"),
        {"password1": "another pass phrase 2026", "password2": "another pass phrase 2026"},
    )

    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.check_password("another pass phrase 2026")
    assert newcomer.history.order_by("-history_id").first().history_user == admin_user


# Administrators get deactivation instead: tests/accounts/test_user_deactivation.py.
@pytest.mark.parametrize("who", ["officer", "auditor"])
def test_users_are_never_deleted(request, who, newcomer):
    client = logged_in(request.getfixturevalue(who))
    delete_url = user_url(newcomer, "delete")

    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [str(newcomer.pk)], "post": "yes"}
    client.post(USER_LIST, bulk)
    assert User.objects.filter(pk=newcomer.pk).exists()


# --- officers ---------------------------------------------------------------------------------


def test_officer_cannot_open_accounts_or_change_roles(officer_client, newcomer):
    assert officer_client.get(USER_LIST).status_code == 403
    assert officer_client.get(user_url(newcomer)).status_code == 403
    assert officer_client.get(USER_ADD).status_code == 403
    response = officer_client.post(user_url(newcomer), user_form(newcomer, roles=[OPS_OFFICER]))
    assert response.status_code == 403
    assert officer_client.get(user_url(newcomer, "password_change")).status_code == 403
    assert not newcomer.groups.exists()


def test_officer_cannot_manage_tokens_or_memberships(officer_client, officer, make_user, partner):
    duty = make_user("alpha.duty", partner=partner)
    membership = PartnerMembership.objects.get(user=duty)
    token, _ = services.issue_token(user=officer, name="Desk", actor=officer)

    assert officer_client.get(reverse("admin:accounts_apitoken_changelist")).status_code == 403
    assert officer_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    change = reverse("admin:accounts_partnermembership_change", args=[membership.pk])
    assert officer_client.get(change).status_code == 200  # officers look memberships up
    assert officer_client.post(change, {"partner": ""}).status_code == 403
    assert officer_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_roles_are_set_by_administrators_only(officer, auditor, newcomer):
    for actor in (officer, auditor, None):
        with pytest.raises(Forbidden):
            services.update_user(actor=actor, user=newcomer, roles=[OPS_OFFICER])
    assert not newcomer.groups.exists()


def test_update_user_validates_roles_and_membership_together(administrator, newcomer, partner):
    with pytest.raises(ValidationError) as refused:
        services.update_user(actor=administrator, user=newcomer, roles=["superhero"])
    assert refused.value.error_dict["roles"][0].code == "invalid_choice"
    with pytest.raises(ValidationError) as refused:
        services.update_user(actor=administrator, user=newcomer, partner=partner)
    assert refused.value.error_dict["partner"][0].code == services.MEMBERSHIP_WITHOUT_ROLE

    services.update_user(
        actor=administrator, user=newcomer, roles=[PARTNER_USER], partner=partner, reason="x"
    )

    assert roles_of(newcomer).partner_id == partner.pk  # the cached roles were dropped
    with pytest.raises(ValidationError) as refused:
        services.update_user(actor=administrator, user=newcomer, partner=None)
    assert refused.value.error_dict["partner"][0].code == services.MEMBERSHIP_REQUIRED


# --- administrators ---------------------------------------------------------------------------


def test_administrators_do_not_see_incidents_without_a_reading_role(admin_client, officer):
    incident = make_incident(officer)

    assert admin_client.get(INCIDENT_LIST).status_code == 403
    history = reverse("admin:coordination_incident_history", args=[incident.pk])
    assert admin_client.get(history).status_code == 403
    assert reverse("admin:coordination_incident_changelist") not in (
        admin_client.get(reverse("admin:index")).content.decode()
    )


def test_groups_are_shown_not_edited(admin_client):
    group = Group.objects.get(name=AUDITOR)
    url = reverse("admin:auth_group_change", args=[group.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(url, {"name": "renamed"}).status_code == 403
    assert admin_client.get(reverse("admin:auth_group_add")).status_code == 403


# --- auditors ---------------------------------------------------------------------------------


@pytest.fixture
def every_kind_of_row(admin_user, officer, make_user):
    """One row of each model with an admin page, each with its history."""
    partner = make_partner(officer, name="Alpha County Emergency Management")
    incident = make_incident(officer)
    duty = make_user("alpha.duty", partner=partner)
    token, _ = services.issue_token(user=duty, name="Mobile app", actor=admin_user)
    from partners.models import Sector, UrbanArea

    return {
        "coordination_incident": incident,
        "coordination_coordinationaction": make_action(officer, incident, partner),
        "partners_partner": partner,
        "partners_contact": make_contact(officer, partner),
        "partners_state": state("TX"),
        "partners_urbanarea": UrbanArea.objects.order_by("pk").first(),
        "partners_sector": Sector.objects.order_by("pk").first(),
        "accounts_partnermembership": PartnerMembership.objects.get(user=duty),
        "auth_user": duty,
        "accounts_apitoken": token,
    }


def test_auditor_reads_every_history_page_and_changes_nothing(auditor, every_kind_of_row):
    client = logged_in(auditor)

    for name, row in every_kind_of_row.items():
        history_records = row.history.count()
        record = row.history.order_by("history_id").first()
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
        assert client.get(reverse(f"admin:{name}_history", args=[row.pk])).status_code == 200, name
        version = reverse(f"admin:{name}_simple_history", args=[row.pk, record.pk])
        assert client.get(version).status_code == 200, name
        assert client.post(version, {"name": "Rewritten"}).status_code == 403, name

        change = reverse(f"admin:{name}_change", args=[row.pk])
        page = client.get(change)
        assert page.status_code == 200, name
        assert 'name="_save"' not in page.content.decode(), name
        assert client.post(change, {"name": "Changed"}).status_code == 403, name
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403, name
        delete = reverse(f"admin:{name}_delete", args=[row.pk])
        assert client.get(delete).status_code == 403, name
        assert client.post(delete, {"post": "yes"}).status_code == 403, name
        assert type(row).objects.filter(pk=row.pk).exists(), name
        assert row.history.count() == history_records, name


def test_reading_history_in_the_admin_is_recorded(auditor, officer):
    incident = make_incident(officer)
    record = incident.history.get()
    client = logged_in(auditor)

    client.get(reverse("admin:coordination_incident_history", args=[incident.pk]))
    client.get(reverse("admin:coordination_incident_simple_history", args=[incident.pk, record.pk]))

    reads = list(AuditAccess.objects.filter(user=auditor).order_by("id"))
    assert [(r.operation, r.target) for r in reads] == [
        ("history", f"admin:coordination.Incident:{incident.pk}"),
        ("history", f"admin:coordination.Incident:{incident.pk}@{record.pk}"),
    ]
    assert all(r.request_id for r in reads)
    assert reads[1].arguments == {
        "model": "coordination.Incident",
        "object": str(incident.pk),
        "version": str(record.pk),
    }


def test_auditor_sees_no_write_button(auditor, every_kind_of_row):
    client = logged_in(auditor)

    index = client.get(reverse("admin:index")).content.decode()
    assert "/add/" not in index
    tokens = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert set(tokens.context["cl"].result_list) == {every_kind_of_row["accounts_apitoken"]}
    assert "revoke_selected" not in tokens.content.decode()
    user_page = client.get(user_url(every_kind_of_row["auth_user"])).content.decode()
    assert "pbkdf2" not in user_page  # no password hash, nor the link to change it
    assert "Partner user" in user_page
    assert (
        client.get(user_url(every_kind_of_row["auth_user"], "password_change")).status_code == 403
    )


def test_auditor_reads_the_audit_records(auditor):
    client = logged_in(auditor)

    assert client.get(reverse("admin:audit_auditaccess_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditcheckpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditaccess_add")).status_code == 403
