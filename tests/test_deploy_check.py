"""`manage.py check --deploy` passes with the production environment of docs/production.md,
and each piece of that environment is needed: leave one out and the check fails."""

import os
import subprocess

import pytest
from django.db import connection

from tests.processes import ROOT, run_python
from tests.test_database_role import least_privilege_database  # noqa: F401 (a fixture)

# The environment docs/production.md documents (with throwaway secrets).
PRODUCTION = {
    "SECRET_KEY": "throwaway-secret-key-for-the-deploy-check-7f3c9a1e",
    "AUDIT_CHAIN_KEY": "throwaway-audit-chain-key-for-the-check-4b8d2e6f",
    "ALLOWED_HOSTS": "ops.example.gov",
    "CSRF_TRUSTED_ORIGINS": "https://ops.example.gov",
    "HTTPS_ONLY": "1",
    "HSTS_INCLUDE_SUBDOMAINS": "1",
    "HSTS_PRELOAD": "1",
    "TRUST_X_FORWARDED_PROTO": "1",
}
# Settings of the process running the tests that must not leak into the checked one (the
# database too: without DATABASE_URL the check runs on SQLite, which has no roles to check).
INHERITED = {"DEBUG", "HSTS_SECONDS", "DATABASE_URL", *PRODUCTION}


def deploy_check(environment: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    env.update(environment)
    return run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)


def test_the_documented_production_environment_passes_the_deploy_check():
    result = deploy_check(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_documented_environment_is_the_one_in_the_docs():
    documented = (ROOT / "docs" / "production.md").read_text()
    for name in PRODUCTION:
        assert f"{name}=" in documented, f"{name} is not in docs/production.md"


@pytest.mark.parametrize(
    ("left_out", "warnings"),
    [
        ("HTTPS_ONLY", {"security.W004", "security.W008", "security.W012", "security.W016"}),
        ("HSTS_INCLUDE_SUBDOMAINS", {"security.W005"}),
        ("AUDIT_CHAIN_KEY", {"audit.W001"}),
    ],
)
def test_leaving_out_a_piece_of_the_environment_fails_the_check(left_out, warnings):
    environment = {k: v for k, v in PRODUCTION.items() if k != left_out}
    result = deploy_check(environment)
    assert result.returncode != 0
    reported = {w for w in warnings if w in result.stderr}
    assert reported == warnings, result.stderr


def test_hsts_can_be_shortened_for_a_first_deployment_but_not_switched_off():
    assert deploy_check({**PRODUCTION, "HSTS_SECONDS": "300"}).returncode == 0
    switched_off = deploy_check({**PRODUCTION, "HSTS_SECONDS": "0"})
    assert switched_off.returncode != 0
    assert "security.W004" in switched_off.stderr


def test_behind_the_proxy_https_is_taken_from_x_forwarded_proto_and_http_is_redirected():
    """The settings as a production process reads them: a request the proxy marks as HTTPS is
    served with HSTS; a plain HTTP one is redirected; the health probe is not."""
    script = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(HTTP_HOST="ops.example.gov")
plain = client.get("/login/")
print(plain.status_code, plain.get("Location"))
secure = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
print(secure.status_code, secure.get("Strict-Transport-Security"))
print(client.get("/healthz").status_code in (200, 503))
"""
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    env.update({**PRODUCTION, "DJANGO_SETTINGS_MODULE": "opsapi.settings"})
    result = run_python("-c", script, env=env)
    assert result.returncode == 0, result.stderr
    plain, secure, health_not_redirected = result.stdout.splitlines()[-3:]
    assert plain == "301 https://ops.example.gov/login/"
    assert secure == "200 max-age=31536000; includeSubDomains; preload"
    assert health_not_redirected == "True"


def test_on_sqlite_the_database_role_is_not_checked():
    result = deploy_check(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "audit.W00" not in result.stderr


def test_a_database_that_cannot_be_reached_is_a_warning_not_a_crash():
    unreachable = {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/opsapi"}
    result = deploy_check({**PRODUCTION, **unreachable, "DATABASE_CONNECT_TIMEOUT": "1"})
    assert result.returncode != 0
    assert "audit.W004" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database roles exist on PostgreSQL only"
)
def test_the_check_warns_unless_the_application_connects_as_the_least_privilege_role(
    least_privilege_database,  # noqa: F811 (the fixture imported above)
):
    """docs/production.md §3: the application role passes; the superuser (the tests' own
    database user) and the owner that runs the migrations each fail the check."""
    roles = least_privilege_database

    def check_as(role: str) -> subprocess.CompletedProcess:
        return deploy_check({**PRODUCTION, "DATABASE_URL": roles["url"](roles[role])})

    app = check_as("app")
    assert app.returncode == 0, app.stderr
    assert "System check identified no issues" in app.stdout

    superuser = check_as("superuser")
    assert superuser.returncode != 0
    connects_as = "audit.W002) The application connects to the database as"
    assert f"{connects_as} '{roles['superuser']}', a superuser" in superuser.stderr

    owner = check_as("owner")
    assert owner.returncode != 0
    assert "audit.W002" not in owner.stderr
    connects_as = "audit.W003) The application connects to the database as"
    assert f"{connects_as} '{roles['owner']}', which owns" in owner.stderr, owner.stderr
