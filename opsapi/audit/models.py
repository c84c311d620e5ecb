"""The audit app's own records: who read the trail, and checkpoints of its state.

Both are append-only like the history tables (database triggers on PostgreSQL).
"""

from contextlib import nullcontext

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from opsapi.audit.access_log import entry_digest, next_sequence, numbering_lock
from opsapi.audit.chain import (
    AuditJSONEncoder,
    current_key_id,
    hmac_under,
    key_id,
    rotation_content,
)
from opsapi.audit.context import current_request_id

# How many times a writer draws a number again, under the lock, after losing it to another.
NUMBERING_ATTEMPTS = 20


class AccessLogWriteError(RuntimeError):
    """Raised by the ways of writing access-log rows other than AuditAccess.record()."""


class AccessLogQuerySet(models.QuerySet):
    """Entries are written by :meth:`AuditAccess.record` alone, numbered and sealed: the other
    ways of adding rows are refused. (Changing or deleting them the database refuses, on
    PostgreSQL, and ``verify_audit`` reports.)"""

    def _refuse(self, operation: str):
        raise AccessLogWriteError(
            f"{operation} would write access-log entries unnumbered and unsealed; "
            "write them with AuditAccess.record()."
        )

    def create(self, **kwargs):
        self._refuse("AuditAccess.objects.create()")

    def bulk_create(self, objs, *args, **kwargs):
        self._refuse("bulk_create()")


