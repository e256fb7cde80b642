"""Model hooks: every poll has a counter row and every choice a tally row, however it was
created; a saved poll's admission state is recorded (polls.openness); a changed poll is
forgotten by this process's poll copies and re-checked by open results pages; a changed
live session's pages kept for new visitors are forgotten."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from . import chain, gates, openness, selectors, snapshots
from .counting import chain as chain_events
from .live import audience, publisher
from .models import Choice, LiveSession, Poll, PollCounter, QnaBoard, Tally
from .pipeline import qna_admission

PRESENTERS_GROUP = "Presenters"


@receiver(post_save, sender=Poll)
def create_poll_counter(sender: type[Poll], instance: Poll, created: bool, **kwargs: Any) -> None:
    if created:
        PollCounter.objects.get_or_create(poll=instance)


@receiver(post_save, sender=Poll)
def record_admission_state(
    sender: type[Poll], instance: Poll, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    # Its status or schedule may have changed (the admin, organising, a command). Saving
    # updated its row, which stays locked until the commit, as openness.changed needs.
    if not raw:
        openness.changed([instance], new=created)


@receiver(post_delete, sender=Poll)
def forget_admission_state(sender: type[Poll], instance: Poll, **kwargs: Any) -> None:
    poll_id = instance.pk
    transaction.on_commit(lambda: gates.forget(poll_id))


@receiver(post_save, sender=Choice)
def create_choice_tally(
    sender: type[Choice], instance: Choice, created: bool, **kwargs: Any
) -> None:
    if created:
        Tally.objects.get_or_create(choice=instance, defaults={"poll_id": instance.poll_id})


@receiver(post_delete, sender=QnaBoard)
def forget_board_copy(sender: type[QnaBoard], instance: QnaBoard, **kwargs: Any) -> None:
    # Redis's copy of a board has no TTL: one per board, so it goes with its board.
    board_id = instance.pk
    transaction.on_commit(lambda: qna_admission.forget_copy(board_id))


@receiver(post_delete, sender=Choice)
def chain_choice_deleted(sender: type[Choice], instance: Choice, **kwargs: Any) -> None:
    # On the poll's sealed chain; not when the poll itself goes (nothing left to seal).
    origin = kwargs.get("origin")
    if isinstance(origin, Poll) or getattr(origin, "model", None) is Poll:
        return
    chain.record_organiser_event(
        instance.poll_id,
        chain_events.CHOICE_DELETED,
        {"choice": instance.pk, "label": instance.label},
    )


@receiver([post_save, post_delete], sender=Poll)
@receiver([post_save, post_delete], sender=Choice)
def forget_cached_poll(sender: type[Any], instance: Poll | Choice, **kwargs: Any) -> None:
    # Other processes see the change within POLL_CACHE_SECONDS; this one at once.
    poll = (
        instance if isinstance(instance, Poll) else Poll.objects.filter(pk=instance.poll_id).first()
    )
    if poll is not None:
        selectors.forget_cached_poll(poll.slug)
        poll_id = poll.pk  # its question or choices may be in the kept snapshot
        transaction.on_commit(lambda: snapshots.forget(poll_id))


@receiver(post_save, sender=LiveSession)
def forget_audience_pages(sender: type[LiveSession], instance: LiveSession, **kwargs: Any) -> None:
    # Moved, locked, revealed, a new code, ended: the pages kept for new visitors go once
    # it is committed (its seq read back by then: polls.live_sessions._save).
    session_id = instance.pk

    def forget() -> None:
        seq = instance.seq if isinstance(instance.seq, int) else None
        audience.forget(session_id, seq)

    transaction.on_commit(forget)


@receiver(post_save, sender=Poll)
def recheck_viewers(sender: type[Poll], instance: Poll, created: bool, **kwargs: Any) -> None:
    # Its state or visibility may have changed: open pages must not wait for a vote to see
    # it, and a viewer the rules no longer admit stops receiving (a new poll has none).
    if not created:
        publisher.announce_rules_after_commit(instance.pk)


@receiver(post_migrate)
def ensure_presenters_group(sender: Any, **kwargs: Any) -> None:
    # The "Presenters" group: its members may present any session. After every migrate
    # (and every flush), once Django has made the permissions.
    if getattr(sender, "name", "") != "polls":
        return
    permission = Permission.objects.filter(
        content_type__app_label="polls", codename="present_livesession"
    ).first()
    if permission is not None:
        group, _ = Group.objects.get_or_create(name=PRESENTERS_GROUP)
        group.permissions.add(permission)
    # The "Moderators" group (issue 34): its members moderate audience text.
    moderate = Permission.objects.filter(
        content_type__app_label="polls", codename="moderate_entries"
    ).first()
    if moderate is not None:
        moderators, _ = Group.objects.get_or_create(name="Moderators")
        moderators.permissions.add(moderate)
