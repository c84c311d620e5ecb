"""Admin for user accounts (roles, memberships) and API tokens.

Users: administrators open accounts, set their roles (the role groups, the staff flag that
opens the admin, the administrator flag) and a partner user's organisation, all in one form
saved through ``accounts.services.update_user`` (one history record on the user, roles
included, and one on the membership). Accounts are deactivated, never deleted: their history
records name them (as the author of changes and as the subject of their own), so the delete
button and URL lead to a page that explains this and deactivates the account instead, and the
list's bulk action deactivates too; both through ``update_user``, one history record each.
Passwords are changed with Django's own password form.

API tokens: issued (the value is shown once), listed and revoked, never edited. Only a
token's digest is stored, and the admin shows neither the digest nor, after the page that
announces it, the token itself.
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    ReadOnlyPasswordHashField,
    UsernameField,
)
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from opsapi.accounts import services
from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER, roles_of
from opsapi.accounts.models import ApiToken, PartnerMembership
from opsapi.accounts.services import issue_token, revoke_token
from opsapi.audit.admin import (
    CHANGE_REASON,
    AdminRules,
    ChangeReasonForm,
    ReadOnlyAdmin,
    RoleRulesMixin,
    ServiceAdmin,
    administrators,
    adopt,
    auditors_and_administrators,
    form_values,
    is_history_page,
    rejected_on,
)
from partners.models import Partner

User = get_user_model()

ROLE_CHOICES = [
    (OPS_OFFICER, "Operations officer"),
    (PARTNER_USER, "Partner user"),
    (AUDITOR, "Auditor"),
]

# Accounts: administrators manage them, auditors read them; nobody deletes one.
ACCOUNT_RULES = AdminRules(
    view=auditors_and_administrators, add=administrators, change=administrators
)


# --- users ------------------------------------------------------------------------------------


class UserCreationForm(ChangeReasonForm, AdminUserCreationForm):
    """A new account: username and password (or none), and why it is opened."""

    class Meta(AdminUserCreationForm.Meta):
        pass


class UserRolesForm(ChangeReasonForm):
    """An account's details, roles and partner organisation, saved together."""

    password = ReadOnlyPasswordHashField(
        label="Password",
        help_text="Raw passwords are not stored, so there is no way to see the user's password.",
    )
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the user may see and do through the API and here.",
    )
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.order_by("name"),
        required=False,
        help_text="The organisation a partner user belongs to (partner users only).",
    )

    class Meta:
        model = User
        fields = ["username", "password", "first_name", "last_name", "email"]
        fields += ["is_active", "is_staff", "is_superuser"]
        field_classes = {"username": UsernameField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["roles"].initial = _role_names(self.instance)
            membership = _membership(self.instance)
            self.fields["partner"].initial = membership.partner_id if membership else None


class DeactivationForm(forms.Form):
    """Why an account is deactivated (kept in its history record)."""

    change_reason = copy.deepcopy(ChangeReasonForm.base_fields[CHANGE_REASON])


DEACTIVATED = "Account deactivated"
NEVER_DELETED = (
    "Accounts are deactivated, never deleted: the audit trail names the people who made each "
    "change, and its records must go on naming them."
)


def _role_names(user) -> list[str]:
    names = {group.name for group in user.groups.all()}
    return [role for role, _label in ROLE_CHOICES if role in names]


def _membership(user):
    return PartnerMembership.objects.filter(user=user).select_related("partner").first()


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(ServiceAdmin, DjangoUserAdmin):
    """User accounts: details, roles and membership set by administrators; never deleted."""

    rules = ACCOUNT_RULES
    form = UserRolesForm
    add_form = UserCreationForm
    list_display = ["username", "email", "first_name", "last_name", "roles", "partner"]
    list_display += ["is_staff", "is_superuser", "is_active"]
    list_select_related = ["partner_membership__partner"]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = []
    # What a history page shows: the row's own fields (roles are in each record's changes).
    fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "email"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "usable_password", "password1", "password2"]}),
    ]

    actions = ["deactivate_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    # --- deactivation instead of deletion -----------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        # Administrators see the delete button; it leads to deactivation (delete_view).
        return self.has_change_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        raise PermissionDenied(NEVER_DELETED)

    def delete_queryset(self, request, queryset):
        raise PermissionDenied(NEVER_DELETED)

    def delete_view(self, request, object_id, extra_context=None):
        """The delete URL: explains that accounts are never deleted and deactivates instead."""
        user = self.get_object(request, unquote(object_id))
        # As Django's own views: the permission first, so a hidden user reads as a missing one.
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if user is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:auth_user_change", args=[user.pk])
        form = DeactivationForm(request.POST if request.method == "POST" else None)
        reason = form.cleaned_data.get(CHANGE_REASON, "") if form.is_valid() else None
        if user.is_active and reason is not None and self._deactivate(request, user, reason):
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Deactivate {user.get_username()}" if user.is_active else "Deactivated",
            "subtitle": None,
            "object": user,
            "form": form,
            "never_deleted": NEVER_DELETED,
            "change_url": change_url,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/auth/user/deactivate.html", context)

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        deactivated = [
            user.get_username()
            for user in queryset.filter(is_active=True).order_by("username")
            if self._deactivate(request, user, DEACTIVATED, announce=False)
        ]
        if deactivated:
            self.message_user(
                request,
                f"Deactivated {len(deactivated)} user(s): {', '.join(deactivated)}. "
                "They can no longer sign in or use their API tokens; their history stays.",
                messages.SUCCESS,
            )

    def _deactivate(self, request, user, reason: str, *, announce: bool = True) -> bool:
        """Deactivate ``user`` through the service; a refusal becomes an error message."""
        try:
            services.update_user(
                actor=request.user, user=user, is_active=False, reason=reason or DEACTIVATED
            )
        except ValidationError as error:
            self.message_user(
                request, f"{user.get_username()}: {' '.join(error.messages)}", messages.ERROR
            )
            return False
        if announce:
            self.message_user(
                request,
                f"{user.get_username()} is deactivated: they can no longer sign in or use their "
                "API tokens. The account and its history stay.",
                messages.SUCCESS,
            )
        return True

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or is_history_page(request):
            return fieldsets
        fieldsets.insert(1, ("Roles", {"fields": ["roles", "partner"]}))
        if self.has_change_permission(request, obj):
            fieldsets.insert(1, ("Password", {"fields": ["password"]}))
        return fieldsets

    @admin.display(description="roles")
    def roles(self, obj):
        labels = dict(ROLE_CHOICES)
        return ", ".join(labels[name] for name in _role_names(obj)) or "—"

    @admin.display(description="partner")
    def partner(self, obj):
        membership = getattr(obj, "partner_membership", None)
        return membership.partner if membership is not None else "—"

    def save_model(self, request, obj, form, change):
        data, reason = form.cleaned_data, form.cleaned_data.get(CHANGE_REASON, "")
        with rejected_on(form):
            if not change:
                saved = services.create_user(
                    actor=request.user,
                    username=data["username"],
                    password=data["password1"] if data["set_usable_password"] else None,
                    reason=reason,
                )
            else:
                saved = services.update_user(
                    actor=request.user,
                    user=obj,
                    roles=data["roles"] if "roles" in form.changed_data else None,
                    partner=data["partner"] if "partner" in form.changed_data else services.KEEP,
                    reason=reason,
                    **form_values(form, services.USER_FIELDS, changed_only=True),
                )
        adopt(obj, saved)


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(ReadOnlyAdmin):
    """Which partner organisation each partner user belongs to, and its history. Set on the
    user's page, where the membership is saved together with the partner user role."""

    list_display = ["user", "partner", "created_at"]
    list_filter = ["partner__kind"]
    list_select_related = ["user", "partner"]
    search_fields = ["user__username", "partner__name"]
    fieldsets = [(None, {"fields": ["user", "partner", "created_at"]})]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(RoleRulesMixin, admin.ModelAdmin):
    """The role groups and their model permissions, as the roles migration defines them.

    Read-only: a group's permissions decide what its role's admin screens offer, and groups
    carry no history; users are given roles on their own page."""

    rules = AdminRules(view=administrators)
    search_fields = ["name"]
    ordering = ["name"]
    fields = ["name", "permissions"]


# --- API tokens -------------------------------------------------------------------------------

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
    """API tokens: issued here or by ``manage.py create_token``, revoked with the action.

    Administrators issue and revoke them; auditors read them. A token is revoked (see
    has_revoke_permission), never edited; revoked tokens stay listed, never deleted, with who
    revoked them in their history.
    """

    rules = AdminRules(view=auditors_and_administrators, add=administrators)
    list_display = ["prefix", "user", "name", "created_at", "expires_at", "revoked_at", "usable"]
    list_filter = [UsableFilter]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    autocomplete_fields = ["user"]
    actions = ["revoke_selected"]
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

    def visible_rows(self, queryset, request):
        # Auditors read every token's record, as they read all history; ApiToken.visibility()
        # shows anyone but administrators their own tokens only.
        if roles_of(request.user).auditor:
            return queryset
        return super().visible_rows(queryset, request)

    def has_revoke_permission(self, request):
        return administrators(request.user)

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
