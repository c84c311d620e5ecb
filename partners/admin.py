"""Admin for partner organisations, their contacts, and the reference data they point to.

Every save goes through ``partners.services`` (see ``opsapi.audit.admin``), so the admin keeps
the same rules as the API and leaves one history record per changed row.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.text import capfirst

from opsapi.accounts.access import require_partner_manager
from opsapi.audit.admin import (
    CHANGE_REASON,
    AdminRules,
    RoleRulesMixin,
    ServiceAdmin,
    ServiceInlineMixin,
    administrators,
    adopt,
    allowed_by,
    form_values,
    rejected_on,
)
from partners import services
from partners.models import Contact, Partner, Sector, State, UrbanArea

# Partners and contacts are managed by officers and administrators (the services'
# require_partner_manager); reference data by administrators. Officers, auditors and
# administrators read them all.
partner_managers = allowed_by(require_partner_manager)
CONTACT_RULES = AdminRules(add=partner_managers, change=partner_managers, delete=partner_managers)
REFERENCE_RULES = AdminRules(add=administrators, change=administrators, delete=administrators)


def _reason(form) -> str:
    return form.cleaned_data.get(CHANGE_REASON, "")


class ContactInline(RoleRulesMixin, ServiceInlineMixin, admin.StackedInline):
    """The partner's contacts, added, changed and removed with the partner's form: stacked,
    two fields a line, so that several contacts fit a 1366-pixel screen."""

    rules = CONTACT_RULES
    model = Contact
    fields = [("name", "title"), ("email", "phone"), ("is_primary", "is_24x7")]
    extra = 1


@admin.register(Partner)
class PartnerAdmin(ServiceAdmin):
    """Partner organisations with their contacts; deactivate a partner rather than delete it.

    There is no service to delete a partner: its actions are protected and dropping it would
    silently unshare incidents. An organisation that leaves is made inactive.
    """

    rules = AdminRules(add=partner_managers, change=partner_managers)
    inlines = [ContactInline]
    list_display = ["name", "kind", "level", "state", "urban_area", "watch_phone", "active"]
    list_filter = ["kind", "level", "state", "sectors", "active"]
    list_select_related = ["state", "urban_area"]
    search_fields = ["name", "contacts__name", "contacts__email"]
    filter_horizontal = ["sectors"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "level", "active"]}),
        ("Jurisdiction and sectors", {"fields": ["state", "urban_area", "sectors"]}),
        ("24/7 watch", {"fields": ["watch_phone", "watch_email"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        reason = _reason(form)
        with rejected_on(form):
            if change:
                sectors = form.cleaned_data["sectors"] if "sectors" in form.changed_data else None
                saved = services.update_partner(
                    actor=request.user,
                    partner=obj,
                    sectors=sectors,
                    reason=reason,
                    **form_values(form, services.PARTNER_FIELDS, changed_only=True),
                )
            else:
                saved = services.create_partner(
                    actor=request.user,
                    sectors=form.cleaned_data["sectors"],
                    reason=reason,
                    **form_values(form, services.PARTNER_FIELDS),
                )
        adopt(obj, saved)

    def save_formset(self, request, form, formset, change):
        """Contacts go through the contact services, with the partner form's change reason."""
        actor, reason, partner = request.user, _reason(form), form.instance
        # construct_change_message() reads what formset.save() would have recorded.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        deleted = formset.deleted_forms
        for contact_form in formset.initial_forms:
            contact = contact_form.instance
            with rejected_on(contact_form):
                if contact_form in deleted:
                    services.delete_contact(actor=actor, contact=contact, reason=reason)
                    formset.deleted_objects.append(contact)
                elif contact_form.has_changed():
                    services.update_contact(
                        actor=actor,
                        contact=contact,
                        reason=reason,
                        **form_values(contact_form, services.CONTACT_FIELDS, changed_only=True),
                    )
                    formset.changed_objects.append((contact, contact_form.changed_data))
        for contact_form in formset.extra_forms:
            if not contact_form.has_changed() or contact_form in deleted:
                continue
            with rejected_on(contact_form):
                contact = services.create_contact(
                    actor=actor,
                    partner=partner,
                    reason=reason,
                    **form_values(contact_form, services.CONTACT_FIELDS),
                )
            formset.new_objects.append(contact)


