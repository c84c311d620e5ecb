"""Exporting the trail: manage.py export_audit and /audit/export/."""

import csv
import io
import json
import tracemalloc

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from coordination.choices import Severity
from coordination.services import update_incident
from opsapi.accounts.services import issue_token
from opsapi.audit import export
from opsapi.audit.models import AuditAccess
from partners.models import Sector
from tests.factories import make_incident, make_partner


def run_export(*args) -> list[str]:
    out = io.StringIO()
    call_command("export_audit", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def changes(officer):
    start = timezone.now()
    partner = make_partner(officer, name="Harbor police")
    incident = make_incident(officer, title="Port closure", severity=Severity.LOW)
    middle = timezone.now()
    update_incident(actor=officer, incident=incident, version=1, severity=Severity.HIGH)
    return {"start": start, "middle": middle, "incident": incident, "partner": partner}


def test_jsonl_export_streams_records_oldest_first_then_a_summary(changes):
    lines = run_export("--since", changes["start"].isoformat())
    rows = [json.loads(line) for line in lines]
    *records, summary = rows
    assert [(r["model"], r["action"]) for r in records] == [
        ("partners.Partner", "created"),
        ("coordination.Incident", "created"),
        ("coordination.Incident", "updated"),
    ]
    update = records[-1]
    assert update["fields"]["severity"] == "high"
    assert update["fields"]["reference"] == changes["incident"].reference
    assert update["user"] == "officer"
    assert {"field": "severity", "old": "low", "new": "high"} in update["changes"]
    assert update["previous_hash"] == records[1]["record_hash"]
    assert set(update["links"]) == {
        "states",
        "urban_areas",
        "sectors",
        "shared_with",
        "shared_with_users",
    }
    assert summary["summary"]["count"] == 3
    assert summary["summary"]["last_record_hash"] == update["record_hash"]
    assert len(summary["summary"]["range_hash"]) == 64


def test_export_filters_by_range_and_model(changes):
    *records, _summary = [
        json.loads(line)
        for line in run_export(
            "--since", changes["middle"].isoformat(), "--until", timezone.now().isoformat()
        )
    ]
    assert [r["action"] for r in records] == ["updated"]
    only_partners = [json.loads(line) for line in run_export("--model", "Partner")]
    assert {r["model"] for r in only_partners[:-1]} == {"partners.Partner"}


def test_the_same_range_exports_the_same_range_hash(changes):
    until = timezone.now().isoformat()
    first = json.loads(run_export("--until", until)[-1])["summary"]
    second = json.loads(run_export("--until", until)[-1])["summary"]
    assert first["range_hash"] == second["range_hash"]
    assert first["count"] == second["count"]


def test_csv_export(changes):
    rows = list(csv.reader(run_export("--format", "csv", "--since", changes["start"].isoformat())))
    header, *records, summary = rows
    assert header == list(export.CSV_COLUMNS)
    assert [r[0] for r in records] == [
        "partners.Partner",
        "coordination.Incident",
        "coordination.Incident",
    ]
    assert json.loads(records[-1][header.index("fields")])["severity"] == "high"
    assert summary[0] == "#summary"
    assert summary[1] == "3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-05-02T00:00Z", "--until", "2026-05-01T00:00Z"], "--since"),
        (["--since", "yesterday"], "--since"),
        (["--until", "2026-05-01T00:00:00"], "--until"),
        (["--model", "Spaceship"], "--model"),
    ],
)
def test_export_bad_arguments_fail_clearly(db, args, message):
    with pytest.raises(CommandError, match=message):
        run_export(*args)


def test_command_exports_are_recorded_as_reads(changes):
    run_export("--model", "Incident")
    read = AuditAccess.objects.get()
    assert read.operation == "export"
    assert read.user is None
    assert read.request_id.startswith("cmd:export_audit:")
    assert read.arguments["model"] == ["Incident"]


def _fill_trail(officer, count: int) -> None:
    """``count`` sector records, written through the services (each with its history)."""
    from partners.services import save_sector

    admin_user = type(officer).objects.create_superuser("bulk-admin", password=None)
    for i in range(count):
        save_sector(actor=admin_user, code=f"bulk-{i}", name=f"Bulk sector {i}")


def _peak_export_memory(flt) -> tuple[int, int]:
    tracemalloc.start()
    count = 0
    for _ in export.lines(flt, "jsonl"):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


def test_export_memory_does_not_grow_with_the_range(officer, monkeypatch):
    """Exporting four times as many records does not take (much) more memory: pages are
    read by keyset and written out one record at a time."""
    monkeypatch.setattr(export, "PAGE", 100)  # many pages in both exports
    _fill_trail(officer, 2500)
    small = export.export_filter(since=None, until=None, models=["Sector"])
    small.object_id = None
    first = Sector.history.order_by("history_date").values_list("history_date", flat=True)
    small.until = list(first[:600])[-1]
    count_small, peak_small = _peak_export_memory(small)
    count_large, peak_large = _peak_export_memory(
        export.export_filter(since=None, until=None, models=["Sector"])
    )
    assert count_large > 4 * count_small
    assert peak_large < 1.5 * peak_small


# --- over HTTP ------------------------------------------------------------------------------


def _get(client, **params):
    return client.get("/audit/export/", params)


def test_auditors_download_the_export(auditor, changes):
    client = Client()
    client.force_login(auditor)
    response = _get(client, since=changes["start"].isoformat(), format="jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert "attachment" in response["Content-Disposition"]
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert rows[-1]["summary"]["count"] == 3
    read = AuditAccess.objects.get(operation="export")
    assert read.user == auditor


def test_auditors_download_with_a_token(auditor, changes):
    _, raw = issue_token(user=auditor, name="Export job", actor=auditor)
    response = Client().get(
        "/audit/export/", {"format": "csv"}, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200
    assert b"#summary" in b"".join(response.streaming_content)


def test_only_auditors_may_export(officer, make_user, changes):
    for user in (officer, make_user("pat", partner=changes["partner"]), make_user("visitor")):
        client = Client()
        client.force_login(user)
        response = _get(client)
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _get(Client()).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"format": "xml"},
        {"since": "2026-05-02T00:00Z", "until": "2026-05-01T00:00Z"},
        {"model": "Spaceship"},
        {"until": "not a time"},
    ],
)
def test_bad_export_requests_get_a_400(auditor, params):
    client = Client()
    client.force_login(auditor)
    response = _get(client, **params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not AuditAccess.objects.exists()
