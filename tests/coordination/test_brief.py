"""The daily brief and the situation picture: exact numbers for a seeded day, for every role.

The seeded day is Wednesday 2026-10-14 on the center's clock (America/New_York, EDT, UTC-4).
Every event is placed in time with the services' ``now=`` parameters, a few of them just
outside the day on the local clock but inside it in UTC (or the other way round), so that a
brief computed in UTC would count them wrongly.
"""

import dataclasses
import datetime
import html
import re
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from coordination.brief import Window
from coordination.choices import (
    ActionOutcome,
    IncidentCategory,
    IncidentStatus,
    Severity,
    Tlp,
)
from coordination.services import (
    acknowledge_action,
    cancel_action,
    change_incident_status,
    respond_to_action,
    share_incident,
)
from partners.choices import PartnerKind, PartnerLevel
from partners.models import UrbanArea
from tests.factories import global_id, make_action, make_incident, make_partner, state
from tests.graphql import GraphQLClient

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DAY = datetime.date(2026, 10, 14)

DAILY_BRIEF = """
query($date: Date, $state: String, $urbanArea: ID) {
  dailyBrief(date: $date, state: $state, urbanArea: $urbanArea) {
    date startsAt endsAt timeZone
    state { code }
    urbanArea { name }
    incidentsOpened { totalCount edges { node { reference title } } }
    statusChanges { total byStatus { key count } }
    openNow {
      total
      bySeverity { key count }
      byCategory { key count }
      byStatus { key count }
    }
    states { state { code } openNow opened }
    urbanAreas { urbanArea { name } openNow opened }
    actions { created acknowledged completed overdue }
    overdueActions { totalCount edges { node { partner { name } incident { title } status } } }
    unacknowledgedPartners { partner { name } actions oldestDueAt }
  }
}"""

SITUATION = """
query($state: String, $urbanArea: ID, $first: Int) {
  situation(state: $state, urbanArea: $urbanArea) {
    state { code }
    urbanArea { name }
    incidents(first: $first) {
      totalCount
      edges { node { title severity status states { code } } }
    }
    openActions { key count }
    partnersEngaged { totalCount edges { node { name } } }
  }
}"""


@pytest.fixture(autouse=True)
def center_clock(settings):
    settings.TIME_ZONE = "America/New_York"


def local(days: int, hour: int, minute: int = 0, *, day=DAY) -> datetime.datetime:
    """A time on the center's clock, ``days`` after ``day``."""
    date = day + datetime.timedelta(days=days)
    return datetime.datetime.combine(date, datetime.time(hour, minute), tzinfo=NEW_YORK)


def urban_area(name: str) -> UrbanArea:
    return UrbanArea.objects.get(name=name)


@dataclasses.dataclass
class Seeded:
    """The seeded day: partners, one partner user, incidents I1..I7 and actions A1..A7."""

    vdem: object  # Virginia Department of Emergency Management (the partner user's)
    mcac: object  # Maryland Coordination and Analysis Center
    tdem: object  # Texas Division of Emergency Management
    bpd: object  # Baltimore Police Department (shared on I3 only)
    harris: object  # Harris County OEM (shared on a resolved incident only)
    partner_user: object
    incidents: dict
    actions: dict


