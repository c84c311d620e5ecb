"""Read-only admin of the escalation outbox: each e-mail an escalation wrote, whether it went
out, and every delivery attempt with the mail server's answer.

Officers and auditors read it, as they read the actions it is about (the lead's copy carries
the incident's title). Nothing here sends, retries or changes a notification: the outbox
(:mod:`coordination.outbox`) does, and its rows are not history-tracked (see
:class:`~coordination.models.Notification`).
"""

from django.contrib import admin

from coordination.models import Notification, NotificationAttempt
from opsapi.audit.admin import AdminRules, ReadOnlyInline, RoleRulesMixin, officers_and_auditors


class NotificationAttemptInline(RoleRulesMixin, ReadOnlyInline):
    """Every attempt to hand the e-mail to the mail server, first to last."""

    rules = AdminRules(view=officers_and_auditors)
    model = NotificationAttempt
    fields = ["number", "at", "outcome", "error"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(RoleRulesMixin, admin.ModelAdmin):
    """Escalation e-mails and their delivery attempts: listed and shown, never changed."""

    rules = AdminRules(view=officers_and_auditors)

    inlines = [NotificationAttemptInline]
    list_display = [
        "created_at",
        "action",
        "audience",
        "to",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "audience"]
    list_select_related = ["action__incident", "action__partner"]
    search_fields = ["action__incident__reference", "subject"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["action", "audience", "recipients", "subject", "body"]}),
        (
            "Delivery",
            {"fields": ["state", "attempts", "next_attempt_at", "sent_at", "last_error"]},
        ),
        ("Record", {"fields": ["created_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.opts.concrete_fields]

    @admin.display(description="to")
    def to(self, obj):
        return ", ".join(obj.recipients)
