"""History tracking shared by every domain model.

Every tracked model derives from :class:`TrackedModel` and declares ``history =
tracked_history(...)``. Each historical record then carries, besides simple-history's who /
when / why / type and the full row snapshot (see :mod:`opsapi.audit.recording`):

- ``request_id``: the request or command run that made the change;
- ``changes``: the field-level difference to the object's previous record, computed when the
  record is written (so reading a trail never has to fetch predecessors, and the record states
  what the change was at the time it was made);
- ``previous_hash`` and ``record_hash``: the per-object HMAC chain (:mod:`opsapi.audit.chain`),
  and ``chain_key_id``, the id of the key that sealed the record.

Write paths that would change rows without a history record (``QuerySet.update()``,
``bulk_update()``, ``bulk_create()`` and saving ``F()`` expressions) raise
:class:`HistoryBypassError` on tracked models.
"""

import functools

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords
from simple_history.signals import (
    post_create_historical_m2m_records,
    pre_create_historical_m2m_records,
)

from opsapi.accounts.access import roles_of
from opsapi.audit.chain import AuditJSONEncoder
from opsapi.audit.recording import LinkTable, link_tables
from opsapi.errors import unstorable_text

HISTORY_RELATED_NAME = "history_records"

# A filter that matches no row (Django answers it without a query).
NOTHING = Q(pk__in=[])


class HistoryBypassError(RuntimeError):
    """Raised by write paths that would change a tracked row without a history record."""


def _refuse(operation: str, model: type[models.Model]):
    raise HistoryBypassError(
        f"{operation} on {model.__name__} would change rows without a history record; "
        f"change tracked rows through their services (which save each object) instead."
    )


class TrackedQuerySet(models.QuerySet):
    """QuerySet for tracked models: scoping to a caller, and no bulk writes that skip history."""

    def visible_to(self, user):
        """The rows ``user`` may see."""
        return self.filter(self.model.visibility(user))

    def update(self, **kwargs):
        _refuse("QuerySet.update()", self.model)

    def bulk_update(self, objs, fields, batch_size=None):
        _refuse("bulk_update()", self.model)

    def bulk_create(self, objs, *args, **kwargs):
        _refuse("bulk_create()", self.model)


class TrackedModel(models.Model):
    """Base of every domain model whose changes must be on the record."""

    objects = TrackedQuerySet.as_manager()

    # Fields added after history records exist (see opsapi.audit.chain.record_content).
    history_added_fields: frozenset[str] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        for field in self._meta.concrete_fields:
            if hasattr(getattr(self, field.attname, None), "resolve_expression"):
                raise HistoryBypassError(
                    f"{type(self).__name__}.{field.name} holds a database expression; "
                    "the history record would not hold the value written. Assign the value."
                )
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None):
        errors = {}
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname, None)
            problem = isinstance(value, str) and unstorable_text(value)
            if problem:
                errors[field.name] = [problem]
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            for name, messages in error.error_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        """Report a multi-field uniqueness violation on its first field (code ``unique``), so
        clients learn which input to change instead of getting an error with no field."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            keyed = {}
            for name, messages in error.error_dict.items():
                for message in messages:
                    fields = (message.params or {}).get("unique_check")
                    key = name
                    if name == NON_FIELD_ERRORS and message.code == "unique_together" and fields:
                        key = fields[0]
                        message = ValidationError(
                            message.message, code="unique", params=message.params
                        )
                    keyed.setdefault(key, []).append(message)
            raise ValidationError(keyed) from None

    @classmethod
    def visibility(cls, user) -> Q:
        """The rows ``user`` may see, as a filter: the one place a model decides visibility.

        By default anyone with a role sees every row (reference data); operational models
        narrow this down.
        """
        return Q() if roles_of(user).any else NOTHING


class HistoryRecord(models.Model):
    """Fields every historical record carries beyond simple-history's own."""

    request_id = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="The request or command run that made this change.",
    )
    changes = models.JSONField(
        default=list,
        encoder=AuditJSONEncoder,
        help_text="Field-level difference to the previous record: [{field, old, new}].",
    )
    previous_hash = models.CharField(
        max_length=64, blank=True, help_text="record_hash of the object's previous record."
    )
    record_hash = models.CharField(
        max_length=64, help_text="HMAC of this record's content and previous_hash."
    )
    chain_key_id = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="Id of the chain key that sealed this record (empty: sealed before key ids, "
        "under the original key).",
    )

    class Meta:
        abstract = True


def hidden_history_fields(model) -> frozenset[str]:
    """Fields of a tracked ``model`` kept in its records (and their hashes) but never shown
    from them, by the API, the export or the admin: its ``history_hidden_fields``."""
    return frozenset(getattr(model, "history_hidden_fields", ()))


class TrackedHistoryManager(HistoryManager):
    """simple-history's manager of an object's (or a model's) records, ``obj.history``.

    simple-history builds the manager class anew from its queryset class on every access of
    ``.history`` (``from_queryset`` walks the queryset class with ``inspect``), which writing
    a record does once; built once here.
    """

    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


