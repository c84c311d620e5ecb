"""The printed brief of the demo days (seed_demo's data set) in Chromium: an executive summary
that fits the first Letter page, the detail after it, three pages at most, and no chart label
running off its chart. Printed with page.pdf(), the pages counted in the PDF itself.

The demo is seeded as of 00:30 on the center's clock (the latest such moment past), whatever
the hour the test runs at: the day before is then a whole day of demo data (the fullest a
brief gets, as if printed at midnight) and the seeding day holds half an hour of it (the
emptiest, as if printed just after midnight)."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

# A real HTTP server in another thread: the data must be committed, and the reference data
# comes back after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "a long passphrase for the browser tests"
OFFICER = "demo.officer1"  # seed_demo's first watch officer
MAX_PAGES = 3
# Letter is 11 in high, the page's @page margins 12 mm each: the printable height in CSS px.
LETTER_PRINTABLE_HEIGHT = 11 * 96 - 2 * 12 / 25.4 * 96
LETTER_PRINTABLE_WIDTH = 8.5 * 96 - 2 * 12 / 25.4 * 96
# One page object per page; "/Type /Pages" (the page tree) is not one.
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def pdf_pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF-")
    return len(PAGE_OBJECT.findall(pdf))


# Half an hour into a local day, 00:30 exists on every date, clock changes included.
SEEDED_AT = datetime.time(0, 30)


def seeding_moment() -> datetime.datetime:
    """The latest 00:30 on the center's clock that is not in the future."""
    now = timezone.localtime()
    moment = now.replace(hour=SEEDED_AT.hour, minute=SEEDED_AT.minute, second=0, microsecond=0)
    if moment > now:
        moment = timezone.make_aware(
            datetime.datetime.combine(now.date() - datetime.timedelta(days=1), SEEDED_AT)
        )
    return moment


@pytest.fixture
def demo_days():
    """Seeds the demo as of 00:30 local; the dates of the full day and of the near-empty one."""
    seeded_at = seeding_moment()
    call_command("seed_demo", now=seeded_at, verbosity=0)
    officer = get_user_model().objects.get(username=OFFICER)
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])
    day = seeded_at.date()
    return {"full": day - datetime.timedelta(days=1), "early": day}


def log_in(page, live_server, path: str):
    page.goto(f"{live_server.url}/login/?next={path}")
    page.fill("#id_username", OFFICER)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


LAYOUT = """() => ({
  executive: document.querySelector('.executive').getBoundingClientRect().height,
  leftmostLabel: Math.min(
    ...[...document.querySelectorAll('svg text.label')].map((t) => t.getBBox().x)),
  labels: document.querySelectorAll('svg text.label').length,
})"""


def printed(page, test_id: str) -> int:
    """How many rows marked ``test_id`` the paper shows (print media emulated)."""
    return page.locator(f"[data-testid={test_id}]:visible").count()


def print_brief(page, live_server, path: str) -> tuple[dict, int]:
    """The brief at ``path`` laid out for print: its layout and its pages on Letter paper."""
    page.goto(f"{live_server.url}{path}")
    assert "Daily brief" in page.title()
    page.emulate_media(media="print")
    layout = page.evaluate(LAYOUT)
    assert layout["executive"] <= LETTER_PRINTABLE_HEIGHT
    assert layout["labels"] == 4 + 10  # severities and categories
    assert layout["leftmostLabel"] >= 0
    # The detail starts on a page of its own.
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.executive')).breakAfter") == "page"
    )
    return layout, pdf_pages(page.pdf(format="Letter", print_background=True))


def test_the_demo_days_brief_prints_on_three_letter_pages_summary_first(
    live_server, demo_days, browser
):
    page = browser.new_page(
        viewport={"width": round(LETTER_PRINTABLE_WIDTH), "height": round(LETTER_PRINTABLE_HEIGHT)}
    )
    full, early = (f"/brief/{demo_days[d].isoformat()}/" for d in ("full", "early"))
    log_in(page, live_server, full)

    _, national = print_brief(page, live_server, full)
    # The longest overdue first, as many as fit; the note says where the rest are.
    assert printed(page, "overdue-action") == 20
    assert page.get_by_test_id("overdue-more").inner_text().startswith("The 20 longest overdue of ")
    assert 2 <= national <= MAX_PAGES

    _, texas = print_brief(page, live_server, f"{full}?state=TX")
    assert page.get_by_test_id("scope").inner_text().startswith("Texas (TX)")
    assert 2 <= texas <= national

    _, early_pages = print_brief(page, live_server, early)
    assert 2 <= early_pages <= MAX_PAGES