def seed_brief_day(officer, make_user) -> Seeded:
    """Seed the day described in the module docstring (see the expected numbers below)."""
    vdem = make_partner(officer, name="Virginia Department of Emergency Management")
    mcac = make_partner(
        officer,
        name="Maryland Coordination and Analysis Center",
        kind=PartnerKind.FUSION_CENTER,
        state=state("MD"),
    )
    tdem = make_partner(officer, name="Texas Division of Emergency Management", state=state("TX"))
    bpd = make_partner(
        officer,
        name="Baltimore Police Department",
        kind=PartnerKind.LAW_ENFORCEMENT,
        level=PartnerLevel.LOCAL,
        state=state("MD"),
    )
    harris = make_partner(
        officer,
        name="Harris County Office of Emergency Management",
        level=PartnerLevel.LOCAL,
        state=state("TX"),
    )
    partner_user = make_user("vdem.watch", partner=vdem)
    ncr = urban_area("National Capital Region")

    def incident(title, when, severity, category, states, **fields):
        return make_incident(
            officer,
            title=title,
            severity=severity,
            category=category,
            states=[state(code) for code in states],
            now=when,
            **fields,
        )

    def move(incident, status, when):
        return change_incident_status(
            actor=officer, incident=incident, version=incident.version, status=status, now=when
        )

    def share(incident, *partners):
        return share_incident(
            actor=officer, incident=incident, version=incident.version, partners=partners
        )

    # I1: opened at 08:00, active at 09:00, shared with VDEM.
    i1 = incident(
        "Chlorine release at a chemical plant",
        local(0, 8),
        Severity.CRITICAL,
        IncidentCategory.HAZMAT,
        ["VA"],
        urban_areas=[ncr],
    )
    i1 = share(i1, vdem)
    i1 = move(i1, IncidentStatus.ACTIVE, local(0, 9))
    # I2: opened the day before, active then, monitoring from 10:00; VDEM sees it via A1.
    i2 = incident(
        "Bridge closed after barge strike",
        local(-1, 15),
        Severity.HIGH,
        IncidentCategory.INFRASTRUCTURE,
        ["VA", "MD"],
        urban_areas=[ncr],
    )
    i2 = move(i2, IncidentStatus.ACTIVE, local(-1, 16))
    i2 = move(i2, IncidentStatus.MONITORING, local(0, 10))
    # I3: opened at 13:00, still reported; shared with Baltimore PD.
    i3 = incident(
        "Ransomware at a water utility",
        local(0, 13),
        Severity.HIGH,
        IncidentCategory.CYBER,
        ["MD"],
        urban_areas=[urban_area("Baltimore Area")],
    )
    i3 = share(i3, bpd)
    # I4: opened three days before, resolved at 14:00; shared with Harris County.
    i4 = incident(
        "River flooding", local(-3, 6), Severity.MODERATE, IncidentCategory.NATURAL_HAZARD, ["TX"]
    )
    i4 = move(i4, IncidentStatus.ACTIVE, local(-3, 7))
    i4 = move(i4, IncidentStatus.RESOLVED, local(0, 14))
    i4 = share(i4, harris)
    # I5: opened at 20:00 local (00:00 UTC the next day), TLP:RED, shared with VDEM but no
    # VDEM user named: VDEM does not see it.
    i5 = incident(
        "Protest outside the state capitol",
        local(0, 20),
        Severity.LOW,
        IncidentCategory.CIVIL_UNREST,
        ["VA"],
        tlp=Tlp.RED,
    )
    i5 = share(i5, vdem)
    # I6: opened at 00:30 the next day (inside the day in UTC), active at 01:00.
    i6 = incident(
        "Measles cluster",
        local(1, 0, 30),
        Severity.MODERATE,
        IncidentCategory.PUBLIC_HEALTH,
        ["VA"],
    )
    i6 = move(i6, IncidentStatus.ACTIVE, local(1, 1))
    # I7: opened at 23:59 the day before (03:59 UTC on the day), closed at 11:00.
    i7 = incident(
        "False alarm at a transit hub",
        local(-1, 23, 59),
        Severity.LOW,
        IncidentCategory.TRANSPORTATION,
        ["DC"],
    )
    i7 = move(i7, IncidentStatus.CLOSED, local(0, 11))

    def action(incident, partner, created, due):
        return make_action(officer, incident, partner, due_at=due, now=created)

    # A1: to VDEM about I2, due the evening before, never acknowledged.
    a1 = action(i2, vdem, local(-1, 17), local(-1, 21))
    # A2: to VDEM about I1, acknowledged by VDEM at 09:15, due at noon, still open.
    a2 = action(i1, vdem, local(0, 8, 30), local(0, 12))
    a2 = acknowledge_action(actor=partner_user, action=a2, version=a2.version, now=local(0, 9, 15))
    # A3: to MCAC about I3, due at 15:00, never acknowledged.
    a3 = action(i3, mcac, local(0, 13, 30), local(0, 15))
    # A4: to MCAC about I1, completed at 16:00 (which acknowledges it too).
    a4 = action(i1, mcac, local(0, 9), local(0, 18))
    a4 = respond_to_action(
        actor=officer,
        action=a4,
        version=a4.version,
        outcome=ActionOutcome.COMPLETED,
        response="Decontamination team sent.",
        now=local(0, 16),
    )
    # A5: to TDEM about I6, issued after the day, due at 06:00 the next morning.
    a5 = action(i6, tdem, local(1, 0, 45), local(1, 6))
    # A6: to TDEM about I4, cancelled two days before.
    a6 = action(i4, tdem, local(-3, 12), local(-2, 12))
    a6 = cancel_action(actor=officer, action=a6, version=a6.version, now=local(-2, 10))
    # A7: to MCAC about I2, acknowledged at 07:00, completed the next night.
    a7 = action(i2, mcac, local(-1, 18), local(0, 8))
    a7 = acknowledge_action(actor=officer, action=a7, version=a7.version, now=local(0, 7))
    a7 = respond_to_action(
        actor=officer,
        action=a7,
        version=a7.version,
        outcome=ActionOutcome.COMPLETED,
        response="Traffic rerouted.",
        now=local(1, 2),
    )
    return Seeded(
        vdem=vdem,
        mcac=mcac,
        tdem=tdem,
        bpd=bpd,
        harris=harris,
        partner_user=partner_user,
        incidents={"I1": i1, "I2": i2, "I3": i3, "I4": i4, "I5": i5, "I6": i6, "I7": i7},
        actions={"A1": a1, "A2": a2, "A3": a3, "A4": a4, "A5": a5, "A6": a6, "A7": a7},
    )


