"""The Node clients of clients/ (installed there by ``make test``: ``npm ci``), run from the tests.

Without node, or with clients/ not installed, the tests that use them are skipped with the
reason shown, unless ``REQUIRE_NODE=1`` is set (CI sets it), when they fail instead.
"""

import json
import os
import shutil
import subprocess

import pytest

from tests.processes import ROOT

CLIENTS = ROOT / "clients"
INSTALLED = CLIENTS / "node_modules" / ".installed"


def require_node():
    """Skip (or, with REQUIRE_NODE=1, fail) unless node runs and clients/ is installed."""
    if shutil.which("node") is None:
        missing = "node is not on PATH"
    elif not INSTALLED.exists():
        missing = "clients/ is not installed (make test runs npm ci there)"
    else:
        return
    if os.environ.get("REQUIRE_NODE") == "1":
        pytest.fail(f"{missing}; REQUIRE_NODE=1 forbids skipping the Node client tests.")
    pytest.skip(f"{missing}: the Node client tests need it.")


def run_in_clients(*command: str, env: dict | None = None, timeout: float = 60):
    """``command`` in clients/: ``node`` or a program under clients/ (an installed tool,
    ``node_modules/.bin/...``) and its arguments. It must succeed (a failure shows its
    output); returns its completed process."""
    program = shutil.which(command[0]) if command[0] == "node" else str(CLIENTS / command[0])
    completed = subprocess.run(
        [program, *command[1:]],
        cwd=CLIENTS,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, (
        f"{' '.join(command)} failed ({completed.returncode}):\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
    return completed


def ws_check(name: str, **arguments) -> dict:
    """Run check ``name`` of clients/ws-checks.mjs with ``arguments``: what it observed."""
    completed = run_in_clients("node", "ws-checks.mjs", name, json.dumps(arguments))
    return json.loads(completed.stdout.splitlines()[-1])
