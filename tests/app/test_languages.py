"""The site speaks English, German, French and Spanish: the catalogues are complete and
real, the templates hold no text outside translation tags, and a visitor whose browser
asks for a language (Accept-Language) gets it on every public page and in the API's
errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings

from tests.support.pages import patterns, urls_for

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]
DOMAINS = ["django", "djangojs"]
SOURCES = ["manage.py", "votingsite", "polls", "results", "templates", "locale"]


def entries(po: Path) -> list[dict[str, Any]]:
    """A .po file's entries (context, msgid, translations, flags), obsolete ones left out."""
    found = []
    for e in polib.pofile(str(po)):
        if e.obsolete:
            continue
        translations = dict(e.msgstr_plural) if e.msgid_plural else {0: e.msgstr}
        entry = {"ctx": e.msgctxt, "msgid": e.msgid, "str": translations, "flags": e.flags}
        if e.msgid_plural:
            entry["msgid_plural"] = e.msgid_plural
        found.append(entry)
    return found


@cache
def marked(domain: str) -> frozenset[tuple[str | None, str]]:
    """Every string the code marks for translation now: makemessages run over a scratch
    copy of the sources (so the shipped catalogues are left alone)."""
    with tempfile.TemporaryDirectory() as scratch:
        for name in SOURCES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, Path(scratch) / name)
            else:
                shutil.copy(source, Path(scratch) / name)
        made = subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "de",
             "--no-location", "--no-obsolete"],
            check=False, cwd=scratch, capture_output=True, text=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "votingsite.settings"},
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        po = Path(scratch) / "locale" / "de" / "LC_MESSAGES" / f"{domain}.po"
        return frozenset((e["ctx"], e["msgid"]) for e in entries(po))