@pytest.fixture
def seeded(officer, make_user) -> Seeded:
    return seed_brief_day(officer, make_user)


def brief(client, **variables) -> dict:
    variables.setdefault("date", DAY.isoformat())
    return client.data(DAILY_BRIEF, variables)["dailyBrief"]


def nonzero(counts: list[dict]) -> dict:
    return {item["key"]: item["count"] for item in counts if item["count"]}


def opened_titles(result) -> list[str]:
    return [edge["node"]["title"] for edge in result["incidentsOpened"]["edges"]]


def places(rows, key, name) -> list[tuple]:
    return [(row[key][name], row["openNow"], row["opened"]) for row in rows]


def unacknowledged(result) -> list[tuple]:
    return [
        (row["partner"]["name"], row["actions"], row["oldestDueAt"])
        for row in result["unacknowledgedPartners"]
    ]


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


# --- the whole day, by role -----------------------------------------------------------------


def test_officer_brief_counts_the_day_on_the_centers_clock(gql, seeded):
    result = brief(gql)

    assert result["date"] == "2026-10-14"
    assert result["startsAt"] == "2026-10-14T00:00:00-04:00"
    assert result["endsAt"] == "2026-10-15T00:00:00-04:00"
    assert result["timeZone"] == "America/New_York"
    assert result["state"] is None
    assert result["urbanArea"] is None
    assert result["incidentsOpened"]["totalCount"] == 3
    assert opened_titles(result) == [
        "Chlorine release at a chemical plant",
        "Ransomware at a water utility",
        "Protest outside the state capitol",
    ]
    assert result["statusChanges"]["total"] == 4
    assert nonzero(result["statusChanges"]["byStatus"]) == {
        "ACTIVE": 1,
        "MONITORING": 1,
        "RESOLVED": 1,
        "CLOSED": 1,
    }
    open_now = result["openNow"]
    assert open_now["total"] == 5
    assert [item["key"] for item in open_now["bySeverity"]] == [
        "CRITICAL",
        "HIGH",
        "MODERATE",
        "LOW",
    ]
    assert nonzero(open_now["bySeverity"]) == {"CRITICAL": 1, "HIGH": 2, "MODERATE": 1, "LOW": 1}
    assert len(open_now["byCategory"]) == len(IncidentCategory)
    assert nonzero(open_now["byCategory"]) == {
        "HAZMAT": 1,
        "INFRASTRUCTURE": 1,
        "CYBER": 1,
        "CIVIL_UNREST": 1,
        "PUBLIC_HEALTH": 1,
    }
    assert nonzero(open_now["byStatus"]) == {"REPORTED": 2, "ACTIVE": 2, "MONITORING": 1}
    assert places(result["states"], "state", "code") == [("VA", 4, 2), ("MD", 2, 1)]
    assert places(result["urbanAreas"], "urbanArea", "name") == [
        ("National Capital Region", 2, 1),
        ("Baltimore Area", 1, 1),
    ]
    assert result["actions"] == {"created": 3, "acknowledged": 3, "completed": 1, "overdue": 3}
    assert result["overdueActions"]["totalCount"] == 3
    assert [
        (e["node"]["partner"]["name"], e["node"]["incident"]["title"], e["node"]["status"])
        for e in result["overdueActions"]["edges"]
    ] == [
        (
            "Virginia Department of Emergency Management",
            "Bridge closed after barge strike",
            "PENDING",
        ),
        (
            "Virginia Department of Emergency Management",
            "Chlorine release at a chemical plant",
            "ACKNOWLEDGED",
        ),
        ("Maryland Coordination and Analysis Center", "Ransomware at a water utility", "PENDING"),
    ]
    assert unacknowledged(result) == [
        ("Virginia Department of Emergency Management", 1, iso(local(-1, 21))),
        ("Maryland Coordination and Analysis Center", 1, iso(local(0, 15))),
    ]


