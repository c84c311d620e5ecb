"""Verification of the audit trail: every history record, every live row, every checkpoint.

:class:`AuditVerifier` walks each history table object by object, in id order and in batches
of objects, so that memory stays flat however long the trail is. For every object it

- recomputes each record's HMAC (:func:`opsapi.audit.chain.record_digest`) and checks that each
  record names the hash of the record before it (``previous_hash``);
- compares the live row, field by field and link by link, with the newest record, so that a
  change made behind the application's back (raw SQL, a bulk update) shows up as well;
- counts the records each checkpoint covered, and recomputes the newest checkpoint's digest of
  object heads (see :mod:`opsapi.audit.checkpoints`).

:class:`AccessLogVerifier` walks the access log (who read the trail) in entry order: every
entry's HMAC, the numbers running 1, 2, 3, … with none missing or repeated, and the entries the
checkpoints saw (see :mod:`opsapi.audit.access_log`).

Each record and entry is checked under the chain key its ``chain_key_id`` names, the current
one or a retired one (:mod:`opsapi.audit.chain`); one naming a key that is not configured is a
finding of its own (UNKNOWN_KEY), as is a rotation of the chain key whose seals fail. Every
signed checkpoint's Ed25519 signature is checked with the stored public key it names, and so
is their chain: numbered 1, 2, 3, …, each naming the statement before it, each signing key
vouched for by the one before (:mod:`opsapi.audit.signing`).

Each problem is a :class:`Finding`; see docs/audit.md for what can and cannot be detected.
"""

import bisect
import enum
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import connection
from simple_history.utils import get_m2m_field_name, get_m2m_reverse_field_name

from opsapi.audit import signing
from opsapi.audit.access_log import entry_digest
from opsapi.audit.append_only import append_only_tables, unprotected_tables
from opsapi.audit.chain import (
    UnknownChainKey,
    canonical_value,
    chain_keys,
    hmac_under,
    key_id,
    original_key,
    record_digest,
    rotation_content,
)
from opsapi.audit.checkpoints import (
    ACCESS_LOG,
    STREAM_CHUNK,
    HeadsDigest,
    chain_order,
    is_sealed,
    tracked_models,
)
from opsapi.audit.models import (
    AuditAccess,
    AuditChainKeyRotation,
    AuditCheckpoint,
    AuditSigningKey,
)

# Objects per batch: each batch costs one query for its records, one per many-to-many history
# table and one per many-to-many link table, and holds only its own records' links in memory.
BATCH_OBJECTS = 500


class Problem(enum.Enum):
    """What can be wrong, in plain words (the value is what is printed)."""

    CONTENT_ALTERED = (
        "content altered: the record no longer matches its record_hash "
        "(a later record chains to the original)"
    )
    BAD_HASH = (
        "bad hash: record_hash is not the HMAC of the record and no later record chains to it "
        "(a forged record, or the newest record altered)"
    )
    FIRST_HAS_PREDECESSOR = (
        "first record names a predecessor: earlier records of the object were deleted"
    )
    BROKEN_LINK = (
        "broken link: previous_hash is not the hash of the record before it "
        "(a record deleted, inserted or reordered before it)"
    )
    FORK = "fork: claims the same predecessor as another record"
    WRONG_OBJECT = "filed under another object: history_relation differs from the object id"
    LIVE_DIFFERS = "live row differs from its newest history record (changed without history)"
    LIVE_WITHOUT_HISTORY = "live row has no history at all (inserted without history)"
    LIVE_MISSING = (
        "live row missing although its newest history record is not a deletion "
        "(deleted without history)"
    )
    DELETED_BUT_PRESENT = (
        "live row exists although its newest history record is a deletion "
        "(re-inserted without history)"
    )
    UNPROTECTED = (
        "append-only triggers missing or disabled: the database would let this table's "
        "records be rewritten (PostgreSQL)"
    )
    CHECKPOINT_SEAL = "checkpoint seal invalid: its summary was altered, or forged"
    CHECKPOINT_GONE = (
        "checkpoint missing from the database or different from the kept copy "
        "(deleted or replaced); the kept copy is checked instead"
    )
    KEPT_COPY_UNSEALED = "kept copy of a checkpoint does not carry a valid seal (not ours)"
    CHECKPOINT_RECORDS_MISSING = "records covered by a checkpoint are missing (deleted)"
    CHECKPOINT_HEADS = (
        "newest records differ from the checkpoint's (records covered by it were replaced)"
    )
    ENTRY_ALTERED = (
        "access-log entry altered: it no longer matches its record_hash "
        "(edited, renumbered, or forged)"
    )
    ENTRIES_MISSING = "access-log entries missing (deleted): the numbering skips them"
    ENTRY_REPEATED = "access-log entry number used twice (a copied or forged entry)"
    CHECKPOINT_ENTRIES = (
        "access-log entries seen by a checkpoint are missing or replaced "
        "(the newest entries deleted)"
    )
    UNKNOWN_KEY = (
        "unknown chain key: sealed under a key id that no configured key has "
        "(add the key to AUDIT_CHAIN_RETIRED_KEYS), so its hash cannot be checked"
    )
    ROTATION_SEAL = (
        "chain key rotation not sealed by both keys: the record of the handover was altered, "
        "or forged"
    )
    CHECKPOINT_SIGNATURE = (
        "signed checkpoint invalid: its statement is not signed by the key it names "
        "(the statement or the signature altered, or forged)"
    )
    CHECKPOINT_SEQUENCE = (
        "signed checkpoints out of sequence: a number skipped, or a statement not naming the "
        "one before it (a checkpoint deleted, inserted or replaced)"
    )
    CHECKPOINT_TREES = (
        "signed checkpoint's stored trees differ from the heads it signed "
        "(the next checkpoint would extend altered trees)"
    )
    SIGNING_KEY = (
        "signing key not vouched for: its id, public key or rotation statement does not check "
        "against the key before it"
    )


