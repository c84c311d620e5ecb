"""Offline verification of a signed audit export: ``python -m opsapi.audit.verify_export EXPORT
PUBKEY``.

Needs nothing but the export (``manage.py export_audit --checkpoints``) and a public key the
auditor trusts (``manage.py audit_keygen`` printed it): no database, no Django, no secret.
It reads the export once, line by line, and checks

- every signing key: its id is its public key's, and each key after the first carries a
  rotation statement signed by the key before it and by itself; the trusted key is one of them;
- every checkpoint: signed by one of those keys, never by a key older than the one that signed
  the checkpoint before; numbered 1, 2, 3, …; naming the statement before it by its SHA-256;
  no log shrinking, nor changing its root while keeping its size;
- every record: in its place (``index``), ids rising, its ``previous`` hash naming the record
  before it of the same object (the access log: numbered 1, 2, 3, …), and — hashed into each
  log's Merkle tree as it goes — every checkpoint's root recomputed from the records at its
  size. All checkpoints are recomputed from the same records, so each one's tree is a prefix
  of the next one's (nothing before it was rewritten).

With ``--kept FILE`` (the ``checkpoint_audit`` output lines kept off the server, or
published), each signed checkpoint in it must be in the export with the same statement: a key
holder who rewrote the history and re-signed every checkpoint from the first is caught too.

``python -m opsapi.audit.verify_export --proof PROOF PUBKEY`` checks one record's inclusion
proof instead, as the API's ``inclusionProof`` answers it (:func:`check_proof`): the keys, the
checkpoint's signature, the leaf recomputed from the record's data and the audit path to the
signed root (RFC 9162 §2.1.3.2, :func:`signing.verifies_inclusion`). Same exit codes.

Exit codes: 0 verified; 1 the export does not match its signatures (a record or checkpoint
altered, deleted, inserted, reordered or forged); 2 the export cannot be read (not a file, not
JSON lines, a malformed or missing line, truncated); 3 the public key cannot be read, or signed
none of the export's keys. Every failure is one line naming the export's line and the record.
Memory: the checkpoints (a few numbers each) and, per log, 64 bits of the newest record hash of
each object (for the links; every record's full content is checked by the trees); the records
themselves are never held.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field

from opsapi.audit import signing

VERIFIED, FAILED, BAD_INPUT, BAD_KEY = 0, 1, 2, 3
ACCESS_LOG = "audit_auditaccess"


class Failure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _failed(line: int, message: str) -> Failure:
    return Failure(FAILED, f"line {line}: {message}")


def _bad(line: int, message: str) -> Failure:
    return Failure(BAD_INPUT, f"line {line}: {message}")


@dataclass
class _Head:
    number: int
    size: int
    root: str


@dataclass
class _Log:
    """One log being read: its tree so far and the checkpoints' heads still to compare."""

    name: str
    heads: list[_Head]
    tree: signing.MerkleTree = field(default_factory=signing.MerkleTree)
    last_id: int | None = None
    # {object id: first 64 bits of its newest record's hash << 1 | 1 if that was a deletion}
    objects: dict = field(default_factory=dict)
    matched: _Head | None = None  # the newest checkpoint whose root was recomputed


class BrokenKeyChain(Exception):
    """A signing key that the keys before it do not vouch for (the message says why)."""


def add_signing_key(keys: dict, key: dict) -> None:
    """Add ``key`` (``key_id``, ``public_key``, ``rotation``, ``predecessor_signature``,
    ``successor_signature``: an export's key line) to ``keys`` ({key id: (public key, place)},
    oldest first): its id must be its public key's and, after the first, its rotation statement
    from the newest key so far signed by that key and by itself. Raises
    :class:`BrokenKeyChain`, or ValueError/KeyError for a key that cannot be read."""
    public = signing.load_public_key(key["public_key"])
    key_id = key["key_id"]
    if signing.key_id(public) != key_id:
        raise BrokenKeyChain(f"key {key_id}: its id is not its public key's")
    if not keys:
        if key["rotation"] is not None:
            raise BrokenKeyChain(f"key {key_id}: the first key names a predecessor")
    else:
        previous = max(keys, key=lambda k: keys[k][1])
        rotation = key["rotation"] or {}
        expected = signing.rotation_statement(
            old=previous, new=key_id, public_key=key["public_key"], at=rotation.get("at", "")
        )
        if rotation != expected:
            raise BrokenKeyChain(f"key {key_id}: no rotation statement from key {previous}")
        if not signing.is_signed_by(keys[previous][0], rotation, key["predecessor_signature"]):
            raise BrokenKeyChain(f"key {key_id}: rotation not signed by key {previous} (forged)")
        if not signing.is_signed_by(public, rotation, key["successor_signature"]):
            raise BrokenKeyChain(f"key {key_id}: rotation not signed by the new key itself")
    keys[key_id] = (public, len(keys))


