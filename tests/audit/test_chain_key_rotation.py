"""Rotating the history chain key: every record and access-log entry names the key that sealed
it, records sealed under a retired key stay valid, one naming a key no longer configured is
reported by name; and verify_audit checks the signed checkpoints' signatures and their chain."""

import base64
import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coordination import services as coordination
from coordination.models import Incident
from opsapi.audit import signing, verify_export
from opsapi.audit.chain import key_id, record_content, record_digest
from opsapi.audit.checkpoints import rotate_signing_key, take_checkpoint
from opsapi.audit.checks import chain_keys_are_configured
from opsapi.audit.models import AuditAccess, AuditChainKeyRotation, AuditCheckpoint
from opsapi.audit.recording import recorded_links
from opsapi.audit.verify import AuditVerifier, Problem
from tests.audit.test_verify import behind_the_app, chain_of, edited_incident, q, verify
from tests.factories import make_incident, state

pytestmark = pytest.mark.django_db

INCIDENTS = Incident.history.model._meta.db_table
ACCESS_LOG = AuditAccess._meta.db_table
CHECKPOINTS = AuditCheckpoint._meta.db_table


@pytest.fixture
def key_a(settings):
    """Key A: the key current when the test database was made (its reference data is sealed
    under it), none retired."""
    settings.AUDIT_CHAIN_RETIRED_KEYS = []
    return settings.AUDIT_CHAIN_KEY


def read(officer, target: str) -> AuditAccess:
    return AuditAccess.record(user=officer, operation="history", target=target, arguments={})


def rotate(*args: str) -> dict[str, str]:
    """Run audit_rotate_chain_key: {setting: value} of the lines it prints to set."""
    out = StringIO()
    call_command("audit_rotate_chain_key", *args, stdout=out)
    printed = out.getvalue().splitlines()
    return dict(line.split("=", 1) for line in printed if not line.startswith("#"))


def apply(settings, printed: dict[str, str]) -> None:
    """Set what the rotation printed, as the environment would (django-environ's list)."""
    settings.AUDIT_CHAIN_KEY = printed["AUDIT_CHAIN_KEY"]
    settings.AUDIT_CHAIN_RETIRED_KEYS = printed["AUDIT_CHAIN_RETIRED_KEYS"].split(",")


def sealed_before_key_ids(obj) -> None:
    """Re-seal ``obj``'s whole chain as the application did before records named their key:
    no key id, under the current key (behind the app's back: the tables are append-only)."""
    previous = ""
    with behind_the_app() as cursor:
        for record in chain_of(obj):
            record.chain_key_id = ""
            record.previous_hash = previous
            record.record_hash = record_digest(record, recorded_links(record))
            cursor.execute(
                f"UPDATE {q(INCIDENTS)} SET chain_key_id = '', previous_hash = %s, "
                "record_hash = %s WHERE history_id = %s",
                [record.previous_hash, record.record_hash, record.history_id],
            )
            previous = record.record_hash


# --- key ids ----------------------------------------------------------------------------------


def test_every_record_and_access_log_entry_names_the_key_that_sealed_it(officer, key_a):
    incident = edited_incident(officer, edits=1)
    entry = read(officer, "incident")

    expected = key_id(key_a)
    assert len(expected) == 16
    assert int(expected, 16) >= 0
    assert {record.chain_key_id for record in chain_of(incident)} == {expected}
    assert entry.chain_key_id == expected
    assert key_id("another key") != expected
    # The id is sealed with the record: it is part of what the HMAC covers.
    newest = chain_of(incident)[-1]
    assert record_content(newest, recorded_links(newest))["key"] == expected


def test_a_record_claiming_another_configured_key_is_reported(officer, key_a, settings):
    incident = edited_incident(officer, edits=0)
    rotate_to_b = rotate()
    apply(settings, rotate_to_b)
    record = chain_of(incident)[-1]
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENTS)} SET chain_key_id = %s WHERE history_id = %s",
            [key_id(settings.AUDIT_CHAIN_KEY), record.history_id],
        )

    assert (Problem.BAD_HASH, INCIDENTS, record.history_id) in {
        (f.problem, f.table, f.history_id) for f in AuditVerifier().findings()
    }


# --- a rotation -------------------------------------------------------------------------------


def test_the_rotation_command_prints_the_settings_and_records_the_handover(key_a, settings):
    out = StringIO()
    call_command("audit_rotate_chain_key", stdout=out)
    printed = out.getvalue()

    settings_lines = [line for line in printed.splitlines() if not line.startswith("#")]
    assert [line.split("=", 1)[0] for line in settings_lines] == [
        "AUDIT_CHAIN_KEY",
        "AUDIT_CHAIN_RETIRED_KEYS",
    ]
    new_key = settings_lines[0].split("=", 1)[1]
    assert settings_lines[1] == f"AUDIT_CHAIN_RETIRED_KEYS={key_a}"
    assert len(new_key) >= 64
    assert "," not in new_key
    rotation = AuditChainKeyRotation.objects.get()
    assert (rotation.old_key_id, rotation.new_key_id) == (key_id(key_a), key_id(new_key))
    assert f"from key {key_id(key_a)} to key {key_id(new_key)}" in printed
    assert "restart them all" in printed
    assert "verify_audit" in printed

    # Run again before the first was applied: refused, naming both keys; --again goes on.
    with pytest.raises(CommandError, match=f"to key {key_id(new_key)} was recorded"):
        call_command("audit_rotate_chain_key", stdout=StringIO())
    assert rotate("--again")["AUDIT_CHAIN_RETIRED_KEYS"] == key_a
    assert AuditChainKeyRotation.objects.count() == 2


