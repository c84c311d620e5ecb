"""Checkpoints: sealed summaries of every history table, so that records cannot vanish unseen.

A per-object chain proves each record's content and its place after the previous one, but not
that the newest records of an object are all still there: delete the tail of a chain and what
remains is a valid, shorter chain. A checkpoint records, for each history table, how many
records it held, its highest ``history_id`` and a digest of every object's newest record hash
(and, for the access log, its number of entries and the newest one's hash), sealed with an
HMAC under ``AUDIT_CHAIN_KEY``. ``verify_audit`` then checks that every record a checkpoint
covered is still there. ``checkpoint_audit`` takes one (from cron) and prints it, so
that a copy lives outside the database. See docs/audit.md.

With ``AUDIT_SIGNING_KEY`` set, a checkpoint is also *signed* (docs/audit.md §10): every log
(each history table, and the access log) is an RFC 6962 Merkle tree over its records in id
order (:mod:`opsapi.audit.signing`), and the checkpoint signs, with Ed25519, every tree's size
and root, its own number and the statement before it. Each checkpoint appends to the trees of
the one before (their compact ranges are stored in ``trees``), so it hashes only the records
written since. Anyone holding the public key checks an export against it
(:mod:`opsapi.audit.verify_export`), without the database or any secret.
"""

import datetime
import hashlib
import hmac
import json
import time
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from opsapi.audit import signing
from opsapi.audit.access_log import entry_content
from opsapi.audit.chain import (
    AuditJSONEncoder,
    UnknownChainKey,
    current_key_id,
    hmac_under,
    key_named,
    record_content,
)
from opsapi.audit.models import AuditAccess, AuditCheckpoint, AuditSigningKey
from opsapi.audit.recording import link_accessors, recorded_links
from opsapi.audit.tiles import TileWriter
from opsapi.audit.tracking import TrackedHistoricalRecords, hidden_history_fields

STREAM_CHUNK = 5000


def tracked_models() -> list:
    """Every model with a tracked history (the domain models and ``auth.User``), by label."""
    found = [
        model
        for model in apps.get_models()
        if isinstance(getattr(model, "_history_tracker", None), TrackedHistoricalRecords)
        and model._history_tracker.cls is model
    ]
    return sorted(found, key=lambda model: model._meta.label)


def history_table(model) -> str:
    """The name of the history table of a tracked ``model``."""
    return model.history.model._meta.db_table


def chain_order(object_field: str) -> list[str]:
    """The order of history records object by object, each object's chain oldest first.

    A chain follows ``history_id`` (the order the database stored the records in, one writer
    at a time per object: each holds the object's row lock), not ``history_date``, which comes
    from the writing server's clock and could go backwards between two servers.
    """
    return [object_field, "history_id"]


class HeadsDigest:
    """SHA-256 over ``<object id>:<record_hash>`` of each object's newest record, objects in
    id order. Fed every record in chain order (or just each object's newest)."""

    def __init__(self):
        self._digest = hashlib.sha256()
        self._object = None
        self._head = None

    def add(self, object_id, record_hash: str) -> None:
        if object_id != self._object:
            self._flush()
            self._object = object_id
        self._head = record_hash

    def hexdigest(self) -> str:
        self._flush()
        return self._digest.hexdigest()

    def _flush(self) -> None:
        if self._object is not None:
            self._digest.update(f"{self._object}:{self._head}\n".encode())
        self._object = self._head = None


def summarize(model) -> dict:
    """{records, max_history_id, heads} of ``model``'s history table as it is now.

    The count and the heads come from one query over the records up to the highest id, so they
    describe the same set of records even while others are being written.
    """
    history = model.history.model
    object_field = model._meta.pk.attname
    top = history._base_manager.aggregate(top=Max("history_id"))["top"] or 0
    records = 0
    heads = HeadsDigest()
    rows = (
        history._base_manager.filter(history_id__lte=top)
        .order_by(*chain_order(object_field))
        .values_list(object_field, "record_hash")
    )
    for object_id, record_hash in rows.iterator(chunk_size=STREAM_CHUNK):
        records += 1
        heads.add(object_id, record_hash)
    return {"records": records, "max_history_id": top, "heads": heads.hexdigest()}


def seal(tables: dict, key: str | None = None) -> str:
    """The HMAC that seals a checkpoint's ``tables`` summary (under AUDIT_CHAIN_KEY, or
    ``key``)."""
    return hmac_under(key or settings.AUDIT_CHAIN_KEY, {"checkpoint": tables})


