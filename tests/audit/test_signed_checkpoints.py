"""Signed checkpoints: Merkle tree heads of every log signed with Ed25519, extended checkpoint
by checkpoint, keys named by id and rotated with both keys' signatures."""

import hashlib
import json
import threading
import time
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from coordination import services as coordination
from opsapi.audit import signing
from opsapi.audit.checkpoints import (
    ACCESS_LOG,
    CheckpointError,
    log_names,
    log_records,
    log_tops,
    rotate_signing_key,
    take_checkpoint,
)
from opsapi.audit.models import AuditAccess, AuditCheckpoint, AuditSigningKey
from tests.factories import make_incident, state

pytestmark = pytest.mark.django_db


def new_key_text() -> str:
    return signing.private_key_text(signing.generate_private_key())


@pytest.fixture
def signing_key(settings):
    settings.AUDIT_SIGNING_KEY = new_key_text()
    return signing.load_private_key(settings.AUDIT_SIGNING_KEY)


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, written as the RFC defines it (recursively)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return signing.node_hash(reference_root(leaves[:split]), reference_root(leaves[split:]))


def test_the_tree_root_is_rfc_6962s_at_every_size_and_resumes_from_its_state():
    leaves = [signing.leaf_hash({"n": n}) for n in range(40)]
    tree = signing.MerkleTree()
    for n, leaf in enumerate(leaves):
        assert tree.root() == reference_root(leaves[:n]).hex()
        assert len(tree.frontier) == bin(n).count("1")
        tree.append(leaf)
        resumed = signing.MerkleTree(**tree.state())
        assert resumed.root() == tree.root()
    assert tree.root() == reference_root(leaves).hex()
    assert signing.MerkleTree().root() == hashlib.sha256(b"").hexdigest()


def edits(officer, n: int = 2):
    incident = make_incident(officer, states=[state("TX")])
    for i in range(n):
        incident = coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"Edit {i}"
        )
    return incident


def full_root(log: str) -> tuple[int, str]:
    tree = signing.MerkleTree()
    for leaf in log_records(log, 0, log_tops()[log]):
        tree.append(signing.leaf_hash(leaf))
    return tree.size, tree.root()


def test_a_checkpoint_signs_every_logs_tree_head_and_names_its_key(officer, signing_key):
    edits(officer)
    AuditAccess.record(user=officer, operation="history", target="x", arguments={})

    checkpoint = take_checkpoint()

    public = signing_key.public_key()
    statement = checkpoint.statement
    assert checkpoint.number == statement["number"] == 1
    assert checkpoint.key_id == statement["key"] == signing.key_id(public)
    assert len(checkpoint.key_id) == 16
    assert signing.is_signed_by(public, statement, checkpoint.signature)
    assert statement["previous"] == ""
    assert set(statement["logs"]) == set(log_names())
    incidents = "coordination_historicalincident"
    assert statement["logs"][incidents]["size"] == 3
    assert statement["logs"][ACCESS_LOG]["size"] == AuditAccess._base_manager.count() == 1
    for log, head in statement["logs"].items():
        assert (head["size"], head["root"]) == full_root(log), log
    stored = AuditSigningKey.objects.get()
    assert stored.key_id == checkpoint.key_id
    assert stored.public_key == signing.public_key_text(public)
    # The HMAC seal and the kept-copy line are there as before, with the signed part.
    line = json.loads(call_output("checkpoint_audit"))
    assert line["statement"]["number"] == 2
    assert line["key_id"] == checkpoint.key_id


