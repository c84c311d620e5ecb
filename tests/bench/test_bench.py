"""The benchmark's own guarantees, kept by the suite (timings stay in `make bench`):

- its bulk loader writes the history the services would: every record verifies, and every
  record's ``changes`` is what ``compute_changes`` makes of the records before it;
- its raw-SQL floor answers exactly what the API answers, for an officer and a partner user,
  page after page, so the benchmark compares like with like as the schema evolves;
- the watch-floor read makes the same number of SQL queries whatever the page size.
"""

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bench.client import ApiClient
from bench.directory import OFFICER, PARTNER_USERNAME
from bench.queries import WATCH_FLOOR
from bench.reads import pages
from bench.scale import SCALES, Census
from bench.seed import seed
from bench.urls import RAW_WATCH_FLOOR
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from coordination.services import update_incident
from opsapi.audit.chain import AuditJSONEncoder
from opsapi.audit.recording import compute_changes, link_accessors, recorded_links
from partners.models import Partner
from tests.factories import make_action, make_incident

TINY = SCALES["tiny"]


@pytest.fixture
def seeded(db, settings):
    settings.ROOT_URLCONF = "bench.urls"
    seed(TINY, log=lambda message: None)
    return get_user_model().objects


@pytest.fixture
def officer_client(seeded):
    return ApiClient(seeded.get(username=OFFICER.format(1)))


@pytest.fixture
def partner_client(seeded):
    """The user of the partner asked to act on the most incidents."""
    partner = max(
        Partner.objects.all(), key=lambda p: p.actions.values("incident").distinct().count()
    )
    return ApiClient(seeded.get(username=PARTNER_USERNAME.format(partner.pk)))


def test_the_tiny_scale_is_seeded_in_full(seeded):
    census = Census.take()

    assert census.partners == TINY.partners
    assert census.incidents == TINY.incidents
    assert census.actions == TINY.actions
    assert census.history >= TINY.history


def test_every_seeded_record_verifies(seeded, capsys):
    call_command("verify_audit")

    assert capsys.readouterr().out.startswith("OK: ")


def _json(value):
    return json.loads(json.dumps(value, cls=AuditJSONEncoder))


@pytest.mark.parametrize("model", [Incident, IncidentUpdate, CoordinationAction])
def test_seeded_changes_are_what_the_normal_path_computes(seeded, model):
    records = model.history.model.objects.order_by("id", "history_id").prefetch_related(
        *(accessor for accessor, _ in link_accessors(model.history.model).values())
    )
    previous, checked = None, 0
    for record in records:
        if previous is not None and previous.id != record.id:
            previous = None
        expected = compute_changes(record, previous, recorded_links(record))
        assert record.changes == _json(expected), (model.__name__, record.history_id)
        previous = record
        checked += 1

    assert checked > TINY.incidents


def test_the_normal_path_carries_on_after_the_loader(seeded, officer_client, capsys):
    """The loader chose ids itself; the database's sequences were moved past them, so rows
    saved the normal way get fresh ids, and their records chain onto the seeded ones."""
    officer = officer_client.user
    seeded_incident = Incident.objects.order_by("pk").first()
    newest = CoordinationAction.objects.order_by("-pk").first()
    records = seeded_incident.history_records.count()

    incident = make_incident(officer)
    created = make_action(officer, incident, newest.partner)
    update_incident(
        actor=officer, incident=seeded_incident, version=seeded_incident.version, title="Renamed"
    )

    assert incident.pk > Incident.objects.exclude(pk=incident.pk).order_by("-pk")[0].pk
    assert created.pk > newest.pk
    assert seeded_incident.history_records.count() == records + 1
    call_command("verify_audit")
    assert capsys.readouterr().out.startswith("OK: ")


def _read(client: ApiClient, path: str, variables: dict) -> dict:
    return json.loads(client.post(path, WATCH_FLOOR, variables))


def _cursor(offset: int) -> str:
    return base64.b64encode(f"arrayconnection:{offset}".encode()).decode()


@pytest.mark.parametrize("who", ["officer", "partner"])
def test_the_raw_floor_answers_what_the_api_answers(who, officer_client, partner_client):
    """Page after page of 7, to the end and past it, and pages as the benchmark asks for."""
    client = officer_client if who == "officer" else partner_client
    variables = [{"first": 7}, *({"first": 7, "after": _cursor(k - 1)} for k in range(7, 35, 7))]
    variables += [*pages(10), *pages(100)]
    for page in variables:
        api = _read(client, "/graphql/", page)
        raw = _read(client, RAW_WATCH_FLOOR, page)

        assert "errors" not in api
        assert raw == api, page
    assert _read(client, "/graphql/", {"first": 7})["data"]["incidents"]["edges"]


def test_the_partner_floor_is_scoped_like_the_api(partner_client, officer_client):
    everything = _read(officer_client, RAW_WATCH_FLOOR, {"first": 100})["data"]["incidents"]
    shared = _read(partner_client, RAW_WATCH_FLOOR, {"first": 100})["data"]["incidents"]

    assert 0 < len(shared["edges"]) < len(everything["edges"])
    partner = partner_client.user.partner_membership.partner
    names = {
        edge["node"]["partner"]["name"]
        for incident in shared["edges"]
        for edge in incident["node"]["actions"]["edges"]
    }
    assert names == {partner.name}


@pytest.mark.parametrize("who", ["officer", "partner"])
def test_the_watch_floor_makes_the_same_queries_for_any_page_size(
    who, officer_client, partner_client, django_assert_max_num_queries
):
    client = officer_client if who == "officer" else partner_client
    _read(client, "/graphql/", {"first": 1})  # the user's token and roles, as in any request
    counts = []
    for first in (1, 10, 30):
        with django_assert_max_num_queries(8) as captured:
            _read(client, "/graphql/", {"first": first})
        counts.append(len(captured))

    assert len(set(counts)) == 1, counts
