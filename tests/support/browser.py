"""Real Chromium (Debian's, driven by Playwright): where it is, how it is started, how long
a page may take to get somewhere, and what a page reports as an error. The fixtures that
start it are in tests/browser/conftest.py."""

from __future__ import annotations

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous on purpose: a working system gets there in well under a second.
EVENTUALLY_MS = 20_000


def watch_errors(page: Page) -> list[str]:
    """Script errors and CSP violations (both land on the console) the page reports."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    return errors