def test_auditor_reads_the_same_brief_as_an_officer(gql, auditor, seeded):
    assert brief(GraphQLClient.logged_in(auditor)) == brief(gql)


def test_partner_brief_covers_only_what_the_partner_may_see(seeded):
    result = brief(GraphQLClient.logged_in(seeded.partner_user))

    # I1 (shared) and I2 (through A1) only: not I5, shared but TLP:RED without a named user.
    assert result["incidentsOpened"]["totalCount"] == 1
    assert opened_titles(result) == ["Chlorine release at a chemical plant"]
    # Status-change entries are internal timeline entries, which partners do not read.
    assert result["statusChanges"]["total"] == 0
    assert result["openNow"]["total"] == 2
    assert nonzero(result["openNow"]["bySeverity"]) == {"CRITICAL": 1, "HIGH": 1}
    assert nonzero(result["openNow"]["byCategory"]) == {"HAZMAT": 1, "INFRASTRUCTURE": 1}
    assert nonzero(result["openNow"]["byStatus"]) == {"ACTIVE": 1, "MONITORING": 1}
    assert places(result["states"], "state", "code") == [("VA", 2, 1), ("MD", 1, 0)]
    assert places(result["urbanAreas"], "urbanArea", "name") == [("National Capital Region", 2, 1)]
    # Its own actions only (A1, A2), not MCAC's on the same incidents.
    assert result["actions"] == {"created": 1, "acknowledged": 1, "completed": 0, "overdue": 2}
    assert result["overdueActions"]["totalCount"] == 2
    assert unacknowledged(result) == [
        ("Virginia Department of Emergency Management", 1, iso(local(-1, 21))),
    ]


def test_someone_without_a_role_gets_an_empty_brief(outsider, seeded):
    result = brief(GraphQLClient.logged_in(outsider))

    assert result["incidentsOpened"] == {"totalCount": 0, "edges": []}
    assert result["statusChanges"]["total"] == 0
    assert nonzero(result["statusChanges"]["byStatus"]) == {}
    assert result["openNow"]["total"] == 0
    assert nonzero(result["openNow"]["bySeverity"]) == {}
    assert result["states"] == []
    assert result["urbanAreas"] == []
    assert result["actions"] == {"created": 0, "acknowledged": 0, "completed": 0, "overdue": 0}
    assert result["overdueActions"]["totalCount"] == 0
    assert result["unacknowledgedPartners"] == []


