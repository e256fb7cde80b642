"""The admin as an organiser's tool: branded with the product's name in the four languages,
and a session's page that builds the whole session (its questions, written there or
picked, in order), previews each question as a phone shows it, and leads to the
presenter's view, the audience's page and the embed, and goes live."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "header", "title"),
    [
        ("en", "Live votes", "Your polls and live sessions"),
        ("de", "Live-Abstimmungen", "Ihre Umfragen und Live-Sitzungen"),
        ("fr", "Votes en direct", "Vos sondages et sessions en direct"),
        ("es", "Votaciones en directo", "Tus encuestas y sesiones en directo"),
    ],
)
def test_the_admin_wears_the_products_name_in_each_language(
    admin_user, language: str, header: str, title: str
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    assert f'<a href="/admin/">{header}</a>' in page
    assert f"<h1>{title}</h1>" in page
    assert "Django administration" not in page and "Django-Administration" not in page
    login = Client(HTTP_ACCEPT_LANGUAGE=language).get("/admin/login/").content.decode()
    assert header in login