def test_verify_audit_is_clean_across_a_rotation(officer, key_a, settings):
    incident = edited_incident(officer, edits=1)
    read(officer, "before")
    take_checkpoint()  # sealed under key A

    printed = rotate()
    apply(settings, printed)
    key_b = printed["AUDIT_CHAIN_KEY"]
    assert [key_a] == settings.AUDIT_CHAIN_RETIRED_KEYS
    incident = coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Under key B"
    )
    make_incident(officer, states=[state("TX")])
    read(officer, "after")
    take_checkpoint()  # sealed under key B

    status, output = verify()

    assert status == 0, output
    assert "2 access-log entries, 2 checkpoints, 1 chain key rotations" in output
    # One chain crossing the rotation: its records name either key.
    ids = [record.chain_key_id for record in chain_of(incident)]
    assert ids == [key_id(key_a)] * (len(ids) - 1) + [key_id(key_b)]
    entries = AuditAccess.objects.order_by("sequence").values_list("chain_key_id", flat=True)
    assert list(entries) == [key_id(key_a), key_id(key_b)]


def test_records_sealed_before_key_ids_verify_under_the_oldest_key(officer, key_a, settings):
    incident = edited_incident(officer, edits=1)
    sealed_before_key_ids(incident)
    assert verify()[0] == 0

    apply(settings, rotate())
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Under key B"
    )
    status, output = verify()
    assert status == 0, output

    # The original key is the first retired one: listed in another place, it is not.
    settings.AUDIT_CHAIN_RETIRED_KEYS = ["an-older-key-listed-first", key_a]
    legacy = [record.history_id for record in chain_of(incident) if not record.chain_key_id]
    found = {(f.problem, f.history_id): f.detail for f in AuditVerifier().findings()}
    original = key_id("an-older-key-listed-first")
    assert found[Problem.CONTENT_ALTERED, legacy[0]] == (
        f"sealed before key ids, checked under the original key {original}"
    )


def test_a_record_whose_key_is_no_longer_configured_is_reported_by_name(officer, key_a, settings):
    incident = edited_incident(officer, edits=1)
    entry = read(officer, "before")
    apply(settings, rotate())
    settings.AUDIT_CHAIN_RETIRED_KEYS = []  # key A dropped from the configuration
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Under key B"
    )

    status, output = verify("coordination.Incident")

    assert status == 1
    under_a = [r.history_id for r in chain_of(incident) if r.chain_key_id == key_id(key_a)]
    assert len(under_a) == 2
    unknown = [line for line in output.splitlines() if "unknown chain key" in line]
    for history_id in under_a:
        assert any(
            line.startswith(f"{INCIDENTS} object {incident.pk} record {history_id}:")
            and line.endswith(f"— key {key_id(key_a)}")
            for line in unknown
        ), output
    assert any(f"entry {entry.sequence} record {entry.pk}:" in line for line in unknown), output
    rotation = AuditChainKeyRotation.objects.get()
    assert any(
        line.startswith(f"{AuditChainKeyRotation._meta.db_table} record {rotation.pk}:")
        for line in unknown
    ), output
    assert len(unknown) == 4, output  # two records, one entry, the rotation: nothing else


def test_a_checkpoint_names_its_chain_key_and_stays_sealed_after_a_rotation(
    officer, key_a, settings
):
    edited_incident(officer, edits=1)
    before = take_checkpoint()
    assert before.chain_key_id == key_id(key_a)
    apply(settings, rotate())
    after = take_checkpoint()
    assert after.chain_key_id == key_id(settings.AUDIT_CHAIN_KEY)
    assert verify()[0] == 0

    settings.AUDIT_CHAIN_RETIRED_KEYS = []  # key A dropped: its checkpoint can't be checked
    found = [(f.problem, f.checkpoint_id) for f in AuditVerifier().findings()]
    assert (Problem.CHECKPOINT_SEAL, before.pk) in found
    assert (Problem.CHECKPOINT_SEAL, after.pk) not in found


def test_an_altered_rotation_record_is_reported(officer, key_a, settings):
    apply(settings, rotate())
    rotation = AuditChainKeyRotation.objects.get()
    with behind_the_app():
        AuditChainKeyRotation.objects.filter(pk=rotation.pk).update(
            at=rotation.at - datetime.timedelta(days=1)
        )
    problems = [f.problem for f in AuditVerifier().findings()]
    assert problems == [Problem.ROTATION_SEAL, Problem.ROTATION_SEAL]


