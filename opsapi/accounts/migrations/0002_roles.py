"""The roles: Django groups with the model permissions their admin screens need.

Row-level rules (what a partner user sees, who may answer an action) are not permissions:
they live in opsapi.accounts.access and each model's visibility().
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_ALL = [
    ("partners", "state"),
    ("partners", "urbanarea"),
    ("partners", "sector"),
    ("partners", "partner"),
    ("partners", "contact"),
    ("coordination", "incident"),
    ("coordination", "incidentupdate"),
    ("coordination", "coordinationaction"),
    ("accounts", "partnermembership"),
]

ROLES = {
    # Officers manage partners and contacts in the admin and look everything else up.
    "ops_officer": [("view", app, model) for app, model in VIEW_ALL]
    + [
        ("add", "partners", "partner"),
        ("change", "partners", "partner"),
        ("add", "partners", "contact"),
        ("change", "partners", "contact"),
        ("delete", "partners", "contact"),
    ],
    # Auditors read everything and every history page; they change nothing.
    "auditor": [("view", app, model) for app, model in VIEW_ALL]
    + [
        ("view", "accounts", "apitoken"),
        ("view", "auth", "user"),
        ("view", "audit", "auditaccess"),
        ("view", "audit", "auditcheckpoint"),
    ],
    # Partner users work through the API only.
    "partner_user": [],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for action, app_label, model in grants:
            group.permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=f"{action}_{model}"
                )
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("partners", "0001_initial"),
        ("coordination", "0001_initial"),
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
