from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opsapi.accounts"
    label = "accounts"
    verbose_name = "Accounts and API tokens"