class AuditAccess(models.Model):
    """One read of the audit trail: an object's history, the audit log, a point-in-time view
    or an export — who, when, which request, and with what arguments."""

    # (The docstring above is the API's description of AuditRead.) Every entry is numbered and
    # sealed (opsapi.audit.access_log), so that verify_audit notices an entry edited or
    # deleted; entries are written only by record().

    sequence = models.PositiveBigIntegerField(
        unique=True, editable=False, help_text="Place in the log: 1, 2, 3, … with no gaps."
    )
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="audit_reads",
        help_text="Who read it (empty for a command run, see request_id).",
    )
    request_id = models.CharField(max_length=64, blank=True)
    operation = models.CharField(max_length=32, help_text="history, auditLog, asOf or export.")
    target = models.CharField(
        max_length=300, help_text="What was read: a field path, an object ID, a time range."
    )
    arguments = models.JSONField(
        default=dict, encoder=AuditJSONEncoder, help_text="Filters and arguments, as sent."
    )
    record_hash = models.CharField(
        max_length=64, editable=False, help_text="HMAC of the entry and its sequence."
    )
    chain_key_id = models.CharField(
        max_length=16,
        blank=True,
        default="",
        editable=False,
        help_text="Id of the chain key that sealed the entry (empty: sealed before key ids, "
        "under the original key).",
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit trail read"
        indexes = [models.Index(fields=["-at", "-id"], name="audit_access_at_idx")]

    def __str__(self):
        return f"{self.user} read {self.operation} {self.target} at {self.at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, *, user, operation: str, target: str, arguments: dict) -> "AuditAccess":
        """Put one read on the record, with the current request (or command run) id: the one
        way an entry is written, numbered next in the log and sealed.

        Two statements: the number, the row. The unique index refuses a number another writer
        took meanwhile; outside a transaction (as requests and commands run) the writer then
        draws again, one such writer at a time (:func:`numbering_lock`), until its row is in.
        Inside a transaction it cannot (PostgreSQL aborts the transaction at the refusal): the
        IntegrityError goes to the caller, who may hold a savepoint (RecordAuditReads does)."""
        fields = {
            "user": user,
            "request_id": current_request_id(),
            "operation": operation,
            "target": target[:300],
            "arguments": arguments,
        }
        if connection.in_atomic_block:
            entry = cls._sealed(fields)
            entry.save(force_insert=True)
            return entry
        attempts = 0
        while True:
            try:
                with transaction.atomic() if attempts else nullcontext():
                    if attempts:
                        numbering_lock()
                    entry = cls._sealed(fields)
                    entry.save(force_insert=True)
                return entry
            except IntegrityError:
                taken = cls._base_manager.filter(sequence=entry.sequence).exists()
                if not taken or attempts == NUMBERING_ATTEMPTS:
                    raise
                attempts += 1

    @classmethod
    def _sealed(cls, fields: dict) -> "AuditAccess":
        """A new entry holding ``fields``, numbered next and sealed (not saved yet)."""
        entry = cls(
            sequence=next_sequence(cls._base_manager),
            at=timezone.now(),
            chain_key_id=current_key_id(),
            **fields,
        )
        entry.record_hash = entry_digest(entry)
        return entry


class AuditCheckpoint(models.Model):
    """A sealed summary of every history table at one moment: how many records it held, its
    highest history id, and a digest of every object's newest record hash. Records that
    existed at a checkpoint cannot later vanish or change without verify_audit noticing."""

    created_at = models.DateTimeField(auto_now_add=True)
    tables = models.JSONField(
        encoder=AuditJSONEncoder, help_text="{table: {records, max_history_id, heads}}."
    )
    seal = models.CharField(max_length=64, help_text="HMAC of the tables summary.")
    chain_key_id = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="Id of the chain key that sealed it (empty: sealed before key ids, under the "
        "original key).",
    )
    # Signed with AUDIT_SIGNING_KEY (opsapi.audit.signing), when it is set:
    number = models.PositiveIntegerField(
        null=True, unique=True, help_text="Place among the signed checkpoints: 1, 2, 3, …"
    )
    statement = models.JSONField(
        null=True, help_text="What was signed: every log's Merkle tree size and root."
    )
    signature = models.TextField(blank=True, help_text="Ed25519 signature of the statement.")
    key_id = models.CharField(max_length=16, blank=True, help_text="The signing key's id.")
    trees = models.JSONField(
        default=dict, help_text="{log: {size, frontier, max_id}}: where the next one goes on."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Checkpoint {self.pk} at {self.created_at:%Y-%m-%d %H:%M}"


class AuditSigningKey(models.Model):
    """A public key that has signed checkpoints (its private half is AUDIT_SIGNING_KEY, never
    stored). A key after the first names its predecessor and carries the rotation statement
    both keys signed, so that either vouches for the other (opsapi.audit.signing)."""

    key_id = models.CharField(max_length=16, unique=True)
    public_key = models.CharField(max_length=64, help_text="Raw Ed25519 public key, base64.")
    created_at = models.DateTimeField(default=timezone.now)
    rotation = models.JSONField(null=True, help_text="The rotation statement (none for the first).")
    predecessor_signature = models.TextField(blank=True)
    successor_signature = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Signing key {self.key_id}"


class AuditChainKeyRotation(models.Model):
    """A handover of the history chain key (``manage.py audit_rotate_chain_key``): from the key
    that sealed records until then to the new one, at one moment. Sealed under both keys (the
    HMAC of :func:`opsapi.audit.chain.rotation_content`), so that ``verify_audit``, holding
    both, shows that whoever rotated held both."""

    at = models.DateTimeField(default=timezone.now, editable=False)
    old_key_id = models.CharField(max_length=16, editable=False)
    new_key_id = models.CharField(max_length=16, editable=False)
    old_seal = models.CharField(max_length=64, editable=False, help_text="HMAC under the old key.")
    new_seal = models.CharField(max_length=64, editable=False, help_text="HMAC under the new key.")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Chain key {self.old_key_id} → {self.new_key_id} at {self.at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, *, new_key: str) -> "AuditChainKeyRotation":
        """Put on the record the handover from ``AUDIT_CHAIN_KEY`` to ``new_key`` now, sealed
        under both."""
        rotation = cls(at=timezone.now(), old_key_id=current_key_id(), new_key_id=key_id(new_key))
        content = rotation_content(rotation)
        rotation.old_seal = hmac_under(settings.AUDIT_CHAIN_KEY, content)
        rotation.new_seal = hmac_under(new_key, content)
        rotation.save(force_insert=True)
        return rotation


class AuditTreeTile(models.Model):
    """Up to 256 hashes of one row of a log's Merkle tree, as checkpoints built it: what an
    inclusion proof is read from (opsapi.audit.tiles). Derived from the records, so not
    evidence itself: a proof read from it is checked against the signed root."""

    log = models.CharField(max_length=100, help_text="The history table, or the access log.")
    level = models.PositiveSmallIntegerField(
        help_text="0: leaf hashes; L: the roots of the full tiles of level L - 1."
    )
    index = models.PositiveBigIntegerField(help_text="Place in its level: 0, 1, 2, …")
    width = models.PositiveSmallIntegerField(help_text="How many hashes: 256 once full.")
    hashes = models.BinaryField(help_text="The hashes (SHA-256, 32 bytes each), in tree order.")
    first_id = models.PositiveBigIntegerField(
        null=True, help_text="Level 0: the id of its first record."
    )
    ids = models.JSONField(null=True, help_text="Level 0: the ids of its records, in order.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log", "level", "index"], name="audit_tile_place")
        ]
        indexes = [models.Index(fields=["log", "level", "first_id"], name="audit_tile_first_id")]

    def __str__(self):
        return f"{self.log} tile {self.level}/{self.index} ({self.width})"
