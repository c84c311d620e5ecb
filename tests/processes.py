"""Running the project's Python in a process of its own: a fresh interpreter reads the
settings from its environment as a deployment does, which the test process cannot."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(*arguments: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python <arguments>`` in the project's folder with exactly ``env``; output captured."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
