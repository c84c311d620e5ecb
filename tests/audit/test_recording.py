"""What a history record holds, however it is written: its many-to-many snapshot rows are a
copy of the object's link rows at that moment, its ``changes`` are the difference to the
object's previous record, and its hash chains to that record — and what a write costs in SQL."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from simple_history.signals import post_create_historical_m2m_records

from coordination import services as coordination
from opsapi.accounts.access import AUDITOR, PARTNER_USER
from opsapi.audit.chain import AuditJSONEncoder, record_digest
from opsapi.audit.recording import compute_changes, link_tables, recorded_links
from opsapi.audit.tracking import save_with_history
from opsapi.audit.verify import AuditVerifier
from opsapi.services import validate_changes
from partners import services as partners
from tests.factories import make_action, make_incident, make_partner, sector, state


def link_rows(obj) -> dict[str, list[tuple]]:
    """{m2m field: sorted (link id, object id, related id)} of ``obj``'s link tables now."""
    rows = {}
    for table in link_tables(obj.history.model):
        through = obj._meta.get_field(table.name).remote_field.through
        source = table.attnames[1]
        rows[table.name] = sorted(
            through.objects.filter(**{source: obj.pk}).values_list(*table.attnames)
        )
    return rows


def snapshot_rows(record) -> dict[str, list[tuple]]:
    """The same, as the historical ``record``'s m2m snapshot rows hold them."""
    return {
        table.name: sorted(
            table.rows_model.objects.filter(history=record).values_list(*table.attnames)
        )
        for table in link_tables(type(record))
    }


def newest(obj):
    return obj.history.order_by("-history_id").first()


def assert_recorded_as_it_stands(obj):
    """The newest record of ``obj``: a copy of its link rows, its changes against the record
    before it, chained to that record and sealed over what it holds."""
    chain = list(obj.history.order_by("-history_id")[:2])
    record, previous = chain[0], (chain[1] if len(chain) > 1 else None)
    assert snapshot_rows(record) == link_rows(obj)
    links = recorded_links(record)
    expected = compute_changes(record, previous, links)
    assert record.changes == json.loads(json.dumps(expected, cls=AuditJSONEncoder))
    assert record.previous_hash == (previous.record_hash if previous else "")
    assert record.record_hash == record_digest(record, links)
    return record


def test_every_write_of_an_incident_snapshots_its_links_and_diffs_against_the_last_record(
    officer, make_user
):
    partner = make_partner(officer)
    named = make_user("named", roles=[PARTNER_USER], partner=partner)
    incident = make_incident(officer, states=[state("TX"), state("LA")], sectors=[sector("energy")])
    created = assert_recorded_as_it_stands(incident)
    assert created.history_type == "+"
    assert {c["field"] for c in created.changes} >= {"title", "states", "sectors"}

    incident = coordination.update_incident(
        actor=officer, incident=incident, version=1, title="Renamed"
    )
    renamed = assert_recorded_as_it_stands(incident)
    assert [c["field"] for c in renamed.changes] == ["title", "version", "updated_at"]

    incident = coordination.update_incident(
        actor=officer, incident=incident, version=2, states=[state("LA"), state("MS")]
    )
    moved = assert_recorded_as_it_stands(incident)
    old, new = sorted([state("TX").pk, state("LA").pk]), sorted([state("LA").pk, state("MS").pk])
    assert {"field": "states", "old": old, "new": new} in moved.changes

    incident = coordination.share_incident(
        actor=officer, incident=incident, version=3, partners=[partner], users=[named]
    )
    assert_recorded_as_it_stands(incident)
    incident = coordination.unshare_incident(
        actor=officer, incident=incident, version=4, partners=[partner]
    )
    unshared = assert_recorded_as_it_stands(incident)
    assert {"field": "shared_with", "old": [partner.pk], "new": []} in unshared.changes

    incident.urban_areas.add(*state("LA").urban_areas.all()[:1])  # outside the services
    assert_recorded_as_it_stands(incident)

    pk = incident.pk
    incident.delete()
    deleted = incident.history.model.objects.filter(id=pk).order_by("-history_id").first()
    assert deleted.history_type == "-"
    assert snapshot_rows(deleted) == {table: [] for table in snapshot_rows(deleted)}
    assert list(AuditVerifier().findings()) == []


def test_links_of_partners_and_users_are_recorded_the_same_way(officer, make_user):
    partner = make_partner(officer, sectors=[sector("energy"), sector("water-wastewater")])
    assert_recorded_as_it_stands(partner)
    partner = partners.update_partner(
        actor=officer, partner=partner, sectors=[sector("water-wastewater")], reason="Narrowed"
    )
    assert_recorded_as_it_stands(partner)

    user = make_user("someone")
    user.groups.add(Group.objects.get(name=AUDITOR))
    assert_recorded_as_it_stands(user)
    assert list(AuditVerifier().findings()) == []


