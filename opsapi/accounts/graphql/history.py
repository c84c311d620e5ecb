"""History entry types of the accounts models (separate to avoid an import cycle: the
history types refer to the User type)."""

from django.contrib.auth import get_user_model

from opsapi.audit.graphql.types import history_entry_type

UserHistoryEntry = history_entry_type(get_user_model())
