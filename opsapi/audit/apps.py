from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opsapi.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from simple_history.signals import pre_create_historical_record

        from opsapi.audit import checks  # noqa: F401  (registers the deployment checks)
        from opsapi.audit.recording import stamp_historical_record

        pre_create_historical_record.connect(
            stamp_historical_record, dispatch_uid="opsapi.audit.stamp_historical_record"
        )