class ExportVerifier:
    """Verifies an export's lines against a ``trusted`` Ed25519 public key; :meth:`run`
    returns a one-line summary or raises :class:`Failure`."""

    def __init__(self, trusted, kept: dict | None = None):
        self.trusted = trusted
        self.kept = kept or {}  # {number: (kept file line, statement, signature)}
        self.keys = {}  # {key id: (public key, position)}
        self.statements = []  # the checkpoints' statements, by number
        self.heads: dict[str, list[_Head]] = {}
        self.log: _Log | None = None
        self.done_logs: set[str] = set()
        self.records = 0

    def run(self, lines) -> str:
        stage, line_no = "header", 0
        for line_no, text in enumerate(lines, 1):
            if not text.strip():
                raise _bad(line_no, "empty line (the export is corrupt)")
            try:
                item = json.loads(text)
            except (ValueError, RecursionError) as error:
                raise _bad(line_no, f"not JSON ({error}): corrupt or truncated") from None
            if not isinstance(item, dict):
                raise _bad(line_no, "not a JSON object")
            try:
                stage = self._line(stage, line_no, item)
            except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as error:
                kind = _kind(item)
                raise _bad(
                    line_no, f"malformed {kind} line ({type(error).__name__}: {error})"
                ) from None
        if stage != "done":
            raise _bad(line_no, "the export ends without its end line: truncated")
        newest = self.statements[-1]
        return (
            f"verified: {len(self.keys)} signing key(s), {len(self.statements)} checkpoint(s) "
            f"(newest: number {newest['number']} at {newest['created_at']}, key {newest['key']}), "
            f"{self.records} records in {len(self.done_logs)} logs, all in the signed trees"
        )

    def _line(self, stage: str, n: int, item: dict) -> str:
        if stage == "header":
            if item.get("format") != "opsapi-audit-signed-export/1":
                raise _bad(n, "not an OPS API signed audit export (its first line names none)")
            return "key"
        if stage == "done":
            raise _bad(n, "a line after the end line")
        if "key" in item and stage == "key":
            self._key(n, item["key"])
            return "key"
        if "checkpoint" in item and stage in {"key", "checkpoint"}:
            if stage == "key":
                self._trusted(n)
            self._checkpoint(n, item["checkpoint"])
            return "checkpoint"
        if "log" in item and stage in {"checkpoint", "record"}:
            self._record(n, item)
            return "record"
        if "end" in item and stage in {"checkpoint", "record"}:
            self._end(n, item["end"])
            return "done"
        raise _bad(n, f"unexpected line here (after the {stage} lines): {sorted(item)[:3]}")

    def _key(self, n: int, key: dict) -> None:
        try:
            add_signing_key(self.keys, key)
        except BrokenKeyChain as error:
            raise _failed(n, str(error)) from None

    def _trusted(self, n: int) -> None:
        trusted_id = signing.key_id(self.trusted)
        known = self.keys.get(trusted_id)
        if known is None or signing.public_key_text(known[0]) != signing.public_key_text(
            self.trusted
        ):
            listed = ", ".join(self.keys) or "none"
            raise Failure(
                BAD_KEY,
                f"line {n}: the public key given (key id {trusted_id}) is not one of this "
                f"export's signing keys ({listed}): a wrong key, or another system's export",
            )
        for number, (line, statement, signature) in self.kept.items():
            key = self.keys.get(statement.get("key"))
            if key is None or not signing.is_signed_by(key[0], statement, signature):
                raise Failure(
                    BAD_INPUT,
                    f"kept checkpoints line {line}: checkpoint {number} is not signed by one of "
                    "this export's keys (not a copy of this system's checkpoint)",
                )

    def _checkpoint(self, n: int, checkpoint: dict) -> None:
        statement, signature = checkpoint["statement"], checkpoint["signature"]
        number = statement["number"]
        if statement["type"] != signing.CHECKPOINT_TYPE:
            raise _bad(n, f"checkpoint {number}: unknown statement type {statement['type']!r}")
        key = self.keys.get(statement["key"])
        if key is None:
            raise _failed(n, f"checkpoint {number}: signed by an unknown key {statement['key']}")
        if not signing.is_signed_by(key[0], statement, signature):
            raise _failed(n, f"checkpoint {number}: bad signature (forged, or altered)")
        previous = self.statements[-1] if self.statements else None
        expected = previous["number"] + 1 if previous else 1
        if number != expected:
            raise _failed(n, f"checkpoint {number}: expected checkpoint {expected} (one removed?)")
        if statement["previous"] != (signing.statement_digest(previous) if previous else ""):
            raise _failed(
                n, f"checkpoint {number} does not follow checkpoint {expected - 1} (replaced)"
            )
        if previous and key[1] < self.keys[previous["key"]][1]:
            raise _failed(
                n,
                f"checkpoint {number}: signed by key {statement['key']}, retired before "
                f"checkpoint {expected - 1} (signed by its successor {previous['key']})",
            )
        if number in self.kept and self.kept[number][1] != statement:
            raise _failed(
                n,
                f"checkpoint {number} differs from the copy kept (kept checkpoints line "
                f"{self.kept[number][0]}), both signed: the history was rewritten and re-signed",
            )
        for log, head in statement["logs"].items():
            heads = self.heads.setdefault(log, [])
            head = _Head(number, int(head["size"]), str(head["root"]))
            if heads and head.size < heads[-1].size:
                raise _failed(
                    n,
                    f"checkpoint {number}: log {log} shrinks from {heads[-1].size} records "
                    f"(checkpoint {heads[-1].number}) to {head.size}: history rewritten",
                )
            if heads and head.size == heads[-1].size and head.root != heads[-1].root:
                raise _failed(
                    n,
                    f"checkpoint {number}: log {log} has a new root at the same size as "
                    f"checkpoint {heads[-1].number}: history rewritten between them",
                )
            heads.append(head)
        self.statements.append(statement)

    def _record(self, n: int, item: dict) -> None:
        name = item["log"]
        if self.log is None or self.log.name != name:
            self._finish_log(n)
            if name in self.done_logs:
                raise _failed(n, f"log {name} appears again: its records were moved")
            if name not in self.heads:
                raise _failed(n, f"log {name} is in no checkpoint: records inserted")
            self.log = _Log(name, [h for h in self.heads[name] if h.size])
        log = self.log
        record_id, index = item["id"], item["index"]
        where = f"{name} record {record_id} (index {index})"
        if index != log.tree.size:
            raise _failed(
                n,
                f"{where}: expected index {log.tree.size}: a record deleted, inserted or "
                "reordered before it",
            )
        if not log.heads:
            raise _failed(n, f"{where} is in no checkpoint: inserted")
        if log.last_id is not None and record_id <= log.last_id:
            raise _failed(n, f"{where}: ids must rise, the record before is {log.last_id}")
        self._link(n, where, log, item)
        log.tree.append(
            signing.leaf_hash(
                signing.leaf_data(
                    name, record_id, item["object"], item["content"], item["record_hash"]
                )
            )
        )
        log.last_id = record_id
        self.records += 1
        while log.heads and log.heads[0].size == log.tree.size:
            head = log.heads.pop(0)
            if log.tree.root() != head.root:
                first = log.matched.size if log.matched else 0
                since = (
                    f"after checkpoint {log.matched.number}" if log.matched else "from the start"
                )
                raise _failed(
                    n,
                    f"{name}: records {first} to {head.size - 1} ({since}, up to {where}) do not "
                    f"hash to checkpoint {head.number}'s root: one of them was altered, or the "
                    "history was rewritten",
                )
            log.matched = head

    @staticmethod
    def _link(n: int, where: str, log: _Log, item: dict) -> None:
        content = item["content"]
        if log.name == ACCESS_LOG:
            if content["sequence"] != item["id"] or item["id"] != item["index"] + 1:
                raise _failed(n, f"{where}: access-log entry numbers must run 1, 2, 3, …")
            return
        before = log.objects.get(item["object"])
        starts = before is None or (content["type"] == "+" and before & 1)
        if _prefix(content["previous"]) != (None if starts else before >> 1):
            raise _failed(
                n,
                f"{where}, object {item['object']}: its previous hash is not the record hash of "
                "the object's record before it (a record deleted, inserted, reordered or altered)",
            )
        log.objects[item["object"]] = _prefix(item["record_hash"]) << 1 | (content["type"] == "-")

    def _finish_log(self, n: int) -> None:
        log = self.log
        if log is None:
            return
        self.done_logs.add(log.name)
        if log.heads:
            head = log.heads[-1]
            raise _failed(
                n,
                f"{log.name}: checkpoint {head.number} covers {head.size} records, the export "
                f"has {log.tree.size}: records deleted after record {log.last_id}",
            )
        self.log = None

    def _end(self, n: int, end: dict) -> None:
        self._finish_log(n)
        for name, heads in self.heads.items():
            if name not in self.done_logs and any(h.size for h in heads):
                head = max(heads, key=lambda h: h.size)
                raise _failed(
                    n,
                    f"{name}: checkpoint {head.number} covers {head.size} records, the export "
                    "has none: records deleted",
                )
        if (end["checkpoints"], end["records"]) != (len(self.statements), self.records):
            raise _bad(
                n,
                f"the end line counts {end['checkpoints']} checkpoints and {end['records']} "
                f"records, the export has {len(self.statements)} and {self.records}",
            )
        if not self.statements:
            raise _bad(n, "the export has no checkpoint")
        missing = sorted(number for number in self.kept if number > len(self.statements))
        if missing:
            raise _failed(
                n,
                f"the export ends at checkpoint {len(self.statements)}; checkpoint {missing[0]} "
                f"was kept (kept checkpoints line {self.kept[missing[0]][0]}): checkpoints removed",
            )


