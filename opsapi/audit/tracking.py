"""History tracking shared by every domain model.

Every tracked model derives from :class:`TrackedModel` and declares ``history =
tracked_history(...)``. Each historical record then carries, besides simple-history's who /
when / why / type and the full row snapshot:

- ``request_id``: the request or command run that made the change;
- ``changes``: the field-level difference to the object's previous record, computed when the
  record is written (so reading a trail never has to fetch predecessors, and the record states
  what the change was at the time it was made).

Write paths that would change rows without a history record (``QuerySet.update()``,
``bulk_update()``, ``bulk_create()`` and saving ``F()`` expressions) raise
:class:`HistoryBypassError` on tracked models.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords
from simple_history.utils import get_m2m_reverse_field_name

from opsapi.accounts.access import can_use_api
from opsapi.audit.context import current_request_id

HISTORY_RELATED_NAME = "history_records"


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
            if isinstance(value, str) and "\x00" in value:
                errors[field.name] = [
                    ValidationError("Null characters are not allowed.", code="null_characters")
                ]
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
        """The rows ``user`` may see, as a filter (the one place visibility is decided)."""
        return Q() if can_use_api(user) else Q(pk__in=[])


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
        encoder=DjangoJSONEncoder,
        help_text="Field-level difference to the previous record: [{field, old, new}].",
    )

    class Meta:
        abstract = True


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


def tracked_history(*, m2m_fields=()):
    """The ``HistoricalRecords`` configuration shared by all tracked models."""
    return TrackedHistoricalRecords(
        bases=[HistoryRecord],
        history_id_field=models.BigAutoField(primary_key=True),
        related_name=HISTORY_RELATED_NAME,
        m2m_fields=list(m2m_fields),
    )


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


def _m2m_ids(manager, attname: str) -> list:
    return sorted(manager.values_list(attname, flat=True))


def compute_changes(instance, history_instance) -> list[dict]:
    """What ``history_instance`` changes relative to the object's previous record."""
    if history_instance.history_type == "-":
        return []
    previous = None
    if history_instance.history_type == "~":
        previous = instance.history.order_by("-history_date", "-history_id").first()

    changes = []
    for field in history_instance.tracked_fields:
        if field.primary_key:
            continue
        new = getattr(history_instance, field.attname)
        old = getattr(previous, field.attname) if previous else None
        if old != new:
            changes.append({"field": field.name, "old": old, "new": new})

    for field in history_instance._history_m2m_fields:
        new = _m2m_ids(getattr(instance, field.name), "pk")
        old = None
        if previous is not None:
            target = get_m2m_reverse_field_name(field)
            old = _m2m_ids(getattr(previous, field.name), f"{target}_id")
        if (old or []) != new:
            changes.append({"field": field.name, "old": old, "new": new})
    return changes


def stamp_historical_record(sender, instance, history_instance, **kwargs):
    """pre_create_historical_record: add the request id and the field-level changes."""
    history_instance.request_id = current_request_id()
    history_instance.changes = compute_changes(instance, history_instance)
