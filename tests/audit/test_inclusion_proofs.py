"""Inclusion proofs: the audit path of one record up to a signed checkpoint's root, read from the
tiles checkpoints store (RFC 9162), served to auditors by `inclusionProof`, and checked offline
by `verify_export --proof` with nothing but the public key."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coordination import services as coordination
from coordination.models import Incident
from opsapi.audit import proofs, signing, tiles, verify_export
from opsapi.audit.checkpoints import (
    CheckpointError,
    log_records,
    log_tops,
    rotate_signing_key,
    take_checkpoint,
)
from opsapi.audit.models import AuditAccess, AuditTreeTile
from tests.audit.test_verify import behind_the_app, q
from tests.factories import global_id, make_incident, state
from tests.graphql import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = Incident.history.model._meta.db_table


# --- the audit path, as RFC 9162 defines it ---------------------------------------------------


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1), recursively as the RFC writes it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return signing.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 6962 §2.1.1), recursively as the RFC writes it."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


LEAVES = [signing.leaf_hash({"n": n}) for n in range(72)]


def in_memory(leaves: list[bytes]):
    """``subtree(level, position)`` over a list of leaves."""
    return lambda level, position: reference_root(
        leaves[position << level : (position + 1) << level]
    )


def test_every_audit_path_of_every_tree_up_to_70_leaves_is_rfc_9162s_and_verifies():
    for size in range(1, 71):
        leaves = LEAVES[:size]
        root = reference_root(leaves)
        for index in range(size):
            path = signing.inclusion_path(index, size, in_memory(leaves))
            assert path == reference_path(index, leaves), (index, size)
            assert signing.verifies_inclusion(leaves[index], index, size, path, root)


def tampered(leaves, index, size, path):
    """Every way of changing one part of a proof: (what, leaf, index, path)."""
    yield "another leaf", LEAVES[71], index, path
    if size > 1:
        yield "another index", leaves[index], (index + 1) % size, path
    for n in range(len(path)):
        flipped = bytes([path[n][0] ^ 1]) + path[n][1:]
        yield f"entry {n} altered", leaves[index], index, [*path[:n], flipped, *path[n + 1 :]]
    if len(path) > 1:
        yield "two entries swapped", leaves[index], index, [path[1], path[0], *path[2:]]
    yield "an entry added", leaves[index], index, [*path, LEAVES[70]]
    if path:
        yield "an entry removed", leaves[index], index, path[:-1]


def test_a_tampered_proof_is_rejected_at_every_size():
    for size in range(1, 71):
        leaves = LEAVES[:size]
        root = reference_root(leaves)
        for index in range(size):
            path = signing.inclusion_path(index, size, in_memory(leaves))
            for what, leaf, at, changed in tampered(leaves, index, size, path):
                if changed == path and at == index and leaf == leaves[index]:
                    continue  # e.g. swapping two equal entries
                assert not signing.verifies_inclusion(leaf, at, size, changed, root), (
                    what,
                    index,
                    size,
                )
    assert signing.root_from_inclusion(LEAVES[0], 3, 3, []) is None
    with pytest.raises(ValueError, match="not in a tree of 3"):
        signing.inclusion_path(3, 3, in_memory(LEAVES))


# --- tiles: the stored tree, extended checkpoint after checkpoint -----------------------------


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of 4 hashes (height 2), so that trees of a few dozen leaves have 3 or 4 levels."""
    monkeypatch.setattr(tiles, "TILE_HEIGHT", 2)
    monkeypatch.setattr(tiles, "TILE_WIDTH", 4)


def extend(log: str, tree: signing.MerkleTree, upto: int) -> None:
    """What a checkpoint does to a log's tiles: resume them from ``tree`` and append."""
    writer = tiles.TileWriter.resume(log, tree)
    assert writer is not None
    for n in range(tree.size, upto):
        tree.append(LEAVES[n])
        writer.append(LEAVES[n], 1000 + n)
    writer.close()


