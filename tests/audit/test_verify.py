"""verify_audit and checkpoint_audit: an untouched trail verifies, and every kind of tampering
(with history records, live rows, links or checkpoints) is reported, naming table and record."""

import datetime
import json
import threading
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from coordination import services as coordination
from coordination.models import Incident
from opsapi.audit.chain import record_content, record_digest
from opsapi.audit.checkpoints import take_checkpoint, tracked_models
from opsapi.audit.management.commands.verify_audit import Command as VerifyAudit
from opsapi.audit.models import AccessLogWriteError, AuditAccess, AuditCheckpoint
from opsapi.audit.recording import recorded_links
from opsapi.audit.tracking import save_with_history
from opsapi.audit.verify import AuditVerifier, Problem
from partners import services as partners
from partners.models import Contact, Sector
from tests.factories import make_action, make_contact, make_incident, make_partner, state

INCIDENTS = Incident.history.model._meta.db_table
INCIDENT_ROWS = Incident._meta.db_table
STATE_LINKS = Incident.states.through._meta.db_table
CHECKPOINTS = AuditCheckpoint._meta.db_table
ACCESS_LOG = AuditAccess._meta.db_table


def verify(*models: str) -> tuple[int, str]:
    """Run verify_audit: (exit status, what it printed)."""
    return verify_with(*(["--model", *models] if models else []))


def verify_with(*args: str) -> tuple[int, str]:
    """Run verify_audit with ``args``: (exit status, what it printed)."""
    out = StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=StringIO())
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def found() -> set[tuple[Problem, str, int | None]]:
    """{(problem, table, history id)} of every finding."""
    return {(f.problem, f.table, f.history_id) for f in AuditVerifier().findings()}


def line_about(output: str, table: str, history_id: int) -> str:
    """The printed findings about record ``history_id`` of ``table`` (fails if there are none)."""
    lines = [
        line
        for line in output.splitlines()
        if line.startswith(f"{table} ") and f" record {history_id}:" in line
    ]
    assert lines, output
    return "\n".join(lines)


@contextmanager
def behind_the_app():
    """A cursor writing as someone with direct database access would.

    On PostgreSQL the history tables refuse updates and deletes (append-only triggers); a
    superuser can still skip triggers with ``session_replication_role``, as the test user does.
    """
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute("SET session_replication_role = DEFAULT")


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def chain_of(obj) -> list:
    """``obj``'s history records, oldest first."""
    return list(type(obj).history.filter(id=obj.pk).order_by("history_id"))


def edited_incident(officer, edits: int = 2) -> Incident:
    """An incident linked to two states, with ``1 + edits`` history records."""
    incident = make_incident(officer, states=[state("TX"), state("LA")])
    for n in range(edits):
        incident = coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"Edit {n}"
        )
    return incident


# --- an untouched trail -----------------------------------------------------------------------


def test_an_untouched_trail_verifies_with_its_counts(officer, administrator):
    partner = make_partner(administrator, sectors=Sector.objects.order_by("pk")[:2])
    partners.update_partner(actor=administrator, partner=partner, name="Renamed partner")
    contact = make_contact(administrator, partner)
    partners.delete_contact(actor=administrator, contact=contact)
    edited_incident(officer)
    take_checkpoint()

    status, output = verify()

    models = tracked_models()
    records = sum(m.history.model._base_manager.count() for m in models)
    objects = sum(
        m.history.model._base_manager.values(m._meta.pk.attname).distinct().count() for m in models
    )
    live_rows = sum(m._base_manager.count() for m in models)
    assert status == 0, output
    assert output.strip() == (
        f"OK: {records} records in 11 tables, {objects} objects, "
        f"{live_rows} live rows reconciled, 0 access-log entries, 1 checkpoints"
    )
    assert len(models) == 11
    assert live_rows < objects  # the deleted contact has history and no row


def test_one_model_can_be_verified_alone(officer):
    edited_incident(officer)
    status, output = verify("coordination.Incident")
    assert status == 0
    assert output.strip() == (
        "OK: 3 records in 1 tables, 1 objects, 1 live rows reconciled, 0 access-log entries, "
        "0 checkpoints"
    )


