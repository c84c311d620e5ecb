"""The admin at 1366 x 768 in Chromium: the list, change and history pages of partners,
contacts, incidents, coordination actions and users fit the screen without sideways scrolling,
with realistic data (long organisation names, several contacts), and history pages show local
times and column headers in words."""

import re

import pytest

from tests.factories import make_action, make_contact, make_incident, make_partner

# A real HTTP server in another thread: the data must be committed, and the reference data
# comes back after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "a long passphrase for the browser tests"
WIDTH, HEIGHT = 1366, 768
LONG_NAMES = [
    "Southeastern Pennsylvania Regional Task Force Homeland Security Coordination Office",
    "Commonwealth of Virginia Department of Emergency Management Virginia Emergency Operations",
    "Metropolitan Washington Airports Authority Public Safety and Emergency Preparedness Office",
]
# Widths the page may need beyond the viewport: none.
DOCUMENT_WIDTH = "document.documentElement.scrollWidth"
# A table Django scrolls inside its own box hides columns as surely as a wide page does.
HIDDEN_COLUMNS = """[...document.querySelectorAll('#changelist .results, .inline-group .tabular')]
  .filter((box) => box.scrollWidth > box.clientWidth + 1).length"""


def log_in(browser, live_server, user):
    """A 1366 x 768 page of the admin, after logging in through its form."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def assert_fits(page, live_server, pages: dict[str, str]) -> None:
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, name
        assert page.evaluate(DOCUMENT_WIDTH) <= WIDTH, name
        assert page.evaluate(HIDDEN_COLUMNS) == 0, name


@pytest.fixture
def user_pages(administrator, officer):
    """Accounts are the administrators' (officers do not manage them)."""
    administrator.set_password(PASSWORD)
    administrator.save(update_fields=["password"])
    return {
        "user list": "/admin/auth/user/",
        "user": f"/admin/auth/user/{officer.pk}/change/",
        "user history": f"/admin/auth/user/{officer.pk}/history/",
    }


@pytest.fixture
def admin_pages(officer):
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])
    partners = [
        make_partner(officer, name=name, watch_phone="+1 804 555 0100") for name in LONG_NAMES
    ]
    for partner in partners:
        for n in range(4):
            make_contact(
                officer,
                partner,
                name=f"Watch Supervisor Alexandria-Montgomery {n}",
                title="Deputy Director, Intelligence and Information Sharing Division",
                email=f"watch.supervisor.{n}@emergency-management.virginia.example.gov",
                phone="+1 804 555 0199",
            )
    incident = make_incident(
        officer,
        title="Multi-jurisdiction water main failure disrupting service across the region",
        lead=officer,
    )
    action = make_action(officer, incident, partners[1])
    partner = partners[0]
    return {
        "partner list": "/admin/partners/partner/",
        "partner": f"/admin/partners/partner/{partner.pk}/change/",
        "partner history": f"/admin/partners/partner/{partner.pk}/history/",
        "contact list": "/admin/partners/contact/",
        "incident list": "/admin/coordination/incident/",
        "incident": f"/admin/coordination/incident/{incident.pk}/change/",
        "incident history": f"/admin/coordination/incident/{incident.pk}/history/",
        "action list": "/admin/coordination/coordinationaction/",
        "action": f"/admin/coordination/coordinationaction/{action.pk}/change/",
    }


def test_admin_pages_fit_1366_by_768(
    live_server, officer, administrator, admin_pages, user_pages, browser
):
    page = log_in(browser, live_server, officer)
    assert_fits(page, live_server, admin_pages)

    page.goto(live_server.url + admin_pages["incident list"])
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert {"REPORTED AT", "LEAD"} <= {header.strip().upper() for header in headers}
    assert page.locator("#result_list td.field-lead").first.is_visible()

    page.goto(live_server.url + admin_pages["partner list"])
    assert page.get_by_text(LONG_NAMES[0]).first.is_visible()
    assert page.locator("#result_list td.field-active").first.is_visible()

    page.goto(live_server.url + admin_pages["partner"])
    assert page.locator(".inline-related:not(.empty-form)").count() == 4 + 1  # and one blank

    page = log_in(browser, live_server, administrator)
    assert_fits(page, live_server, user_pages)
    page.goto(live_server.url + user_pages["user list"])
    assert page.locator("#result_list td.field-is_active").first.is_visible()


def test_history_shows_local_times_and_headers_in_words(live_server, officer, admin_pages, browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(live_server.url + admin_pages["incident history"])
    headers = page.locator("#change-history thead th").all_text_contents()
    assert "Request ID" in headers
    assert "REQUEST_ID" not in headers
    assert "request_id" not in headers
    table = page.locator("#change-history").inner_text()
    # "Dec 3, 2026, 14:05 EST": on the center's clock, never an ISO timestamp.
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} E[SD]T", table)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", table)