@dataclass(frozen=True)
class Finding:
    """One problem, where it is: a table, and the object, record or checkpoint concerned."""

    problem: Problem
    table: str
    object_id: object = None
    history_id: int | None = None  # the record's id; an access-log entry's row id
    checkpoint_id: int | None = None
    detail: str = ""
    entry: int | None = None  # an access-log entry's number (sequence)

    def __str__(self):
        where = [self.table]
        for label, value in (
            ("checkpoint", self.checkpoint_id),
            ("object", self.object_id),
            ("entry", self.entry),
            ("record", self.history_id),
        ):
            if value is not None:
                where.append(f"{label} {value}")
        detail = f" — {self.detail}" if self.detail else ""
        return f"{' '.join(where)}: {self.problem.value}{detail}"


@dataclass
class Totals:
    """What a verification went through."""

    records: int = 0
    tables: int = 0
    objects: int = 0
    live_rows: int = 0
    checkpoints: int = 0
    entries: int = 0
    signed: int = 0  # of the checkpoints
    rotations: int = 0  # of the chain key

    def __str__(self):
        signed = f" ({self.signed} signed)" if self.signed else ""
        rotations = f", {self.rotations} chain key rotations" if self.rotations else ""
        return (
            f"{self.records} records in {self.tables} tables, {self.objects} objects, "
            f"{self.live_rows} live rows reconciled, {self.entries} access-log entries, "
            f"{self.checkpoints} checkpoints{signed}{rotations}"
        )


@dataclass(frozen=True)
class Covered:
    """One checkpoint's entry for one history table."""

    checkpoint_id: int
    records: int
    max_history_id: int
    heads: str


class Coverage:
    """Checks, as a table's records stream by, that the checkpoints' records are still there.

    Records are counted per interval between the checkpoints' highest ids, so every checkpoint
    is checked in the same pass. Records committed after a checkpoint with a lower id than its
    highest (concurrent transactions commit out of id order) can only raise a count; the
    heads of the newest checkpoint are compared only when its count matches exactly, which
    means the set of records is the one it saw.
    """

    def __init__(self, table: str, entries: list[Covered]):
        self.table = table
        self.entries = entries
        self.bounds = sorted({entry.max_history_id for entry in entries})
        self.counts = [0] * len(self.bounds)
        self.newest = max(entries, key=lambda e: (e.max_history_id, e.checkpoint_id), default=None)
        self.heads = HeadsDigest()

    def add_object(self, object_id, records: list) -> None:
        for record in records:
            slot = bisect.bisect_left(self.bounds, record.history_id)
            if slot < len(self.counts):
                self.counts[slot] += 1
        if self.newest is not None:
            covered = [r for r in records if r.history_id <= self.newest.max_history_id]
            if covered:
                self.heads.add(object_id, covered[-1].record_hash)

    def findings(self) -> Iterator[Finding]:
        present = dict(zip(self.bounds, itertools.accumulate(self.counts), strict=True))
        for entry in self.entries:
            remaining = present[entry.max_history_id]
            if remaining < entry.records:
                yield Finding(
                    Problem.CHECKPOINT_RECORDS_MISSING,
                    self.table,
                    checkpoint_id=entry.checkpoint_id,
                    detail=f"it counted {entry.records} records up to history_id "
                    f"{entry.max_history_id}, {remaining} remain",
                )
        newest = self.newest
        if (
            newest is not None
            and present[newest.max_history_id] == newest.records
            and self.heads.hexdigest() != newest.heads
        ):
            yield Finding(Problem.CHECKPOINT_HEADS, self.table, checkpoint_id=newest.checkpoint_id)