def test_an_unknown_or_untracked_model_is_refused(db):
    with pytest.raises(CommandError, match="Unknown model"):
        call_command("verify_audit", "--model", "coordination.Nothing")
    with pytest.raises(CommandError, match="no tracked history"):
        call_command("verify_audit", "--model", "audit.AuditCheckpoint")


def test_a_finding_makes_the_command_exit_non_zero(officer):
    incident = make_incident(officer)
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENT_ROWS)} SET title = %s WHERE id = %s", ["X", incident.pk]
        )

    with pytest.raises(SystemExit) as exited:
        VerifyAudit(stdout=StringIO(), stderr=StringIO()).run_from_argv(
            ["manage.py", "verify_audit"]
        )
    assert exited.value.code == 1


# --- tampering with history records -----------------------------------------------------------


def test_an_edited_record_is_reported_as_altered(officer):
    incident = edited_incident(officer)
    first = chain_of(incident)[0]
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENTS)} SET title = %s WHERE history_id = %s",
            ["Nothing happened", first.history_id],
        )

    status, output = verify()

    assert status == 1
    line = line_about(output, INCIDENTS, first.history_id)
    assert f"object {incident.pk} " in line
    assert "content altered" in line
    assert found() == {(Problem.CONTENT_ALTERED, INCIDENTS, first.history_id)}


def test_an_edited_newest_record_is_reported(officer):
    incident = edited_incident(officer)
    newest = chain_of(incident)[-1]
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENTS)} SET history_change_reason = %s WHERE history_id = %s",
            ["Approved by the director", newest.history_id],
        )

    status, output = verify()

    assert status == 1
    assert "bad hash" in line_about(output, INCIDENTS, newest.history_id)
    assert found() == {(Problem.BAD_HASH, INCIDENTS, newest.history_id)}


def test_a_record_deleted_in_the_middle_breaks_the_link(officer):
    incident = edited_incident(officer)
    _, middle, last = chain_of(incident)
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(INCIDENTS)} WHERE history_id = %s", [middle.history_id])

    status, output = verify()

    assert status == 1
    line = line_about(output, INCIDENTS, last.history_id)
    assert "broken link" in line
    assert "its predecessor is not in the trail" in line
    assert found() == {(Problem.BROKEN_LINK, INCIDENTS, last.history_id)}


def test_a_deleted_first_record_leaves_a_first_record_with_a_predecessor(officer):
    incident = edited_incident(officer)
    first, second, _ = chain_of(incident)
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(INCIDENTS)} WHERE history_id = %s", [first.history_id])

    status, output = verify()

    assert status == 1
    assert "first record names a predecessor" in line_about(output, INCIDENTS, second.history_id)
    assert found() == {(Problem.FIRST_HAS_PREDECESSOR, INCIDENTS, second.history_id)}


def test_a_forged_record_is_reported(officer):
    incident = edited_incident(officer)
    first, *_ = chain_of(incident)
    forged = Incident.history.get(history_id=first.history_id)
    forged.history_id = None
    forged.severity = "critical"
    forged.record_hash = "f" * 64
    forged.save()  # an INSERT, which the append-only triggers let through

    status, output = verify()

    assert status == 1
    assert "bad hash" in line_about(output, INCIDENTS, forged.history_id)
    # Stored last, the forged record is the newest of the chain, and the live row disagrees.
    assert found() == {
        (Problem.BAD_HASH, INCIDENTS, forged.history_id),
        (Problem.FORK, INCIDENTS, forged.history_id),  # it copies the original's predecessor
        (Problem.LIVE_DIFFERS, INCIDENT_ROWS, forged.history_id),
    }


def test_a_fork_of_two_validly_sealed_records_is_reported(officer):
    # What two writers that did not lock the object's row would leave (or a key holder).
    incident = edited_incident(officer, edits=1)
    _first, second = chain_of(incident)
    rival = Incident.history.get(history_id=second.history_id)
    rival.history_id = None
    rival.title = "Rival edit"
    rival.history_date = second.history_date
    rival.record_hash = record_digest(rival, recorded_links(second))
    rival.save()

    findings = found()

    assert (Problem.FORK, INCIDENTS, rival.history_id) in findings
    assert Problem.CONTENT_ALTERED not in {problem for problem, *_ in findings}