@pytest.mark.django_db
def test_tiles_extended_checkpoint_after_checkpoint_give_every_path(
    small_tiles, django_assert_num_queries
):
    tree = signing.MerkleTree()
    for size in (1, 2, 3, 5, 8, 13, 16, 17, 30, 47, 63, 64, 65, 70):
        extend("log", tree, size)
        leaves = LEAVES[:size]
        for index in range(size):
            with django_assert_num_queries(1):
                path = tiles.audit_path("log", index, size)
            assert path == reference_path(index, leaves), (index, size)
            # A proof for an older, smaller tree reads the prefix of the same tiles.
            older = max(1, size // 2)
            if index < older:
                assert tiles.audit_path("log", index, older) == reference_path(
                    index, leaves[:older]
                )
            assert tiles.leaf_place("log", 1000 + index) == (index, leaves[index])
        assert tiles.leaf_place("log", 1000 + size) is None
    # One row per tile: the right edge's grow in place.
    assert AuditTreeTile.objects.filter(log="log", level=0).count() == 18


@pytest.mark.django_db
def test_tiles_that_do_not_hold_the_tree_are_not_resumed(small_tiles):
    tree = signing.MerkleTree()
    extend("log", tree, 10)
    assert tiles.TileWriter.resume("log", signing.MerkleTree()) is None  # another size
    other = signing.MerkleTree()
    for leaf in LEAVES[20:30]:
        other.append(leaf)
    assert tiles.TileWriter.resume("log", other) is None  # same size, other leaves
    assert tiles.TileWriter.resume("nothing stored", tree) is None
    assert tiles.TileWriter.resume("nothing stored", signing.MerkleTree()) is not None


@pytest.mark.django_db
def test_full_size_tiles_across_their_boundaries():
    tree = signing.MerkleTree()
    leaves = [signing.leaf_hash({"n": n}) for n in range(600)]
    for upto in (255, 256, 257, 511, 600):
        writer = tiles.TileWriter.resume("log", tree)
        for n in range(tree.size, upto):
            tree.append(leaves[n])
            writer.append(leaves[n], n + 1)
        writer.close()
        root = bytes.fromhex(tree.root())
        for index in {0, 1, 254, 255, upto // 2, upto - 2, upto - 1}:
            if 0 <= index < upto:
                path = tiles.audit_path("log", index, upto)
                assert signing.verifies_inclusion(leaves[index], index, upto, path, root)
    assert sorted(
        AuditTreeTile.objects.filter(log="log").values_list("level", "index", "width")
    ) == [(0, 0, 256), (0, 1, 256), (0, 2, 88), (1, 0, 2)]


# --- proofs of records, from the checkpoints ---------------------------------------------------


@pytest.fixture
def signing_key(settings):
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(signing.generate_private_key())
    return signing.load_private_key(settings.AUDIT_SIGNING_KEY)


def edits(officer, n: int):
    incident = make_incident(officer, states=[state("TX")])
    for i in range(n):
        incident = coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"Edit {i}"
        )
    return incident


def record_ids(log: str = INCIDENTS) -> list[int]:
    return [leaf["id"] for leaf in log_records(log, 0, log_tops()[log])]


def check(proof: proofs.InclusionProof, key) -> None:
    """The proof as the auditor checks it."""
    statement = proof.checkpoint.statement
    assert signing.is_signed_by(key.public_key(), statement, proof.checkpoint.signature)
    head = statement["logs"][proof.log]
    assert proof.tree_size == head["size"]
    assert signing.leaf_hash(proof.leaf).hex() == proof.leaf_hash
    path = [bytes.fromhex(node) for node in proof.audit_path]
    leaf = bytes.fromhex(proof.leaf_hash)
    root = bytes.fromhex(head["root"])
    assert signing.verifies_inclusion(leaf, proof.leaf_index, proof.tree_size, path, root)


@pytest.mark.django_db
def test_every_record_has_a_proof_against_every_checkpoint_that_covers_it(officer, signing_key):
    edits(officer, 4)
    AuditAccess.record(user=officer, operation="history", target="x", arguments={})
    first = take_checkpoint()
    edits(officer, 2)
    second = take_checkpoint()

    ids = record_ids()
    assert len(ids) == 8
    for index, record_id in enumerate(ids):
        proof = proofs.inclusion_proof(INCIDENTS, record_id)
        assert proof.checkpoint.number == second.number
        assert (proof.leaf_index, proof.tree_size) == (index, 8)
        assert proof.leaf == next(log_records(INCIDENTS, record_id - 1, record_id))
        check(proof, signing_key)
        if index < 5:
            older = proofs.inclusion_proof(INCIDENTS, record_id, first.number)
            assert (older.checkpoint.number, older.tree_size) == (1, 5)
            check(older, signing_key)
        else:
            with pytest.raises(proofs.NotYetCheckpointed, match="after checkpoint 1") as error:
                proofs.inclusion_proof(INCIDENTS, record_id, first.number)
            assert error.value.argument == "checkpoint"
    access = proofs.inclusion_proof(AuditAccess._meta.db_table, 1)
    assert access.leaf["content"]["sequence"] == 1
    check(access, signing_key)
    with pytest.raises(proofs.NoSuchCheckpoint):
        proofs.inclusion_proof(INCIDENTS, ids[0], 3)


@pytest.mark.django_db
def test_a_record_written_after_the_newest_checkpoint_has_no_proof_yet(officer, signing_key):
    edits(officer, 0)
    with pytest.raises(proofs.NotYetCheckpointed, match="No signed checkpoint"):
        proofs.inclusion_proof(INCIDENTS, record_ids()[0])
    take_checkpoint()
    edits(officer, 0)
    with pytest.raises(proofs.NotYetCheckpointed, match="after checkpoint 1 \\(the newest\\)"):
        proofs.inclusion_proof(INCIDENTS, record_ids()[-1])
    take_checkpoint()
    check(proofs.inclusion_proof(INCIDENTS, record_ids()[-1]), signing_key)


@pytest.mark.django_db
def test_a_proof_reads_the_same_few_rows_whatever_the_size_of_the_tree(
    officer, signing_key, django_assert_num_queries
):
    incident = edits(officer, 1)
    take_checkpoint()
    small = record_ids()[0]
    # The checkpoint, the record's tile, the path's tiles, the keys; the record and its five
    # kinds of links (as the export reads it).
    with django_assert_num_queries(4 + 1 + 5):
        proofs.inclusion_proof(INCIDENTS, small)
    # 300 more records: the tree gains a tile level.
    for n in range(150):
        incident = coordination.update_incident(
            actor=officer, incident=incident, version=incident.version, title=f"More {n}"
        )
    edits(officer, 148)
    take_checkpoint()
    assert AuditTreeTile.objects.filter(log=INCIDENTS, level=1).exists()
    for record_id in (small, record_ids()[260]):
        with django_assert_num_queries(4 + 1 + 5):
            check(proofs.inclusion_proof(INCIDENTS, record_id), signing_key)


@pytest.mark.django_db
def test_trees_built_before_tiles_get_them_from_the_next_checkpoint(officer, signing_key):
    """A database whose trees were signed before tiles were stored: its records have no proof
    until the next checkpoint, which builds every log's tiles from the first record, once."""
    edits(officer, 3)
    take_checkpoint()
    AuditTreeTile.objects.all().delete()  # as before this version
    record_id = record_ids()[1]
    with pytest.raises(proofs.NotYetCheckpointed, match="only after the next checkpoint"):
        proofs.inclusion_proof(INCIDENTS, record_id)

    edits(officer, 1)
    second = take_checkpoint()

    assert second.statement["logs"][INCIDENTS]["size"] == 6
    for record_id in record_ids():
        check(proofs.inclusion_proof(INCIDENTS, record_id), signing_key)
    third = take_checkpoint()  # and from then on, only the records written since
    assert third.trees == second.trees


@pytest.mark.django_db
def test_rebuilding_tiles_refuses_a_history_that_no_longer_hashes_to_its_checkpoint(
    officer, signing_key
):
    edits(officer, 2)
    first = take_checkpoint()
    AuditTreeTile.objects.all().delete()
    with behind_the_app() as cursor:
        cursor.execute(
            f"UPDATE {q(INCIDENTS)} SET {q('title')} = %s WHERE {q('history_id')} = %s",
            ["Rewritten", record_ids()[1]],
        )
    with pytest.raises(CheckpointError, match="no longer hash to the root checkpoint 1 signed"):
        take_checkpoint()
    assert not AuditTreeTile.objects.exists()  # nothing of the failed checkpoint is kept
    assert first.number == 1


# --- inclusionProof in the API -----------------------------------------------------------------

PROOF_FIELDS = """
  log leafIndex treeSize leaf leafHash auditPath
  checkpoint { number statement signature keyId publicKey }
  keys { keyId publicKey createdAt rotation predecessorSignature successorSignature }
"""
HISTORY_PROOFS = (
    "query($id: ID!, $checkpoint: Int) { node(id: $id) { ... on Incident { history { edges { "
    "node { recordHash inclusionProof(checkpoint: $checkpoint) { "
    f"{PROOF_FIELDS} }} }} }} }} }} }} }}"
)


@pytest.fixture
def checkpointed(officer, signing_key):
    incident = edits(officer, 2)
    take_checkpoint()
    return incident


def history_proofs(client, incident, checkpoint=None) -> dict:
    return client(HISTORY_PROOFS, {"id": global_id(incident), "checkpoint": checkpoint})


@pytest.mark.django_db
def test_auditors_read_the_proof_of_every_record_and_the_read_is_recorded(
    auditor, checkpointed, signing_key
):
    body = history_proofs(GraphQLClient.logged_in(auditor), checkpointed)

    assert "errors" not in body
    edges = body["data"]["node"]["history"]["edges"]
    assert [e["node"]["inclusionProof"]["leafIndex"] for e in edges] == [2, 1, 0]
    for edge in edges:
        proof = edge["node"]["inclusionProof"]
        assert proof["log"] == INCIDENTS
        assert proof["treeSize"] == 3
        assert proof["leaf"]["record_hash"] == edge["node"]["recordHash"]
        assert proof["checkpoint"]["number"] == 1
        assert proof["checkpoint"]["publicKey"] == signing.public_key_text(signing_key.public_key())
        assert [k["keyId"] for k in proof["keys"]] == [proof["checkpoint"]["keyId"]]
        root = bytes.fromhex(proof["checkpoint"]["statement"]["logs"][INCIDENTS]["root"])
        path = [bytes.fromhex(node) for node in proof["auditPath"]]
        leaf = signing.leaf_hash(proof["leaf"])
        assert signing.verifies_inclusion(leaf, proof["leafIndex"], 3, path, root)
    read = AuditAccess.objects.get(operation="inclusionProof")
    assert read.user == auditor
    assert read.target == "node.history.edges.node.inclusionProof"


@pytest.mark.django_db
def test_access_log_entries_have_proofs_too(auditor, officer, signing_key):
    AuditAccess.record(user=officer, operation="history", target="x", arguments={})
    AuditAccess.record(user=officer, operation="auditLog", target="y", arguments={})
    take_checkpoint()
    query = "{ auditReads { edges { node { target inclusionProof { log leafIndex treeSize } } } } }"

    edges = GraphQLClient.logged_in(auditor).data(query)["auditReads"]["edges"]

    proofs_by_target = {e["node"]["target"]: e["node"]["inclusionProof"] for e in edges}
    access_log = AuditAccess._meta.db_table
    assert proofs_by_target == {
        "y": {"log": access_log, "leafIndex": 1, "treeSize": 2},
        "x": {"log": access_log, "leafIndex": 0, "treeSize": 2},
    }


@pytest.mark.django_db
def test_officers_read_the_history_but_not_its_proofs(officer, checkpointed):
    body = history_proofs(GraphQLClient.logged_in(officer), checkpointed)
    edges = body["data"]["node"]["history"]["edges"]
    assert len(edges) == 3
    assert {edge["node"]["inclusionProof"] for edge in edges} == {None}


@pytest.mark.django_db
def test_a_record_after_the_checkpoint_gets_not_yet_checkpointed(auditor, officer, checkpointed):
    incident = coordination.update_incident(
        actor=officer, incident=checkpointed, version=checkpointed.version, title="Later"
    )
    client = GraphQLClient.logged_in(auditor)

    body = history_proofs(client, incident)

    [error] = body["errors"]
    assert error["extensions"] == {"code": "NOT_YET_CHECKPOINTED", "field": "inclusionProof"}
    assert error["path"] == ["node", "history", "edges", 0, "node", "inclusionProof"]
    assert "after checkpoint 1" in error["message"]
    edges = body["data"]["node"]["history"]["edges"]
    assert edges[0]["node"]["inclusionProof"] is None
    assert edges[1]["node"]["inclusionProof"]["leafIndex"] == 2

    # A checkpoint asked for that does not exist, or is not a number a checkpoint has.
    for number, message in ((2, "no signed checkpoint 2"), (0, "a checkpoint's number")):
        body = history_proofs(client, incident, number)
        error = body["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "checkpoint"}
        assert message in error["message"]


# --- the offline check ------------------------------------------------------------------------


@pytest.fixture
def public_key(tmp_path, signing_key) -> Path:
    path = tmp_path / "audit.pub"
    path.write_text(signing.public_key_text(signing_key.public_key()) + "\n")
    return path


@pytest.fixture
def proof_file(tmp_path, auditor, checkpointed) -> Path:
    """The first record's proof as the API answers it, saved to a file."""
    body = history_proofs(GraphQLClient.logged_in(auditor), checkpointed)
    proof = body["data"]["node"]["history"]["edges"][-1]["node"]["inclusionProof"]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof, indent=2))
    return path


