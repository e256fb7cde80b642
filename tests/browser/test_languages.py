"""The site's scripts speak the page's language in real Chromium: live.js's words come from
the JavaScript catalogue (/jsi18n/)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_the_scripts_speak_the_pages_language_in_the_browser(
    site: Any,
    chromium: Any,
) -> None:
    """A Spanish browser: live.js's words come from the JavaScript catalogue (/jsi18n/),
    and the live region's summary uses them."""
    from playwright.sync_api import expect

    from polls import organising
    from tests.support import clients

    poll = organising.create_poll(slug="i18n-live-es", question="¿Mascotas?",
                                  labels=["Cats", "Dogs"], open_now=True)  # fmt: skip
    context = chromium.new_context(locale="es-ES", extra_http_headers={"Accept-Language": "es"})
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/results/")
        assert page.locator("html").get_attribute("lang") == "es"
        expect(page.locator("#live")).to_have_text("en directo", timeout=30_000)
        voter = clients.Browser(site.url)
        assert voter.vote_api(poll.slug, poll.choices.get(label="Cats").pk).status_code == 202
        expect(page.locator("#results-announce")).to_have_text(
            "Cats 100%, Dogs 0%, 1 voto", timeout=30_000
        )
        expect(page.locator("#updated")).to_contain_text("actualizado")
    finally:
        context.close()