def test_swapped_dates_are_reported(officer):
    incident = edited_incident(officer)
    first, second, _ = chain_of(incident)
    with behind_the_app() as cursor:
        for record, date in ((first, second.history_date), (second, first.history_date)):
            cursor.execute(
                f"UPDATE {q(INCIDENTS)} SET history_date = %s WHERE history_id = %s",
                [date, record.history_id],
            )

    status, output = verify()

    assert status == 1
    assert "content altered" in line_about(output, INCIDENTS, first.history_id)
    assert "content altered" in line_about(output, INCIDENTS, second.history_id)


def test_a_server_clock_running_behind_does_not_break_the_chain(db):
    # Two application servers whose clocks disagree: the second writes a record dated before
    # the first one's. The chain follows the order the records were stored in, not the dates.
    sector = Sector.objects.order_by("pk").last()
    save_with_history(sector, actor=None, reason="server A")
    sector.refresh_from_db()
    sector.name += " (B)"
    sector._history_date = timezone.now() - datetime.timedelta(seconds=30)
    save_with_history(sector, actor=None, reason="server B, clock 30 s behind")
    sector = Sector.objects.get(pk=sector.pk)
    sector.name += " (A)"
    save_with_history(sector, actor=None, reason="server A again")

    records = list(Sector.history.filter(id=sector.pk).order_by("history_id"))
    assert [r.previous_hash for r in records[1:]] == [r.record_hash for r in records[:-1]]
    server_a, server_b, server_a_again = records[-3:]
    assert server_a_again.history_date > server_a.history_date > server_b.history_date
    assert verify("partners.Sector") == (
        0,
        f"OK: {Sector.history.count()} records in 1 tables, {Sector.objects.count()} objects, "
        f"{Sector.objects.count()} live rows reconciled, 0 access-log entries, 0 checkpoints\n",
    )


def test_a_deleted_link_history_row_alters_the_record(officer):
    incident = edited_incident(officer)
    first = chain_of(incident)[0]
    links = Incident._history_tracker.m2m_models[Incident._meta.get_field("states")]
    with behind_the_app() as cursor:
        cursor.execute(
            f"DELETE FROM {q(links._meta.db_table)} WHERE history_id = %s AND state_id = %s",
            [first.history_id, state("TX").pk],
        )

    status, output = verify()

    assert status == 1
    assert "content altered" in line_about(output, INCIDENTS, first.history_id)
    assert found() == {(Problem.CONTENT_ALTERED, INCIDENTS, first.history_id)}


def test_a_record_moved_to_another_object_is_reported(officer):
    incident, other = edited_incident(officer), make_incident(officer)
    first = chain_of(incident)[0]
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENTS)} SET history_relation_id = %s WHERE history_id = %s",
            [other.pk, first.history_id],
        )

    assert found() == {(Problem.WRONG_OBJECT, INCIDENTS, first.history_id)}


# --- changes to live rows made behind the application's back -------------------------------


def test_a_live_row_changed_with_raw_sql_is_reported(officer):
    incident = edited_incident(officer)
    newest = chain_of(incident)[-1]
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENT_ROWS)} SET title = %s WHERE id = %s", ["Quietly", incident.pk]
        )

    status, output = verify()

    assert status == 1
    line = line_about(output, INCIDENT_ROWS, newest.history_id)
    assert f"{INCIDENT_ROWS} object {incident.pk} record {newest.history_id}:" in line
    assert "live row differs" in line
    assert "title" in line
    assert found() == {(Problem.LIVE_DIFFERS, INCIDENT_ROWS, newest.history_id)}


def test_a_live_link_added_with_raw_sql_is_reported(officer):
    incident = edited_incident(officer)
    with behind_the_app() as cursor:
        cursor.execute(
            f"INSERT INTO {q(STATE_LINKS)} (incident_id, state_id) VALUES (%s, %s)",
            [incident.pk, state("OK").pk],
        )

    status, output = verify()

    assert status == 1
    assert "differs in states" in line_about(output, INCIDENT_ROWS, chain_of(incident)[-1].pk)


