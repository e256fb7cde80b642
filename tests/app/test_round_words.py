# ruff: noqa: RUF001 (French apostrophes are the typographic ones)
"""Ranked choice's rounds in plain words (polls/kinds/ranked_words.py), as tables per
language: each round's sentences for hand-worked counts, in English, German, French and
Spanish (read and checked by hand; a native speaker's review is still wanted:
docs/organisers.md). The results API carries them in the request's language, the page
in the page's; the snapshot stays language-neutral. The live script's words are held to
the server's in tests/browser/test_rounds.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from polls.kinds.ranked_words import describe, grouped, share
from polls.models import Poll
from polls.pipeline.message import QueuedVote
from polls.pipeline.store import record_votes
from tests.support.kinds import K, ids, kind_poll
from tests.support.rounds import ALL_TIED, BATCH, BY_LOT, BY_POSITION, ONE_AT_A_TIME, UNTIL_TWO

NB, NNB = "\u00a0", "\u202f"


ROUNDS_IN_WORDS = {
    "en": [
        [
            (
                "No one has more than half of the 13 ballots still counting; Ana leads with 5 "
                "(38.4%)."
            ),
            "Dev has the fewest votes (1) and is eliminated.",
            "1 ballot for Dev moves to its next choice: Ana +1.",
        ],
        [
            (
                "No one has more than half of the 13 ballots still counting; Ana leads with 6 "
                "(46.1%)."
            ),
            "Cleo has the fewest votes (3) and is eliminated.",
            "2 ballots for Cleo move to their next choice: Ben +2.",
            "1 ballot has no more choices in the count and becomes inactive.",
        ],
        [
            ("No one has more than half of the 12 ballots still counting; Ana leads with 6 (50%)."),
            "Ana and Ben tie for the fewest votes, 6 each.",
            "Ben had fewer votes in an earlier round and is eliminated.",
            "6 ballots have no more choices in the count and become inactive.",
        ],
        ["Ana has more than half of the 6 ballots still counting (6, 100%) and wins."],
    ],
    "de": [
        [
            (
                "Niemand hat mehr als die Hälfte der 13 noch zählenden Stimmzettel; Ana führt "
                f"mit 5 (38,4{NB}%)."
            ),
            "Dev hat die wenigsten Stimmen (1) und scheidet aus.",
            "1 Stimmzettel für Dev geht an seine nächste Wahl: Ana +1.",
        ],
        [
            (
                "Niemand hat mehr als die Hälfte der 13 noch zählenden Stimmzettel; Ana führt "
                f"mit 6 (46,1{NB}%)."
            ),
            "Cleo hat die wenigsten Stimmen (3) und scheidet aus.",
            "2 Stimmzettel für Cleo gehen an ihre nächste Wahl: Ben +2.",
            "1 Stimmzettel hat keine Wahl mehr im Rennen und wird inaktiv.",
        ],
        [
            (
                "Niemand hat mehr als die Hälfte der 12 noch zählenden Stimmzettel; Ana führt "
                f"mit 6 (50{NB}%)."
            ),
            "Ana und Ben haben gleich wenige Stimmen, je 6.",
            "Ben hatte in einem früheren Durchgang weniger Stimmen und scheidet aus.",
            "6 Stimmzettel haben keine Wahl mehr im Rennen und werden inaktiv.",
        ],
        [
            (
                "Ana hat mehr als die Hälfte der 6 noch zählenden Stimmzettel "
                f"(6, 100{NB}%) und gewinnt."
            )
        ],
    ],
    "fr": [
        [
            (
                f"Personne n’a plus de la moitié des 13 bulletins encore en jeu{NB}; Ana mène "
                f"avec 5 (38,4{NNB}%)."
            ),
            "Dev a le moins de votes (1) et sort du décompte.",
            f"1 bulletin pour Dev passe à son choix suivant{NB}: Ana +1.",
        ],
        [
            (
                f"Personne n’a plus de la moitié des 13 bulletins encore en jeu{NB}; Ana mène "
                f"avec 6 (46,1{NNB}%)."
            ),
            "Cleo a le moins de votes (3) et sort du décompte.",
            f"2 bulletins pour Cleo passent à leur choix suivant{NB}: Ben +2.",
            "1 bulletin n’a plus de choix en lice et devient inactif.",
        ],
        [
            (
                f"Personne n’a plus de la moitié des 12 bulletins encore en jeu{NB}; Ana mène "
                f"avec 6 (50{NNB}%)."
            ),
            "Ana et Ben sont à égalité avec le moins de votes, 6 chacun.",
            "Ben avait moins de votes à un tour précédent et sort du décompte.",
            "6 bulletins n’ont plus de choix en lice et deviennent inactifs.",
        ],
        [f"Ana a plus de la moitié des 6 bulletins encore en jeu (6, 100{NNB}%) et l’emporte."],
    ],
    "es": [
        [
            (
                "Nadie tiene más de la mitad de las 13 papeletas que aún cuentan; Ana va "
                f"primero con 5 (38,4{NB}%)."
            ),
            "Dev tiene menos votos que nadie (1) y queda fuera.",
            "1 papeleta de Dev pasa a su siguiente opción: Ana +1.",
        ],
        [
            (
                "Nadie tiene más de la mitad de las 13 papeletas que aún cuentan; Ana va "
                f"primero con 6 (46,1{NB}%)."
            ),
            "Cleo tiene menos votos que nadie (3) y queda fuera.",
            "2 papeletas de Cleo pasan a su siguiente opción: Ben +2.",
            "1 papeleta no tiene más opciones en el recuento y queda inactiva.",
        ],
        [
            (
                "Nadie tiene más de la mitad de las 12 papeletas que aún cuentan; Ana va "
                f"primero con 6 (50{NB}%)."
            ),
            "Ana y Ben empatan con menos votos, 6 cada una.",
            "Ben tenía menos votos en una ronda anterior y queda fuera.",
            "6 papeletas no tienen más opciones en el recuento y quedan inactivas.",
        ],
        [(f"Ana tiene más de la mitad de las 6 papeletas que aún cuentan (6, 100{NB}%) y gana.")],
    ],
}

LOT_ROUND_ONE = {
    "en": "Earlier rounds do not separate Cleo and Dev: Cleo is eliminated, drawn by lot "
    "(seed s33d; tickets Cleo 63d4be048047…, Dev 8ed84cfe2322…; the lowest goes).",
    "de": "Frühere Durchgänge trennen Cleo und Dev nicht: Cleo scheidet aus, durch Los "
    "bestimmt (Startwert s33d; Lose Cleo 63d4be048047…, Dev 8ed84cfe2322…; das niedrigste "
    "scheidet aus).",
    "fr": f"Les tours précédents ne départagent pas Cleo et Dev{NB}: Cleo sort du décompte, "
    f"tiré au sort (graine s33d{NB}; tickets Cleo 63d4be048047…, Dev 8ed84cfe2322…{NB}; le "
    "plus bas sort).",
    "es": "Las rondas anteriores no separan a Cleo y Dev: Cleo queda fuera, por sorteo "
    "(semilla s33d; boletos Cleo 63d4be048047…, Dev 8ed84cfe2322…; sale el más bajo).",
}

BATCH_ROUND_ONE = {
    "en": [
        "3 imported ballots ranked no one and count in no round: 3 (overvote).",
        "No one has more than half of the 21 ballots still counting; Ana leads with 10 (47.6%).",
        (
            "Cleo and Dev together have 3 votes, fewer than Ben alone (8): none of them can catch "
            "up, so all are eliminated together."
        ),
        "3 ballots have no more choices in the count and become inactive.",
    ],
    "de": [
        (
            "3 importierte Stimmzettel nennen niemanden und zählen in keinem Durchgang: "
            "3 (Mehrfachmarkierung)."
        ),
        (
            "Niemand hat mehr als die Hälfte der 21 noch zählenden Stimmzettel; Ana führt mit 10 "
            f"(47,6{NB}%)."
        ),
        (
            "Cleo und Dev haben zusammen 3 Stimmen, weniger als Ben allein (8): Keiner von ihnen "
            "kann aufholen, also scheiden alle zusammen aus."
        ),
        "3 Stimmzettel haben keine Wahl mehr im Rennen und werden inaktiv.",
    ],
    "fr": [
        (
            f"3 bulletins importés ne classent personne et ne comptent dans aucun tour{NB}: "
            "3 (vote multiple à un rang)."
        ),
        (
            f"Personne n’a plus de la moitié des 21 bulletins encore en jeu{NB}; Ana mène avec 10 "
            f"(47,6{NNB}%)."
        ),
        (
            f"Cleo et Dev ont ensemble 3 votes, moins que Ben seul (8){NB}: aucun ne peut "
            "rattraper son retard, tous sortent donc ensemble du décompte."
        ),
        "3 bulletins n’ont plus de choix en lice et deviennent inactifs.",
    ],
    "es": [
        (
            "3 papeletas importadas no ordenan a nadie y no cuentan en ninguna ronda: "
            "3 (voto múltiple en un rango)."
        ),
        (
            "Nadie tiene más de la mitad de las 21 papeletas que aún cuentan; Ana va primero con "
            f"10 (47,6{NB}%)."
        ),
        (
            "Cleo y Dev suman juntas 3 votos, menos que Ben sola (8): ninguna puede alcanzarla, "
            "así que todas quedan fuera a la vez."
        ),
        "3 papeletas no tienen más opciones en el recuento y quedan inactivas.",
    ],
}


@pytest.mark.parametrize("language", ROUNDS_IN_WORDS)
def test_each_round_says_who_leads_who_goes_where_the_ballots_move_and_who_wins(
    language: str,
) -> None:
    with translation.override(language):
        assert describe(ONE_AT_A_TIME) == ROUNDS_IN_WORDS[language]


@pytest.mark.parametrize("language", LOT_ROUND_ONE)
def test_a_tie_broken_by_lot_names_the_seed_and_the_tickets(language: str) -> None:
    with translation.override(language):
        first = describe(BY_LOT)[0]
    assert first[2] == LOT_ROUND_ONE[language]
    tickets = {t["id"]: t["ticket"] for t in BY_LOT["rounds"][0]["tie"]["lot"]}
    assert tickets[3].startswith("63d4be048047")
    assert tickets[4].startswith("8ed84cfe2322")


@pytest.mark.parametrize("language", BATCH_ROUND_ONE)
def test_a_batch_says_why_none_can_catch_up_and_inactive_ballots_stay_apart(
    language: str,
) -> None:
    with translation.override(language):
        assert describe(BATCH)[0] == BATCH_ROUND_ONE[language]
    # Apart: the round's shares are of the ballots still counting only.
    assert sum(c["percent"] for c in BATCH["rounds"][1]["counts"]) == 100.0


@pytest.mark.parametrize(
    ("language", "number", "percent", "said"),
    [
        ("en", 46716, 57.19, "46,716 57.2%"),
        ("de", 46716, 57.0, f"46.716 57{NB}%"),
        ("fr", 104522, 0.5, f"104{NNB}522 0,5{NNB}%"),
        ("es", 1842, 12.3, f"1842 12,3{NB}%"),  # CLDR: Spanish groups from five digits
        ("es", 20125, 12.3, f"20.125 12,3{NB}%"),
    ],
)
def test_numbers_are_grouped_and_shares_written_per_language(
    language: str, number: int, percent: float, said: str
) -> None:
    with translation.override(language):
        assert f"{grouped(number)} {share(percent)}" == said


def test_a_tie_by_position_and_counting_on_until_two_remain_are_said() -> None:
    with translation.override("en"):
        by_position, until_two = describe(BY_POSITION), describe(UNTIL_TWO)
    assert by_position[0][1:3] == [
        "Cleo and Dev tie for the fewest votes, 2 each.",
        (
            "Earlier rounds do not separate Cleo and Dev; the rules eliminate the one listed last: "
            "Dev."
        ),
    ]
    assert until_two[0][0] == (
        "Ana has more than half (6, 60%), but the rules count on until two choices remain."
    )
    assert until_two[-1] == [
        "Ana has more than half of the 9 ballots still counting (6, 66.7%) and wins."
    ]


def test_no_winner_when_all_tied_and_the_rules_let_none_go() -> None:
    with translation.override("en"):
        said = describe(ALL_TIED)
    assert said[-1] == ["Ana and Ben are tied and the rules let none of them go: no one wins."]


@pytest.fixture
def _no_kept_snapshots(redis_client: Any) -> None:
    """Poll ids come again after the database is emptied: an earlier test's kept snapshot
    must not answer for this test's poll."""
    for key in redis_client.scan_iter("results:snapshot:*"):
        redis_client.delete(key)


