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