class _Links:
    """Many-to-many links of a tracked model: as recorded, and as they are live."""

    def __init__(self, model):
        history = model.history.model
        tracker = model._history_tracker
        self.fields = [(field, tracker.m2m_models[field]) for field in history._history_m2m_fields]
        self.empty = {field.name: [] for field, _ in self.fields}

    def recorded(self, object_field: str, after, last) -> dict[int, dict[str, list]]:
        """{history_id: {field: sorted ids}} for the records of the objects in the batch."""
        links = {}
        for field, m2m_history in self.fields:
            target = f"{get_m2m_reverse_field_name(field)}_id"
            rows = m2m_history._base_manager.filter(
                **_between(f"history__{object_field}", after, last)
            ).values_list("history_id", target)
            for history_id, target_id in rows.iterator(chunk_size=STREAM_CHUNK):
                record_links = links.setdefault(history_id, self._new())
                record_links[field.name].append(target_id)
        return self._sorted(links)

    def live(self, after, last) -> dict[object, dict[str, list]]:
        """{object id: {field: sorted ids}} for the live rows of the batch."""
        links = {}
        for field, _ in self.fields:
            through = field.remote_field.through
            source = f"{get_m2m_field_name(field)}_id"
            target = f"{get_m2m_reverse_field_name(field)}_id"
            rows = through._base_manager.filter(**_between(source, after, last)).values_list(
                source, target
            )
            for object_id, target_id in rows.iterator(chunk_size=STREAM_CHUNK):
                links.setdefault(object_id, self._new())[field.name].append(target_id)
        return self._sorted(links)

    def _new(self) -> dict[str, list]:
        return {name: [] for name in self.empty}

    @staticmethod
    def _sorted(links: dict) -> dict:
        for by_field in links.values():
            for ids in by_field.values():
                ids.sort()
        return links


