"""Signed tree heads of the audit trail: the parts an outside auditor recomputes.

Plain Python and ``cryptography`` only (no Django), so that :mod:`opsapi.audit.verify_export`
runs with nothing but an export and a public key. See docs/audit.md §10.

- Every log (each history table, and the access log) is a Merkle tree as in RFC 6962
  (Certificate Transparency): leaf ``SHA-256(0x00 || leaf data)``, node
  ``SHA-256(0x01 || left || right)``, the tree of n leaves split at the largest power of two
  below n, the empty tree's root ``SHA-256("")``. A leaf's data is the canonical JSON of
  :func:`leaf_data`: the record's content as its HMAC covers it, its id, its object and its
  ``record_hash``.
- A checkpoint's *statement* (:func:`checkpoint_statement`) names every log's size and root,
  its number, the statement before it (by SHA-256) and its signing key; it is signed with
  Ed25519.
- A key is named by its id: the first 16 hex digits of SHA-256 of its raw public key. A
  rotation is a statement naming the old key and the new one, signed by both
  (:func:`rotation_statement`), so either key vouches for the other.
"""

import base64
import binascii
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
CHECKPOINT_TYPE = "opsapi-audit-checkpoint/1"
ROTATION_TYPE = "opsapi-audit-key-rotation/1"


class UnreadableKey(ValueError):
    """A key that cannot be read (the message says why)."""


def canonical_json(value) -> bytes:
    """The one byte form of a JSON value that is hashed or signed: keys sorted, no spaces,
    UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_data(log: str, record_id, object_id, content: dict, record_hash: str) -> dict:
    """What a record's leaf commits to (``content`` already plain JSON)."""
    return {
        "log": log,
        "id": record_id,
        "object": object_id,
        "content": content,
        "record_hash": record_hash,
    }


def leaf_hash(data: dict) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_json(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """An append-only RFC 6962 tree held as its compact range: the roots of the perfect
    subtrees its size decomposes into, largest first (``log2(size)`` hashes at most)."""

    def __init__(self, size: int = 0, frontier: list[str] = ()):
        self.size = size
        self.frontier = [bytes.fromhex(h) for h in frontier]
        if len(self.frontier) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} subtrees")

    def append(self, leaf: bytes) -> None:
        node, size = leaf, self.size
        while size & 1:
            node = node_hash(self.frontier.pop(), node)
            size >>= 1
        self.frontier.append(node)
        self.size += 1

    def root(self) -> str:
        if not self.frontier:
            return EMPTY_ROOT
        node = self.frontier[-1]
        for left in reversed(self.frontier[:-1]):
            node = node_hash(left, node)
        return node.hex()

    def state(self) -> dict:
        """{size, frontier}: enough to go on appending later."""
        return {"size": self.size, "frontier": [h.hex() for h in self.frontier]}


# Inclusion proofs (RFC 9162 §2.1.3): the audit path of one leaf up to a tree head.


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 6962 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_root(hashes: list[bytes]) -> bytes:
    """The root of a perfect subtree whose ``2**k`` leaves (or lower nodes) are ``hashes``."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def range_root(start: int, end: int, subtree) -> bytes:
    """MTH(D[start:end]), ``start`` a multiple of the largest power of two below ``end -
    start`` (as every range an audit path names is), from the perfect subtrees it splits
    into: ``subtree(level, position)`` is the root of leaves ``position * 2**level`` to
    ``(position + 1) * 2**level - 1``."""
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return subtree(level, start >> level)
    k = _split(n)
    return node_hash(range_root(start, start + k, subtree), range_root(start + k, end, subtree))


def inclusion_path(index: int, size: int, subtree) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: the hashes that lead from leaf ``index`` to
    the root of the tree of ``size`` leaves, the leaf's sibling first; ``subtree`` as for
    :func:`range_root`."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path, start, end = [], 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_root(start + k, end, subtree))
            end = start + k
        else:
            path.append(range_root(start, start + k, subtree))
            start += k
    return path[::-1]


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """The root that ``path`` leads to from ``leaf`` at ``index`` in a tree of ``size``
    leaves (RFC 9162 §2.1.3.2), or None if the path cannot be one of such a tree (too long,
    too short, or the index outside it)."""
    if not 0 <= index < size:
        return None
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return node if sn == 0 else None


def verifies_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """Whether ``path`` proves ``leaf`` is leaf ``index`` of the tree of ``size`` leaves whose
    root is ``root``."""
    return root_from_inclusion(leaf, index, size, path) == root


# Keys


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte private key in base64: what AUDIT_SIGNING_KEY holds."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as exports and the verifier carry it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _pem_or_base64(text: str, pem_loader, raw_loader, what: str):
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = pem_loader(text.encode())
        except (ValueError, TypeError) as error:
            raise UnreadableKey(f"not a PEM {what}: {error}") from None
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise UnreadableKey(f"not a base64 {what} (nor PEM)") from None
        if len(raw) != 32:
            raise UnreadableKey(f"a raw Ed25519 {what} has 32 bytes, this one {len(raw)}")
        return raw_loader(raw)
    return key


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from base64 of its 32 raw bytes, or PEM (PKCS #8)."""
    key = _pem_or_base64(
        text,
        lambda data: serialization.load_pem_private_key(data, password=None),
        Ed25519PrivateKey.from_private_bytes,
        "private key",
    )
    if not isinstance(key, Ed25519PrivateKey):
        raise UnreadableKey("not an Ed25519 private key")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its 32 raw bytes, or PEM (SubjectPublicKeyInfo)."""
    key = _pem_or_base64(
        text,
        serialization.load_pem_public_key,
        Ed25519PublicKey.from_public_bytes,
        "public key",
    )
    if not isinstance(key, Ed25519PublicKey):
        raise UnreadableKey("not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, statement: dict) -> str:
    return base64.b64encode(key.sign(canonical_json(statement))).decode()


def is_signed_by(key: Ed25519PublicKey, statement: dict, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical_json(statement))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def statement_digest(statement: dict) -> str:
    """How a checkpoint names the one before it."""
    return hashlib.sha256(canonical_json(statement)).hexdigest()


def checkpoint_statement(
    *, number: int, created_at: str, key: str, previous: str, logs: dict[str, dict]
) -> dict:
    """What a checkpoint signs: ``logs`` is {log: {size, root}}; ``previous`` the
    :func:`statement_digest` of the checkpoint before (empty for the first)."""
    return {
        "type": CHECKPOINT_TYPE,
        "number": number,
        "created_at": created_at,
        "key": key,
        "previous": previous,
        "logs": logs,
    }


def rotation_statement(*, old: str, new: str, public_key: str, at: str) -> dict:
    """What both keys sign when ``old`` (a key id) hands over to ``new`` (its id and base64
    public key)."""
    return {"type": ROTATION_TYPE, "from": old, "to": new, "public_key": public_key, "at": at}
