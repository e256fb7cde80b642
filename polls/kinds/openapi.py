"""The API's OpenAPI 3.1 document, built from polls/openapi_base.json (what every kind
shares: the paths, the errors, the poll and its results) and each kind's part: its
ballot body, its rules and its voter's ballot in the poll, its results, its schemas and
paths of its own."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from .base import Kind

BASE = Path(__file__).parents[1] / "openapi_base.json"


def document(kinds: list[Kind]) -> dict[str, Any]:
    built = copy.deepcopy(_base())
    schemas = built["components"]["schemas"]
    ballot, poll, results = schemas["Ballot"], schemas["Poll"], schemas["Results"]
    ballot["description"] = (
        "One shape per kind of poll: "
        + ", ".join(f"{kind.name} {kind.api_words}" for kind in kinds)
        + "."
    )
    poll["properties"]["kind"]["enum"] = [kind.name for kind in kinds]
    results["properties"]["kind"]["enum"] = [kind.name for kind in kinds if kind.named_in_snapshot]
    for kind in kinds:
        ballot["oneOf"].append(
            {
                "type": "object",
                "title": kind.name,
                "additionalProperties": False,
                "required": [kind.api_field],
                "properties": {kind.api_field: kind.api_schema},
            }
        )
        poll["properties"].update(kind.rules_schema)
        results["properties"].update(kind.results_schema)
        schemas["Tally"]["properties"].update(kind.choice_schema)
        schemas.update(kind.components)
        built["paths"].update(kind.paths)
    for kind in kinds:  # the voters' ballots last, as the API writes them
        poll["properties"].update(kind.your_ballot_schema)
    return built


@cache
def _base() -> dict[str, Any]:
    return dict(json.loads(BASE.read_text(encoding="utf-8")))