class AuditVerifier:
    """Verifies the history of ``models`` (default: every tracked model), the access log and
    the checkpoints.

    Iterate :meth:`findings`; :attr:`totals` is complete once it is exhausted.
    """

    def __init__(
        self,
        models: Iterable | None = None,
        *,
        kept: Iterable[AuditCheckpoint] = (),
        batch_objects: int = BATCH_OBJECTS,
    ):
        self.models = list(models) if models is not None else tracked_models()
        self.kept = list(kept)  # copies of checkpoints kept outside the database
        self.batch_objects = batch_objects
        self.totals = Totals()

    def findings(self) -> Iterator[Finding]:
        yield from self._protection()
        yield from self._rotations()
        covered, seen_entries = yield from self._checkpoints()
        yield from SignedCheckpointVerifier(self.totals).findings()
        for model in self.models:
            table = model.history.model._meta.db_table
            self.totals.tables += 1
            yield from _TableVerifier(self, model, Coverage(table, covered.get(table, []))).run()
        yield from AccessLogVerifier(self.totals, seen_entries).findings()

    @staticmethod
    def _protection() -> Iterator[Finding]:
        """On PostgreSQL, every append-only table must still carry its enabled triggers."""
        if connection.vendor != "postgresql":
            return
        for table in unprotected_tables(connection, append_only_tables(apps)):
            yield Finding(Problem.UNPROTECTED, table)

    def _rotations(self) -> Iterator[Finding]:
        """Every rotation of the chain key: sealed under the key it retired, which must be
        configured (it sealed the records before), and under the new key once that is
        configured (until the rotation is applied it is not, nor ever if it was given up)."""
        table = AuditChainKeyRotation._meta.db_table
        keys = chain_keys()
        for rotation in AuditChainKeyRotation.objects.order_by("pk"):
            self.totals.rotations += 1
            content = rotation_content(rotation)
            where = {"history_id": rotation.pk}
            if rotation.old_key_id not in keys:
                detail = f"key {rotation.old_key_id}"
                yield Finding(Problem.UNKNOWN_KEY, table, detail=detail, **where)
            for named, seal in (
                (rotation.old_key_id, rotation.old_seal),
                (rotation.new_key_id, rotation.new_seal),
            ):
                if named in keys and hmac_under(keys[named], content) != seal:
                    yield Finding(Problem.ROTATION_SEAL, table, detail=f"key {named}", **where)

    def _checkpoints(self):
        """Check every checkpoint's seal, and each kept copy against the database; return
        {table: [Covered]} of the sealed checkpoints (a kept copy standing in for one that is
        gone or was replaced), and what they saw of the access log as {checkpoint id:
        (entries, newest hash)}."""
        sealed = {}
        table = AuditCheckpoint._meta.db_table
        for checkpoint in AuditCheckpoint.objects.order_by("pk").iterator():
            self.totals.checkpoints += 1
            if is_sealed(checkpoint):
                sealed[checkpoint.pk] = checkpoint
            else:
                yield Finding(Problem.CHECKPOINT_SEAL, table, checkpoint_id=checkpoint.pk)
        for copy in self.kept:
            if not is_sealed(copy):
                yield Finding(Problem.KEPT_COPY_UNSEALED, table, checkpoint_id=copy.pk)
                continue
            stored = sealed.get(copy.pk)
            if stored is None or (stored.tables, stored.seal) != (copy.tables, copy.seal):
                yield Finding(Problem.CHECKPOINT_GONE, table, checkpoint_id=copy.pk)
                sealed[copy.pk] = copy
        covered = {}
        seen_entries = {}
        for checkpoint_id, checkpoint in sorted(sealed.items()):
            for name, entry in checkpoint.tables.items():
                if name == ACCESS_LOG:
                    seen_entries[checkpoint_id] = (entry["entries"], entry["newest_hash"])
                    continue
                covered.setdefault(name, []).append(
                    Covered(
                        checkpoint_id, entry["records"], entry["max_history_id"], entry["heads"]
                    )
                )
        return covered, seen_entries


class AccessLogVerifier:
    """Verifies the access log: each entry's HMAC, the numbering (1, 2, 3, … none missing or
    repeated) and, for each checkpoint, that the entry it saw as the newest is still there,
    unchanged. ``seen`` is {checkpoint id: (entries, newest hash)}."""

    def __init__(self, totals: Totals, seen: dict[int, tuple[int, str]]):
        self.totals = totals
        self.seen = seen
        self.table = ACCESS_LOG

    def findings(self) -> Iterator[Finding]:
        expecting = {}  # {entry number: [(checkpoint id, its hash)]}
        for checkpoint_id, (entries, newest_hash) in self.seen.items():
            if entries:
                expecting.setdefault(entries, []).append((checkpoint_id, newest_hash))
        previous = None
        rows = AuditAccess._base_manager.order_by("sequence", "id").iterator(
            chunk_size=STREAM_CHUNK
        )
        for entry in rows:
            self.totals.entries += 1
            if entry.sequence is None:  # its column altered to allow it
                yield Finding(Problem.ENTRY_ALTERED, self.table, history_id=entry.pk)
                continue
            yield from self._entry(entry, previous, expecting.pop(entry.sequence, ()))
            previous = entry
        last = previous.sequence if previous is not None else 0
        for number, checkpoints in sorted(expecting.items()):
            for checkpoint_id, _ in checkpoints:
                yield Finding(
                    Problem.CHECKPOINT_ENTRIES,
                    self.table,
                    checkpoint_id=checkpoint_id,
                    detail=f"it saw {number} entries; the log ends at entry {last}",
                )

    def _entry(self, entry, previous, checkpoints) -> Iterator[Finding]:
        def found(problem: Problem, detail: str = "", **where) -> Finding:
            where = {"entry": entry.sequence, "history_id": entry.pk, **where}
            return Finding(problem, self.table, detail=detail, **where)

        try:
            if entry_digest(entry) != entry.record_hash:
                yield found(Problem.ENTRY_ALTERED, _unnamed_key(entry))
        except UnknownChainKey as unknown:
            yield found(Problem.UNKNOWN_KEY, f"key {unknown.key_id}")
        expected = previous.sequence + 1 if previous is not None else 1
        if previous is not None and entry.sequence == previous.sequence:
            yield found(Problem.ENTRY_REPEATED, f"record {previous.pk} has the same number")
        elif entry.sequence > expected:
            yield Finding(
                Problem.ENTRIES_MISSING,
                self.table,
                entry=expected,
                detail=_gap(expected, entry, previous),
            )
        for checkpoint_id, newest_hash in checkpoints:
            if entry.record_hash != newest_hash:
                yield found(
                    Problem.CHECKPOINT_ENTRIES,
                    f"entry {entry.sequence} is not the one checkpoint {checkpoint_id} saw",
                    checkpoint_id=checkpoint_id,
                )