@admin.register(Contact)
class ContactAdmin(ServiceAdmin):
    """Contacts across partners, to find a person and read a contact's history; also added,
    changed and removed on their partner's page."""

    rules = CONTACT_RULES
    list_display = ["name", "partner", "title", "email", "phone", "is_primary", "is_24x7"]
    list_filter = ["is_primary", "is_24x7", "partner__kind"]
    list_select_related = ["partner"]
    search_fields = ["name", "email", "phone", "partner__name"]
    autocomplete_fields = ["partner"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["partner", "name", "title"]}),
        ("Reach", {"fields": ["email", "phone", "is_primary", "is_24x7"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and "partner" not in readonly:
            # A contact stays with its organisation; someone who moves is a new contact there.
            readonly = [*readonly, "partner"]
        return readonly

    def save_model(self, request, obj, form, change):
        with rejected_on(form):
            if change:
                saved = services.update_contact(
                    actor=request.user,
                    contact=obj,
                    reason=_reason(form),
                    **form_values(form, services.CONTACT_FIELDS, changed_only=True),
                )
            else:
                saved = services.create_contact(
                    actor=request.user,
                    partner=form.cleaned_data["partner"],
                    reason=_reason(form),
                    **form_values(form, services.CONTACT_FIELDS),
                )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        services.delete_contact(actor=request.user, contact=obj)


class ReferenceAdmin(ServiceAdmin):
    """Reference data: saved through the partners services; a row in use cannot be deleted."""

    rules = REFERENCE_RULES

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Besides the PROTECT foreign keys Django reports, many-to-many links count as uses:
        # deleting the row would drop them without a history record on the linking rows.
        in_use = [
            f"{capfirst(use._meta.verbose_name)}: {use}"
            for row in objs
            for use in services.reference_uses(row)
        ]
        if in_use:
            # Refused whoever asks, so list the uses rather than missing delete permissions
            # (Django counts the protected rows' models there too).
            return deleted, counts, set(), in_use
        return deleted, counts, perms_needed, protected

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            # Came into use between the confirmation page and the deletion.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_model(self, request, obj):
        services.delete_reference(actor=request.user, row=obj)


@admin.register(State)
class StateAdmin(ReferenceAdmin):
    """States, DC and territories."""

    list_display = ["name", "code", "fips", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    fieldsets = [(None, {"fields": ["code", "name", "fips", "kind"]})]

    def save_model(self, request, obj, form, change):
        with rejected_on(form):
            saved = services.save_state(
                actor=request.user,
                state=obj if change else None,
                reason=_reason(form),
                **form_values(form, services.STATE_FIELDS, changed_only=change),
            )
        adopt(obj, saved)


@admin.register(UrbanArea)
class UrbanAreaAdmin(ReferenceAdmin):
    """Urban areas of the preparedness programs, with the states they span."""

    list_display = ["name", "program", "fiscal_year", "state_codes", "active"]
    list_filter = ["program", "fiscal_year", "active", "states"]
    search_fields = ["name", "states__code", "states__name"]
    filter_horizontal = ["states"]
    fieldsets = [(None, {"fields": ["name", "states", "program", "fiscal_year", "active"]})]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("states")

    @admin.display(description="states")
    def state_codes(self, obj):
        return ", ".join(state.code for state in obj.states.all())

    def save_model(self, request, obj, form, change):
        states = None
        if not change or "states" in form.changed_data:
            states = form.cleaned_data["states"]
        with rejected_on(form):
            saved = services.save_urban_area(
                actor=request.user,
                urban_area=obj if change else None,
                states=states,
                reason=_reason(form),
                **form_values(form, services.URBAN_AREA_FIELDS, changed_only=change),
            )
        adopt(obj, saved)


@admin.register(Sector)
class SectorAdmin(ReferenceAdmin):
    """The critical-infrastructure sectors."""

    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    fieldsets = [(None, {"fields": ["code", "name"]})]

    def save_model(self, request, obj, form, change):
        with rejected_on(form):
            saved = services.save_sector(
                actor=request.user,
                sector=obj if change else None,
                reason=_reason(form),
                **form_values(form, services.SECTOR_FIELDS, changed_only=change),
            )
        adopt(obj, saved)
