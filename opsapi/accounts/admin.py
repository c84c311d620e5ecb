"""Admin for API tokens: issue one (its value is shown once), list them, revoke them.

A token is never edited: it is issued for a user, then revoked. Only its digest is stored, and
the admin shows neither the digest nor, after the page that announces it, the token itself.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opsapi.accounts.models import ApiToken
from opsapi.accounts.services import issue_token, revoke_token
from opsapi.audit.admin import CHANGE_REASON, ChangeReasonForm, ServiceAdmin, adopt, rejected_on

# The longest lifetime an administrator may give a token.
MAX_TOKEN_DAYS = 3650


class ApiTokenCreationForm(ChangeReasonForm):
    """Who the token acts as, what it is for, and how long it lives."""

    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        label="Expires in (days)",
        help_text="Leave empty for a token that does not expire.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name"]


class UsableFilter(admin.SimpleListFilter):
    """Tokens that still work, or those revoked or expired."""

    title = "usable"
    parameter_name = "usable"

    def lookups(self, request, model_admin):
        return [("yes", "Usable"), ("no", "Revoked or expired")]

    def queryset(self, request, queryset):
        usable = Q(revoked_at__isnull=True) & (
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
        if self.value() == "yes":
            return queryset.filter(usable)
        if self.value() == "no":
            return queryset.exclude(usable)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceAdmin):
    """API tokens: issued here or by ``manage.py create_token``, revoked with the action."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "usable"]
    list_filter = [UsableFilter]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    autocomplete_fields = ["user"]
    actions = ["revoke_selected"]
    history_hidden_fields = frozenset({"digest"})
    readonly_fields = ["prefix", "created_at", "usable"]
    fieldsets = [
        (None, {"fields": ["user", "name", "prefix", "usable"]}),
        ("Lifetime", {"fields": ["created_at", "expires_at", "revoked_at"]}),
    ]
    add_fieldsets = [(None, {"fields": ["user", "name", "expires_in_days"]})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreationForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [*self.add_fieldsets, ("Why", {"fields": [CHANGE_REASON]})]
        return super().get_fieldsets(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # a token is revoked (see has_revoke_permission), never edited

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay listed, with who revoked them in their history

    def has_revoke_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(boolean=True, description="usable")
    def usable(self, obj):
        return obj.is_usable

    def save_model(self, request, obj, form, change):
        with rejected_on(form):
            token, raw = issue_token(
                user=form.cleaned_data["user"],
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                actor=request.user,
                reason=form.cleaned_data[CHANGE_REASON],
            )
        adopt(obj, token)
        # The only time the token is shown: it is not stored, so it cannot be shown again.
        self.message_user(
            request,
            f"API token for {token.user}: {raw} — copy it now, it will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        with transaction.atomic():
            for token in queryset.filter(revoked_at__isnull=True):
                revoke_token(token=token, actor=request.user)  # re-reads it, locked
                revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