def is_sealed(checkpoint: AuditCheckpoint) -> bool:
    """Whether ``checkpoint``'s tables are exactly what was sealed, under the chain key it
    names (one sealed before a rotation, under a key now retired, stays sealed; one naming a
    key no longer configured cannot be checked, and is not)."""
    try:
        key = key_named(checkpoint.chain_key_id)
    except UnknownChainKey:
        return False
    return hmac.compare_digest(seal(checkpoint.tables, key), checkpoint.seal)


# The access log's entry in a checkpoint's tables: {entries, newest_hash}.
ACCESS_LOG = AuditAccess._meta.db_table


def summarize_access_log() -> dict:
    """{entries, newest_hash} of the access log as it is now: its entries are numbered 1, 2, …
    with no gaps, so the newest one's number is how many there are."""
    newest = AuditAccess._base_manager.order_by("-sequence").values("sequence", "record_hash")
    newest = newest.first() or {"sequence": 0, "record_hash": ""}
    return {"entries": newest["sequence"], "newest_hash": newest["record_hash"]}


def take_checkpoint() -> AuditCheckpoint:
    """Summarize every history table and the access log now and store the sealed summary;
    signed too when ``AUDIT_SIGNING_KEY`` is set (:func:`signed_fields`)."""
    key = signing_key()
    # One transaction: the trees' tiles (opsapi.audit.tiles) are stored with the checkpoint
    # that extends them, or not at all.
    with checkpoint_lock(), transaction.atomic():
        tables = {history_table(model): summarize(model) for model in tracked_models()}
        tables[ACCESS_LOG] = summarize_access_log()
        signed = signed_fields(key) if key is not None else {}
        return AuditCheckpoint.objects.create(
            tables=tables, seal=seal(tables), chain_key_id=current_key_id(), **signed
        )


# Signed checkpoints (docs/audit.md §10).

# Records hashed per query when a checkpoint extends the trees, or an export reads them.
LEAF_PAGE = 1000
# How long a checkpoint waits for the transactions that were writing when it read each log's
# highest id (PostgreSQL), before it gives up.
SETTLE_TIMEOUT = 60.0
# Key of the PostgreSQL advisory lock that lets one checkpoint be taken at a time.
CHECKPOINT_LOCK = int.from_bytes(b"opsapi.checkpt", "big") & (2**63 - 1)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be signed (the message says why)."""


def signing_key():
    """The Ed25519 private key of ``AUDIT_SIGNING_KEY``, or None when it is not set."""
    text = settings.AUDIT_SIGNING_KEY
    if not text:
        return None
    try:
        return signing.load_private_key(text)
    except signing.UnreadableKey as error:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY: {error}") from None


@contextmanager
def checkpoint_lock():
    """One checkpoint at a time (PostgreSQL: a session advisory lock; SQLite writes one at a
    time anyway), so that two never claim the same number or extend the same trees."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [CHECKPOINT_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [CHECKPOINT_LOCK])


def log_names() -> list[str]:
    """Every log a signed checkpoint covers: each history table, then the access log."""
    return [history_table(model) for model in tracked_models()] + [ACCESS_LOG]


def _history_models() -> dict:
    return {history_table(model): model for model in tracked_models()}


def log_tops() -> dict[str, int]:
    """{log: its highest record id (the access log: entry number)} once every record up to it
    is committed: on PostgreSQL, transactions commit out of id order, so this waits for those
    that were running when the ids were read (ids are drawn in increasing order, so none drawn
    later is lower). SQLite runs one writer at a time, in id order."""
    tops = {
        history_table(model): model.history.model._base_manager.aggregate(top=Max("history_id"))[
            "top"
        ]
        or 0
        for model in tracked_models()
    }
    tops[ACCESS_LOG] = AuditAccess._base_manager.aggregate(top=Max("sequence"))["top"] or 0
    if connection.vendor == "postgresql":
        _settle()
    return tops


def _settle() -> None:
    """Wait until every other transaction of this database that holds a transaction id now
    (every one that has written) has ended. They are read from ``pg_locks``, where each holds
    its own id's lock (``pg_current_snapshot()`` leaves out those that started after the newest
    one ended). A writer between drawing its id and its first row (microseconds) is missed."""
    holding = (
        "SELECT array_agg(transactionid::text) FROM pg_locks WHERE locktype = 'transactionid' "
        "AND mode = 'ExclusiveLock' AND granted AND pid IS DISTINCT FROM pg_backend_pid() "
        "AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
    )
    with connection.cursor() as cursor:
        cursor.execute(holding)
        running = cursor.fetchone()[0] or []
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while running:
            cursor.execute(f"{holding} AND transactionid::text = ANY(%s)", [running])
            running = cursor.fetchone()[0] or []
            if running and time.monotonic() > deadline:
                raise CheckpointError(
                    f"{len(running)} transaction(s) still running after {SETTLE_TIMEOUT:.0f} s; "
                    "the checkpoint cannot know their records. Try again."
                )
            if running:
                time.sleep(0.05)