def catalogue(language: str, domain: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


@pytest.mark.parametrize("language", SHIPPED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_each_shipped_catalogue_translates_every_marked_string_for_real(
    language: str, domain: str
) -> None:
    po = catalogue(language, domain)
    assert po.exists(), f"{po} is missing: manage.py makemessages -l {language}"
    shipped = entries(po)
    problems = [f"fuzzy: {e['msgid']!r}" for e in shipped if "fuzzy" in e["flags"]]
    problems += [
        f"untranslated: {e['msgid']!r}"
        for e in shipped
        if not e["str"] or not all(text.strip() for text in e["str"].values())
    ]
    missing = marked(domain) - {(e["ctx"], e["msgid"]) for e in shipped}
    problems += [f"missing (run makemessages): {m!r}" for m in sorted(missing, key=str)]
    assert not problems, f"{po.relative_to(ROOT)}:\n" + "\n".join(problems)
    # gettext's own check: each translation keeps its msgid's %(name)s placeholders.
    subprocess.run(["msgfmt", "--check", "-o", os.devnull, str(po)], check=True)


# --- Templates: no text outside the translation tags --------------------------------------

TEMPLATES = sorted({*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")})
# Attributes people read or hear (the others hold classes, URLs, names).
SPOKEN = re.compile(r'\b(aria-label|title|alt|placeholder)="([^"]*)"')
META = re.compile(
    r'<meta (?:name="description"|property="og:(?:title|description|site_name)")'
    r' content="([^"]*)"'
)


def literal_text(html: str) -> list[str]:
    """Words a template shows or says that are not inside translation tags: a heuristic
    (letters left once the template's tags, comments, markup and code are taken out)."""
    html = re.sub(r"{%\s*blocktranslate.*?endblocktranslate\s*%}", " ", html, flags=re.S)
    html = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", html, flags=re.S)
    html = re.sub(r"{#.*?#}", " ", html, flags=re.S)
    # Blocks that fill a class or the colour scheme, not text; keys named as on the keyboard.
    html = re.sub(
        r"{%\s*block (bodyclass|body_class|scheme)\s*%}.*?{%\s*endblock", " ", html, flags=re.S
    )
    html = re.sub(r"<kbd>.*?</kbd>", " ", html, flags=re.S)
    html = re.sub(r"{%.*?%}|{{.*?}}", " ", html, flags=re.S)
    said = [m.group(2) for m in SPOKEN.finditer(html)] + [m.group(1) for m in META.finditer(html)]
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]*>", " ", html, flags=re.S)
    html = re.sub(r"&[a-z]+;|&#\d+;", " ", html)
    return [chunk.strip() for chunk in [*said, *html.split("\n")]
            if re.search(r"[^\W\d_]{2,}", chunk)]  # fmt: skip


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_hold_no_text_outside_translation_tags(template: Path) -> None:
    left = literal_text(template.read_text(encoding="utf-8"))
    assert not left, f"{template.relative_to(ROOT)} shows untranslated text: {left}"


def test_the_template_checker_finds_literal_text() -> None:
    assert literal_text('<p class="x">Vote now</p>') == ["Vote now"]
    assert literal_text('<a aria-label="Results of {{ q }}" href="/">{% translate "x" %}</a>')
    assert literal_text('<meta property="og:title" content="Results">') == ["Results"]
    assert not literal_text('<p>{% translate "Vote now" %} {{ poll.question }} · 12%</p>')
    assert not literal_text("{% blocktranslate %}Round {{ n }}{% endblocktranslate %}")


# --- A visitor's language, from Accept-Language -----------------------------------------


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", __import__("html").unescape(text))


def site_phrases(language: str) -> dict[str, str]:
    """The catalogue's plain phrases (no placeholders, no markup) whose translation
    differs from the English: English -> translation."""
    phrases = {}
    for domain in DOMAINS:
        for e in entries(catalogue(language, domain)):
            text = e["str"].get(0, "")
            plain = "%(" not in e["msgid"] and "<" not in e["msgid"] and "msgid_plural" not in e
            if plain and len(e["msgid"]) >= 6 and text and text != e["msgid"]:
                phrases[e["msgid"]] = text
    return phrases


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", SHIPPED)
def test_a_browser_asking_for_a_language_gets_it_on_every_public_page(
    language: str,
    content: dict[str, str],
    django_user_model: Any,
) -> None:
    from django.test import Client

    english, asked = Client(), Client(HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    owner = django_user_model.objects.get(username=content["owner"])
    english.force_login(owner)  # the presenter's page too
    asked.force_login(owner)
    phrases = site_phrases(language)
    paths = [u for route in patterns() for u in urls_for(route, content)] + ["/no-such-page/"]
    checked = []
    for path in paths:
        page_en = english.get(path, follow=True)
        if "text/html" not in page_en.get("Content-Type", "") or not page_en.content:
            continue  # not a page (a control endpoint, a POST target)
        page = asked.get(path, follow=True)
        html = page.content.decode()
        assert f'<html lang="{language}">' in html, f"{path}: not served in {language}"
        shown_en, shown = visible_text(page_en.content.decode()), visible_text(html)
        left = [p for p in phrases if p in shown_en and p in shown and phrases[p] not in shown]
        assert not left, f"{path} in {language} still says, in English: {left}"
        said = [p for p in phrases if p in shown_en]
        assert said, f"{path}: no phrase of the catalogue found on the English page"
        checked.append(path)
    print(f"{len(checked)} pages checked in {language}")
    assert len(checked) >= 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", SHIPPED)
def test_api_errors_speak_the_language_asked_for_with_the_same_code(language: str) -> None:
    from django.test import Client

    from polls import organising

    poll = organising.create_poll(slug=f"i18n-{language}", question="?", labels=["A", "B"],
                                  open_now=True)  # fmt: skip
    vote = f"/api/polls/{poll.slug}/vote"
    for call in [
        lambda c: c.get("/api/polls/no-such-poll"),  # poll_not_found
        lambda c: c.post(vote, "{", content_type="application/json"),  # invalid_json
        lambda c: c.post(vote, "x", content_type="text/plain"),  # unsupported_media_type
        lambda c: c.post(vote, {"choice": -1}, content_type="application/json"),  # unknown_choice
    ]:
        english = call(Client())
        asked = call(Client(HTTP_ACCEPT_LANGUAGE=language))
        assert asked.status_code == english.status_code
        assert asked.json()["code"] == english.json()["code"], "the code changed with the language"
        assert asked.json()["error"] != english.json()["error"], f"still English: {asked.json()}"
        assert asked["Content-Language"] == language


@pytest.mark.django_db(transaction=True)
def test_the_admin_follows_the_browsers_language() -> None:
    from django.test import Client

    page = Client(HTTP_ACCEPT_LANGUAGE="de").get("/admin/login/")
    assert '<html lang="de"' in page.content.decode()
    assert "Anmelden" in page.content.decode()  # Django's own German for "Log in"


def test_the_switcher_works_without_javascript(client: Any) -> None:
    """Django's set_language: a plain form post, remembered in a cookie."""
    from django.test import Client

    browser = Client()
    answer = browser.post("/i18n/setlang/", {"language": "fr", "next": "/join"})
    assert answer.status_code == 302
    assert answer["Location"] == "/join"
    assert '<html lang="fr">' in browser.get("/join").content.decode()
