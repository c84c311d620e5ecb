"""The printable daily brief in a real browser: log in through the form, read the page, print it.

The page's numbers are compared with what the ``dailyBrief`` query returns to the same user in
the same browser session, over the seeded day of tests/coordination/test_brief.py.
"""

import pytest

from tests.coordination.test_brief import DAILY_BRIEF, DAY, seed_brief_day

# A real HTTP server in another thread: the data must be committed, and the reference data
# comes back after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "a long passphrase for the browser tests"
BRIEF_PATH = f"/brief/{DAY.isoformat()}/"

IN_PAGE_GRAPHQL = """async ([query, variables]) => {
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  const response = await fetch("/graphql/", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf.split("=")[1]},
    body: JSON.stringify({query, variables}),
  });
  return await response.json();
}"""


@pytest.fixture(autouse=True)
def center_clock(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def seeded(officer, make_user):
    """The seeded day, with passwords for the officer and the partner user to log in with."""
    day = seed_brief_day(officer, make_user)
    for user in (officer, day.partner_user):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return day


def open_brief_as(browser, live_server, user):
    """A page showing the seeded day's brief, after logging in through the login form."""
    page = browser.new_page()
    page.goto(live_server.url + BRIEF_PATH)
    assert page.url == f"{live_server.url}/login/?next={BRIEF_PATH}"
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + BRIEF_PATH)
    return page


def number(page, testid: str) -> int:
    return int(page.get_by_test_id(testid).text_content())


def page_numbers(page) -> dict:
    """The brief's numbers as printed on the page."""
    summary = {
        testid: number(page, testid)
        for testid in (
            "opened-count",
            "open-now-total",
            "status-changes-total",
            "actions-created",
            "actions-acknowledged",
            "actions-completed",
            "actions-overdue",
        )
    }
    severity = {
        key: number(page, f"open-severity-{key}") for key in ("critical", "high", "moderate", "low")
    }
    states = {
        row.get_attribute("data-testid").removeprefix("state-"): (
            int(row.locator("td").nth(1).text_content()),
            int(row.locator("td").nth(2).text_content()),
        )
        for row in page.locator("tr[data-testid^=state-]").all()
    }
    return {
        "summary": summary,
        "severity": severity,
        "states": states,
        "unacknowledged": page.get_by_test_id("unacknowledged-partner").count(),
    }


def api_numbers(page) -> dict:
    """The same numbers from the ``dailyBrief`` query, asked in the page's own session."""
    body = page.evaluate(IN_PAGE_GRAPHQL, [DAILY_BRIEF, {"date": DAY.isoformat()}])
    assert "errors" not in body, body
    brief = body["data"]["dailyBrief"]
    return {
        "summary": {
            "opened-count": brief["incidentsOpened"]["totalCount"],
            "open-now-total": brief["openNow"]["total"],
            "status-changes-total": brief["statusChanges"]["total"],
            **{f"actions-{key}": value for key, value in brief["actions"].items()},
        },
        "severity": {i["key"].lower(): i["count"] for i in brief["openNow"]["bySeverity"]},
        "states": {s["state"]["code"]: (s["openNow"], s["opened"]) for s in brief["states"]},
        "unacknowledged": len(brief["unacknowledgedPartners"]),
    }


def references(page, table_row: str) -> list[str]:
    return page.locator(f"[data-testid={table_row}] [data-testid=reference]").all_inner_texts()


def test_officer_page_shows_the_numbers_of_the_daily_brief(live_server, seeded, officer, browser):
    page = open_brief_as(browser, live_server, officer)

    shown = page_numbers(page)
    assert shown == api_numbers(page)
    assert shown == {
        "summary": {
            "opened-count": 3,
            "open-now-total": 5,
            "status-changes-total": 4,
            "actions-created": 3,
            "actions-acknowledged": 3,
            "actions-completed": 1,
            "actions-overdue": 3,
        },
        "severity": {"critical": 1, "high": 2, "moderate": 1, "low": 1},
        "states": {"VA": (4, 2), "MD": (2, 1)},
        "unacknowledged": 2,
    }
    incidents = seeded.incidents
    assert references(page, "opened-incident") == [
        incidents[name].reference for name in ("I1", "I3", "I5")
    ]
    assert references(page, "overdue-action") == [
        incidents[name].reference for name in ("I2", "I1", "I3")
    ]


def test_partner_page_shows_only_the_partners_incidents(live_server, seeded, browser):
    page = open_brief_as(browser, live_server, seeded.partner_user)

    shown = page_numbers(page)
    assert shown == api_numbers(page)
    assert shown["summary"]["opened-count"] == 1
    assert shown["summary"]["open-now-total"] == 2
    assert shown["states"] == {"VA": (2, 1), "MD": (1, 0)}
    incidents = seeded.incidents
    assert references(page, "opened-incident") == [incidents["I1"].reference]
    assert references(page, "overdue-action") == [
        incidents["I2"].reference,
        incidents["I1"].reference,
    ]
    text = page.locator("body").inner_text()
    for hidden in ("I3", "I4", "I5", "I6", "I7"):
        assert incidents[hidden].reference not in text
        assert incidents[hidden].title not in text
    for other in (seeded.mcac, seeded.tdem, seeded.bpd, seeded.harris):
        assert other.name not in text


def test_printed_brief_has_no_navigation_and_keeps_the_numbers(
    live_server, seeded, officer, browser
):
    page = open_brief_as(browser, live_server, officer)
    page.emulate_media(media="print")

    assert not page.locator("nav").is_visible()
    assert page.get_by_test_id("opened-count").is_visible()
    assert page.get_by_test_id("open-severity-critical").is_visible()
    for reference in references(page, "opened-incident"):
        assert page.get_by_text(reference).first.is_visible()
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        assert pdf.startswith(b"%PDF-")
        assert len(pdf) > 10_000
