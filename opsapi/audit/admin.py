"""Base classes for the Django admin of tracked models.

Two rules shape every admin screen of the project:

- **Writes go through the services.** The admin never calls ``save()``, ``delete()`` or
  ``form.save_m2m()`` on a tracked model: a :class:`ServiceAdmin` hands the cleaned form data
  to the app's service function, which checks permission, validates, and writes one history
  record per changed row (many-to-many links included) with the admin user and the change
  reason typed into the form. A ``ValidationError`` raised by a service is shown on the form
  it concerns, like any other validation error, and nothing of the save is kept.
- **History is read-only.** History pages list each record's user, date, change reason and
  the field changes stored with it; no screen edits, reverts or deletes a record, whatever
  the settings say.
- **Roles decide what a screen offers.** Each admin declares its :class:`AdminRules`: who may
  look rows and their history up, and who may add, change or delete them, as functions of the
  user (the services' own ``require_*`` checks wherever a service guards the write), so the
  admin never shows a button the service would refuse. Django's model permissions (granted to
  the role groups by ``accounts/migrations/0002_roles``) are required as well.

Admin classes in the apps stay thin: they declare what to show and call their services.
"""

import dataclasses
from collections.abc import Callable
from contextlib import contextmanager

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.db import transaction
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from opsapi.accounts.access import can_read_history, require_administrator, roles_of
from opsapi.audit.models import AuditAccess, AuditCheckpoint
from opsapi.audit.tracking import hidden_history_fields
from opsapi.errors import MAX_CHANGE_REASON

CHANGE_REASON = "change_reason"

# Where a rejected save leaves the services' errors for the second rendering of the form.
_SERVICE_ERRORS = "_admin_service_errors"


class ServiceRejected(Exception):
    """A service refused an admin save; carries its error and the prefix of the form at fault."""

    def __init__(self, prefix: str | None, error: ValidationError):
        super().__init__(error)
        self.prefix = prefix
        self.error = error


@contextmanager
def rejected_on(form):
    """Report a ``ValidationError`` raised inside the block on ``form`` (see ServiceAdmin)."""
    try:
        yield
    except ValidationError as error:
        raise ServiceRejected(form.prefix, error) from error


def form_values(form, names, *, changed_only: bool = False) -> dict:
    """The cleaned values of the form fields among ``names`` (only changed ones if asked)."""
    fields = form.changed_data if changed_only else form.fields
    return {name: form.cleaned_data[name] for name in fields if name in names}


def adopt(target, saved) -> None:
    """Make the admin's ``target`` instance stand for the row a service saved as ``saved``.

    Services build and save their own instance; the admin goes on using the form's (to log
    the change, name it in messages and link inline rows to it).
    """
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ServiceErrorsForm(forms.ModelForm):
    """A form that shows the errors a service raised when the same data was saved."""

    service_errors: dict = {}  # form prefix -> ValidationError, set per request

    def clean(self):
        cleaned_data = super().clean()
        error = self.service_errors.get(self.prefix)
        if error is not None:
            self._add_service_error(error)
        return cleaned_data

    def _add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            if field in self.fields:
                self.add_error(field, errors)
            elif field == NON_FIELD_ERRORS:
                self.add_error(None, errors)
            else:
                # A field the form does not show (e.g. one a service derives): say which.
                self.add_error(None, [f"{field}: {message}" for e in errors for message in e])


class ChangeReasonForm(ServiceErrorsForm):
    """Admin form with the optional change reason that goes into the history record."""

    change_reason = forms.CharField(
        required=False,
        max_length=MAX_CHANGE_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this change is made. Recorded in the history with your name.",
    )


# --- who may use a screen ---------------------------------------------------------------------


def allowed_by(check) -> Callable[[object], bool]:
    """A rule admitting whoever passes ``check``, one of the ``require_*`` permission checks of
    :mod:`opsapi.accounts.access` that the services call."""

    def rule(user) -> bool:
        try:
            check(user)
        except PermissionDenied:
            return False
        return True

    return rule


def nobody(user) -> bool:
    """No one: the operation is not offered in the admin."""
    return False


def officers_and_auditors(user) -> bool:
    """Operational rows (incidents, actions) are read by officers and auditors only."""
    return roles_of(user).reads_everything


