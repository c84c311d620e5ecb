"""Inclusion proofs: that one record is in a signed checkpoint's Merkle tree (RFC 9162 §2.1.3).

A proof names the record's log, its place in the log's tree (``leaf_index``), the size of the
tree the checkpoint signed, the record's leaf data (what the signed export holds for it), the
audit path from its leaf to the signed root (read from the tiles, :mod:`opsapi.audit.tiles`),
the signed checkpoint and the signing keys with their rotations. Anyone holding one of the
keys checks it offline (``python -m opsapi.audit.verify_export --proof``). See docs/audit.md
§12.
"""

import dataclasses

from opsapi.audit import signing, tiles
from opsapi.audit.checkpoints import log_records
from opsapi.audit.models import AuditCheckpoint, AuditSigningKey


class ProofUnavailable(Exception):
    """No proof can be given for this record (yet); ``argument`` names the argument at fault,
    if one is."""

    def __init__(self, message: str, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class NotYetCheckpointed(ProofUnavailable):
    """The record is written after the checkpoint (the newest one, or the one asked for)."""


class NoSuchCheckpoint(ProofUnavailable):
    """There is no signed checkpoint of the number asked for."""


@dataclasses.dataclass
class InclusionProof:
    log: str
    leaf_index: int
    tree_size: int
    leaf: dict
    leaf_hash: str  # hex: the leaf the checkpoint's tree holds
    audit_path: list[str]  # hex, the leaf's sibling first
    checkpoint: AuditCheckpoint
    keys: list[AuditSigningKey]  # every signing key, oldest first

    @property
    def public_key(self) -> str:
        return next(k.public_key for k in self.keys if k.key_id == self.checkpoint.key_id)


def inclusion_proof(log: str, record_id: int, number: int | None = None) -> InclusionProof:
    """The proof that record ``record_id`` of ``log`` is in checkpoint ``number``'s tree (the
    newest signed checkpoint if None). Raises :class:`ProofUnavailable`; or
    :class:`tiles.ProofStoreError` if the stored tiles cannot give it (a fault to log)."""
    signed = AuditCheckpoint.objects.filter(number__isnull=False)
    if number is None:
        checkpoint = signed.order_by("-number").first()
        if checkpoint is None:
            raise NotYetCheckpointed("No signed checkpoint has been taken yet.")
    else:
        checkpoint = signed.filter(number=number).first()
        if checkpoint is None:
            raise NoSuchCheckpoint(f"There is no signed checkpoint {number}.", "checkpoint")
    head = checkpoint.statement["logs"].get(log)
    tree = checkpoint.trees.get(log)
    which = f"checkpoint {checkpoint.number}" + (" (the newest)" if number is None else "")
    if head is None or tree is None or record_id > tree["max_id"]:
        raise NotYetCheckpointed(
            f"The record was written after {which}: it is in the next one.",
            None if number is None else "checkpoint",
        )
    place = tiles.leaf_place(log, record_id)
    if place is None or place[0] >= head["size"]:
        # Covered, but its tree's tiles are not built yet (a database from before them):
        # the next checkpoint builds them.
        raise NotYetCheckpointed(
            f"{which} covers the record, but its proof is available only after the next "
            "checkpoint (which builds the proofs of records from before proofs were stored)."
        )
    index, leaf_hash = place
    size = head["size"]
    path = tiles.audit_path(log, index, size)
    if not signing.verifies_inclusion(leaf_hash, index, size, path, bytes.fromhex(head["root"])):
        raise tiles.ProofStoreError(
            f"{log}: the stored tiles do not lead leaf {index} to checkpoint "
            f"{checkpoint.number}'s root: they are damaged. Delete the log's AuditTreeTile rows; "
            "the next checkpoint_audit rebuilds them from the records."
        )
    [leaf] = log_records(log, record_id - 1, record_id)
    return InclusionProof(
        log=log,
        leaf_index=index,
        tree_size=size,
        leaf=leaf,
        leaf_hash=leaf_hash.hex(),
        audit_path=[node.hex() for node in path],
        checkpoint=checkpoint,
        keys=list(AuditSigningKey.objects.order_by("pk")),
    )