def test_anonymous_callers_are_told_to_authenticate(anonymous_gql, seeded):
    for query in (DAILY_BRIEF, SITUATION):
        response = anonymous_gql.post(query)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_date_defaults_to_today_on_the_centers_clock(gql):
    result = gql.data("{ dailyBrief { date startsAt } }")["dailyBrief"]
    assert result["date"] == timezone.localdate().isoformat()


# --- scope ----------------------------------------------------------------------------------


def test_state_scope_counts_incidents_affecting_the_state(gql, seeded):
    result = brief(gql, state="va")

    assert result["state"] == {"code": "VA"}
    assert opened_titles(result) == [
        "Chlorine release at a chemical plant",
        "Protest outside the state capitol",
    ]
    assert result["statusChanges"]["total"] == 2
    assert nonzero(result["statusChanges"]["byStatus"]) == {"ACTIVE": 1, "MONITORING": 1}
    assert result["openNow"]["total"] == 4
    # The bridge (VA and MD) is in scope, so MD is listed for it.
    assert places(result["states"], "state", "code") == [("VA", 4, 2), ("MD", 1, 0)]
    assert result["actions"] == {"created": 2, "acknowledged": 3, "completed": 1, "overdue": 2}
    assert [row[0] for row in unacknowledged(result)] == [
        "Virginia Department of Emergency Management"
    ]


def test_urban_area_scope(gql, seeded):
    result = brief(gql, urbanArea=global_id(urban_area("Baltimore Area")))

    assert result["urbanArea"] == {"name": "Baltimore Area"}
    assert opened_titles(result) == ["Ransomware at a water utility"]
    assert result["openNow"]["total"] == 1
    assert nonzero(result["openNow"]["byCategory"]) == {"CYBER": 1}
    assert places(result["states"], "state", "code") == [("MD", 1, 1)]
    assert places(result["urbanAreas"], "urbanArea", "name") == [("Baltimore Area", 1, 1)]
    assert result["actions"] == {"created": 1, "acknowledged": 0, "completed": 0, "overdue": 1}
    assert [row[0] for row in unacknowledged(result)] == [
        "Maryland Coordination and Analysis Center"
    ]


def test_state_and_urban_area_together_mean_incidents_affecting_both(gql, seeded):
    ncr = global_id(urban_area("National Capital Region"))

    in_virginia = brief(gql, state="VA", urbanArea=ncr)
    assert opened_titles(in_virginia) == ["Chlorine release at a chemical plant"]
    assert in_virginia["openNow"]["total"] == 2

    in_maryland = brief(gql, state="MD", urbanArea=ncr)
    assert in_maryland["incidentsOpened"]["totalCount"] == 0
    assert in_maryland["openNow"]["total"] == 1
    assert nonzero(in_maryland["openNow"]["bySeverity"]) == {"HIGH": 1}


# --- the days daylight saving time starts and ends ------------------------------------------


def test_windows_follow_the_local_clock_across_daylight_saving_changes():
    spring = Window.of(datetime.date(2026, 3, 8))
    autumn = Window.of(datetime.date(2026, 11, 1))
    ordinary = Window.of(DAY)

    assert (spring.hours, autumn.hours, ordinary.hours) == (23, 25, 24)
    assert spring.start == datetime.datetime(2026, 3, 8, 5, tzinfo=datetime.UTC)
    assert spring.end == datetime.datetime(2026, 3, 9, 4, tzinfo=datetime.UTC)
    assert autumn.start == datetime.datetime(2026, 11, 1, 4, tzinfo=datetime.UTC)
    assert autumn.end == datetime.datetime(2026, 11, 2, 5, tzinfo=datetime.UTC)


