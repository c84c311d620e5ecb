"""``inclusionProof`` on every history record and access-log entry: the proof, for auditors,
that the record is in a signed checkpoint (opsapi.audit.proofs, docs/audit.md §12).

Auditors may ask it of every record; administrators of the records they read (the history of
what they see). They are the roles that see the signed checkpoints in the admin; anyone else
gets null, as for a hidden row. A record no signed checkpoint covers yet gets the error
``NOT_YET_CHECKPOINTED``.
"""

import datetime

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from opsapi.accounts.access import roles_of
from opsapi.audit import proofs
from opsapi.graphql.errors import BadInput, NotYetCheckpointed
from opsapi.graphql.scoping import current_user

FIELD = "inclusionProof"
DESCRIPTION = (
    "The proof that this record is in a signed checkpoint's Merkle tree (RFC 9162 inclusion "
    "proof), for auditors and administrators (null for others); check it offline with "
    "`python -m opsapi.audit.verify_export --proof`. Error NOT_YET_CHECKPOINTED if no signed "
    "checkpoint covers the record yet."
)
CHECKPOINT_ARGUMENT = strawberry.argument(
    description="The number of the signed checkpoint to prove it against (default: the newest)."
)


@strawberry.type(
    description="A key that signs checkpoints; each after the first carries the rotation "
    "statement that the key before it and the key itself signed."
)
class SigningKey:
    key_id: str
    public_key: str = strawberry.field(description="Raw Ed25519 public key, base64.")
    created_at: datetime.datetime
    rotation: JSON | None = strawberry.field(description="The rotation statement (null first).")
    predecessor_signature: str
    successor_signature: str


@strawberry.type(description="A signed checkpoint: the statement and its Ed25519 signature.")
class SignedCheckpoint:
    number: int
    statement: JSON = strawberry.field(
        description="What was signed: every log's tree size and root, the checkpoint before."
    )
    signature: str = strawberry.field(description="Base64 Ed25519 signature of the statement.")
    key_id: str
    public_key: str = strawberry.field(description="The signing key, raw Ed25519 in base64.")


@strawberry.type(
    description="That a record is leaf `leafIndex` of the Merkle tree of `treeSize` leaves "
    "whose root a signed checkpoint names for its log: the leaf's data, and the audit path "
    "from its hash to that root."
)
class InclusionProof:
    log: str = strawberry.field(description="The log: the history table, or the access log.")
    leaf_index: int = strawberry.field(description="The record's place in the log's tree.")
    tree_size: int = strawberry.field(description="Leaves of the tree the checkpoint signed.")
    leaf: JSON = strawberry.field(
        description="The record as its leaf holds it (as the signed export does): log, id, "
        "object, content, record_hash."
    )
    leaf_hash: str = strawberry.field(
        description="Hex SHA-256 of 0x00 and the canonical JSON of the leaf, as the tree holds it."
    )
    audit_path: list[str] = strawberry.field(
        description="Hex hashes from the leaf's sibling up to the root (RFC 9162 §2.1.3)."
    )
    checkpoint: SignedCheckpoint
    keys: list[SigningKey] = strawberry.field(
        description="Every signing key, oldest first, so that any one of them vouches for the "
        "checkpoint's."
    )


def resolve(info: Info, log: str, record_id: int, checkpoint: int | None) -> InclusionProof | None:
    """The inclusion proof of record ``record_id`` of ``log`` for the caller, or None if the
    caller may not have it."""
    roles = roles_of(current_user(info))
    if not (roles.auditor or roles.administrator):
        return None
    if checkpoint is not None and checkpoint < 1:
        raise BadInput("'checkpoint' is a checkpoint's number: 1, 2, 3, …", argument="checkpoint")
    try:
        proof = proofs.inclusion_proof(log, record_id, checkpoint)
    except proofs.NoSuchCheckpoint as error:
        raise BadInput(str(error), argument="checkpoint") from None
    except proofs.ProofUnavailable as error:
        raise NotYetCheckpointed(str(error), field=FIELD, argument=error.argument) from None
    signed = proof.checkpoint
    return InclusionProof(
        log=proof.log,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf=proof.leaf,
        leaf_hash=proof.leaf_hash,
        audit_path=proof.audit_path,
        checkpoint=SignedCheckpoint(
            number=signed.number,
            statement=signed.statement,
            signature=signed.signature,
            key_id=signed.key_id,
            public_key=proof.public_key,
        ),
        keys=[
            SigningKey(
                key_id=key.key_id,
                public_key=key.public_key,
                created_at=key.created_at,
                rotation=key.rotation,
                predecessor_signature=key.predecessor_signature,
                successor_signature=key.successor_signature,
            )
            for key in proof.keys
        ],
    )