def test_the_snapshot_row_signals_carry_the_rows_as_stored(officer):
    """simple-history's m2m signals: before, the unsaved rows; after, the rows with the
    primary keys the database gave them."""
    sent = []

    def collect(sender, created_rows, **kwargs):
        sent.extend((sender, row.pk, row.history_id, row.id) for row in created_rows)

    post_create_historical_m2m_records.connect(collect, dispatch_uid="tests.collect")
    try:
        incident = make_incident(
            officer,
            states=[state("TX"), state("LA")],
            sectors=[sector("energy")],
            shared_with=[make_partner(officer)],
        )
    finally:
        post_create_historical_m2m_records.disconnect(dispatch_uid="tests.collect")
    record = newest(incident)
    stored = {
        (table.rows_model, row.pk, row.history_id, row.id)
        for table in link_tables(type(record))
        for row in table.rows_model.objects.filter(history=record)
    }
    assert len(sent) == 4
    assert set(sent) == stored


def test_a_record_without_links_reads_no_link_table(officer):
    action = make_action(officer, make_incident(officer), make_partner(officer))
    with CaptureQueriesContext(connection) as queries:
        save_with_history(action, actor=officer, reason="Touched")
    assert not any("UNION" in q["sql"] for q in queries)


# --- what a record costs in SQL ---------------------------------------------------------------


def history_queries(write) -> list[str]:
    """The SQL that ``write`` sends only when history is on: what it sends with history on,
    less what it sends with history off (the same statements, the record's come last)."""
    with override_settings(SIMPLE_HISTORY_ENABLED=False), CaptureQueriesContext(connection) as off:
        write()
    with CaptureQueriesContext(connection) as on:
        write()
    plain = [q["sql"].split()[0] for q in off.captured_queries]
    assert [q["sql"].split()[0] for q in on.captured_queries][: len(plain) - 1] == plain[:-1]
    return [q["sql"] for q in on.captured_queries[len(plain) - 1 : -1]]


@pytest.fixture
def linked_incident(officer):
    """An incident with links in two of its five many-to-many tables."""
    return make_incident(officer, states=[state("TX"), state("LA")], sectors=[sector("energy")])


def test_recording_an_incident_costs_two_reads_and_one_insert_per_table_with_links(
    officer, linked_incident
):
    """The previous record; every link table now and the previous record's links, in one
    statement; the record; the snapshot rows of the two tables that hold links (on
    PostgreSQL in one statement)."""
    incident = linked_incident
    titles = (f"Title {n}" for n in range(10))

    def write():
        incident.refresh_from_db()
        coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=next(titles)
        )

    extra = history_queries(write)
    snapshot_inserts = 1 if connection.vendor == "postgresql" else 2
    assert len(extra) == 3 + snapshot_inserts, extra
    assert extra[0].startswith("SELECT")
    assert extra[1].startswith("SELECT")
    assert extra[1].count("UNION ALL") == 2 * 5 - 1
    assert extra[2].startswith("INSERT")
    assert all(sql.startswith(("INSERT", "WITH")) for sql in extra[3:])


def test_recording_an_action_costs_one_read_and_one_insert(officer):
    action = make_action(officer, make_incident(officer), make_partner(officer))
    texts = (f"Instructions {n}" for n in range(10))

    def write():
        action.refresh_from_db()
        coordination.update_action(
            actor=officer, action=action, version=action.version, instructions=next(texts)
        )

    extra = history_queries(write)
    assert len(extra) == 2, extra
    assert extra[0].startswith("SELECT")
    assert extra[1].startswith("INSERT")


def test_an_update_checks_only_what_changed(officer, linked_incident, django_assert_num_queries):
    """A new title: no query re-checks the lead or the uniqueness of the reference."""
    # savepoint, row lock, UPDATE, the record's 4 or 5 (see above), release
    with django_assert_num_queries(8 if connection.vendor == "postgresql" else 9):
        coordination.update_incident(
            actor=officer, incident=linked_incident, version=1, title="New"
        )


def test_a_changed_field_is_checked_with_its_uniqueness_rules(officer):
    make_partner(officer, name="Same name", state=state("OH"))
    other = make_partner(officer, name="Other name", state=state("OH"))
    other.name = "Same name"
    with pytest.raises(ValidationError) as caught:
        validate_changes(other, {"name"})  # unique together with the unchanged state
    assert caught.value.error_dict["name"][0].code == "unique"
    other.name = "Other name"
    other.watch_phone = "not a phone"
    with pytest.raises(ValidationError) as caught:
        validate_changes(other, {"watch_phone"})
    assert list(caught.value.error_dict) == ["watch_phone"]
