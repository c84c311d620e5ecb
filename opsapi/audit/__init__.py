"""The audit trail: history tracking for every domain model, and (later) its API and checks."""
