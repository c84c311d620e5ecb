"""The history pages' filters (coordination/templatetags/history_display.py), and the page
they serve, read through Django's test client: times on the center's clock, headers in words."""

import datetime
import re

import pytest

from coordination.templatetags.history_display import column_label, local_time
from tests.factories import make_incident


@pytest.fixture(autouse=True)
def center_clock(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (datetime.datetime(2026, 12, 3, 19, 5, tzinfo=datetime.UTC), "Dec 3, 2026, 14:05 EST"),
        ("2026-12-03T19:05:00.123456+00:00", "Dec 3, 2026, 14:05 EST"),
        ("2026-07-04T16:30:00+00:00", "Jul 4, 2026, 12:30 EDT"),
        # Not a moment: shown as stored.
        ("2026-12-03T19:05:00", "2026-12-03T19:05:00"),
        ("2026-12-03", "2026-12-03"),
        ("OPS-2026-000001", "OPS-2026-000001"),
        ("2026-13-45T99:00:00+00:00", "2026-13-45T99:00:00+00:00"),
        (7, 7),
        (None, None),
    ],
)
def test_local_time(value, shown):
    assert local_time(value) == shown


@pytest.mark.parametrize(
    ("name", "label"),
    [("request_id", "Request ID"), ("tlp", "TLP"), ("reported_at", "Reported at")],
)
def test_column_label(name, label):
    assert column_label(name) == label


@pytest.mark.django_db
def test_the_history_page_shows_local_times_and_request_id(officer_client, officer):
    incident = make_incident(officer)

    response = officer_client.get(f"/admin/coordination/incident/{incident.pk}/history/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<th scope="col">Request ID</th>' in page
    assert "REQUEST_ID" not in page
    assert ">request_id<" not in page
    table = page[page.index('id="change-history"') :]
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} E[SD]T", table)
    # The stored changes hold UTC ISO timestamps (created at, reported at ...): none shown raw.
    assert "+00:00" not in table