def _plain(value):
    """``value`` as JSON gives it back (times and decimals as text)."""
    return json.loads(json.dumps(value, cls=AuditJSONEncoder))


def _masked(value) -> dict:
    """A hidden value (a token digest) as the leaf carries it: only its SHA-256."""
    return {"sha256": hashlib.sha256(signing.canonical_json(_plain(value))).hexdigest()}


def _public_content(model, content: dict) -> dict:
    """A record's content with its hidden fields' values replaced by their SHA-256."""
    hidden = hidden_history_fields(model)
    if not hidden:
        return content
    attnames = {model._meta.get_field(name).attname for name in hidden}
    content["fields"] = {
        name: _masked(value) if name in attnames else value
        for name, value in content["fields"].items()
    }
    content["changes"] = [
        {k: v if k == "field" else _masked(v) for k, v in change.items()}
        if change.get("field") in hidden
        else change
        for change in content["changes"]
    ]
    return content


def log_records(log: str, after: int, upto: int):
    """The leaf data (:func:`signing.leaf_data`) of ``log``'s records with ids in
    (``after``, ``upto``], in id order, read in pages of :data:`LEAF_PAGE`."""
    if log == ACCESS_LOG:
        entries = AuditAccess._base_manager.order_by("sequence")
        while True:
            page = list(entries.filter(sequence__gt=after, sequence__lte=upto)[:LEAF_PAGE])
            for entry in page:
                content = _plain(entry_content(entry))
                yield signing.leaf_data(log, entry.sequence, None, content, entry.record_hash)
            if len(page) < LEAF_PAGE:
                return
            after = page[-1].sequence
    model = _history_models()[log]
    history = model.history.model
    object_field = model._meta.pk.attname
    accessors = [accessor for accessor, _ in link_accessors(history).values()]
    records = history._base_manager.order_by("history_id").prefetch_related(*accessors)
    while True:
        page = list(records.filter(history_id__gt=after, history_id__lte=upto)[:LEAF_PAGE])
        for record in page:
            content = _public_content(model, _plain(record_content(record, recorded_links(record))))
            yield signing.leaf_data(
                log, record.history_id, getattr(record, object_field), content, record.record_hash
            )
        if len(page) < LEAF_PAGE:
            return
        after = page[-1].history_id


def newest_signed() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.filter(number__isnull=False).order_by("-number").first()


def extend_tree(log: str, state: dict, top: int, previous) -> signing.MerkleTree:
    """``log``'s tree as ``state`` (``previous``'s) left it, extended by the records up to id
    ``top``, and its tiles with it. A tree whose tiles are not stored (built before they were,
    or damaged) has them rebuilt from its first record, once; the records ``previous`` covered
    must still hash to the root it signed."""
    tree = signing.MerkleTree(state["size"], state["frontier"])
    tiles = TileWriter.resume(log, tree)
    after, signed = state["max_id"], None
    if tiles is None:
        signed = (tree.size, tree.root())
        tree, tiles, after = signing.MerkleTree(), TileWriter.restart(log), 0
    for leaf in log_records(log, after, top):
        leaf_hash = signing.leaf_hash(leaf)
        tree.append(leaf_hash)
        tiles.append(leaf_hash, leaf["id"])
        if signed is not None and tree.size == signed[0] and tree.root() != signed[1]:
            raise CheckpointError(
                f"{log}: its first {signed[0]} records no longer hash to the root checkpoint "
                f"{previous.number} signed: history altered (run verify_audit)."
            )
    if signed is not None and tree.size < signed[0]:
        raise CheckpointError(
            f"{log}: checkpoint {previous.number} covered {signed[0]} records, there are "
            f"{tree.size}: records deleted (run verify_audit)."
        )
    tiles.close()
    return tree


