"""The browser tier's set-up, in one place: one Chromium per module, and pages in contexts
of their own (own cookies: a different voter each time), closed after the test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect, sync_playwright

from tests.support import processes
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, EVENTUALLY_MS
from tests.support.needs import need

VIEWPORT: ViewportSize = {"width": 900, "height": 640}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    need(os.path.exists(CHROMIUM), f"{CHROMIUM} is not installed (Debian package chromium)")
    processes.ARTIFACTS.mkdir(exist_ok=True)
    # Playwright's sync API keeps an event loop running in this thread; the test's own
    # ORM calls never run on it, so Django's async-safety check is a false alarm here.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        expect.set_options(timeout=EVENTUALLY_MS)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def contexts(chromium: Chromium) -> Iterator[Callable[..., BrowserContext]]:
    """A new browser context (own cookies) at a viewport, waiting EVENTUALLY_MS at most."""
    made: list[BrowserContext] = []

    def new(viewport: ViewportSize = VIEWPORT, **options: Any) -> BrowserContext:
        context = chromium.new_context(viewport=viewport, **options)
        context.set_default_timeout(EVENTUALLY_MS)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.fixture
def open_page(contexts: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """A new page at `url` in a context of its own; `init_script` runs before the page's own
    scripts; other options go to the context (java_script_enabled=False, a viewport...)."""

    def open_(url: str, init_script: str | None = None, **options: Any) -> Page:
        context = contexts(**options)
        if init_script is not None:
            context.add_init_script(init_script)
        page = context.new_page()
        page.goto(url)
        return page

    return open_
