"""The escalation outbox (coordination.outbox): notifications and their delivery attempts,
viewed in the admin by officers and auditors like the other operational rows."""

import django.db.models.deletion
import django.utils.timezone
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

READERS = ["ops_officer", "auditor"]
MODELS = ["notification", "notificationattempt"]


def grant_view(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    config = apps.get_app_config("coordination")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    views = Permission.objects.filter(
        content_type__app_label="coordination", codename__in=[f"view_{m}" for m in MODELS]
    )
    for group in Group.objects.filter(name__in=READERS):
        group.permissions.add(*views)


def revoke_view(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    views = Permission.objects.filter(
        content_type__app_label="coordination", codename__in=[f"view_{m}" for m in MODELS]
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=READERS):
        group.permissions.remove(*views)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0004_history_chain_index"),
        ("accounts", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="Notification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "audience",
                    models.CharField(
                        choices=[("partner", "Partner's 24/7 watch"), ("lead", "Incident lead")],
                        help_text="Who the e-mail is for.",
                        max_length=16,
                    ),
                ),
                ("recipients", models.JSONField(help_text="The addresses it is sent to.")),
                ("subject", models.TextField()),
                ("body", models.TextField()),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, help_text="When the escalation wrote it."
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("sent", "Sent"),
                            ("failed", "Failed for good"),
                        ],
                        default="pending",
                        help_text="Pending until the mail server accepts it; failed once attempts run out.",
                        max_length=16,
                    ),
                ),
                (
                    "attempts",
                    models.PositiveSmallIntegerField(
                        default=0, help_text="Delivery attempts made so far."
                    ),
                ),
                (
                    "next_attempt_at",
                    models.DateTimeField(
                        blank=True, help_text="When a pending e-mail is tried next.", null=True
                    ),
                ),
                (
                    "last_error",
                    models.TextField(blank=True, help_text="Why the latest attempt failed."),
                ),
                (
                    "sent_at",
                    models.DateTimeField(
                        blank=True, help_text="When the mail server accepted it.", null=True
                    ),
                ),
                (
                    "action",
                    models.ForeignKey(
                        help_text="The escalated action the e-mail is about.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notifications",
                        to="coordination.coordinationaction",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="NotificationAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "number",
                    models.PositiveSmallIntegerField(
                        help_text="1 for the first attempt, and so on."
                    ),
                ),
                ("at", models.DateTimeField(help_text="When it was tried.")),
                (
                    "outcome",
                    models.CharField(
                        choices=[("sent", "Sent"), ("failed", "Failed")], max_length=16
                    ),
                ),
                (
                    "error",
                    models.TextField(
                        blank=True, help_text="What the mail server or connection said."
                    ),
                ),
                (
                    "notification",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="delivery_attempts",
                        to="coordination.notification",
                    ),
                ),
            ],
            options={
                "ordering": ["notification", "number"],
            },
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx"),
        ),
        migrations.AddConstraint(
            model_name="notificationattempt",
            constraint=models.UniqueConstraint(
                fields=("notification", "number"), name="notification_attempt_once"
            ),
        ),
        migrations.RunPython(grant_view, revoke_view),
    ]