def signed_fields(key) -> dict:
    """The signed part of a new checkpoint: every log's tree extended from the newest signed
    checkpoint's by the records written since, and the statement of their heads signed."""
    previous = newest_signed()
    before = previous.trees if previous is not None else {}
    trees, heads = {}, {}
    for log, top in log_tops().items():
        state = before.get(log, {"size": 0, "frontier": [], "max_id": 0})
        tree = extend_tree(log, state, top, previous)
        trees[log] = {**tree.state(), "max_id": max(top, state["max_id"])}
        heads[log] = {"size": tree.size, "root": tree.root()}
    signer = current_signing_key(key)
    if previous is not None and previous.key_id != signer.key_id:
        newer = AuditSigningKey.objects.filter(key_id=previous.key_id, pk__gt=signer.pk)
        if newer.exists():
            raise CheckpointError(
                f"AUDIT_SIGNING_KEY (key {signer.key_id}) was retired: checkpoint "
                f"{previous.number} is signed by its successor {previous.key_id}."
            )
    statement = signing.checkpoint_statement(
        number=previous.number + 1 if previous is not None else 1,
        created_at=timezone.now().astimezone(datetime.UTC).isoformat(),
        key=signer.key_id,
        previous=signing.statement_digest(previous.statement) if previous is not None else "",
        logs=heads,
    )
    return {
        "number": statement["number"],
        "statement": statement,
        "signature": signing.sign(key, statement),
        "key_id": signer.key_id,
        "trees": trees,
    }


def current_signing_key(key) -> AuditSigningKey:
    """The stored public half of ``key``: the first key is stored on its first use; any other
    must have been rotated to (``manage.py audit_rotate_key``), so that the key before it
    vouches for it."""
    public = key.public_key()
    key_id = signing.key_id(public)
    stored = AuditSigningKey.objects.filter(key_id=key_id).first()
    if stored is not None:
        return stored
    if AuditSigningKey.objects.exists():
        raise CheckpointError(
            f"AUDIT_SIGNING_KEY (key {key_id}) is not a key rotated to: "
            "run manage.py audit_rotate_key with the current key to hand over to a new one."
        )
    return AuditSigningKey.objects.create(key_id=key_id, public_key=signing.public_key_text(public))


def parse_kept_copy(line: str) -> AuditCheckpoint:
    """A checkpoint from one line that :func:`export` wrote (unsaved: it is compared, never
    stored); ValueError if the line is not one."""
    try:
        data = json.loads(line)
        return AuditCheckpoint(
            pk=int(data["id"]),
            tables=dict(data["tables"]),
            seal=data["seal"],
            chain_key_id=data.get("chain_key_id", ""),
        )
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"not a checkpoint line: {error}") from None


def export(checkpoint: AuditCheckpoint) -> str:
    """One line of JSON holding the whole checkpoint, for a copy kept outside the database
    (with its signed statement, signature and key id when it was signed)."""
    signed = {}
    if checkpoint.number is not None:
        signed = {
            "statement": checkpoint.statement,
            "signature": checkpoint.signature,
            "key_id": checkpoint.key_id,
        }
    return json.dumps(
        {
            "id": checkpoint.pk,
            "created_at": checkpoint.created_at,
            "tables": checkpoint.tables,
            "seal": checkpoint.seal,
            "chain_key_id": checkpoint.chain_key_id,
            **signed,
        },
        cls=AuditJSONEncoder,
        sort_keys=True,
    )


def rotate_signing_key(key):
    """Hand over from ``key`` (the current AUDIT_SIGNING_KEY, the newest stored key) to a new
    one: store the new public key with the rotation statement both keys sign. Returns the new
    private key, which the operator puts in AUDIT_SIGNING_KEY; ``key`` is then kept for
    verification only (checkpoints signed by it stay valid; new ones are refused)."""
    with checkpoint_lock():
        current = current_signing_key(key)
        newest = AuditSigningKey.objects.order_by("-pk").first()
        if newest.pk != current.pk:
            raise CheckpointError(
                f"AUDIT_SIGNING_KEY (key {current.key_id}) was already rotated to "
                f"{newest.key_id}: rotate from the newest key."
            )
        new = signing.generate_private_key()
        public = new.public_key()
        statement = signing.rotation_statement(
            old=current.key_id,
            new=signing.key_id(public),
            public_key=signing.public_key_text(public),
            at=timezone.now().astimezone(datetime.UTC).isoformat(),
        )
        AuditSigningKey.objects.create(
            key_id=statement["to"],
            public_key=statement["public_key"],
            rotation=statement,
            predecessor_signature=signing.sign(key, statement),
            successor_signature=signing.sign(new, statement),
        )
    return new
