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
        public = signing.load_public_key(key["public_key"])
        key_id = key["key_id"]
        if signing.key_id(public) != key_id:
            raise _failed(n, f"key {key_id}: its id is not its public key's")
        if not self.keys:
            if key["rotation"] is not None:
                raise _failed(n, f"key {key_id}: the first key names a predecessor")
        else:
            previous = max(self.keys, key=lambda k: self.keys[k][1])
            rotation = key["rotation"] or {}
            expected = signing.rotation_statement(
                old=previous, new=key_id, public_key=key["public_key"], at=rotation.get("at", "")
            )
            if rotation != expected:
                raise _failed(n, f"key {key_id}: no rotation statement from key {previous}")
            if not signing.is_signed_by(
                self.keys[previous][0], rotation, key["predecessor_signature"]
            ):
                raise _failed(n, f"key {key_id}: rotation not signed by key {previous} (forged)")
            if not signing.is_signed_by(public, rotation, key["successor_signature"]):
                raise _failed(n, f"key {key_id}: rotation not signed by the new key itself")
        self.keys[key_id] = (public, len(self.keys))

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


def verify(export_path: str, public_key_path: str, kept_path: str | None = None):
    """(exit code, message) of verifying the export at ``export_path`` against the public key
    in ``public_key_path`` (base64 of the raw key, or PEM) and, if given, the checkpoints kept
    from ``checkpoint_audit``'s output in ``kept_path``."""
    try:
        with open(public_key_path, encoding="utf-8") as stream:
            trusted = signing.load_public_key(stream.read())
    except (OSError, UnicodeDecodeError) as error:
        return BAD_KEY, f"{public_key_path}: cannot read the public key: {error}"
    except signing.UnreadableKey as error:
        return BAD_KEY, f"{public_key_path}: {error}"
    try:
        kept = read_kept(kept_path) if kept_path else {}
        with open(export_path, encoding="utf-8") as stream:
            return VERIFIED, ExportVerifier(trusted, kept).run(_lines(stream))
    except OSError as error:
        return BAD_INPUT, f"{export_path}: cannot read the export: {error}"
    except Failure as failure:
        return failure.code, f"{export_path}: {failure}"


def _lines(stream):
    n = 0
    try:
        for n, line in enumerate(stream, 1):  # noqa: B007
            yield line
    except UnicodeDecodeError:
        raise _bad(n + 1, "not UTF-8 text (corrupt)") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m opsapi.audit.verify_export",
        description="Verify a signed OPS API audit export (export_audit --checkpoints) with "
        "a public key, offline. Exit 0 verified, 1 tampered, 2 unreadable export, 3 bad key.",
    )
    parser.add_argument("export", help="The export file (JSON lines).")
    parser.add_argument("public_key", help="A file holding a trusted public key (base64 or PEM).")
    parser.add_argument(
        "--kept",
        metavar="FILE",
        help="checkpoint_audit output kept earlier: each signed checkpoint in it must be in the "
        "export unchanged.",
    )
    args = parser.parse_args(argv)
    code, message = verify(args.export, args.public_key, args.kept)
    print(message, file=sys.stdout if code == VERIFIED else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
