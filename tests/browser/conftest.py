"""Browser tests: Debian's chromium (never a downloaded browser) driven by Playwright.

Without /usr/bin/chromium these tests are skipped, with the reason shown, unless
``REQUIRE_BROWSER=1`` is set (CI sets it), when they fail instead: CI must not pass by skipping.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    """A headless chromium for one test.

    Playwright's sync API keeps an asyncio loop running in the test's thread, and Django
    refuses ORM calls from a thread with a running loop: request this fixture after the ones
    that write the test's data, and read nothing from the database while it is open.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}; REQUIRE_BROWSER=1 forbids skipping the browser tests.")
        pytest.skip(f"{message} to run the browser tests.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
