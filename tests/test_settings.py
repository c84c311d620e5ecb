"""Production is the default: DEBUG off, and no start without a real SECRET_KEY."""

import os

import pytest

from tests.processes import run_python


def run_check(*options, **env_overrides):
    unset = {"SECRET_KEY", "DEBUG", "AUDIT_CHAIN_KEY"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(env_overrides)
    return run_python("manage.py", "check", *options, env=env)


@pytest.mark.parametrize(
    "secret",
    [None, "", "short", "django-insecure-abcdefghijklmnopqrstuvwxyz0123456789"],
)
def test_refuses_to_start_in_production_without_a_real_secret_key(secret):
    env = {} if secret is None else {"SECRET_KEY": secret}
    result = run_check(**env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_starts_with_a_real_secret_key():
    result = run_check(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_set():
    from django.conf import settings

    assert settings.DEBUG is False


def test_development_mode_runs_without_a_configured_key():
    assert run_check(DEBUG="1").returncode == 0


def test_deploy_check_warns_when_the_audit_chain_key_follows_the_secret_key():
    derived = run_check("--deploy", SECRET_KEY="x" * 50)
    assert "audit.W001" in derived.stderr
    own = run_check("--deploy", SECRET_KEY="x" * 50, AUDIT_CHAIN_KEY="y" * 50)
    assert "audit.W001" not in own.stderr