def edited(path: Path, change) -> Path:
    proof = json.loads(path.read_text())
    change(proof)
    path.write_text(json.dumps(proof))
    return path


def verify(proof: Path, key: Path) -> tuple[int, str]:
    return verify_export.verify_proof(str(proof), str(key))


@pytest.mark.django_db
def test_a_proof_from_the_api_verifies_offline_without_django(proof_file, public_key):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    env.pop("SECRET_KEY", None)
    env.pop("AUDIT_SIGNING_KEY", None)
    probe = (
        "import sys; from opsapi.audit import verify_export as v; "
        f"code = v.main(['--proof', {str(proof_file)!r}, {str(public_key)!r}]); "
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
    assert f"verified: {INCIDENTS} record" in done.stdout
    assert "(leaf 0) is in checkpoint 1" in done.stdout
    # The whole GraphQL response holding it will do too.
    whole = proof_file.with_name("response.json")
    whole.write_text(
        json.dumps({"data": {"x": {"inclusionProof": json.loads(proof_file.read_text())}}})
    )
    assert verify(whole, public_key)[0] == verify_export.VERIFIED


def other_key(tmp_path) -> Path:
    path = tmp_path / "other.pub"
    path.write_text(signing.public_key_text(signing.generate_private_key().public_key()))
    return path


def forge(proof: dict) -> None:
    proof["checkpoint"]["statement"]["logs"][INCIDENTS]["size"] = 4


def _set(proof: dict, path: list, value) -> None:
    for step in path[:-1]:
        proof = proof[step]
    proof[path[-1]] = value


TAMPERING = {
    "edited leaf data": (
        lambda p: _set(p, ["leaf", "content", "fields", "title"], "Rewritten"),
        verify_export.FAILED,
        "does not hash to the leaf the proof names",
    ),
    "edited leaf data and its hash": (
        lambda p: (
            _set(p, ["leaf", "content", "fields", "title"], "Rewritten"),
            _set(p, ["leafHash"], signing.leaf_hash(p["leaf"]).hex()),
        ),
        verify_export.FAILED,
        "the audit path does not lead from its leaf to checkpoint 1's root",
    ),
    "wrong index": (
        lambda p: _set(p, ["leafIndex"], 1),
        verify_export.FAILED,
        "(leaf 1): the audit path does not lead",
    ),
    "swapped path entries": (
        lambda p: _set(p, ["auditPath"], p["auditPath"][::-1]),
        verify_export.FAILED,
        "the audit path does not lead",
    ),
    "forged checkpoint": (
        forge,
        verify_export.FAILED,
        "checkpoint 1: bad signature (forged, or altered)",
    ),
    "another tree size": (
        lambda p: _set(p, ["treeSize"], 4),
        verify_export.FAILED,
        "the proof's tree of 4 records is not checkpoint 1's: it signs 3",
    ),
    "not a proof": (
        lambda p: p.pop("auditPath"),
        verify_export.BAD_INPUT,
        "no inclusion proof (an object with auditPath) in it",
    ),
    "a field not selected": (
        lambda p: p.pop("leafIndex"),
        verify_export.BAD_INPUT,
        "the proof has no leafIndex (select every field of inclusionProof)",
    ),
    "malformed path": (
        lambda p: _set(p, ["auditPath"], ["zz"]),
        verify_export.BAD_INPUT,
        "auditPath must be a list of hex SHA-256 hashes",
    ),
    "a key not the signer's": (
        lambda p: _set(p, ["checkpoint", "statement", "key"], "0" * 16),
        verify_export.FAILED,
        "checkpoint 1: signed by an unknown key 0000000000000000",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", TAMPERING)
def test_a_tampered_proof_fails_with_a_message_naming_what(proof_file, public_key, case):
    change, code, message = TAMPERING[case]
    path = edited(proof_file, change)
    got, text = verify(path, public_key)
    assert (got, message in text) == (code, True), text
    assert text.startswith(f"{path}: ")
    assert "\n" not in text


@pytest.mark.django_db
def test_a_proof_with_a_wrong_or_unreadable_key_or_file_is_refused(
    tmp_path, proof_file, public_key
):
    code, message = verify(proof_file, other_key(tmp_path))
    assert code == verify_export.BAD_KEY
    assert "is not one of the proof's signing keys" in message

    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key")
    assert verify(proof_file, garbage)[0] == verify_export.BAD_KEY

    truncated = tmp_path / "truncated.json"
    truncated.write_text(proof_file.read_text()[:40])
    code, message = verify(truncated, public_key)
    assert (code, "not JSON" in message) == (verify_export.BAD_INPUT, True)
    assert verify(tmp_path / "missing.json", public_key)[0] == verify_export.BAD_INPUT

    # The command line: --proof takes the public key alone.
    assert verify_export.main(["--proof", str(proof_file), str(public_key)]) == 0
    with pytest.raises(SystemExit) as usage:
        verify_export.main(["--proof", str(proof_file), str(public_key), str(public_key)])
    assert usage.value.code == verify_export.BAD_INPUT


@pytest.mark.django_db
def test_a_proof_across_a_key_rotation_verifies_with_either_key(
    tmp_path, settings, auditor, officer, checkpointed, signing_key, public_key
):
    new = rotate_signing_key(signing_key)
    settings.AUDIT_SIGNING_KEY = signing.private_key_text(new)
    take_checkpoint()
    body = history_proofs(GraphQLClient.logged_in(auditor), checkpointed)
    proof = body["data"]["node"]["history"]["edges"][0]["node"]["inclusionProof"]
    assert proof["checkpoint"]["number"] == 2
    assert len(proof["keys"]) == 2
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    new_public = tmp_path / "new.pub"
    new_public.write_text(signing.public_key_text(new.public_key()))

    assert verify(path, public_key)[0] == verify_export.VERIFIED  # the old key vouches
    assert verify(path, new_public)[0] == verify_export.VERIFIED
    proof["keys"][1]["predecessorSignature"] = proof["keys"][1]["successorSignature"]
    path.write_text(json.dumps(proof))
    code, message = verify(path, public_key)
    assert code == verify_export.FAILED
    assert "rotation not signed by key" in message