def _prefix(record_hash: str) -> int | None:
    """The first 64 bits of a record hash (None for none, -1 for one that is not hex): what is
    kept of each object's newest record to check the next one's link (the trees check every
    record's whole content)."""
    if not record_hash:
        return None
    try:
        return int(record_hash[:16], 16)
    except ValueError:
        return -1


def _kind(item: dict) -> str:
    for key, kind in (("key", "key"), ("checkpoint", "checkpoint"), ("log", "record")):
        if key in item:
            return kind
    return "end" if "end" in item else "header"


def read_kept(path: str) -> dict:
    """{number: (line, statement, signature)} of the signed checkpoints in a file of
    ``checkpoint_audit`` output lines (unsigned ones are skipped); Failure if unreadable."""
    kept = {}
    try:
        with open(path, encoding="utf-8") as stream:
            for line, text in enumerate(stream, 1):
                if not text.strip():
                    continue
                try:
                    item = json.loads(text)
                    if item.get("statement") is None:
                        continue
                    number = int(item["statement"]["number"])
                    kept[number] = (line, item["statement"], str(item["signature"]))
                except (ValueError, TypeError, KeyError, AttributeError) as error:
                    raise Failure(
                        BAD_INPUT,
                        f"kept checkpoints line {line}: not a checkpoint_audit line ({error})",
                    ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(BAD_INPUT, f"cannot read the kept checkpoints: {error}") from None
    return kept


def _read_trusted(public_key_path: str):
    """The public key in ``public_key_path``; Failure (BAD_KEY) if it cannot be read."""
    try:
        with open(public_key_path, encoding="utf-8") as stream:
            return signing.load_public_key(stream.read())
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(BAD_KEY, f"{public_key_path}: cannot read the public key: {error}") from None
    except signing.UnreadableKey as error:
        raise Failure(BAD_KEY, f"{public_key_path}: {error}") from None


def verify(export_path: str, public_key_path: str, kept_path: str | None = None):
    """(exit code, message) of verifying the export at ``export_path`` against the public key
    in ``public_key_path`` (base64 of the raw key, or PEM) and, if given, the checkpoints kept
    from ``checkpoint_audit``'s output in ``kept_path``."""
    try:
        trusted = _read_trusted(public_key_path)
    except Failure as failure:
        return failure.code, str(failure)
    try:
        kept = read_kept(kept_path) if kept_path else {}
        with open(export_path, encoding="utf-8") as stream:
            return VERIFIED, ExportVerifier(trusted, kept).run(_lines(stream))
    except OSError as error:
        return BAD_INPUT, f"{export_path}: cannot read the export: {error}"
    except Failure as failure:
        return failure.code, f"{export_path}: {failure}"


# Inclusion proofs (docs/audit.md §12): the JSON of the API's `inclusionProof` field.

PROOF_FIELDS = ("log", "leafIndex", "treeSize", "leaf", "auditPath", "checkpoint")
LEAF_FIELDS = {"log", "id", "object", "content", "record_hash"}
KEY_FIELDS = {
    "key_id": "keyId",
    "public_key": "publicKey",
    "rotation": "rotation",
    "predecessor_signature": "predecessorSignature",
    "successor_signature": "successorSignature",
}


def _proofs_in(value, depth: int = 0) -> list[dict]:
    """The inclusion proofs (objects with an ``auditPath``) in a JSON value: the field's
    answer itself, or a whole GraphQL response holding it."""
    if isinstance(value, dict):
        if "auditPath" in value:
            return [value]
        value = list(value.values())
    if isinstance(value, list) and depth < 50:
        return [proof for item in value for proof in _proofs_in(item, depth + 1)]
    return []


def _proof_failed(message: str) -> Failure:
    return Failure(FAILED, message)


def _proof_bad(message: str) -> Failure:
    return Failure(BAD_INPUT, message)


def check_proof(proof: dict, trusted, kept: dict | None = None) -> str:
    """Verify one inclusion proof against a ``trusted`` public key (and the checkpoints
    ``kept``, if any): the keys vouch for each other from the trusted one to the checkpoint's,
    the checkpoint is signed by its key, the leaf hashes from the record's data, and the audit
    path leads it to the root the checkpoint signed for its log at its size. Returns a summary
    line or raises :class:`Failure`."""
    missing = [name for name in PROOF_FIELDS if name not in proof]
    if missing:
        raise _proof_bad(f"the proof has no {missing[0]} (select every field of inclusionProof)")
    checkpoint, leaf, log = proof["checkpoint"], proof["leaf"], proof["log"]
    statement, signature = checkpoint["statement"], checkpoint["signature"]
    number = statement["number"]
    if statement["type"] != signing.CHECKPOINT_TYPE:
        raise _proof_bad(f"checkpoint {number}: unknown statement type {statement['type']!r}")
    keys: dict = {}
    given = proof.get("keys") or [
        {"keyId": checkpoint["keyId"], "publicKey": checkpoint["publicKey"], "rotation": None}
    ]
    for key in given:
        try:
            add_signing_key(keys, {name: key.get(field) for name, field in KEY_FIELDS.items()})
        except BrokenKeyChain as error:
            raise _proof_failed(f"the proof's keys: {error}") from None
    trusted_id = signing.key_id(trusted)
    known = keys.get(trusted_id)
    if known is None or signing.public_key_text(known[0]) != signing.public_key_text(trusted):
        raise Failure(
            BAD_KEY,
            f"the public key given (key id {trusted_id}) is not one of the proof's signing keys "
            f"({', '.join(keys)}): a wrong key, or another system's proof",
        )
    signer = keys.get(statement["key"])
    if signer is None:
        raise _proof_failed(f"checkpoint {number}: signed by an unknown key {statement['key']}")
    if not signing.is_signed_by(signer[0], statement, signature):
        raise _proof_failed(f"checkpoint {number}: bad signature (forged, or altered)")
    if kept and number in kept and kept[number][1] != statement:
        raise _proof_failed(
            f"checkpoint {number} differs from the copy kept (kept checkpoints line "
            f"{kept[number][0]}), both signed: the history was rewritten and re-signed"
        )
    head = statement["logs"].get(log)
    if head is None:
        raise _proof_failed(f"checkpoint {number} signs no log {log}")
    index, size = proof["leafIndex"], proof["treeSize"]
    if not isinstance(index, int) or not isinstance(size, int):
        raise _proof_bad("leafIndex and treeSize must be whole numbers")
    if size != head["size"]:
        raise _proof_failed(
            f"the proof's tree of {size} records is not checkpoint {number}'s: it signs "
            f"{head['size']} for log {log}"
        )
    if set(leaf) != LEAF_FIELDS:
        raise _proof_bad(f"the leaf must hold exactly {', '.join(sorted(LEAF_FIELDS))}")
    where = f"{log} record {leaf['id']} (leaf {index})"
    if leaf["log"] != log:
        raise _proof_failed(f"{where}: its leaf names log {leaf['log']}, the proof {log}")
    leaf_hash = signing.leaf_hash(leaf)
    if proof.get("leafHash") not in (None, leaf_hash.hex()):
        raise _proof_failed(
            f"{where}: the record's data does not hash to the leaf the proof names: the "
            "record was altered after the checkpoint, or its data here was edited"
        )
    try:
        path = [bytes.fromhex(node) for node in proof["auditPath"]]
    except (ValueError, TypeError):
        raise _proof_bad("auditPath must be a list of hex SHA-256 hashes") from None
    if any(len(node) != 32 for node in path):
        raise _proof_bad("auditPath must be a list of hex SHA-256 hashes (32 bytes each)")
    if not signing.verifies_inclusion(leaf_hash, index, size, path, bytes.fromhex(head["root"])):
        raise _proof_failed(
            f"{where}: the audit path does not lead from its leaf to checkpoint {number}'s root: "
            "the record's data, its index or the path was altered"
        )
    return (
        f"verified: {where} is in checkpoint {number} ({statement['created_at']}, key "
        f"{statement['key']}), {size} records in its log, signed by a key the given one vouches for"
    )


def verify_proof(proof_path: str, public_key_path: str, kept_path: str | None = None):
    """(exit code, message) of verifying the inclusion proof in ``proof_path`` (the JSON of
    the API's ``inclusionProof`` field, or a GraphQL response holding one) against the public
    key in ``public_key_path`` and, if given, the kept checkpoints in ``kept_path``."""
    try:
        trusted = _read_trusted(public_key_path)
    except Failure as failure:
        return failure.code, str(failure)
    try:
        kept = read_kept(kept_path) if kept_path else {}
        with open(proof_path, encoding="utf-8") as stream:
            value = json.load(stream)
    except OSError as error:
        return BAD_INPUT, f"{proof_path}: cannot read the proof: {error}"
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        return BAD_INPUT, f"{proof_path}: not JSON ({error}): corrupt or truncated"
    except Failure as failure:
        return failure.code, f"{proof_path}: {failure}"
    found = _proofs_in(value)
    if len(found) != 1:
        what = "no inclusion proof (an object with auditPath)" if not found else "several proofs"
        return BAD_INPUT, f"{proof_path}: {what} in it: give the inclusionProof of one record"
    try:
        return VERIFIED, f"{proof_path}: {check_proof(found[0], trusted, kept)}"
    except Failure as failure:
        return failure.code, f"{proof_path}: {failure}"
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as error:
        return BAD_INPUT, f"{proof_path}: malformed proof ({type(error).__name__}: {error})"


def _lines(stream):
    n = 0
    try:
        for n, line in enumerate(stream, 1):  # noqa: B007
            yield line
    except UnicodeDecodeError:
        raise _bad(n + 1, "not UTF-8 text (corrupt)") from None


def main(argv=None) -> int:
    prog = "python -m opsapi.audit.verify_export"
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=f"{prog} EXPORT PUBKEY [--kept FILE]\n"
        f"       {prog} --proof PROOF PUBKEY [--kept FILE]",
        description="Verify a signed OPS API audit export (export_audit --checkpoints), or one "
        "record's inclusion proof (--proof), with a public key, offline. Exit 0 verified, "
        "1 tampered, 2 unreadable export or proof, 3 bad key.",
    )
    parser.add_argument("export", nargs="?", help="The export file (JSON lines).")
    parser.add_argument(
        "public_key", nargs="?", help="A file holding a trusted public key (base64 or PEM)."
    )
    parser.add_argument(
        "--proof",
        metavar="PROOF",
        help="Verify this inclusion proof instead of an export: the JSON of the API's "
        "inclusionProof field (or the response holding it).",
    )
    parser.add_argument(
        "--kept",
        metavar="FILE",
        help="checkpoint_audit output kept earlier: each signed checkpoint in it must be in the "
        "export unchanged.",
    )
    args = parser.parse_args(argv)
    files = [path for path in (args.export, args.public_key) if path is not None]
    if args.proof is not None:
        if len(files) != 1:
            parser.error("with --proof, give the public key file only (no export)")
        code, message = verify_proof(args.proof, files[0], args.kept)
    else:
        if len(files) != 2:
            parser.error("give the export file and the public key file")
        code, message = verify(args.export, args.public_key, args.kept)
    print(message, file=sys.stdout if code == VERIFIED else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
