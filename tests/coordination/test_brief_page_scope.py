"""The printable brief for one state or one urban area (?state=, ?urban_area=), and what it
answers to a parameter it cannot use. Its numbers are those of the ``dailyBrief`` query with
the same scope, over the seeded day of tests/coordination/test_brief.py."""

import html

import pytest

from partners.models import UrbanArea
from tests.coordination.test_brief import (
    BRIEF_PAGE,
    DAILY_BRIEF,
    DAY,
    center_clock,  # noqa: F401 (autouse: the center's time zone)
    seed_brief_day,
    shown,
)
from tests.factories import global_id
from tests.graphql import GraphQLClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(officer, make_user):
    return seed_brief_day(officer, make_user)


COUNTS = ("opened-count", "open-now-total", "actions-overdue", "states-count")


def page_counts(client, query: str) -> dict[str, int]:
    response = client.get(BRIEF_PAGE + query)
    assert response.status_code == 200
    page = response.content.decode()
    return {testid: shown(page, testid) for testid in COUNTS}


def api_counts(officer, **scope) -> dict[str, int]:
    brief = GraphQLClient.logged_in(officer).data(DAILY_BRIEF, {"date": DAY.isoformat(), **scope})[
        "dailyBrief"
    ]
    return {
        "opened-count": brief["incidentsOpened"]["totalCount"],
        "open-now-total": brief["openNow"]["total"],
        "actions-overdue": brief["actions"]["overdue"],
        "states-count": len(brief["states"]),
    }


def ncr() -> UrbanArea:
    return UrbanArea.objects.get(name="National Capital Region")


def test_a_state_brief_counts_that_states_incidents(officer_client, officer, seeded):
    national = page_counts(officer_client, "")
    maryland = page_counts(officer_client, "?state=md")

    assert maryland == api_counts(officer, state="MD")
    assert maryland["open-now-total"] == 2
    assert maryland["open-now-total"] < national["open-now-total"]
    page = officer_client.get(BRIEF_PAGE + "?state=MD").content.decode()
    assert 'data-testid="scope">Maryland (MD).' in page
    # The links to the other days keep the scope.
    assert 'href="/brief/2026-10-13/?state=MD" rel="prev"' in page


@pytest.mark.parametrize("given", ["id", "name", "lower-case name"])
def test_an_urban_area_brief_is_asked_for_by_id_or_name(officer_client, officer, seeded, given):
    area = ncr()
    value = {"id": str(area.pk), "name": area.name, "lower-case name": area.name.lower()}[given]

    counts = page_counts(officer_client, f"?urban_area={value}")

    assert counts == api_counts(officer, urbanArea=global_id(area))
    assert counts["open-now-total"] == 2


def test_state_and_urban_area_together_narrow_to_both(officer_client, officer, seeded):
    area = ncr()
    counts = page_counts(officer_client, f"?state=VA&urban_area={area.pk}")
    assert counts == api_counts(officer, state="VA", urbanArea=global_id(area))


def test_the_brief_without_a_date_keeps_the_scope(officer_client):
    response = officer_client.get("/brief/?state=TX")
    assert response.status_code == 302
    assert response["Location"].endswith("/?state=TX")


@pytest.mark.parametrize(
    ("query", "argument", "message"),
    [
        ("?state=ZZ", "state", "No state, district or territory has the USPS code 'ZZ'."),
        ("?state=", "state", "No state, district or territory has the USPS code ''."),
        ("?state=TX&state=VA", "state", "Give 'state' once"),
        ("?urban_area=999999", "urban_area", "No urban area has the ID or name '999999'."),
        ("?urban_area=Atlantis", "urban_area", "No urban area has the ID or name 'Atlantis'."),
        ("?urban_area=<b>x</b>", "urban_area", "No urban area has the ID or name '<b>x</b>'."),
        ("?stat=TX", "stat", "The brief has no parameter 'stat': it takes 'state'"),
    ],
)
def test_a_parameter_the_brief_cannot_use_is_a_400_naming_it(
    officer_client, query, argument, message
):
    response = officer_client.get(BRIEF_PAGE + query)

    assert response.status_code == 400
    page = response.content.decode()
    assert "<b>x</b>" not in page
    assert f'data-argument="{argument}"' in page
    assert message in html.unescape(page)


def test_a_partner_user_asking_for_another_state_sees_only_its_own_incidents(seeded):
    client = GraphQLClient.logged_in(seeded.partner_user).client
    counts = page_counts(client, "?state=MD")
    assert counts == api_counts(seeded.partner_user, state="MD")
    assert counts["open-now-total"] == 1