class TrackedHistoricalRecords(HistoricalRecords):
    """simple-history's ``HistoricalRecords`` that also lets a service write the record itself.

    Services that change many-to-many links save the row and its links with history
    suspended and then write one record holding the whole change, instead of one record per
    ``save()`` and per link operation.
    """

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            sender._history_tracker = self

    def get_meta_options(self, model):
        # The trail is read newest first, globally (the audit log, exports: by date) and per
        # object (a `history` connection, verification): index both orders. Each object's
        # chain follows history_id (opsapi.audit.checkpoints.chain_order): its head, read for
        # every record written, is one index entry away however long the object's history
        # (this index stands in for simple-history's own on the object id, see
        # tracked_history).
        meta = super().get_meta_options(model)
        meta["indexes"] = [
            models.Index(fields=["history_date", "history_id"]),
            models.Index(fields=["history_relation", "history_date", "history_id"]),
            models.Index(fields=[model._meta.pk.attname, "history_id"]),
        ]
        return meta

    def post_save(self, instance, created, using=None, **kwargs):
        # A save of untracked fields only (a user's last_login) changes nothing on the record.
        update_fields = kwargs.get("update_fields")
        if not created and update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, **kwargs)

    def create_historical_record_m2ms(self, history_instance, instance):
        """The record's many-to-many snapshot rows, as simple-history writes them (a copy of
        each link row, its signals sent), from the link rows read for the record's digest
        (opsapi.audit.recording) instead of reading every table of links again, and written
        by :func:`insert_snapshot_rows`."""
        rows = getattr(history_instance, "_link_rows", None)
        if rows is None:
            super().create_historical_record_m2ms(history_instance, instance)
            return
        fields = history_instance.instance_type._meta
        batches = [
            (
                table,
                fields.get_field(table.name),
                [
                    table.rows_model(
                        history=history_instance, **dict(zip(table.attnames, row, strict=True))
                    )
                    for row in rows[table.name]
                ],
            )
            for table in link_tables(type(history_instance))
        ]
        for table, field, insert_rows in batches:
            pre_create_historical_m2m_records.send(
                sender=table.rows_model,
                rows=insert_rows,
                history_instance=history_instance,
                instance=instance,
                field=field,
            )
        insert_snapshot_rows([(table, insert_rows) for table, _, insert_rows in batches])
        for table, field, insert_rows in batches:
            post_create_historical_m2m_records.send(
                sender=table.rows_model,
                created_rows=insert_rows,
                history_instance=history_instance,
                instance=instance,
                field=field,
            )


def insert_snapshot_rows(batches: list[tuple[LinkTable, list]]) -> None:
    """Insert one record's many-to-many snapshot rows, given as (link table, unsaved rows),
    and give each its primary key.

    On PostgreSQL every table's rows go in one statement (each table's INSERT a
    data-modifying WITH query): a record of an incident linked in three tables costs one round
    trip instead of three. Elsewhere, and for a single table, one ``bulk_create`` per table;
    a table without rows costs nothing.
    """
    batches = [(table, rows) for table, rows in batches if rows]
    if connection.vendor != "postgresql" or len(batches) < 2:
        for table, rows in batches:
            table.rows_model.objects.bulk_create(rows)
        return
    quote = connection.ops.quote_name
    clauses, results, params = [], [], []
    for index, (table, rows) in enumerate(batches):
        model = table.rows_model
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        # The copy of the link's id tells the rows of one record apart.
        pk, key = model._meta.pk, model._meta.get_field(table.attnames[0])
        clauses.append(
            f"t{index} AS (INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row_sql] * len(rows))} "
            f"RETURNING {quote(pk.column)}, {quote(key.column)})"
        )
        results.append(f"SELECT {index}, {quote(pk.column)}, {quote(key.column)} FROM t{index}")
        params += [
            field.get_db_prep_save(getattr(row, field.attname), connection)
            for row in rows
            for field in fields
        ]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(clauses)} {' UNION ALL '.join(results)}", params)
        inserted = {(index, key): pk for index, pk, key in cursor.fetchall()}
    for index, (table, rows) in enumerate(batches):
        key = table.rows_model._meta.get_field(table.attnames[0])
        for row in rows:
            row.pk = inserted[index, getattr(row, key.attname)]
            row._state.adding = False
            row._state.db = connection.alias


def tracked_history(*, m2m_fields=(), **options):
    """The ``HistoricalRecords`` configuration shared by all tracked models."""
    return TrackedHistoricalRecords(
        bases=[HistoryRecord],
        history_manager=TrackedHistoryManager,
        history_id_field=models.BigAutoField(primary_key=True),
        related_name=HISTORY_RELATED_NAME,
        m2m_fields=list(m2m_fields),
        # The object id is indexed with history_id instead (get_meta_options).
        no_db_index=["id"],
        **options,
    )


def track_existing_model(model, *, app_config_name: str, app_label: str, **options):
    """Track a model of another app (e.g. ``auth.User``) with the same configuration, its
    history model living in our app ``app_label``.

    Does what ``simple_history.register`` does; register derives the history model's module
    from the app *label*, which for an app inside a package (opsapi.accounts) is not importable.
    """
    records = tracked_history(app=app_label, **options)
    records.manager_name = "history"
    records.table_name = None
    records.module = f"{app_config_name}.models"
    records.cls = model
    records.add_extra_methods(model)
    records.finalize(model)
    return records


def save_with_history(obj, *, actor, reason: str = "", links=None):
    """Save ``obj`` (and set its many-to-many ``links``) as one history record.

    ``actor`` is the user responsible, ``reason`` the change reason, ``links`` a mapping of
    many-to-many field name to the complete new set of related objects.
    """
    obj._history_user = actor
    obj._change_reason = reason or None
    created = obj._state.adding
    if not links:
        obj.save()
        return obj
    with transaction.atomic():
        obj.skip_history_when_saving = True
        try:
            obj.save()
            for name, related in links.items():
                getattr(obj, name).set(related)
        finally:
            del obj.skip_history_when_saving
        type(obj)._history_tracker.create_historical_record(obj, "+" if created else "~")
    return obj


def delete_with_history(obj, *, actor, reason: str = ""):
    """Delete ``obj``; its history is kept and ends with a deletion record."""
    obj._history_user = actor
    obj._change_reason = reason or None
    obj.delete()
