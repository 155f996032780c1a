"""Debian's chromium for the browser tests, through playwright (never ``playwright install``).

One list of flags and one launch for every browser test (the demo's UI, the stack's UI): headless, no
sandbox (root in CI), and none of the background traffic a fresh profile starts.
"""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium from PATH, headless; fails the test, saying what to install, when it is missing."""
    import pytest

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium not found on PATH: apt-get install -y chromium (.ci/run installs it)")
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