class SignedCheckpointVerifier:
    """Verifies the signed checkpoints with the public keys stored beside them: each key
    vouched for by the one before (its rotation statement signed by both), each checkpoint's
    statement signed by the key it names (never one older than its predecessor's), numbered
    1, 2, 3, …, naming the statement before it, and its stored trees the heads it signed.

    The trees' roots are recomputed from the records by the offline verifier
    (:mod:`opsapi.audit.verify_export`), not here."""

    def __init__(self, totals: Totals):
        self.totals = totals
        self.table = AuditCheckpoint._meta.db_table

    def findings(self) -> Iterator[Finding]:
        keys = yield from self._keys()
        previous = None
        signed = AuditCheckpoint.objects.filter(number__isnull=False).order_by("number")
        for checkpoint in signed.iterator():
            self.totals.signed += 1
            yield from self._checkpoint(checkpoint, previous, keys)
            previous = checkpoint

    def _keys(self):
        """Check every stored signing key; return {key id: (public key, position)} of those
        that check (a forged key signs nothing verify_audit accepts)."""
        keys = {}
        table = AuditSigningKey._meta.db_table
        before = None
        for position, stored in enumerate(AuditSigningKey.objects.order_by("pk")):
            problem = _key_problem(stored, before)
            if problem:
                yield Finding(Problem.SIGNING_KEY, table, history_id=stored.pk, detail=problem)
            else:
                keys[stored.key_id] = (signing.load_public_key(stored.public_key), position)
            before = stored
        return keys

    def _checkpoint(self, checkpoint, previous, keys) -> Iterator[Finding]:
        def found(problem: Problem, detail: str) -> Finding:
            return Finding(problem, self.table, checkpoint_id=checkpoint.pk, detail=detail)

        statement = checkpoint.statement or {}
        named = keys.get(checkpoint.key_id)
        if named is None:
            yield found(Problem.CHECKPOINT_SIGNATURE, f"no valid stored key {checkpoint.key_id}")
        elif statement.get("key") != checkpoint.key_id or not signing.is_signed_by(
            named[0], statement, checkpoint.signature
        ):
            yield found(Problem.CHECKPOINT_SIGNATURE, f"number {checkpoint.number}")
        expected = previous.number + 1 if previous is not None else 1
        chained = signing.statement_digest(previous.statement) if previous is not None else ""
        if checkpoint.number != expected or statement.get("number") != checkpoint.number:
            yield found(
                Problem.CHECKPOINT_SEQUENCE,
                f"number {checkpoint.number} (its statement: {statement.get('number')}) "
                f"where {expected} was due",
            )
        elif statement.get("previous") != chained:
            yield found(
                Problem.CHECKPOINT_SEQUENCE,
                f"number {checkpoint.number} does not name the statement of number "
                f"{previous.number if previous is not None else '(none)'} before it",
            )
        if previous is not None and named is not None:
            older = keys.get(previous.key_id)
            if older is not None and named[1] < older[1]:
                yield found(
                    Problem.CHECKPOINT_SIGNATURE,
                    f"number {checkpoint.number} is signed by key {checkpoint.key_id}, retired "
                    f"before key {previous.key_id} signed number {previous.number}",
                )
        differing = _trees_differing(checkpoint.trees, statement.get("logs") or {})
        if differing:
            yield found(Problem.CHECKPOINT_TREES, f"differs in {', '.join(differing)}")


