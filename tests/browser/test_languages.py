"""The site's scripts speak the page's language in real Chromium: the words of results.js,
socket.js and the kinds' scripts come from the JavaScript catalogue (/jsi18n/)."""

from __future__ import annotations

import re
from typing import Any

import pytest


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
def test_the_scripts_speak_the_pages_language_in_the_browser(
    site: Any,
    chromium: Any,
) -> None:
    """A Spanish browser: results.js's words come from the JavaScript catalogue (/jsi18n/),
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


# What a phone's session page says and announces, per language: the socket's state
# (polls/socket.js) and the ranked ballot's announcements (polls/kinds/ranked.js), every
# word from the catalogue, the ordinals by the language's own rule.
SESSION_WORDS = {
    "de": {
        "connecting": "Verbindung wird aufgebaut …",
        "live": "live", "reconnecting": "Verbindung wird wiederhergestellt …", "ended": "beendet",
        "ranked": ["Osaka ist jetzt 1. Wahl.", "Lima ist jetzt 2. Wahl."],
        "moved": "Lima ist jetzt 1. Wahl.", "label": "Lima, 1. Wahl",
    },
    "fr": {
        "connecting": "connexion…",
        "live": "en direct", "reconnecting": "reconnexion…", "ended": "terminé",
        "ranked": ["Osaka classé 1er.", "Lima classé 2e."],
        "moved": "Lima passe en 1er choix.", "label": "Lima, 1er choix",
    },
    "es": {
        "connecting": "conectando…",
        "live": "en directo", "reconnecting": "reconectando…", "ended": "terminada",
        "ranked": ["Osaka en 1.ª posición.", "Lima en 2.ª posición."],
        "moved": "Lima pasa a 1.ª opción.", "label": "Lima, 1.ª opción",
    },
}  # fmt: skip

# Keeps the page's sockets reachable from the test, before the page's own script runs.
# A socket that never opens: the page stays at its first word.
NEVER_OPENS = "window.WebSocket = class { send() {} close() {} };"

KEEP_SOCKETS = """
(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


# The ballot's words on the page, and in the part the server draws for this page (?part=poll).
HINTS_HERE_AND_ON_THE_SERVER = """
async () => {
  const words = (root) => [...root.querySelectorAll(".hint, legend, button[type=submit]")]
    .map((n) => n.textContent.trim());
  const html = await (await fetch(location.pathname + "?part=poll")).text();
  const server = document.createElement("template");
  server.innerHTML = html;
  return { page: words(document.getElementById("session-poll")).filter((w) =>
             !document.querySelector(".ranker-help") || w !== document.querySelector(
               ".ranker-help").textContent.trim()),
           server: words(server.content) };
}
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
@pytest.mark.parametrize("language", sorted(SESSION_WORDS))
def test_a_session_page_says_its_state_and_a_ranked_ballots_moves_in_the_pages_language(
    language: str, site: Any, chromium: Any
) -> None:
    """A German, a French and a Spanish phone in a live session: the socket's state
    ("connecting…", "live", "reconnecting…", "ended") and what the ranked ballot the
    presenter moved to announces ("… ranked 1st", "… moved to 1st choice") are in the
    page's language."""
    from django.contrib.auth.models import User
    from playwright.sync_api import expect

    from polls import live_sessions, organising
    from polls.models import Poll
    from tests.support.browser import watch_errors
    from tests.support.processes import ARTIFACTS

    words = SESSION_WORDS[language]
    owner = User.objects.create_user(f"host-{language}", password="pw-host-1234")
    polls = [
        organising.create_poll(slug=f"first-{language}", question="Ready?",
                               labels=["Yes", "No"], open_now=True),
        organising.create_poll(slug=f"cities-{language}", question="Rank the cities",
                               kind=Poll.Kind.RANKED, labels=["Lisbon", "Osaka", "Lima"],
                               open_now=True),
    ]  # fmt: skip
    session = live_sessions.go_live(
        live_sessions.create_session(title="Sprachen", owner=owner, polls=polls)
    )
    context = chromium.new_context(
        locale=language, extra_http_headers={"Accept-Language": language},
        viewport={"width": 390, "height": 844},
    )  # fmt: skip
    context.add_init_script(KEEP_SOCKETS)
    try:
        waiting = context.new_page()
        waiting.add_init_script(NEVER_OPENS)
        waiting.goto(f"{site.url}/s/{session.code}/")
        expect(waiting.locator("#session-live")).to_have_text(words["connecting"])
        waiting.close()

        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{site.url}/s/{session.code}/")
        assert page.locator("html").get_attribute("lang") == language
        state = page.locator("#session-live")
        expect(state).to_have_text(words["live"], timeout=30_000)

        # The presenter moves on: the ranked ballot comes in the socket's message, in this
        # page's language, and its script announces each move.
        session = live_sessions.move(session, step=1)
        expect(page.locator("#question")).to_have_text("Rank the cities")
        hints = page.evaluate(HINTS_HERE_AND_ON_THE_SERVER)
        assert hints["page"] == hints["server"], "the ballot's words are the server's"
        status = page.locator("#ranker-status")
        for label, said in zip(["Osaka", "Lima"], words["ranked"], strict=True):
            page.locator(".unranked .rank-item", has_text=label).click()
            expect(status).to_have_text(said)
        page.locator(".ranked .rank-item", has_text="Lima").locator("button.up").click()
        expect(status).to_have_text(words["moved"])
        expect(page.locator(".ranked .rank-item").first).to_have_attribute(
            "aria-label", words["label"]
        )
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"audience-ranked-{language}.png"), full_page=True,
                        animations="disabled")  # fmt: skip

        # The network drops, the session ends meanwhile: the page says so, in its language.
        context.set_offline(True)
        page.evaluate("window.__sockets.forEach((s) => s.close())")
        expect(state).to_have_text(words["reconnecting"])
        live_sessions.end(session)
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")  # as the browser does
        expect(state).to_have_text(words["ended"], timeout=30_000)
        page.screenshot(path=str(shots / f"audience-ended-{language}.png"),
                        animations="disabled")  # fmt: skip
        # (a retry while offline is the browser's message about the network, not the page's)
        assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.processes