def auditors_and_administrators(user) -> bool:
    """Accounts, tokens and the audit app's records: administrators, and auditors reading."""
    roles = roles_of(user)
    return roles.auditor or roles.administrator


administrators = allowed_by(require_administrator)


@dataclasses.dataclass(frozen=True)
class AdminRules:
    """Who may use an admin screen: each operation is a function of the user.

    By default officers, auditors and administrators look rows and their history up
    (:func:`~opsapi.accounts.access.can_read_history`) and nobody writes.
    """

    view: Callable[[object], bool] = can_read_history
    add: Callable[[object], bool] = nobody
    change: Callable[[object], bool] = nobody
    delete: Callable[[object], bool] = nobody


class RoleRulesMixin:
    """``has_*_permission`` of a model admin or inline from its :class:`AdminRules`, and from
    Django's model permissions (both must agree)."""

    rules = AdminRules()

    def has_module_permission(self, request):
        return self.rules.view(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.rules.view(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):  # inlines are also given the parent obj
        return self.rules.add(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.rules.change(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.rules.delete(request.user) and super().has_delete_permission(request, obj)


def _with_service_errors(form_class, request):
    errors = getattr(request, _SERVICE_ERRORS, None)
    if not errors:
        return form_class
    return type(form_class.__name__, (form_class,), {"service_errors": errors})


def is_history_page(request) -> bool:
    """Whether ``request`` is for a past version's page (simple-history's history form)."""
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name and match.url_name.endswith("_simple_history"))


class TrackedAdmin(RoleRulesMixin, SimpleHistoryAdmin):
    """Admin of a tracked model: history pages that show the stored changes, read-only.

    Whoever may view a row may read its history; nobody may change it (``rules`` decide the
    rest). The model's hidden history fields (secrets) are never displayed.
    """

    history_list_display = ["request_id"]

    def get_queryset(self, request):
        return self.visible_rows(super().get_queryset(request), request)

    def visible_rows(self, queryset, request):
        """The rows of ``queryset`` shown to the user of ``request``."""
        # The admin shows no more than the API would: per-role scoping lives in visible_to.
        if hasattr(queryset, "visible_to"):
            queryset = queryset.visible_to(request.user)
        return queryset

    def has_view_history_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_change_history_permission(self, request, obj=None):
        return False  # history is append-only: no revert, no edit, whatever the settings say

    def _check_history_access(self, request, object_id) -> None:
        """Refuse users who may not read this model's history (403), then rows hidden from
        this user (404, like rows that never existed)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        # simple-history falls back to the history of rows missing from get_queryset() (meant
        # for deleted rows); a row that exists but is hidden from this user stays hidden.
        if self.get_object(request, object_id) is None:
            try:
                hidden = self.model._base_manager.filter(pk=unquote(object_id)).exists()
            except (ValueError, ValidationError):
                raise Http404 from None
            if hidden:
                raise Http404

    def _record_read(self, request, object_id, version_id=None) -> None:
        """Reading history in the admin is on the record, as it is through the API."""
        target = f"admin:{self.opts.label}:{object_id}"
        arguments = {"model": self.opts.label, "object": str(object_id)}
        if version_id is not None:
            target += f"@{version_id}"
            arguments["version"] = str(version_id)
        AuditAccess.record(
            user=request.user, operation="history", target=target, arguments=arguments
        )

    def history_view(self, request, object_id, extra_context=None):
        self._check_history_access(request, object_id)
        self._record_read(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history saves a POSTed form here even with SIMPLE_HISTORY_REVERT_DISABLED,
        # bypassing the services and the read-only admins: past versions are only shown.
        if request.method != "GET":
            raise PermissionDenied
        self._check_history_access(request, object_id)
        self._record_read(request, object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if is_history_page(request):
            if self.fieldsets:
                return flatten_fieldsets(self.fieldsets)
            return [field.name for field in self.opts.concrete_fields]
        return super().get_readonly_fields(request, obj)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Show each record's stored ``changes``: what the change was when it was written,
        for every record including creations, without re-diffing neighbours on each view."""
        records = list(historical_records)
        labels = self._related_labels(records)
        hidden = hidden_history_fields(self.model)
        for record in records:
            record.history_delta_changes = [
                {
                    "field": self._field_label(change["field"]),
                    "old": self._display(change["field"], change["old"], labels),
                    "new": self._display(change["field"], change["new"], labels),
                }
                for change in record.changes
                if change["field"] not in hidden
            ]

    def _field(self, name):
        try:
            return self.opts.get_field(name)
        except FieldDoesNotExist:
            return None

    def _field_label(self, name) -> str:
        field = self._field(name)
        return str(field.verbose_name) if field is not None else name

    def _related_labels(self, records) -> dict:
        """{(model, pk): label} for every row the records' changes point to, one query each."""
        wanted = {}
        for record in records:
            for change in record.changes:
                field = self._field(change["field"])
                if field is None or not field.is_relation:
                    continue
                for value in (change["old"], change["new"]):
                    pks = value if isinstance(value, list) else [value]
                    wanted.setdefault(field.related_model, set()).update(
                        pk for pk in pks if pk is not None
                    )
        labels = {}
        for model, pks in wanted.items():
            for pk, obj in model._base_manager.in_bulk(pks).items():
                labels[model, pk] = str(obj)
        return labels

    def _display(self, name, value, labels) -> str:
        field = self._field(name)
        if value is None or value == []:
            return "—"
        if field is not None and field.is_relation:
            pks = value if isinstance(value, list) else [value]
            return ", ".join(
                labels.get((field.related_model, pk), f"#{pk} (deleted)") for pk in pks
            )
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return str(value)


class ServiceAdmin(TrackedAdmin):
    """Admin that saves through service functions, with a change reason on its forms.

    Subclasses implement ``save_model`` (and ``save_formset`` for inlines, ``delete_model``
    if rows may be deleted) by calling their services inside ``rejected_on(form)`` and
    ``adopt()``-ing the saved row. Their ``fieldsets`` leave out ``change_reason``: it is added
    wherever the user can save.
    """

    form = ChangeReasonForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRejected as rejected:
            # The save ran in one transaction, now rolled back: nothing of it is kept. Render
            # the submitted data again, with the service's error on the form at fault.
            setattr(request, _SERVICE_ERRORS, {rejected.prefix: rejected.error})
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # change by keyword: django.contrib.auth's UserAdmin.get_form takes it in **kwargs.
        form = super().get_form(request, obj, change=change, **kwargs)
        return _with_service_errors(form, request)

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name != CHANGE_REASON]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            can_save = self.has_add_permission(request)
        else:
            can_save = self.has_change_permission(request, obj)
        if can_save and not is_history_page(request):
            fieldsets.append(("Why", {"fields": [CHANGE_REASON]}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        raise NotImplementedError(f"{type(self).__name__} must save through a service.")

    def save_related(self, request, form, formsets, change):
        # No form.save_m2m(): the service set the links together with the row, in the same
        # history record (saving them here would add one record per link change).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        raise NotImplementedError(f"{type(self).__name__} must save inline rows via a service.")

    def delete_model(self, request, obj):
        raise NotImplementedError(f"{type(self).__name__} must delete through a service.")

    def delete_queryset(self, request, queryset):
        # QuerySet.delete() would skip the services; delete row by row, all or nothing.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


class ServiceInlineMixin:
    """For inlines of a ServiceAdmin: shows the services' errors on the inline row at fault."""

    form = ServiceErrorsForm

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _with_service_errors(formset.form, request)
        return formset


class ReadOnlyAdmin(TrackedAdmin):
    """Admin that lists, searches and shows rows and their history, and changes nothing,
    whatever its ``rules`` say."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Inline rows shown, never added, changed or deleted."""

    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- the audit app's own records ---------------------------------------------------------------


class AuditRecordAdmin(RoleRulesMixin, admin.ModelAdmin):
    """The audit app's append-only records: listed and shown, never added, changed or deleted."""

    rules = AdminRules(view=auditors_and_administrators)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.concrete_fields]


@admin.register(AuditAccess)
class AuditAccessAdmin(AuditRecordAdmin):
    """Who read the audit trail: each history read, audit-log page, point-in-time view, export."""

    list_display = ["at", "user", "operation", "target", "request_id"]
    list_filter = ["operation"]
    list_select_related = ["user"]
    search_fields = ["user__username", "target", "request_id"]
    date_hierarchy = "at"


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(AuditRecordAdmin):
    """Sealed summaries of the history tables, which verify_audit checks the trail against."""

    list_display = ["pk", "created_at", "seal"]
