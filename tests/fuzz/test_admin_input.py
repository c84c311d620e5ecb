"""Data pasted into the admin's partner and contact forms (there is no import feature):
NUL bytes, over-long text and bad emails or phone numbers are shown back as
errors on the field at fault, and nothing is written — no row, no history record.

(A lone surrogate cannot arrive here: form data travels as UTF-8, which cannot carry one.)"""

import pytest
from django.urls import reverse

from partners.models import Contact, Partner
from tests.factories import make_partner
from tests.partners.test_admin import contact_errors, contacts_management, form_errors, partner_form

PARTNER_ADD = reverse("admin:partners_partner_add")
CONTACT_ADD = reverse("admin:partners_contact_add")


def written() -> tuple[int, int, int, int]:
    return (
        Partner.objects.count(),
        Partner.history.count(),
        Contact.objects.count(),
        Contact.history.count(),
    )


BAD_PARTNER_FIELDS = [
    ("name", "Fire\x00Department", "Null characters are not allowed."),
    ("name", "x" * 201, "Ensure this value has at most 200 characters (it has 201)."),
    ("name", "   ", "This field is required."),
    ("watch_email", "watch@@example.gov", "Enter a valid email address."),
    ("watch_email", "watch@example.gov\x00", "Null characters are not allowed."),
    (
        "watch_email",
        "a" * 250 + "@example.gov",
        "Ensure this value has at most 254 characters (it has 262).",
    ),
    ("watch_phone", "call 911 or whatever", None),
    ("watch_phone", "+1 " + "5" * 60, None),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_PARTNER_FIELDS)
def test_bad_pasted_partner_data_is_shown_on_its_field_and_nothing_is_written(
    admin_client, field, value, message
):
    before = written()

    response = admin_client.post(PARTNER_ADD, partner_form(**{field: value}))

    errors = form_errors(response)
    assert list(errors) == [field]
    if message is not None:
        assert message in errors[field]
    assert written() == before


BAD_CONTACT_FIELDS = [
    ("name", "Ana\x00Duty", "Null characters are not allowed."),
    ("title", "x" * 121, "Ensure this value has at most 120 characters (it has 121)."),
    ("email", "ana.duty@", "Enter a valid email address."),
    ("email", "ana duty@example.gov", "Enter a valid email address."),
    ("phone", "+1 202 555 0100\x00", "Null characters are not allowed."),
    ("phone", "☎️ 202 555 0100", None),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CONTACT_FIELDS)
def test_bad_pasted_contact_data_is_shown_on_its_row_and_the_partner_is_not_kept(
    admin_client, field, value, message
):
    data = partner_form(**contacts_management(1))
    data.update({"contacts-0-name": "Ana Duty", "contacts-0-email": "ana@example.gov"})
    data[f"contacts-0-{field}"] = value
    before = written()

    response = admin_client.post(PARTNER_ADD, data)

    assert response.status_code == 200
    (row,) = contact_errors(response)
    assert list(row) == [field]
    if message is not None:
        assert message in row[field]
    assert written() == before


@pytest.mark.parametrize(("field", "value", "message"), BAD_CONTACT_FIELDS)
def test_bad_pasted_data_on_the_contact_page_writes_nothing(
    admin_client, admin_user, field, value, message
):
    partner = make_partner(admin_user)
    data = {"partner": str(partner.pk), "name": "Ana Duty", "email": "ana@example.gov"}
    data[field] = value
    before = written()

    response = admin_client.post(CONTACT_ADD, data)

    errors = form_errors(response)
    assert list(errors) == [field]
    if message is not None:
        assert message in errors[field]
    assert written() == before