def call_output(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_next_checkpoint_extends_the_trees_and_names_the_one_before(officer, signing_key):
    incident = edits(officer)
    first = take_checkpoint()
    coordination.update_incident(
        actor=officer, incident=incident, version=incident.version, title="After"
    )
    edits(officer, 1)

    second = take_checkpoint()

    assert second.number == 2
    assert second.statement["previous"] == signing.statement_digest(first.statement)
    incidents = "coordination_historicalincident"
    assert first.statement["logs"][incidents]["size"] == 3
    assert second.statement["logs"][incidents]["size"] == 6
    for log, head in second.statement["logs"].items():
        assert (head["size"], head["root"]) == full_root(log), log
    assert signing.is_signed_by(signing_key.public_key(), second.statement, second.signature)


def test_without_a_signing_key_a_checkpoint_is_sealed_only(officer, settings):
    settings.AUDIT_SIGNING_KEY = ""
    edits(officer, 0)
    checkpoint = take_checkpoint()
    assert checkpoint.number is None
    assert checkpoint.signature == ""
    assert checkpoint.seal
    assert not AuditSigningKey.objects.exists()


def test_an_unreadable_signing_key_is_a_configuration_error(settings):
    settings.AUDIT_SIGNING_KEY = "not a key"
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY: not a base64"):
        take_checkpoint()


def test_audit_keygen_prints_a_usable_key_pair(settings):
    lines = call_output("audit_keygen").splitlines()
    private = lines[0].removeprefix("AUDIT_SIGNING_KEY=")
    key = signing.load_private_key(private)
    public = signing.load_public_key(lines[2])
    assert signing.public_key_text(key.public_key()) == signing.public_key_text(public)
    assert f"key id {signing.key_id(public)}" in lines[1]
    settings.AUDIT_SIGNING_KEY = private
    assert call_output("audit_keygen", "--current").splitlines()[1] == lines[2]


def test_rotation_hands_over_to_a_key_both_keys_vouch_for(officer, settings, signing_key):
    edits(officer, 0)
    old = take_checkpoint()

    output = call_output("audit_rotate_key")

    new_text = output.splitlines()[1].removeprefix("AUDIT_SIGNING_KEY=")
    new = signing.load_private_key(new_text)
    stored = AuditSigningKey.objects.order_by("pk").last()
    assert stored.key_id == signing.key_id(new.public_key()) != old.key_id
    assert stored.rotation["from"] == old.key_id
    assert stored.rotation["to"] == stored.key_id
    assert signing.is_signed_by(
        signing_key.public_key(), stored.rotation, stored.predecessor_signature
    )
    assert signing.is_signed_by(new.public_key(), stored.rotation, stored.successor_signature)

    # Until the new key is in place the old one still signs; then the new one does.
    assert take_checkpoint().key_id == old.key_id
    settings.AUDIT_SIGNING_KEY = new_text
    assert take_checkpoint().key_id == stored.key_id
    # The old key is retired: it signs nothing more, and cannot be rotated from again.
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signing_key)
    with pytest.raises(CheckpointError, match="retired"):
        take_checkpoint()
    with pytest.raises(CommandError, match="already rotated"):
        call_command("audit_rotate_key", stdout=StringIO())


def test_a_key_not_rotated_to_signs_nothing(officer, settings, signing_key):
    take_checkpoint()
    settings.AUDIT_SIGNING_KEY = new_key_text()
    with pytest.raises(CommandError, match="not a key rotated to"):
        call_command("checkpoint_audit", stdout=StringIO())
    assert AuditCheckpoint.objects.count() == 1


def test_rotation_needs_a_current_key(settings):
    settings.AUDIT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="not set"):
        call_command("audit_rotate_key", stdout=StringIO())
    settings.AUDIT_SIGNING_KEY = new_key_text()
    key = signing.load_private_key(settings.AUDIT_SIGNING_KEY)
    rotate_signing_key(key)  # the first key is stored on its first use, rotation included
    assert AuditSigningKey.objects.count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite runs one writer at a time: ids are always committed in order",
)
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_checkpoint_waits_for_a_writer_that_drew_a_lower_id(officer, signing_key):
    """Writer A draws an id and holds its transaction; B writes a higher id and commits. The
    checkpoint reads B's id as the highest, so it waits for A and covers A's record too: no
    record below a checkpoint's highest id can commit after it."""
    first, second = make_incident(officer), make_incident(officer)
    drawn, release = threading.Event(), threading.Event()

    def writer_a():
        try:
            with transaction.atomic():
                coordination.update_incident(
                    actor=officer, incident=first, version=first.version, title="A"
                )
                drawn.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert drawn.wait(10)
    coordination.update_incident(actor=officer, incident=second, version=second.version, title="B")
    threading.Timer(0.5, release.set).start()

    started = time.monotonic()
    checkpoint = take_checkpoint()
    waited = time.monotonic() - started
    thread.join(10)

    assert waited >= 0.4
    incidents = checkpoint.statement["logs"]["coordination_historicalincident"]
    assert incidents["size"] == 4
    assert (incidents["size"], incidents["root"]) == full_root("coordination_historicalincident")
