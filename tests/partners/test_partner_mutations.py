"""Partner and contact mutations."""

import pytest

from partners.models import Contact, Partner
from tests.factories import global_id, make_contact, make_partner, sector, state
from tests.graphql import GraphQLClient, messages

PARTNER_FIELDS = """
    ... on Partner {
        id name kind level active watchPhone watchEmail
        state { code } urbanArea { name } sectors { code }
        contacts { totalCount edges { node { name isPrimary } } }
    }
    ... on OperationInfo { messages { kind field code message } }
"""
CONTACT_FIELDS = """
    ... on Contact { id name title email phone isPrimary is24x7 partner { name } }
    ... on OperationInfo { messages { kind field code message } }
"""

CREATE_PARTNER = f"""mutation Run($input: CreatePartnerInput!) {{
  createPartner(input: $input) {{ {PARTNER_FIELDS} }} }}"""
UPDATE_PARTNER = f"""mutation Run($input: UpdatePartnerInput!) {{
  updatePartner(input: $input) {{ {PARTNER_FIELDS} }} }}"""
CREATE_CONTACT = f"""mutation Run($input: CreateContactInput!) {{
  createContact(input: $input) {{ {CONTACT_FIELDS} }} }}"""
UPDATE_CONTACT = f"""mutation Run($input: UpdateContactInput!) {{
  updateContact(input: $input) {{ {CONTACT_FIELDS} }} }}"""
DELETE_CONTACT = f"""mutation Run($input: DeleteContactInput!) {{
  deleteContact(input: $input) {{ {CONTACT_FIELDS} }} }}"""


def latest_history(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


@pytest.fixture
def partner(officer):
    return make_partner(officer, name="Texas Division of Emergency Management", state=state("TX"))


# --- createPartner ----------------------------------------------------------------------------


def test_create_partner(gql, officer):
    result = gql.data(
        CREATE_PARTNER,
        {
            "input": {
                "name": "Gulf Coast Electric Cooperative",
                "kind": "CRITICAL_INFRASTRUCTURE",
                "level": "PRIVATE",
                "state": global_id(state("TX")),
                "sectors": [global_id(sector("energy"))],
                "watchPhone": "+1 713 555 0100",
                "watchEmail": "soc@gulfcoast.example.org",
                "changeReason": "New member of the energy ISAC",
            }
        },
    )["createPartner"]
    assert result["name"] == "Gulf Coast Electric Cooperative"
    assert result["kind"] == "CRITICAL_INFRASTRUCTURE"
    assert result["state"] == {"code": "TX"}
    assert result["sectors"] == [{"code": "energy"}]
    partner = Partner.objects.get(name="Gulf Coast Electric Cooperative")
    assert partner.history.count() == 1
    record = latest_history(partner)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        officer,
        "New member of the energy ISAC",
    )
    assert {"field": "sectors", "old": None, "new": [sector("energy").pk]} in record.changes


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": ""}, "name", "blank"),
        ({"name": "n" * 201}, "name", "max_length"),
        ({"state": None}, "state", "required"),  # state-level partners need their state
        ({"watchPhone": "call me"}, "watchPhone", "invalid_phone"),
        ({"watchEmail": "not-an-email"}, "watchEmail", "invalid"),
        ({"state": "UGFydG5lcjox"}, "state", "invalid_id"),
        ({"sectors": ["U2VjdG9yOjk5OTk5"]}, "sectors", "not_found"),
    ],
)
def test_create_partner_validation(gql, overrides, field, code):
    base = {
        "name": "Harris County Sheriff's Office",
        "kind": "LAW_ENFORCEMENT",
        "level": "STATE",
        "state": global_id(state("TX")),
    }
    result = gql.data(CREATE_PARTNER, {"input": base | overrides})["createPartner"]
    assert (field, code) in messages(result)
    assert not Partner.objects.exists()


def test_urban_area_office_needs_an_urban_area_in_its_state(gql, officer):
    result = gql.data(
        CREATE_PARTNER,
        {
            "input": {
                "name": "UASI office",
                "kind": "URBAN_AREA_OFFICE",
                "level": "LOCAL",
                "state": global_id(state("TX")),
            }
        },
    )["createPartner"]
    assert messages(result) == [("urbanArea", "required")]


def test_duplicate_partner_name_in_a_state_is_refused(gql, partner):
    result = gql.data(
        CREATE_PARTNER,
        {
            "input": {
                "name": partner.name,
                "kind": "EMERGENCY_MANAGEMENT",
                "level": "STATE",
                "state": global_id(state("TX")),
            }
        },
    )["createPartner"]
    assert [code for _, code in messages(result)] == ["unique"]