def test_the_25_hour_day_counts_both_1_am_hours_and_nothing_of_the_next_day(gql, officer):
    utc = datetime.UTC
    reported = {
        # 23:50 EDT on Oct 31: the day before.
        "Before": datetime.datetime(2026, 11, 1, 3, 50, tzinfo=utc),
        # 01:30 EDT, then 01:30 EST an hour later: the same wall-clock time twice.
        "First 01:30": datetime.datetime(2026, 11, 1, 5, 30, tzinfo=utc),
        "Second 01:30": datetime.datetime(2026, 11, 1, 6, 30, tzinfo=utc),
        # 23:30 EST: the 25th hour of the day.
        "Late": datetime.datetime(2026, 11, 2, 4, 30, tzinfo=utc),
        # 00:10 EST on Nov 2: the next day.
        "After": datetime.datetime(2026, 11, 2, 5, 10, tzinfo=utc),
    }
    for title, when in reported.items():
        make_incident(officer, title=title, reported_at=when, now=when)

    result = brief(gql, date="2026-11-01")

    assert result["startsAt"] == "2026-11-01T00:00:00-04:00"
    assert result["endsAt"] == "2026-11-02T00:00:00-05:00"
    assert result["incidentsOpened"]["totalCount"] == 3
    assert sorted(opened_titles(result)) == ["First 01:30", "Late", "Second 01:30"]


# --- the situation picture ------------------------------------------------------------------


def situation(client, **variables) -> dict:
    return client.data(SITUATION, variables)["situation"]


def situation_titles(result) -> list[str]:
    return [edge["node"]["title"] for edge in result["incidents"]["edges"]]


def engaged(result) -> list[str]:
    return [edge["node"]["name"] for edge in result["partnersEngaged"]["edges"]]


def test_officer_situation_of_the_nation(gql, seeded):
    result = situation(gql)

    assert result["incidents"]["totalCount"] == 5
    assert situation_titles(result) == [
        "Chlorine release at a chemical plant",  # critical
        "Ransomware at a water utility",  # high, reported later than the bridge
        "Bridge closed after barge strike",  # high
        "Measles cluster",  # moderate
        "Protest outside the state capitol",  # low
    ]
    assert {item["key"]: item["count"] for item in result["openActions"]} == {
        "PENDING": 3,
        "ACKNOWLEDGED": 1,
        "IN_PROGRESS": 0,
    }
    # Baltimore PD by its share of I3; Harris County's only share is a resolved incident.
    assert engaged(result) == [
        "Baltimore Police Department",
        "Maryland Coordination and Analysis Center",
        "Texas Division of Emergency Management",
        "Virginia Department of Emergency Management",
    ]
    assert result["partnersEngaged"]["totalCount"] == 4


def test_situation_of_one_state(gql, seeded):
    result = situation(gql, state="MD")

    assert result["state"] == {"code": "MD"}
    assert situation_titles(result) == [
        "Ransomware at a water utility",
        "Bridge closed after barge strike",
    ]
    assert nonzero(result["openActions"]) == {"PENDING": 2}
    assert engaged(result) == [
        "Baltimore Police Department",
        "Maryland Coordination and Analysis Center",
        "Virginia Department of Emergency Management",
    ]


def test_situation_of_one_urban_area(gql, seeded):
    result = situation(gql, urbanArea=global_id(urban_area("National Capital Region")))

    assert result["urbanArea"] == {"name": "National Capital Region"}
    assert situation_titles(result) == [
        "Chlorine release at a chemical plant",
        "Bridge closed after barge strike",
    ]
    assert nonzero(result["openActions"]) == {"PENDING": 1, "ACKNOWLEDGED": 1}


def test_partner_situation_shows_only_its_own_incidents_actions_and_organisation(seeded):
    result = situation(GraphQLClient.logged_in(seeded.partner_user))

    assert situation_titles(result) == [
        "Chlorine release at a chemical plant",
        "Bridge closed after barge strike",
    ]
    assert nonzero(result["openActions"]) == {"PENDING": 1, "ACKNOWLEDGED": 1}
    assert engaged(result) == ["Virginia Department of Emergency Management"]


def test_outsider_situation_is_empty(outsider, seeded):
    result = situation(GraphQLClient.logged_in(outsider))

    assert result["incidents"]["totalCount"] == 0
    assert nonzero(result["openActions"]) == {}
    assert result["partnersEngaged"]["totalCount"] == 0