def _key_problem(stored, before) -> str:
    """What is wrong with a stored signing key given the one ``before`` it, or ""."""
    try:
        public = signing.load_public_key(stored.public_key)
    except signing.UnreadableKey as error:
        return f"key {stored.key_id}: {error}"
    if signing.key_id(public) != stored.key_id:
        return f"key {stored.key_id} is not the id of its public key"
    if before is None:
        return ""
    rotation = stored.rotation or {}
    expected = {"from": before.key_id, "to": stored.key_id, "public_key": stored.public_key}
    if any(rotation.get(name) != value for name, value in expected.items()):
        return f"key {stored.key_id}: its rotation statement does not name key {before.key_id}"
    try:
        previous = signing.load_public_key(before.public_key)
    except signing.UnreadableKey:
        return f"key {stored.key_id}: the key before it, {before.key_id}, is unreadable"
    if not signing.is_signed_by(previous, rotation, stored.predecessor_signature):
        return f"key {stored.key_id}: the rotation is not signed by key {before.key_id}"
    if not signing.is_signed_by(public, rotation, stored.successor_signature):
        return f"key {stored.key_id}: the rotation is not signed by the key itself"
    return ""


def _trees_differing(trees: dict, heads: dict) -> list[str]:
    """The logs whose stored tree (size, frontier) does not give the signed head."""
    differing = []
    for log in sorted(set(trees) | set(heads)):
        state, head = trees.get(log), heads.get(log)
        try:
            tree = signing.MerkleTree(state["size"], state["frontier"])
            same = head is not None and (tree.size, tree.root()) == (head["size"], head["root"])
        except (KeyError, TypeError, ValueError):
            same = False
        if not same:
            differing.append(log)
    return differing


class _TableVerifier:
    """Verification of one tracked model: its history table, live table and links."""

    def __init__(self, verifier: AuditVerifier, model, coverage: Coverage):
        self.verifier = verifier
        self.totals = verifier.totals
        self.model = model
        self.history = model.history.model
        self.table = self.history._meta.db_table
        self.live_table = model._meta.db_table
        self.object_field = model._meta.pk.attname
        self.fields = list(self.history.tracked_fields)
        self.links = _Links(model)
        self.coverage = coverage

    def run(self) -> Iterator[Finding]:
        after = None
        while ids := self._next_objects(after):
            yield from self._batch(after, ids[-1])
            after = ids[-1]
        yield from self.coverage.findings()

    def _next_objects(self, after) -> list:
        """The next ids (after ``after``) of objects with history or a live row, in order."""
        n = self.verifier.batch_objects
        recorded = self.history._base_manager.order_by(self.object_field)
        live = self.model._base_manager.order_by("pk")
        if after is not None:
            recorded = recorded.filter(**{f"{self.object_field}__gt": after})
            live = live.filter(pk__gt=after)
        ids = set(recorded.values_list(self.object_field, flat=True).distinct()[:n])
        ids.update(live.values_list("pk", flat=True)[:n])
        return sorted(ids)[:n]

    def _batch(self, after, last) -> Iterator[Finding]:
        """The objects with ids in (after, last]: their records, live rows and links."""
        links = self.links.recorded(self.object_field, after, last)
        live_links = self.links.live(after, last)
        live_rows = {
            row["pk"]: row
            for row in self.model._base_manager.filter(**_between("pk", after, last)).values(
                "pk", *(f.attname for f in self.fields)
            )
        }
        records = (
            self.history._base_manager.filter(**_between(self.object_field, after, last))
            .order_by(*chain_order(self.object_field))
            .iterator(chunk_size=STREAM_CHUNK)
        )
        for object_id, chain in itertools.groupby(
            records, key=lambda r: getattr(r, self.object_field)
        ):
            chain = list(chain)
            self.totals.records += len(chain)
            self.totals.objects += 1
            self.coverage.add_object(object_id, chain)
            yield from self._chain(object_id, chain, links)
            yield from self._reconcile(
                object_id, chain[-1], live_rows.pop(object_id, None), links, live_links
            )
        for object_id, row in live_rows.items():
            yield from self._reconcile(object_id, None, row, links, live_links)

    def _chain(self, object_id, chain: list, links: dict) -> Iterator[Finding]:
        """The records of one object, oldest first: each one's hash and link."""
        position = {record.record_hash: i for i, record in enumerate(chain)}
        chained_to = {record.previous_hash for record in chain}
        claimed = {}
        for i, record in enumerate(chain):
            found = _Found(self.table, object_id, record.history_id)
            try:
                digest = record_digest(record, links.get(record.history_id, self.links.empty))
            except UnknownChainKey as unknown:
                yield found(Problem.UNKNOWN_KEY, f"key {unknown.key_id}")
            else:
                if digest != record.record_hash:
                    problem = (
                        Problem.CONTENT_ALTERED
                        if record.record_hash in chained_to
                        else Problem.BAD_HASH
                    )
                    yield found(problem, _unnamed_key(record))
            if record.history_relation_id != object_id:
                yield found(
                    Problem.WRONG_OBJECT, f"history_relation is {record.history_relation_id}"
                )
            previous = chain[i - 1] if i else None
            problem = _link_problem(record, previous, claimed, chain, position, i)
            if problem is not None:
                yield found(*problem)
            claimed.setdefault(record.previous_hash, record.history_id)

    def _reconcile(self, object_id, newest, row, links, live_links) -> Iterator[Finding]:
        """The live row against the newest record of its object."""
        found = _Found(self.live_table, object_id, newest.history_id if newest else None)
        if row is not None:
            self.totals.live_rows += 1
        if newest is None:
            yield found(Problem.LIVE_WITHOUT_HISTORY)
        elif row is None:
            if newest.history_type != "-":
                yield found(Problem.LIVE_MISSING)
        elif newest.history_type == "-":
            yield found(Problem.DELETED_BUT_PRESENT)
        else:
            differing = [
                field.name
                for field in self.fields
                if canonical_value(field, row[field.attname])
                != canonical_value(field, getattr(newest, field.attname))
            ]
            recorded = links.get(newest.history_id, self.links.empty)
            live = live_links.get(object_id, self.links.empty)
            differing += [name for name in self.links.empty if recorded[name] != live[name]]
            if differing:
                yield found(Problem.LIVE_DIFFERS, f"differs in {', '.join(differing)}")