def test_a_live_row_deleted_with_raw_sql_is_reported(officer):
    incident = make_incident(officer)
    record = chain_of(incident)[-1]
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(INCIDENT_ROWS)} WHERE id = %s", [incident.pk])

    status, output = verify()

    assert status == 1
    assert "live row missing" in line_about(output, INCIDENT_ROWS, record.history_id)
    assert found() == {(Problem.LIVE_MISSING, INCIDENT_ROWS, record.history_id)}


def test_a_live_row_inserted_without_history_is_reported(db):
    with behind_the_app() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Sector._meta.db_table)} (code, name) VALUES (%s, %s)",
            ["smuggled", "Smuggled sector"],
        )
    smuggled = Sector.objects.get(code="smuggled")

    status, output = verify()

    assert status == 1
    assert f"{Sector._meta.db_table} object {smuggled.pk}: live row has no history" in output
    assert found() == {(Problem.LIVE_WITHOUT_HISTORY, Sector._meta.db_table, None)}


def test_a_deleted_deletion_record_is_reported(administrator):
    contact = make_contact(administrator, make_partner(administrator))
    partners.delete_contact(actor=administrator, contact=contact)
    creation, deletion = chain_of(contact)
    table = Contact.history.model._meta.db_table
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(table)} WHERE history_id = %s", [deletion.history_id])

    status, output = verify()

    assert status == 1
    assert "live row missing" in line_about(output, Contact._meta.db_table, creation.history_id)


def test_a_deletion_record_for_a_row_that_still_exists_is_reported(administrator):
    partner = make_partner(administrator)
    contact = make_contact(administrator, partner)
    partners.delete_contact(actor=administrator, contact=contact)
    deletion = chain_of(contact)[-1]
    with behind_the_app() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Contact._meta.db_table)} (id, partner_id, name, title, email, phone,"
            " is_primary, is_24x7, created_at, updated_at)"
            " SELECT id, partner_id, name, title, email, phone, is_primary, is_24x7, created_at,"
            f" updated_at FROM {q(Contact.history.model._meta.db_table)} WHERE history_id = %s",
            [deletion.history_id],
        )

    assert found() == {(Problem.DELETED_BUT_PRESENT, Contact._meta.db_table, deletion.history_id)}


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_audit_stores_and_prints_a_sealed_summary(officer):
    incident = edited_incident(officer)
    out = StringIO()

    call_command("checkpoint_audit", stdout=out)

    printed = json.loads(out.getvalue())
    checkpoint = AuditCheckpoint.objects.get()
    assert printed["id"] == checkpoint.pk
    assert printed["seal"] == checkpoint.seal
    assert printed["tables"] == checkpoint.tables
    assert printed["tables"][INCIDENTS]["records"] == 3
    assert printed["tables"][INCIDENTS]["max_history_id"] == chain_of(incident)[-1].history_id
    assert verify()[0] == 0


def test_a_tail_record_deleted_after_a_checkpoint_is_reported(officer):
    # A record that changes no field: without it, the chain and the live row still agree, so
    # only the checkpoint can tell that it existed.
    energy = Sector.objects.order_by("pk").first()
    save_with_history(energy, actor=officer, reason="Reviewed, unchanged")
    tail = chain_of(energy)[-1]
    checkpoint = take_checkpoint()
    table = Sector.history.model._meta.db_table
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(table)} WHERE history_id = %s", [tail.history_id])

    status, output = verify()

    assert status == 1
    assert f"{table} checkpoint {checkpoint.pk}: records covered by a checkpoint are missing" in (
        output
    )
    assert found() == {(Problem.CHECKPOINT_RECORDS_MISSING, table, None)}


def _kept_copy(tmp_path) -> str:
    """Take a checkpoint the way cron does, and keep its output outside the database."""
    out = StringIO()
    call_command("checkpoint_audit", stdout=out)
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(out.getvalue())
    return str(kept)


def test_kept_checkpoint_copies_that_match_the_database_verify(officer, tmp_path):
    edited_incident(officer)
    kept = _kept_copy(tmp_path)

    assert verify_with("--kept-checkpoints", kept)[0] == 0


