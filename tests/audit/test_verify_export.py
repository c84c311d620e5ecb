"""The offline verifier: an export of the signed checkpoints and their records verifies with the
public key alone (no Django, no database, no secret), and every kind of tampering with the
export, the checkpoints or the history behind them is reported, naming the line and record."""

import hashlib
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from coordination import services as coordination
from coordination.models import Incident
from opsapi.accounts.services import issue_token
from opsapi.audit import signing, verify_export
from opsapi.audit.checkpoints import take_checkpoint
from opsapi.audit.models import AuditAccess
from tests.audit.test_verify import behind_the_app
from tests.factories import make_incident, state

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = Incident.history.model._meta.db_table


@pytest.fixture
def signing_key(settings):
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signing.generate_private_key())
    return signing.load_private_key(settings.AUDIT_SIGNING_KEY)


@pytest.fixture
def public_key(tmp_path, signing_key) -> Path:
    path = tmp_path / "audit.pub"
    path.write_text(signing.public_key_text(signing_key.public_key()) + "\n")
    return path


def incident_with_edits(officer, edits: int):
    incident = make_incident(officer, states=[state("TX")])
    for n in range(edits):
        incident = coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"Edit {n}"
        )
    return incident


@pytest.fixture
def trail(officer, signing_key):
    """Two incidents (3 and 2 records), a checkpoint, two more records, a second checkpoint."""
    first = incident_with_edits(officer, 2)
    incident_with_edits(officer, 1)
    AuditAccess.record(user=officer, operation="history", target="a", arguments={"n": 1})
    take_checkpoint()
    coordination.update_incident(actor=officer, incident=first, version=first.version, title="Z")
    incident_with_edits(officer, 0)
    AuditAccess.record(user=officer, operation="auditLog", target="b", arguments={})
    take_checkpoint()


def export(tmp_path) -> Path:
    path = tmp_path / "export.jsonl"
    call_command("export_audit", "--checkpoints", "--output", str(path), stdout=StringIO())
    return path


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, items: list[dict]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))


def records(items: list[dict], log: str = INCIDENTS) -> list[int]:
    """Positions in ``items`` of ``log``'s record lines."""
    return [i for i, item in enumerate(items) if item.get("log") == log]


def checkpoints(items: list[dict]) -> list[int]:
    return [i for i, item in enumerate(items) if "checkpoint" in item]


def leaf_hash(item: dict) -> bytes:
    """The tree leaf of an exported record line."""
    return signing.leaf_hash(
        signing.leaf_data(
            item["log"], item["id"], item["object"], item["content"], item["record_hash"]
        )
    )


def run(path: Path, key: Path) -> tuple[int, str]:
    return verify_export.verify(str(path), str(key))


