"""The printed brief of the demo day (seed_demo's data set) in Chromium: an executive summary
that fits the first Letter page, the detail after it, three pages at most, and no chart label
running off its chart. Printed with page.pdf(), the pages counted in the PDF itself."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

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


@pytest.fixture
def demo_day():
    call_command("seed_demo", verbosity=0)
    officer = get_user_model().objects.get(username=OFFICER)
    officer.set_password(PASSWORD)
    officer.save(update_fields=["password"])


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


def test_the_demo_days_brief_prints_on_three_letter_pages_summary_first(
    live_server, demo_day, browser
):
    page = browser.new_page(
        viewport={"width": round(LETTER_PRINTABLE_WIDTH), "height": round(LETTER_PRINTABLE_HEIGHT)}
    )
    log_in(page, live_server, "/brief/")
    page.goto(f"{live_server.url}/brief/")
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
    assert page.get_by_test_id("overdue-action").count() > 20

    national = pdf_pages(page.pdf(format="Letter", print_background=True))
    assert 2 <= national <= MAX_PAGES

    page.goto(f"{live_server.url}/brief/?state=TX")
    assert page.get_by_test_id("scope").inner_text().startswith("Texas (TX)")
    texas = pdf_pages(page.pdf(format="Letter", print_background=True))
    assert 1 <= texas <= national