def test_a_deleted_checkpoint_and_the_records_it_covered_are_reported_from_the_kept_copy(
    officer, tmp_path
):
    # Deleting the checkpoint row first would hide the truncation from the database alone.
    energy = Sector.objects.order_by("pk").first()
    save_with_history(energy, actor=officer, reason="Reviewed, unchanged")
    tail = chain_of(energy)[-1]
    kept = _kept_copy(tmp_path)
    checkpoint = AuditCheckpoint.objects.get()
    table = Sector.history.model._meta.db_table
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(table)} WHERE history_id = %s", [tail.history_id])
        cursor.execute(f"DELETE FROM {q(CHECKPOINTS)}")

    assert verify()[0] == 0  # what the database alone can tell
    status, output = verify_with("--kept-checkpoints", kept)

    assert status == 1
    assert f"{CHECKPOINTS} checkpoint {checkpoint.pk}: checkpoint missing" in output
    assert f"{table} checkpoint {checkpoint.pk}: records covered by a checkpoint are missing" in (
        output
    )


def test_a_kept_copy_that_is_not_sealed_is_reported(officer, tmp_path):
    kept = tmp_path / "checkpoints.jsonl"
    line = json.loads(Path(_kept_copy(tmp_path)).read_text())
    line["tables"][INCIDENTS] = {"records": 0, "max_history_id": 0, "heads": "0" * 64}
    kept.write_text(json.dumps(line) + "\n")

    status, output = verify_with("--kept-checkpoints", str(kept))

    assert status == 1
    assert "kept copy of a checkpoint does not carry a valid seal" in output


@pytest.mark.parametrize("content", ["not json", '{"id": 1}'])
def test_an_unreadable_kept_copy_is_refused(db, tmp_path, content):
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text(content)
    with pytest.raises(CommandError, match=r"--kept-checkpoints: .*not a checkpoint line"):
        call_command("verify_audit", "--kept-checkpoints", str(kept))
    with pytest.raises(CommandError, match=r"--kept-checkpoints: .*No such file"):
        call_command("verify_audit", "--kept-checkpoints", str(tmp_path / "missing"))


def test_a_record_replaced_after_a_checkpoint_is_reported(officer):
    incident = edited_incident(officer)
    tail = Incident.history.get(history_id=chain_of(incident)[-1].history_id)
    checkpoint = take_checkpoint()
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(INCIDENTS)} WHERE history_id = %s", [tail.history_id])
    tail.record_hash = "0" * 64  # the same id again, but not the record the checkpoint saw
    tail.save()

    findings = {(f.problem, f.checkpoint_id) for f in AuditVerifier().findings()}

    assert (Problem.CHECKPOINT_HEADS, checkpoint.pk) in findings


def test_a_checkpoint_with_altered_tables_is_reported(officer):
    edited_incident(officer)
    checkpoint = take_checkpoint()
    tables = checkpoint.tables
    tables[INCIDENTS]["records"] -= 1
    with behind_the_app():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(tables=tables)

    status, output = verify()

    assert status == 1
    assert f"{CHECKPOINTS} checkpoint {checkpoint.pk}: checkpoint seal invalid" in output
    assert found() == {(Problem.CHECKPOINT_SEAL, CHECKPOINTS, None)}


def test_records_older_than_a_checkpoint_are_counted_even_when_others_arrive(officer):
    incident = edited_incident(officer, edits=1)
    take_checkpoint()
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="After the checkpoint"
    )
    make_incident(officer)
    assert verify()[0] == 0


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only triggers exist on PostgreSQL only"
)
def test_a_history_table_whose_triggers_were_disabled_is_reported(db):
    with connection.cursor() as cursor:  # as a table owner could (the test user is one)
        cursor.execute(f"ALTER TABLE {q(INCIDENTS)} DISABLE TRIGGER audit_append_only_row")

    status, output = verify()

    assert status == 1
    assert output.strip() == f"{INCIDENTS}: {Problem.UNPROTECTED.value}"


def test_a_field_added_later_keeps_the_digests_of_older_records(officer):
    """Records written before migration 0002 hold NULL in `escalated_at`: the digest of such a
    record is the one it had before the column existed, so verify_audit still passes."""
    action = make_action(officer, make_incident(officer), make_partner(officer))
    record = action.history.latest()
    assert "escalated_at" not in record_content(record, {})["fields"]
    record.escalated_at = record.history_date
    assert "escalated_at" in record_content(record, {})["fields"]