def test_an_untouched_export_verifies_in_a_process_without_django(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    assert items[0]["format"] == "opsapi-audit-signed-export/1"
    assert [i["checkpoint"]["statement"]["number"] for i in items if "checkpoint" in i] == [1, 2]
    assert len(records(items)) == 3 + 2 + 1 + 1
    assert items[-1]["end"]["checkpoints"] == 2

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    env.pop("SECRET_KEY", None)
    env.pop("AUDIT_SIGNING_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "opsapi.audit.verify_export", str(path), str(public_key)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified: 1 signing key(s), 2 checkpoint(s)")
    assert f"{len(items) - 2 - 1 - 2} records" in done.stdout
    # Nothing of Django is imported.
    probe = (
        "import sys; from opsapi.audit import verify_export as v; "
        f"code = v.main([{str(path)!r}, {str(public_key)!r}]); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django'; "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_an_edited_record_is_reported_with_the_checkpoint_it_breaks(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    edited = items[records(items)[1]]
    edited["content"]["fields"]["title"] = "Rewritten"
    write(path, items)

    code, message = run(path, public_key)

    assert code == verify_export.FAILED
    assert f"{INCIDENTS}: records 0 to 4 (from the start" in message
    assert "do not hash to checkpoint 1's root" in message


def test_an_altered_record_hash_breaks_the_next_records_link(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    position = records(items)[0]
    items[position]["record_hash"] = "0" * 64
    write(path, items)

    code, message = run(path, public_key)

    second = items[records(items)[1]]
    assert code == verify_export.FAILED
    assert f"line {records(items)[1] + 1}: {INCIDENTS} record {second['id']} (index 1)" in message
    assert "previous hash is not the record hash" in message


@pytest.mark.parametrize("change", ["delete", "insert", "swap"])
def test_a_deleted_inserted_or_reordered_record_is_named(tmp_path, trail, public_key, change):
    path = export(tmp_path)
    items = lines_of(path)
    first, second = records(items)[1:3]
    named, index = first, 1  # the first line out of place, and the index it should have
    if change == "delete":
        del items[first]
    elif change == "insert":  # a copy of the record at index 1, after it
        items.insert(second, dict(items[first]))
        named, index = second, 2
    else:
        items[first], items[second] = items[second], items[first]
    write(path, items)

    code, message = run(path, public_key)

    assert code == verify_export.FAILED
    assert f"line {named + 1}: {INCIDENTS} record" in message
    assert f"expected index {index}: a record deleted, inserted or reordered" in message


def test_a_deleted_record_with_the_rest_renumbered_is_caught(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    doomed = records(items)[-1]  # the newest incident's only record: no chain to break
    del items[doomed]
    items[-1]["end"]["records"] -= 1
    write(path, items)

    code, message = run(path, public_key)

    assert code == verify_export.FAILED
    assert "checkpoint 2 covers 7 records, the export has 6: records deleted" in message


def test_a_forged_or_altered_checkpoint_is_refused(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    statement = items[checkpoints(items)[1]]["checkpoint"]["statement"]
    statement["logs"][INCIDENTS]["size"] = 6
    write(path, items)
    assert run(path, public_key) == (
        verify_export.FAILED,
        f"{path}: line {checkpoints(items)[1] + 1}: checkpoint 2: bad signature (forged, or "
        "altered)",
    )

    # Signed with a key of the forger's own, named by its id: not one of the export's keys.
    forger = signing.generate_private_key()
    statement["key"] = signing.key_id(forger.public_key())
    items[checkpoints(items)[1]]["checkpoint"]["signature"] = signing.sign(forger, statement)
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert f"checkpoint 2: signed by an unknown key {statement['key']}" in message


def test_a_removed_checkpoint_is_noticed(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    del items[checkpoints(items)[0]]
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert "checkpoint 2: expected checkpoint 1" in message


def test_history_rewritten_in_the_database_after_a_checkpoint_is_caught(
    tmp_path, officer, signing_key, public_key
):
    """Someone edits a record behind the application after checkpoint 1; checkpoint 2 extends
    checkpoint 1's tree, so the export of the rewritten history matches neither."""
    incident = incident_with_edits(officer, 1)
    take_checkpoint()
    record = Incident.history.filter(id=incident.pk).order_by("history_id").first()
    with behind_the_app() as cursor:
        table = connection.ops.quote_name(INCIDENTS)
        cursor.execute(
            f"UPDATE {table} SET title = %s WHERE history_id = %s", ["Rewritten", record.pk]
        )
    incident_with_edits(officer, 0)
    take_checkpoint()

    code, message = run(export(tmp_path), public_key)

    assert code == verify_export.FAILED
    assert "records 0 to 1 (from the start" in message
    assert "checkpoint 1's root" in message


def test_a_history_rewritten_and_resigned_by_the_key_holder_is_caught(
    tmp_path, trail, public_key, signing_key
):
    """The key holder rewrites a record checkpoint 1 covered and re-signs checkpoint 2 to
    match; checkpoint 1, already published, no longer does."""
    path = export(tmp_path)
    items = lines_of(path)
    items[records(items)[0]]["content"]["reason"] = "Rewritten"
    tree = signing.MerkleTree()
    for position in records(items):
        tree.append(leaf_hash(items[position]))
    second = items[checkpoints(items)[1]]["checkpoint"]
    second["statement"]["logs"][INCIDENTS]["root"] = tree.root()
    second["signature"] = signing.sign(signing_key, second["statement"])
    write(path, items)

    code, message = run(path, public_key)

    assert code == verify_export.FAILED
    assert "do not hash to checkpoint 1's root" in message

    # A checkpoint that shrinks a log is refused before any record is read.
    second["statement"]["logs"][INCIDENTS]["size"] = 2
    second["signature"] = signing.sign(signing_key, second["statement"])
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert f"log {INCIDENTS} shrinks from 5 records (checkpoint 1) to 2" in message


def test_an_access_log_entry_removed_is_caught(tmp_path, trail, public_key):
    path = export(tmp_path)
    items = lines_of(path)
    del items[records(items, "audit_auditaccess")[0]]
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert "audit_auditaccess record 2 (index 1): expected index 0" in message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda text: text[: len(text) // 2], "not JSON"),
        (lambda text: "".join(text.splitlines(True)[:-3]), "without its end line: truncated"),
        (lambda text: text.replace('"content"', '"contents"', 1), "malformed record line"),
        (lambda text: "garbage\n" + text, "line 1: not JSON"),
        (lambda text: text + "{}\n", "a line after the end line"),
        (lambda text: "[" * 100_000 + "\n" + text, "line 1: not JSON"),
    ],
    ids=["cut-mid-line", "cut-at-a-line", "missing-field", "garbage", "trailing", "nested"],
)
def test_a_corrupt_or_truncated_export_is_named_not_a_traceback(
    tmp_path, trail, public_key, damage, expected
):
    path = export(tmp_path)
    path.write_text(damage(path.read_text()))
    code, message = run(path, public_key)
    assert code == verify_export.BAD_INPUT
    assert expected in message
    assert "Traceback" not in message


def test_a_wrong_or_unreadable_public_key_is_refused(tmp_path, trail, public_key):
    path = export(tmp_path)
    other = tmp_path / "other.pub"
    other.write_text(signing.public_key_text(signing.generate_private_key().public_key()))
    code, message = run(path, other)
    assert code == verify_export.BAD_KEY
    assert "is not one of this export's signing keys" in message
    other.write_text("not a key")
    assert run(path, other)[0] == verify_export.BAD_KEY
    assert run(path, tmp_path / "missing.pub")[0] == verify_export.BAD_KEY
    assert run(tmp_path / "missing.jsonl", public_key)[0] == verify_export.BAD_INPUT


def test_an_export_across_a_key_rotation_verifies_with_either_key(
    tmp_path, officer, settings, signing_key, public_key
):
    incident_with_edits(officer, 1)
    take_checkpoint()
    output = StringIO()
    call_command("audit_rotate_key", stdout=output)
    settings.AUDIT_SIGNING_KEY = output.getvalue().splitlines()[1].split("=", 1)[1]
    new = signing.load_private_key(settings.AUDIT_SIGNING_KEY)
    incident_with_edits(officer, 0)
    take_checkpoint()

    path = export(tmp_path)
    assert run(path, public_key)[0] == verify_export.VERIFIED
    new_public = tmp_path / "new.pub"
    new_public.write_text(signing.public_key_text(new.public_key()))
    code, message = run(path, new_public)
    assert code == verify_export.VERIFIED
    assert "verified: 2 signing key(s), 2 checkpoint(s)" in message

    # A checkpoint signed by the retired key after its successor signed one is refused,
    # and so is a rotation the old key did not sign.
    items = lines_of(path)
    items.insert(
        checkpoints(items)[-1] + 1,
        {"checkpoint": third_checkpoint(items, signing_key)},
    )
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert "retired before checkpoint 2" in message
    items = lines_of(export(tmp_path))
    key_line = next(item for item in items if item.get("key", {}).get("rotation"))
    key_line["key"]["predecessor_signature"] = key_line["key"]["successor_signature"]
    write(path, items)
    code, message = run(path, public_key)
    assert code == verify_export.FAILED
    assert "rotation not signed by key" in message


def third_checkpoint(items: list[dict], key) -> dict:
    previous = items[checkpoints(items)[-1]]["checkpoint"]["statement"]
    statement = {
        **previous,
        "number": 3,
        "previous": signing.statement_digest(previous),
        "key": signing.key_id(key.public_key()),
    }
    return {"statement": statement, "signature": signing.sign(key, statement)}


def test_export_checkpoints_needs_a_signed_checkpoint_and_takes_no_filters(db, settings):
    settings.AUDIT_SIGNING_KEY = ""
    take_checkpoint()
    with pytest.raises(CommandError, match="no signed checkpoint yet"):
        call_command("export_audit", "--checkpoints", stdout=StringIO())
    with pytest.raises(CommandError, match="takes no --since"):
        call_command("export_audit", "--checkpoints", "--since", "2026-01-01T00:00Z")


def resigned(items: list[dict], key) -> list[dict]:
    """``items`` with every checkpoint recomputed from its records and signed again by ``key``
    (the key holder's full rewrite)."""
    leaves: dict[str, list[bytes]] = {}
    for item in items:
        if "log" in item:
            leaves.setdefault(item["log"], []).append(leaf_hash(item))
    previous = ""
    for position in checkpoints(items):
        checkpoint = items[position]["checkpoint"]
        statement = checkpoint["statement"]
        for log, head in statement["logs"].items():
            tree = signing.MerkleTree()
            for leaf in leaves.get(log, [])[: head["size"]]:
                tree.append(leaf)
            head["root"] = tree.root()
        statement["previous"] = previous
        checkpoint["signature"] = signing.sign(key, statement)
        previous = signing.statement_digest(statement)
    return items


def test_a_rewrite_resigned_from_the_first_checkpoint_is_caught_by_kept_copies(
    tmp_path, officer, signing_key, public_key
):
    kept = tmp_path / "checkpoints.jsonl"
    incident_with_edits(officer, 2)
    with kept.open("w") as stream:
        call_command("checkpoint_audit", stdout=stream)
        incident_with_edits(officer, 1)
        call_command("checkpoint_audit", stdout=stream)
    path = export(tmp_path)
    assert verify_export.verify(str(path), str(public_key), str(kept))[0] == 0

    items = lines_of(path)
    items[records(items)[0]]["content"]["fields"]["title"] = "Rewritten"
    write(path, resigned(items, signing_key))
    # The export alone cannot tell: every checkpoint matches the rewritten records.
    assert run(path, public_key)[0] == verify_export.VERIFIED
    code, message = verify_export.verify(str(path), str(public_key), str(kept))
    assert code == verify_export.FAILED
    assert "checkpoint 1 differs from the copy kept (kept checkpoints line 1)" in message

    # Nor may the export stop short of a checkpoint kept (an export made with the newest
    # checkpoints and their records removed).
    path = export(tmp_path)
    with kept.open("a") as stream:
        call_command("checkpoint_audit", stdout=stream)
    code, message = verify_export.verify(str(path), str(public_key), str(kept))
    assert code == verify_export.FAILED
    assert "ends at checkpoint 2; checkpoint 3 was kept (kept checkpoints line 3)" in message
    items = lines_of(path)

    # A kept file that is not checkpoint_audit's output, or not this system's, is refused.
    kept.write_text("{not json\n")
    assert verify_export.verify(str(path), str(public_key), str(kept))[0] == (
        verify_export.BAD_INPUT
    )
    forged = {"statement": items[checkpoints(items)[0]]["checkpoint"]["statement"]}
    forged["signature"] = signing.sign(signing.generate_private_key(), forged["statement"])
    kept.write_text(json.dumps(forged) + "\n")
    code, message = verify_export.verify(str(path), str(public_key), str(kept))
    assert code == verify_export.BAD_INPUT
    assert "kept checkpoints line 1: checkpoint 1 is not signed by one of this export's keys" in (
        message
    )


def test_a_token_digest_is_exported_as_its_hash_only_and_still_verifies(
    tmp_path, officer, administrator, signing_key, public_key
):
    token, _ = issue_token(user=officer, name="ci", actor=administrator)
    take_checkpoint()
    path = export(tmp_path)

    assert token.digest not in path.read_text()
    (record,) = [
        item for item in lines_of(path) if item.get("log") == "accounts_historicalapitoken"
    ]
    digest = hashlib.sha256(json.dumps(token.digest).encode()).hexdigest()
    assert record["content"]["fields"]["digest"] == {"sha256": digest}
    assert run(path, public_key)[0] == verify_export.VERIFIED