@pytest.mark.parametrize(
    ("language", "counter", "given", "newest"),
    [
        ("de", "Höchstens 5 Zeichen: Dies hat 6.", "2-mal gegeben", "Neueste Antwort: ja"),
        ("fr", "5 caractères au plus : ceci en a 6.", "donnée 2 fois",
         "Réponse la plus récente : ja"),
        ("es", "Como mucho 5 caracteres: esto tiene 6.", "dada 2 veces",
         "Respuesta más reciente: ja"),
    ],
)  # fmt: skip
def test_the_text_kinds_scripts_speak_the_pages_language(
    site: Any, chromium: Any, language: str, counter: str, given: str, newest: str
) -> None:
    """Open answers in a browser of each language: the character count's message as the
    voter types (text-entries.js, the text kinds' shared script), a card's count and the
    live summary drawn from a snapshot, every word from the JavaScript catalogue."""
    from playwright.sync_api import expect

    from polls import organising
    from tests.support import clients

    poll = organising.create_poll(slug=f"i18n-text-{language}", question="?", labels=[],
                                  kind="openanswer", answer_length=5, open_now=True)  # fmt: skip
    context = chromium.new_context(
        locale=language, extra_http_headers={"Accept-Language": language}
    )
    try:
        page = context.new_page()
        page.goto(f"{site.url}/polls/{poll.slug}/")
        page.locator("textarea[name=answer]").fill("sechse")
        message = page.locator("textarea[name=answer]").evaluate("t => t.validationMessage")
        assert message == counter
        results = context.new_page()
        results.goto(f"{site.url}/polls/{poll.slug}/results/")
        expect(results.locator("#live")).to_have_class(re.compile(r"\bon\b"), timeout=30_000)
        for _ in range(2):
            voter = clients.Browser(site.url)
            answer = voter.vote_body(poll.slug, {"answer": "ja"})
            assert answer.status_code == 202, answer.text
        expect(results.locator(".answer-count .sr-only")).to_have_text(given, timeout=30_000)
        expect(results.locator("#results-announce")).to_contain_text(newest, timeout=30_000)
    finally:
        context.close()