# --- the access log (who read the trail) ------------------------------------------------------


def read_log(user, reads: int = 3) -> list[AuditAccess]:
    """``reads`` entries in the access log, the way the API, the admin and exports write them;
    the arguments hold values a database gives back in another form than they were sent."""
    return [
        AuditAccess.record(
            user=user,
            operation="history",
            target=f"incidents.edges.node.history #{n}",
            arguments={
                "history": {"first": 10, "scale": 1e16, "zero": -0.0, "ratio": 0.1},
                "since": timezone.now(),
            },
        )
        for n in range(reads)
    ]


def test_an_intact_access_log_verifies_clean(officer):
    entries = read_log(officer)
    assert [entry.sequence for entry in entries] == [1, 2, 3]

    status, output = verify()

    assert status == 0, output
    assert ", 3 access-log entries, " in output


@pytest.mark.parametrize("deleted", [0, 1], ids=["first", "middle"])
def test_a_deleted_access_log_entry_is_reported_with_its_place(officer, deleted):
    entries = read_log(officer)
    gone = entries[deleted]
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(ACCESS_LOG)} WHERE id = %s", [gone.pk])

    status, output = verify()

    assert status == 1
    after = f"after record {entries[0].pk} (entry 1, " if deleted else "at the start of the log"
    assert output.strip().startswith(
        f"{ACCESS_LOG} entry {gone.sequence}: {Problem.ENTRIES_MISSING.value} — "
        f"entry {gone.sequence} is missing, {after}"
    ), output
    assert f"before record {entries[deleted + 1].pk} (" in output
    assert found() == {(Problem.ENTRIES_MISSING, ACCESS_LOG, None)}


def test_an_edited_access_log_entry_is_reported(officer):
    entries = read_log(officer)
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(ACCESS_LOG)} SET target = %s WHERE id = %s", ["nothing", entries[1].pk]
        )

    status, output = verify()

    assert status == 1
    assert output.strip() == f"{ACCESS_LOG} entry 2 record {entries[1].pk}: " + (
        Problem.ENTRY_ALTERED.value
    )


def test_closing_the_gap_of_a_deleted_entry_is_reported(officer):
    """Renumbering the entries after a deleted one hides the gap, not the renumbering."""
    entries = read_log(officer)
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(ACCESS_LOG)} WHERE id = %s", [entries[1].pk])
        cursor.execute(f"UPDATE {q(ACCESS_LOG)} SET sequence = 2 WHERE id = %s", [entries[2].pk])

    assert found() == {(Problem.ENTRY_ALTERED, ACCESS_LOG, entries[2].pk)}


def test_the_newest_access_log_entries_deleted_after_a_checkpoint_are_reported(officer):
    entries = read_log(officer, reads=2)
    checkpoint = take_checkpoint()
    read_log(officer, reads=1)
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(ACCESS_LOG)} WHERE sequence >= 2")

    status, output = verify()

    assert status == 1
    assert output.strip() == (
        f"{ACCESS_LOG} checkpoint {checkpoint.pk}: {Problem.CHECKPOINT_ENTRIES.value} — "
        "it saw 2 entries; the log ends at entry 1"
    )
    assert entries[0].sequence == 1


def test_access_log_entries_are_written_only_numbered_and_sealed(officer):
    with pytest.raises(AccessLogWriteError, match=r"AuditAccess\.record\(\)"):
        AuditAccess.objects.create(user=officer, operation="history", target="x")
    with pytest.raises(AccessLogWriteError):
        AuditAccess.objects.bulk_create([AuditAccess(user=officer, operation="history")])
    assert not AuditAccess.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_readers_get_consecutive_numbers():
    """Readers writing at once each draw the next number: none repeated, none skipped."""
    barrier = threading.Barrier(4)

    def reader(n):
        try:
            barrier.wait()
            for i in range(10):
                AuditAccess.record(user=None, operation="history", target=f"{n}.{i}", arguments={})
        finally:
            connection.close()

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    numbers = sorted(AuditAccess.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 41))
    assert [f for f in AuditVerifier().findings() if f.table == ACCESS_LOG] == []