def test_create_partner_is_forbidden_without_a_role(make_user):
    client = GraphQLClient.logged_in(make_user("visitor"))
    result = client.data(
        CREATE_PARTNER, {"input": {"name": "X", "kind": "OTHER", "level": "FEDERAL"}}
    )["createPartner"]
    assert messages(result) == [(None, "forbidden")]
    assert not Partner.objects.exists()


# --- updatePartner ----------------------------------------------------------------------------


def test_update_partner(gql, officer, partner):
    result = gql.data(
        UPDATE_PARTNER,
        {
            "input": {
                "id": global_id(partner),
                "active": False,
                "sectors": [global_id(sector("emergency-services"))],
                "changeReason": "Merged into the state EOC",
            }
        },
    )["updatePartner"]
    assert result["active"] is False
    assert result["sectors"] == [{"code": "emergency-services"}]
    assert result["name"] == "Texas Division of Emergency Management"
    assert partner.history.count() == 2
    record = latest_history(partner)
    assert record.history_user == officer
    assert record.history_change_reason == "Merged into the state EOC"
    assert {"field": "active", "old": True, "new": False} in record.changes


def test_update_partner_validation(gql, partner):
    assert messages(
        gql.data(UPDATE_PARTNER, {"input": {"id": global_id(partner), "name": None}})[
            "updatePartner"
        ]
    ) == [("name", "null")]
    assert messages(
        gql.data(UPDATE_PARTNER, {"input": {"id": global_id(partner), "state": None}})[
            "updatePartner"
        ]
    ) == [("state", "required")]
    assert messages(
        gql.data(UPDATE_PARTNER, {"input": {"id": "UGFydG5lcjo5OTk5OTk=", "name": "x"}})[
            "updatePartner"
        ]
    ) == [("id", "not_found")]
    assert partner.history.count() == 1


# --- contacts ---------------------------------------------------------------------------------


def test_create_contact_and_make_it_primary(gql, officer, partner):
    first = make_contact(officer, partner, name="Ana Reyes", is_primary=True)
    result = gql.data(
        CREATE_CONTACT,
        {
            "input": {
                "partner": global_id(partner),
                "name": "Sam Okafor",
                "title": "Watch commander",
                "phone": "(512) 555-0142",
                "isPrimary": True,
                "is24x7": True,
                "changeReason": "New watch commander",
            }
        },
    )["createContact"]
    assert result["isPrimary"] is True
    assert result["is24x7"] is True
    assert result["partner"]["name"] == partner.name
    first.refresh_from_db()
    assert first.is_primary is False, "a partner has one primary contact"
    demotion = latest_history(first)
    assert demotion.history_user == officer
    assert demotion.history_change_reason == "Sam Okafor became the primary contact"
    created = latest_history(Contact.objects.get(name="Sam Okafor"))
    assert (created.history_type, created.history_change_reason) == ("+", "New watch commander")


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"email": "", "phone": ""}, "email", "required"),
        ({"email": "nope"}, "email", "invalid"),
        ({"phone": "555"}, "phone", "invalid_phone"),
        ({"name": ""}, "name", "blank"),
        ({"partner": "UGFydG5lcjo5OTk5OTk="}, "partner", "not_found"),
    ],
)
def test_create_contact_validation(gql, partner, overrides, field, code):
    base = {"partner": global_id(partner), "name": "Lee", "email": "lee@example.gov"}
    result = gql.data(CREATE_CONTACT, {"input": base | overrides})["createContact"]
    assert (field, code) in messages(result)
    assert not Contact.objects.exists()


def test_update_contact(gql, officer, partner):
    contact = make_contact(officer, partner, name="Jo Park")
    result = gql.data(
        UPDATE_CONTACT,
        {"input": {"id": global_id(contact), "title": "Deputy director", "changeReason": "Promo"}},
    )["updateContact"]
    assert result["title"] == "Deputy director"
    record = latest_history(contact)
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "~",
        officer,
        "Promo",
    )
    invalid = gql.data(UPDATE_CONTACT, {"input": {"id": global_id(contact), "email": "x@"}})[
        "updateContact"
    ]
    assert messages(invalid) == [("email", "invalid")]


def test_delete_contact_keeps_its_history(gql, officer, partner):
    contact = make_contact(officer, partner, name="Retiring Person")
    contact_id = global_id(contact)
    result = gql.data(DELETE_CONTACT, {"input": {"id": contact_id, "changeReason": "Retired"}})[
        "deleteContact"
    ]
    assert result["id"] == contact_id
    assert result["name"] == "Retiring Person"
    assert not Contact.objects.filter(pk=contact.pk).exists()
    records = Contact.history.filter(id=contact.pk).order_by("history_date")
    assert [r.history_type for r in records] == ["+", "-"]
    assert (records.last().history_user, records.last().history_change_reason) == (
        officer,
        "Retired",
    )
    again = gql.data(DELETE_CONTACT, {"input": {"id": contact_id}})["deleteContact"]
    assert messages(again) == [("id", "not_found")]
