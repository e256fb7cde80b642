"""The organisers' admin as a browser drives it: the poll change list, the poll form's POST
data (choices inline), an action run on selected polls."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from polls.models import Poll

CHANGELIST = "/admin/polls/poll/"


def split(when: Any) -> tuple[str, str]:
    """A datetime as the admin's split date and time inputs."""
    if when is None:
        return "", ""
    local = timezone.localtime(when)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def poll_form(poll: Poll | None, choices: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """POST data of the poll change (or add) form, choices inline."""
    values = {
        "question": poll.question if poll else "",
        "slug": poll.slug if poll else "",
        "status": poll.status if poll else Poll.Status.DRAFT,
        "opens_at": poll.opens_at if poll else None,
        "closes_at": poll.closes_at if poll else None,
        "results_visibility": poll.results_visibility if poll else "always",
        "allow_vote_change": poll.allow_vote_change if poll else True,
        "login_required": poll.login_required if poll else False,
        "ballot_secrecy": poll.ballot_secrecy if poll else "secret",
        **fields,
    }
    data: dict[str, Any] = {
        "question": values["question"],
        "slug": values["slug"],
        "status": values["status"],
        "results_visibility": values["results_visibility"],
        "ballot_secrecy": values["ballot_secrecy"],
    }
    for name in ("opens_at", "closes_at"):
        data[f"{name}_0"], data[f"{name}_1"] = split(values[name])
    for name in ("allow_vote_change", "login_required"):
        if values[name]:
            data[name] = "on"
    existing = [c for c in choices if c.get("id")]
    data.update(
        {
            "choices-TOTAL_FORMS": str(len(choices)),
            "choices-INITIAL_FORMS": str(len(existing)),
            "choices-MIN_NUM_FORMS": "0",
            "choices-MAX_NUM_FORMS": "1000",
        }
    )
    for index, choice in enumerate(choices):
        for key, value in choice.items():
            if key == "DELETE" and not value:
                continue
            data[f"choices-{index}-{key}"] = "on" if value is True else value
        if poll:
            data[f"choices-{index}-poll"] = poll.pk
    if poll:
        resets = list(poll.resets.all())
        data.update(
            {
                "resets-TOTAL_FORMS": str(len(resets)),
                "resets-INITIAL_FORMS": str(len(resets)),
                "resets-MIN_NUM_FORMS": "0",
                "resets-MAX_NUM_FORMS": "1000",
            }
        )
        for index, reset in enumerate(resets):
            data[f"resets-{index}-id"] = reset.pk
    return data


def run_action(admin_client, action: str, polls: list[Poll], **extra: str):
    data = {"action": action, "_selected_action": [p.pk for p in polls], **extra}
    return admin_client.post(CHANGELIST, data)
