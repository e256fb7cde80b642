"""Every poll has a counter row and every choice a tally row, however it was created."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Choice, Poll, PollCounter, Tally


@receiver(post_save, sender=Poll)
def create_poll_counter(sender: type[Poll], instance: Poll, created: bool, **kwargs: Any) -> None:
    if created:
        PollCounter.objects.get_or_create(poll=instance)


@receiver(post_save, sender=Choice)
def create_choice_tally(
    sender: type[Choice], instance: Choice, created: bool, **kwargs: Any
) -> None:
    if created:
        Tally.objects.get_or_create(choice=instance, defaults={"poll_id": instance.poll_id})
