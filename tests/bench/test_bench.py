"""The benchmark's own guarantees, kept by the suite (timings stay in `make bench`):

- its bulk loader writes the history the services would: every record verifies, and every
  record's ``changes`` is what ``compute_changes`` makes of the records before it;
- its raw-SQL floor answers exactly what the API answers, for an officer and a partner user,
  page after page, so the benchmark compares like with like as the schema evolves;
- the watch-floor read makes the same number of SQL queries whatever the page size;
- the raw floors of the two timed writes answer what the mutations answer, and their history
  records verify and state the same change.

Each test seeds the ``tiny`` scale (30 incidents, 150 actions, about 1,000 records).
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bench.client import ApiClient
from bench.directory import OFFICER, PARTNER_USERNAME
from bench.queries import ACKNOWLEDGE_ACTION, UPDATE_INCIDENT, WATCH_FLOOR
from bench.raw import incident_order
from bench.reads import pages
from bench.scale import SCALES, Census
from bench.seed import seed
from bench.urls import RAW_ACKNOWLEDGE_ACTION, RAW_UPDATE_INCIDENT, RAW_WATCH_FLOOR
from coordination.choices import Tlp
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from coordination.services import share_incident, update_incident
from opsapi.audit.chain import AuditJSONEncoder
from opsapi.audit.recording import compute_changes, link_accessors, recorded_links
from partners.models import Partner
from tests.factories import global_id, make_action, make_incident, state

TINY = SCALES["tiny"]


@pytest.fixture
def clients(db, settings):
    """The tiny data set, and API clients of an officer and of the user of the partner asked
    to act the most."""
    settings.ROOT_URLCONF = "bench.urls"
    seed(TINY, log=lambda message: None)
    users = get_user_model().objects
    partner = max(Partner.objects.all(), key=lambda p: p.actions.count())
    return {
        "officer": ApiClient(users.get(username=OFFICER.format(1))),
        "partner": ApiClient(users.get(username=PARTNER_USERNAME.format(partner.pk))),
    }


def _verifies(capsys) -> bool:
    call_command("verify_audit")
    return capsys.readouterr().out.startswith("OK: ")


def test_the_seeded_data_set_is_at_scale_and_its_trail_verifies(clients, capsys):
    census = Census.take()

    assert (census.partners, census.incidents, census.actions) == (8, 30, 150)
    assert census.history >= TINY.history
    assert _verifies(capsys)


def _json(value):
    return json.loads(json.dumps(value, cls=AuditJSONEncoder))


def test_seeded_changes_are_what_the_normal_path_computes(clients):
    for model in (Incident, IncidentUpdate, CoordinationAction):
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

        assert checked >= TINY.incidents, model.__name__


def test_the_normal_path_carries_on_after_the_loader(clients, capsys):
    """The loader chose ids itself; the database's sequences were moved past them, so rows
    saved the normal way get fresh ids, and their records chain onto the seeded ones."""
    officer = clients["officer"].user
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
    assert _verifies(capsys)


def _read(client: ApiClient, path: str, variables: dict) -> dict:
    return json.loads(client.post(path, WATCH_FLOOR, variables))


def _cursor(offset: int) -> str:
    """The API's cursor of the officer's ``offset``-th incident."""
    queryset, order = incident_order()
    row = queryset.values(*(key.name for key in order.keys))[offset]
    return order.cursor([row[key.name] for key in order.keys])


def _edge_cases(officer, partner_user) -> None:
    """What the seeded data may lack, made through the services: an incident in states whose
    names and codes sort differently, and two TLP:RED incidents the partner is asked to act on,
    one naming the partner's user (visible to it) and one not (hidden)."""
    partner = partner_user.partner_membership.partner
    incident = Incident.objects.order_by("-reported_at", "-pk").first()
    update_incident(
        actor=officer,
        incident=incident,
        version=incident.version,
        states=[state("AK"), state("AL")],
    )
    asked = Incident.objects.filter(actions__partner=partner).distinct().order_by("-reported_at")
    named, unnamed = asked[:2]
    for red in (named, unnamed):
        update_incident(actor=officer, incident=red, version=red.version, tlp=Tlp.RED)
    named.refresh_from_db()
    share_incident(actor=officer, incident=named, version=named.version, users=[partner_user])