def _unnamed_key(record) -> str:
    """For a record (or entry) sealed before key ids, which key it was checked under."""
    if record.chain_key_id:
        return ""
    return f"sealed before key ids, checked under the original key {key_id(original_key())}"


def _gap(first_missing: int, entry, previous) -> str:
    """Which entries are missing before ``entry``, and between which entries still there."""
    last_missing = entry.sequence - 1
    if last_missing == first_missing:
        missing = f"entry {first_missing} is missing"
    else:
        missing = f"entries {first_missing} to {last_missing} are missing"
    if previous is None:
        after = "at the start of the log"
    else:
        after = f"after record {previous.pk} (entry {previous.sequence}, {_when(previous)})"
    return f"{missing}, {after}, before record {entry.pk} ({_when(entry)})"


def _when(entry) -> str:
    return f"{entry.at:%Y-%m-%d %H:%M:%S %Z}"


def _between(field: str, after, last) -> dict:
    """Filter for ``after < field <= last`` (no lower bound when ``after`` is None)."""
    bounds = {f"{field}__lte": last}
    if after is not None:
        bounds[f"{field}__gt"] = after
    return bounds


class _Found:
    """Makes the findings about one record (or row) of one table."""

    def __init__(self, table: str, object_id, history_id):
        self.table = table
        self.object_id = object_id
        self.history_id = history_id

    def __call__(self, problem: Problem, detail: str = "") -> Finding:
        return Finding(problem, self.table, self.object_id, self.history_id, detail=detail)


def _link_problem(record, previous, claimed: dict, chain: list, position: dict, i: int):
    """(Problem, detail) if ``record`` does not follow ``previous`` in its chain, else None."""
    if previous is None:
        expected = ""
    elif record.history_type == "+" and previous.history_type == "-":
        expected = ""  # the object was deleted, then created again with the same id
    else:
        expected = previous.record_hash
    if record.previous_hash == expected:
        return None
    if record.previous_hash in claimed:
        return Problem.FORK, f"record {claimed[record.previous_hash]} follows the same predecessor"
    named = position.get(record.previous_hash)
    if named is not None and named > i:
        detail = f"its predecessor, record {chain[named].history_id}, is ordered after it"
    elif named is not None:
        detail = f"it follows record {chain[named].history_id}: records inserted, or it moved"
    elif record.previous_hash:
        detail = "its predecessor is not in the trail"
    else:
        detail = "it starts a new chain"
    if previous is None:
        return Problem.FIRST_HAS_PREDECESSOR, detail
    return Problem.BROKEN_LINK, f"record {previous.history_id} is before it; {detail}"
