from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination"

    def ready(self):
        from coordination.models import CoordinationAction, Incident
        from opsapi.events import publish_changes_of

        # Live updates: incidentChanged and coordinationActionChanged.
        publish_changes_of(Incident)
        publish_changes_of(CoordinationAction)
