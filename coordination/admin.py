"""Read-only admin for incidents and coordination actions.

Their rules (reference numbers, status transitions, versions, who may acknowledge what) live
in ``coordination.services`` and are used through the API; the admin lets staff look rows and
their history up, and offers no way to change them.
"""

from django.contrib import admin

from coordination import admin_outbox  # noqa: F401 (the escalation outbox's screens)
from coordination.models import CoordinationAction, Incident, IncidentUpdate
from opsapi.audit.admin import AdminRules, ReadOnlyAdmin, ReadOnlyInline, officers_and_auditors

# Read by officers and auditors (who read every incident); administrators as such do not see
# operational data.
OPERATIONAL_RULES = AdminRules(view=officers_and_auditors)


class IncidentUpdateInline(ReadOnlyInline):
    """The incident's timeline."""

    model = IncidentUpdate
    fields = ["posted_at", "kind", "body", "partner_visible", "author"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class CoordinationActionInline(ReadOnlyInline):
    """The actions asked of partners about the incident, each linking to its own page."""

    model = CoordinationAction
    fields = ["partner", "kind", "priority", "status", "due_at", "acknowledged_at"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("partner")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Incidents with their timeline and actions, and their history."""

    rules = OPERATIONAL_RULES

    inlines = [IncidentUpdateInline, CoordinationActionInline]
    list_display = [
        "reference",
        "title",
        "category",
        "severity",
        "status",
        "tlp",
        "reported_at",
        "lead",
    ]
    list_filter = ["status", "severity", "category", "tlp"]
    list_select_related = ["lead"]
    search_fields = ["reference", "title"]
    fieldsets = [
        (None, {"fields": ["reference", "title", "summary", "category", "severity", "tlp"]}),
        ("Status", {"fields": ["status", "version", "lead"]}),
        (
            "Times",
            {
                "fields": [
                    "occurred_at",
                    "reported_at",
                    "activated_at",
                    "monitoring_at",
                    "resolved_at",
                    "closed_at",
                ]
            },
        ),
        (
            "Where and what",
            {"fields": ["states", "urban_areas", "sectors", "latitude", "longitude"]},
        ),
        ("Sharing", {"fields": ["source", "shared_with"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]


class OverdueFilter(admin.SimpleListFilter):
    """Open actions past their due time, or the others."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.overdue()
        if self.value() == "no":
            return queryset.exclude(pk__in=CoordinationAction.objects.overdue().values("pk"))
        return queryset


@admin.register(CoordinationAction)
class CoordinationActionAdmin(ReadOnlyAdmin):
    """Coordination actions and their history."""

    rules = OPERATIONAL_RULES

    list_display = ["incident", "partner", "kind", "priority", "status", "due_at", "overdue"]
    list_filter = ["status", "kind", OverdueFilter, "priority"]
    list_select_related = ["incident", "partner"]
    search_fields = ["incident__reference", "incident__title", "partner__name"]
    fieldsets = [
        (None, {"fields": ["incident", "partner", "kind", "priority", "instructions", "due_at"]}),
        # escalated_at is set only by the escalation run (services.escalate_overdue); shown,
        # read-only like every field here.
        ("Status", {"fields": ["status", "version", "created_by", "closed_at", "escalated_at"]}),
        (
            "Partner's answer",
            {
                "fields": [
                    "acknowledged_at",
                    "acknowledged_by",
                    "response",
                    "responded_at",
                    "responded_by",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj):
        return obj.is_overdue