def test_the_deploy_check_names_keys_missing_and_a_rotation_not_applied(officer, key_a, settings):
    edited_incident(officer, edits=0)
    assert chain_keys_are_configured(None, databases=["default"]) == []

    printed = rotate()
    not_applied = chain_keys_are_configured(None, databases=["default"])
    assert [w.id for w in not_applied] == ["audit.W007"]
    assert key_id(printed["AUDIT_CHAIN_KEY"]) in not_applied[0].msg

    apply(settings, printed)
    assert chain_keys_are_configured(None, databases=["default"]) == []

    settings.AUDIT_CHAIN_RETIRED_KEYS = []
    missing = chain_keys_are_configured(None, databases=["default"])
    assert [w.id for w in missing] == ["audit.W006"]
    assert key_id(key_a) in missing[0].msg

    settings.AUDIT_CHAIN_RETIRED_KEYS = [key_a, settings.AUDIT_CHAIN_KEY]
    assert [w.id for w in chain_keys_are_configured(None)] == ["audit.W005"]


def test_a_signed_export_verifies_offline_across_a_chain_key_rotation(
    officer, key_a, settings, tmp_path
):
    signer = signing.generate_private_key()
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signer)
    public = tmp_path / "audit.pub"
    public.write_text(signing.public_key_text(signer.public_key()))
    incident = edited_incident(officer, edits=1)
    take_checkpoint()
    apply(settings, rotate())
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Under key B"
    )
    take_checkpoint()
    path = tmp_path / "export.jsonl"
    call_command("export_audit", "--checkpoints", "--output", str(path), stdout=StringIO())

    status, message = verify_export.verify(str(path), str(public))

    assert status == verify_export.VERIFIED, message
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    named = [item["content"].get("key") for item in lines if item.get("log") == INCIDENTS]
    assert named == [key_id(key_a)] * 2 + [key_id(settings.AUDIT_CHAIN_KEY)]


# --- signed checkpoints ------------------------------------------------------------------------


@pytest.fixture
def signed_trail(officer, settings):
    """Three signed checkpoints, the signing key rotated between the second and the third."""
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signing.generate_private_key())
    incident = edited_incident(officer, edits=1)
    take_checkpoint()
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="Later"
    )
    take_checkpoint()
    new = rotate_signing_key(signing.load_private_key(settings.AUDIT_SIGNING_KEY))
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(new)
    take_checkpoint()
    return list(AuditCheckpoint.objects.order_by("number"))


def signed_findings() -> list[tuple[Problem, int | None]]:
    return [
        (f.problem, f.checkpoint_id)
        for f in AuditVerifier().findings()
        if f.table in (CHECKPOINTS, "audit_auditsigningkey")
    ]


def test_signed_checkpoints_across_a_signing_key_rotation_verify(signed_trail):
    status, output = verify()
    assert status == 0, output
    assert "3 checkpoints (3 signed)" in output


def test_a_forged_checkpoint_signature_is_reported(signed_trail):
    first = signed_trail[0]
    forger = signing.generate_private_key()
    forged = dict(first.statement, created_at="2020-01-01T00:00:00+00:00")
    with behind_the_app():
        AuditCheckpoint.objects.filter(pk=first.pk).update(
            statement=forged, signature=signing.sign(forger, forged)
        )

    status, output = verify()

    assert status == 1
    assert (Problem.CHECKPOINT_SIGNATURE, first.pk) in signed_findings()
    # The checkpoint after it names the statement that was signed, not the forged one.
    assert (Problem.CHECKPOINT_SEQUENCE, signed_trail[1].pk) in signed_findings()
    assert f"checkpoint {first.pk}: signed checkpoint invalid" in output


def test_an_altered_signature_is_reported(signed_trail):
    second = signed_trail[1]
    signature = bytearray(base64.b64decode(second.signature))
    signature[0] ^= 1
    with behind_the_app():
        AuditCheckpoint.objects.filter(pk=second.pk).update(
            signature=base64.b64encode(bytes(signature)).decode()
        )
    assert signed_findings() == [(Problem.CHECKPOINT_SIGNATURE, second.pk)]


def test_a_deleted_signed_checkpoint_is_reported(signed_trail):
    with behind_the_app() as cursor:
        cursor.execute(f"DELETE FROM {q(CHECKPOINTS)} WHERE id = %s", [signed_trail[1].pk])
    assert signed_findings() == [(Problem.CHECKPOINT_SEQUENCE, signed_trail[2].pk)]


def test_altered_stored_trees_are_reported(signed_trail):
    newest = signed_trail[-1]
    trees = dict(newest.trees)
    frontier = trees[INCIDENTS]["frontier"]
    trees[INCIDENTS] = {**trees[INCIDENTS], "frontier": ["00" * 32] * len(frontier)}
    with behind_the_app():
        AuditCheckpoint.objects.filter(pk=newest.pk).update(trees=trees)
    assert signed_findings() == [(Problem.CHECKPOINT_TREES, newest.pk)]
