"""The soak (``python -m bench.soak``), a few seconds of it: against a real server on the test
database it answers every request without a 5xx, its reconciliation agrees with the database
and ``verify_audit`` passes; and the reconciliation notices a write the clients saw accepted
that the database does not hold, or one it holds that no client saw."""

import dataclasses

import pytest
from django.db import connection

from bench.machine import Machine
from bench.report import SOAK_END, SOAK_START, soak_block, with_soak_block
from bench.soak import run_soak
from bench.soak_ledger import reconcile
from bench.soak_report import markdown
from coordination.choices import IncidentCategory, Severity
from coordination.services import create_incident
from opsapi.accounts.access import OPS_OFFICER
from tests.servers import database_url_of_tests


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the soak runs on PostgreSQL only (SQLite takes one writer at a time)",
)
def test_a_short_soak_reconciles_verifies_and_catches_a_lost_write(make_user):
    """Four clients (two officers, a partner user, the auditor) for four seconds, one worker."""
    run = run_soak(
        database_url=database_url_of_tests(),
        seconds=4,
        concurrency=4,
        workers=1,
        seed=6,
        log=lambda message: None,
    )
    tally, ledger = run.tally, run.ledger

    assert tally.server_errors == 0, tally.samples
    assert not tally.transport, tally.samples
    assert not tally.errors, tally.samples
    assert {"createIncident", "watch floor (partner)", "auditLog (auditor)"} <= set(tally.requests)
    assert ledger.incidents, "the officers opened incidents"
    assert run.reconciliation.clean, run.reconciliation.problems
    assert run.verify_ok, run.verify_output
    assert run.passed
    assert run.memory[0].total > 0
    assert set(run.memory[-1].rss) == set(run.memory[0].rss), "a server process was replaced"
    run.machine = Machine.describe()
    assert "**Passed**: 0 5xx" in markdown(run)

    # A client saw one more update accepted than the database holds.
    reference = next(iter(ledger.incidents))
    ledger.incident_changed(reference)
    lost = reconcile(ledger)

    assert not lost.clean
    assert any(reference in problem for problem in lost.problems)
    assert [line.what for line in lost.lines if not line.agrees] == [
        "Incident versions, summed (1 + accepted updates and shares each)",
        "Incident history records (create + accepted updates and shares)",
    ]
    assert "**FAILED**" in markdown(dataclasses.replace(run, reconciliation=lost))

    # The database holds an incident of the run that no client saw accepted.
    ledger.incident_changes[reference] -= 1
    unseen = create_incident(
        actor=make_user("soak-outsider", roles=[OPS_OFFICER]),
        title="Not through the soak",
        category=IncidentCategory.CYBER,
        severity=Severity.LOW,
        source=ledger.tag,
    )
    found = reconcile(ledger)

    assert not found.clean
    assert any(unseen.reference in problem for problem in found.problems)


def test_the_soak_section_replaces_its_own_block_and_nothing_else(tmp_path):
    results = tmp_path / "RESULTS.md"
    bench = "# Benchmark results\n\nbench tables\n"
    first = f"{SOAK_START}\n## Soak\n\nfirst run\n{SOAK_END}"
    second = f"{SOAK_START}\n## Soak\n\nsecond run\n{SOAK_END}"

    results.write_text(with_soak_block(bench, first), encoding="utf-8")
    appended = results.read_text()
    results.write_text(with_soak_block(appended, second), encoding="utf-8")
    replaced = results.read_text()

    assert appended == bench + "\n" + first + "\n"
    assert replaced == bench + "\n" + second + "\n"
    assert soak_block(results) == second
    # What `make bench` writes keeps the block of the file it rewrites.
    assert with_soak_block("# Benchmark results\n\nnew tables\n", soak_block(results)).endswith(
        second + "\n"
    )
    assert soak_block(tmp_path / "missing.md") == ""