def test_the_raw_floor_answers_what_the_api_answers(clients):
    """Page after page of 7, to the end and past it, and the pages the benchmark asks for."""
    _edge_cases(clients["officer"].user, clients["partner"].user)
    variables = [{"first": 7}, *({"first": 7, "after": _cursor(k - 1)} for k in range(7, 35, 7))]
    variables += [*pages(10), *pages(100)]
    for who, client in clients.items():
        for page in variables:
            api = _read(client, "/graphql/", page)
            raw = _read(client, RAW_WATCH_FLOOR, page)

            assert "errors" not in api
            assert raw == api, (who, page)
        assert _read(client, "/graphql/", {"first": 7})["data"]["incidents"]["edges"], who


def test_the_partner_floor_is_scoped_like_the_api(clients):
    everything = _read(clients["officer"], RAW_WATCH_FLOOR, {"first": 100})["data"]
    shared = _read(clients["partner"], RAW_WATCH_FLOOR, {"first": 100})["data"]

    assert 0 < len(shared["incidents"]["edges"]) < len(everything["incidents"]["edges"])
    partner = clients["partner"].user.partner_membership.partner
    names = {
        edge["node"]["partner"]["name"]
        for incident in shared["incidents"]["edges"]
        for edge in incident["node"]["actions"]["edges"]
    }
    assert names == {partner.name}


def test_the_watch_floor_makes_the_same_queries_for_any_page_size(
    clients, django_assert_max_num_queries
):
    for who, client in clients.items():
        _read(client, "/graphql/", {"first": 1})  # as any request: the token, the roles
        counts = []
        for first in (1, 10, 30):
            with django_assert_max_num_queries(8) as captured:
                _read(client, "/graphql/", {"first": first})
            counts.append(len(captured))

        assert len(set(counts)) == 1, (who, counts)


def _write(client: ApiClient, path: str, query: str, obj, **changes) -> dict:
    variables = {"input": {"id": global_id(obj), "version": obj.version, **changes}}
    return json.loads(client.post(path, query, variables))["data"]


def test_the_write_floors_answer_and_record_what_the_api_does(clients, capsys):
    """The raw floors of the two timed writes (bench/raw.py) answer the mutation's fields, and
    leave a history record that verifies and states the change the API's record states."""
    officer = clients["officer"]
    reason = {"changeReason": "Benchmark"}
    records = []
    for path in ("/graphql/", RAW_UPDATE_INCIDENT):
        incident = (
            Incident.objects.filter(states__isnull=False).distinct().order_by("pk")[len(records)]
        )
        answer = _write(officer, path, UPDATE_INCIDENT, incident, title="Renamed", **reason)
        assert answer == {
            "updateIncident": {
                "id": global_id(incident),
                "version": incident.version + 1,
                "title": "Renamed",
            }
        }, path
        records.append(incident.history_records.order_by("-history_id")[0])
    incident = make_incident(officer.user)
    for path in ("/graphql/", RAW_ACKNOWLEDGE_ACTION):
        action = make_action(officer.user, incident, Partner.objects.order_by("pk")[0])
        answer = _write(officer, path, ACKNOWLEDGE_ACTION, action, **reason)
        assert answer == {
            "acknowledgeCoordinationAction": {
                "id": global_id(action),
                "version": action.version + 1,
                "status": "ACKNOWLEDGED",
            }
        }, path
        records.append(action.history_records.order_by("-history_id")[0])

    api_incident, floor_incident, api_action, floor_action = records
    for api, floor in ((api_incident, floor_incident), (api_action, floor_action)):
        assert [c["field"] for c in floor.changes] == [c["field"] for c in api.changes]
        assert (floor.history_user_id, floor.history_change_reason) == (
            officer.user.pk,
            "Benchmark",
        )
        assert floor.previous_hash
        assert floor.request_id
    assert recorded_links(floor_incident)["states"]
    assert _verifies(capsys)