def test_situation_pages_default_to_50_and_stop_at_100(gql, officer):
    for i in range(55):
        make_incident(officer, title=f"Event {i:02d}")

    assert len(situation(gql)["incidents"]["edges"]) == 50
    body = gql(SITUATION, {"first": 101})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


# --- bad input ------------------------------------------------------------------------------


def error_of(body) -> tuple:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return error["extensions"].get("code"), error["extensions"].get("argument"), error["message"]


@pytest.mark.parametrize(
    "date",
    ["1969-12-31", "0001-01-01", datetime.timedelta(days=2), "9999-12-31"],
    ids=["1969-12-31", "0001-01-01", "the-day-after-tomorrow", "9999-12-31"],
)
def test_dates_before_1970_or_after_tomorrow_are_refused(gql, date):
    if isinstance(date, datetime.timedelta):
        # Days from today, counted when the test runs (collection may be before midnight).
        date = (timezone.localdate() + date).isoformat()
    code, argument, message = error_of(gql(DAILY_BRIEF, {"date": date}))
    assert (code, argument) == ("BAD_USER_INPUT", "date")
    assert message.startswith(f"No brief for {date}: give a date from 1970-01-01 to ")


def test_tomorrow_and_the_first_day_of_1970_are_accepted(gql):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert brief(gql, date=tomorrow)["date"] == tomorrow
    assert brief(gql, date="1970-01-01")["startsAt"] == "1970-01-01T00:00:00-05:00"


def test_a_date_that_does_not_exist_is_refused_like_any_malformed_value(gql):
    # Refused by the Date scalar before any resolver runs, with the API's code for requests
    # that do not match the schema.
    code, _, message = error_of(gql(DAILY_BRIEF, {"date": "2026-02-30"}))
    assert code == "GRAPHQL_VALIDATION_FAILED"
    assert message.startswith("Variable '$date' has invalid value: Value cannot represent a Date")


@pytest.mark.parametrize("code", ["ZZ", "", "Virginia"])
@pytest.mark.parametrize("query", [DAILY_BRIEF, SITUATION])
def test_unknown_states_are_refused(gql, query, code):
    assert error_of(gql(query, {"state": code, "date": DAY.isoformat()})) == (
        "BAD_USER_INPUT",
        "state",
        f"No state, district or territory has the USPS code '{code}'.",
    )


def test_malformed_foreign_or_unknown_urban_area_ids_are_refused(gql, officer):
    incident = make_incident(officer)
    cases = {
        "not an id": "'urbanArea' is not a valid UrbanArea ID.",
        global_id(incident): "'urbanArea' must be a UrbanArea ID.",
        global_id(UrbanArea(pk=999_999)): "No urban area with this ID.",
        global_id(UrbanArea(pk=2**63)): "'urbanArea' is not a valid UrbanArea ID.",
    }
    for query in (DAILY_BRIEF, SITUATION):
        for value, message in cases.items():
            body = gql(query, {"urbanArea": value, "date": DAY.isoformat()})
            assert error_of(body) == ("BAD_USER_INPUT", "urbanArea", message), value


def test_for_someone_without_a_role_a_real_state_is_as_unknown_as_a_fake_one(outsider):
    client = GraphQLClient.logged_in(outsider)
    real = error_of(client(DAILY_BRIEF, {"state": "VA"}))
    assert real == (
        "BAD_USER_INPUT",
        "state",
        "No state, district or territory has the USPS code 'VA'.",
    )


# --- SQL cost -------------------------------------------------------------------------------


def seed_more(officer, n: int) -> None:
    """``n`` more incidents opened on the day, each in a state and with an overdue action."""
    partner = make_partner(officer, name="Extra partner")
    for i in range(n):
        code = ("NY", "PA", "OH", "GA")[i % 4]
        incident = make_incident(
            officer, title=f"Extra {i}", states=[state(code)], now=local(0, 6, i % 60)
        )
        make_action(officer, incident, partner, due_at=local(0, 7), now=local(0, 6, 30))