@pytest.mark.django_db
@pytest.mark.usefixtures("_no_kept_snapshots")
def test_the_api_says_the_rounds_in_the_requests_language_and_the_page_in_the_pages() -> None:
    poll = kind_poll(K.RANKED)
    red, green, blue, _gold = ids(poll)
    assert poll.opens_at is not None
    votes = [
        QueuedVote(uuid.uuid4(), poll.pk, None, f"anon:{uuid.uuid4().hex}", poll.opens_at, r)
        for many, r in ((3, (red,)), (2, (green,)), (1, (blue, green)))
        for _ in range(many)
    ]
    record_votes(votes)
    client = Client()
    english = client.get(f"/api/polls/{poll.slug}/results").json()
    german = client.get(f"/api/polls/{poll.slug}/results", HTTP_ACCEPT_LANGUAGE="de").json()
    assert english["described_language"] == "en"
    assert german["described_language"] == "de"
    # Red 3, Green 2, Blue 1 (then Green), Gold 0: Gold, then Blue go; Red and Green tie
    # 3-3 and Green had fewer in round 1; Red wins round 4.
    assert len(english["described"]) == len(english["rounds"]) == 4
    assert english["described"][-1] == [
        "Red has more than half of the 3 ballots still counting (3, 100%) and wins."
    ]
    assert german["described"][0][1] == "Gold hat die wenigsten Stimmen (0) und scheidet aus."
    page = client.get(f"/polls/{poll.slug}/results/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Blue a le moins de votes (1) et sort du décompte." in page
    assert Poll.objects.get(pk=poll.pk).kind == K.RANKED
