"""Accounts: who may use the API (roles, API tokens)."""