def test_brief_and_situation_cost_the_same_queries_whatever_the_data(
    gql, officer, seeded, django_assert_max_num_queries
):
    def count_queries(query, variables) -> int:
        with django_assert_max_num_queries(100) as captured:
            gql.data(query, variables)
        return len(captured)

    small = {q: count_queries(q, {"date": DAY.isoformat()}) for q in (DAILY_BRIEF, SITUATION)}
    seed_more(officer, 40)
    for query, queries in small.items():
        with django_assert_max_num_queries(queries):
            result = gql.data(query, {"date": DAY.isoformat()})
    assert result["situation"]["incidents"]["totalCount"] == 45
    assert brief(gql)["incidentsOpened"]["totalCount"] == 43
    # Session, user and roles (3), then one query per section asked for.
    assert small[DAILY_BRIEF] <= 13
    assert small[SITUATION] <= 7


# --- the printable page (its browser test is tests/browser/test_brief_page.py) ---------------

BRIEF_PAGE = f"/brief/{DAY.isoformat()}/"


def shown(page: str, testid: str) -> int:
    """The number the page shows in the element marked ``data-testid=testid``."""
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(\d+)<', page)
    assert match, f"{testid} not on the page"
    return int(match.group(1))


def test_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(BRIEF_PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={BRIEF_PAGE}"


def test_page_without_a_date_redirects_to_todays(officer_client):
    response = officer_client.get("/brief/")
    assert response.status_code == 302
    assert response["Location"] == f"/brief/{timezone.localdate().isoformat()}/"


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026-13-01", "'2026-13-01' is not a date. Write it as YYYY-MM-DD"),
        ("20261014", "'20261014' is not a date. Write it as YYYY-MM-DD"),
        ("yesterday", "'yesterday' is not a date. Write it as YYYY-MM-DD"),
        ("1969-12-31", "No brief for 1969-12-31: give a date from 1970-01-01 to "),
        ("<em>today", "'<em>today' is not a date. Write it as YYYY-MM-DD"),
    ],
)
def test_page_for_a_bad_date_is_not_found_and_says_why(officer_client, day, message):
    response = officer_client.get(f"/brief/{day}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<em>" not in page
    assert message in html.unescape(page)


def test_page_shows_the_officers_numbers(officer_client, seeded):
    page = officer_client.get(BRIEF_PAGE).content.decode()

    numbers = {
        testid: shown(page, testid)
        for testid in (
            "opened-count",
            "open-now-total",
            "status-changes-total",
            "actions-created",
            "actions-acknowledged",
            "actions-completed",
            "actions-overdue",
            "open-severity-critical",
            "open-severity-high",
            "state-VA-open-now",
            "state-MD-opened",
        )
    }
    assert numbers == {
        "opened-count": 3,
        "open-now-total": 5,
        "status-changes-total": 4,
        "actions-created": 3,
        "actions-acknowledged": 3,
        "actions-completed": 1,
        "actions-overdue": 3,
        "open-severity-critical": 1,
        "open-severity-high": 2,
        "state-VA-open-now": 4,
        "state-MD-opened": 1,
    }
    assert response_is_private(officer_client.get(BRIEF_PAGE))


def response_is_private(response) -> bool:
    return "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_page_for_someone_without_a_role_is_an_empty_brief(outsider, seeded):
    client = Client()
    client.force_login(outsider)
    page = client.get(BRIEF_PAGE).content.decode()

    assert shown(page, "opened-count") == 0
    assert shown(page, "open-now-total") == 0
    assert shown(page, "actions-overdue") == 0
    assert "No state has an open incident or one opened this day." in page
    for incident in seeded.incidents.values():
        assert incident.reference not in page


def test_page_costs_the_same_queries_whatever_the_data(
    officer_client, officer, seeded, django_assert_max_num_queries
):
    with django_assert_max_num_queries(100) as captured:
        officer_client.get(BRIEF_PAGE)
    seed_more(officer, 40)
    with django_assert_max_num_queries(len(captured)):
        page = officer_client.get(BRIEF_PAGE).content.decode()
    assert shown(page, "opened-count") == 43
    # 13 for the detail, 2 for the summary's most severe incidents and their states, 2 for
    # the scope form's states and urban areas.
    assert len(captured) <= 17
