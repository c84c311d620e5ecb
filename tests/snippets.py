"""The shell blocks of the repository's Markdown documents, and a copy of the checkout to run
them in as a newcomer would: a fresh working tree, no database, the dependencies installed."""

import os
import re
import shutil
import socket
from pathlib import Path

from tests.processes import ROOT

# What a clone does not hold, or what `make run` and the tests make: never copied.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache",
    "db.sqlite3*", ".dev-secret-key", "staticfiles",
)  # fmt: skip
# The variables a login shell has; nothing of the test run's own settings.
SHELL_VARIABLES = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TERM")


def shell_blocks(text: str) -> list[str]:
    """The ```sh blocks of a Markdown text, in order."""
    return re.findall(r"^ *```sh\n(.*?)^ *```", text, flags=re.DOTALL | re.MULTILINE)


def section(text: str, heading: str) -> str:
    """The part of a Markdown text from the line ``## <heading>`` to the next ``## ``."""
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def commands(block: str) -> list[str]:
    """A block's command lines, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def login_environment(**variables: str) -> dict:
    """A shell's environment without the test run's settings (SECRET_KEY, DATABASE_URL, ...)."""
    env = {name: os.environ[name] for name in SHELL_VARIABLES if name in os.environ}
    return {**env, **variables}


def checkout_copy(destination: Path) -> Path:
    """A copy of the working tree at ``destination``, as a clone would have it, whose .venv
    holds the checkout's installed dependencies (linked, with a stamp of its own, so that
    `make` installs nothing)."""
    shutil.copytree(ROOT, destination, ignore=NOT_IN_A_CLONE, symlinks=True)
    venv = destination / ".venv"
    venv.mkdir()
    for entry in (ROOT / ".venv").iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    return destination


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
