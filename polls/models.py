"""Polls, their choices, one vote per voter, and the exact tallies the worker keeps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.functions import Lower
from django.utils import timezone


def _option(name: str, default: Any = None) -> property:
    """A kind's option as an attribute of the poll, kept in `Poll.options`."""

    def read(poll: Poll) -> Any:
        return poll.options.get(name, default)

    def write(poll: Poll, value: Any) -> None:
        if value is None or value == "":
            poll.options.pop(name, None)
        else:
            poll.options[name] = value

    return property(read, write, doc=f"The kind's option {name!r} (Poll.options).")


class Poll(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        RANKED = "ranked", "Ranked choice"
        SCALE = "scale", "Rating scale"
        WORDCLOUD = "wordcloud", "Word cloud"
        OPENANSWER = "openanswer", "Open answer"

    class ResultsVisibility(models.TextChoices):
        ALWAYS = "always", "Always"
        AFTER_VOTE = "after_vote", "After the voter has voted"
        AFTER_CLOSE = "after_close", "After the poll closes"
        HIDDEN = "hidden", "Hidden (staff only)"

    slug = models.SlugField(max_length=80, unique=True)
    question = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.SINGLE,
        help_text="What a ballot says. Cannot change once the poll has ballots.",
    )
    # The kind's options (polls.kinds: each kind declares and checks its own), e.g.
    # {"max_picks": 3} or {"scale_min": 0, "scale_max": 10}; absent means the default.
    options = models.JSONField(
        default=dict, blank=True, help_text="The options of the poll's kind."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(
        null=True, blank=True, help_text="An open poll takes votes from this time on."
    )
    closes_at = models.DateTimeField(
        null=True, blank=True, help_text="The poll stops taking votes at this time by itself."
    )
    results_visibility = models.CharField(
        max_length=12,
        choices=ResultsVisibility.choices,
        default=ResultsVisibility.ALWAYS,
        help_text="Who may see the results (staff always can).",
    )
    allow_vote_change = models.BooleanField(
        default=True, help_text="A voter may change their vote while the poll is open."
    )
    login_required = models.BooleanField(
        default=False, help_text="Only logged-in users may vote (one vote per account)."
    )

    class BallotSecrecy(models.TextChoices):
        SECRET = "secret", "Secret: the board lists receipts only, with the totals"
        PUBLIC = "public", "Public: the board shows each counted receipt with its ballot"

    # Not `open`/`closed` (the poll's status): what the receipts' board may show.
    ballot_secrecy = models.CharField(
        max_length=8,
        choices=BallotSecrecy.choices,
        default=BallotSecrecy.SECRET,
        help_text="Whether the board shows each receipt's ballot (public) or receipts only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.question

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Closing stamps the moment, so the worker can still count votes cast before it.
        now = timezone.now()
        if self.status == self.Status.CLOSED and (self.closes_at is None or self.closes_at > now):
            self.closes_at = now
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "The poll must close after it opens."})

    # Today's options by name, read and written in `options` (None: the kind's default):
    # Poll(max_picks=3) and poll.max_picks read as they did when these were columns (the
    # tests, a shell). The product reads `options` through the kind; a new kind's options
    # live in `options` alone.
    min_picks = _option("min_picks")
    max_picks = _option("max_picks")
    max_ranks = _option("max_ranks")
    scale_min = _option("scale_min")
    scale_max = _option("scale_max")
    scale_min_label = _option("scale_min_label", "")
    scale_max_label = _option("scale_max_label", "")

    @property
    def scale_range(self) -> tuple[int, int]:
        """The scale's lowest and highest value (1 and 5 unless set)."""
        low = 1 if self.scale_min is None else self.scale_min
        high = 5 if self.scale_max is None else self.scale_max
        return low, high

    def is_open_at(self, when: datetime) -> bool:
        """The one rule for "does this poll take a vote cast at `when`"."""
        return (
            self.status != self.Status.DRAFT
            and (self.opens_at is None or self.opens_at <= when)
            and (self.closes_at is None or when < self.closes_at)
        )

    def state_at(self, when: datetime) -> str:
        """What a visitor sees: draft, scheduled, open or closed."""
        if self.status == self.Status.DRAFT:
            return "draft"
        if self.closes_at is not None and when >= self.closes_at:
            return "closed"
        if self.opens_at is not None and when < self.opens_at:
            return "scheduled"
        return "open"

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())

    def results_visible_at(self, when: datetime, *, has_voted: bool, is_staff: bool) -> bool:
        """The one rule for "may this viewer see the results now"."""
        if is_staff:
            return True
        rule = self.ResultsVisibility
        return {
            rule.ALWAYS: True,
            rule.AFTER_VOTE: has_voted,
            rule.AFTER_CLOSE: self.state_at(when) == "closed",
            rule.HIDDEN: False,
        }.get(self.results_visibility, False)  # type: ignore[call-overload]


class Choice(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "label"], name="choice_label_unique_per_poll")
        ]

    def __str__(self) -> str:
        return self.label


_Row = TypeVar("_Row", bound=models.Model)


class RowsManager(models.Manager[_Row]):
    """A model's manager that can also INSERT rows given as plain tuples (`insert_rows`),
    for the worker's batches: bulk_create's model per row, its insert compiler and its
    RETURNING of the ids were a fifth of the worker's time storing a word cloud's ballots."""

    CHUNK = 1000  # rows a statement: a bounded statement whatever the batch

    def insert_rows(
        self, columns: Sequence[tuple[str, str]], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """INSERT `rows` (values in the order of `columns`, (name, SQL type) pairs), in
        their order, one statement per CHUNK. No ON CONFLICT: a clash raises
        IntegrityError, as bulk_create does."""
        if not rows:
            return
        names = ", ".join(name for name, _type in columns)
        one = "(" + ", ".join(f"%s::{kind}" for _name, kind in columns) + ")"
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            for start in range(0, len(rows), self.CHUNK):
                chunk = rows[start : start + self.CHUNK]
                cursor.execute(
                    f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 (our names)
                    + ", ".join([one] * len(chunk)),
                    [value for row in chunk for value in row],
                )


class Vote(models.Model):
    """The voter's current ballot in a poll: one row per (poll, voter), last cast wins.

    `ballot` holds what it says, whatever the poll's kind: the choice (single), the choices
    picked in id order (multiple), the ranking, best first (ranked), or the value (scale).
    `choice` is that choice for a single-choice poll (it protects the choice from deletion).
    """

    # No index of its own: one_vote_per_voter (poll, voter_key) and vote_receipt start with
    # the poll and serve every lookup by poll; a third index cost every stored vote.
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes", db_index=False)
    voter_key = models.CharField(max_length=64)
    choice = models.ForeignKey(
        Choice, null=True, blank=True, on_delete=models.PROTECT, related_name="votes"
    )
    ballot = ArrayField(models.BigIntegerField(), default=list)
    cast_at = models.DateTimeField()
    vote_id = models.UUIDField(default=uuid.uuid4)
    stored_at = models.DateTimeField(auto_now=True)
    # The counted ballot's receipt and nonce (polls.counting.receipts); "" for a vote
    # stored before receipts. Not unique: 50 bits may, rarely, repeat within a poll.
    receipt = models.CharField(max_length=10, default="", blank=True)
    nonce = models.CharField(max_length=64, default="", blank=True)
    # Redis's clock at this ballot's admission (ms): a quiz answer's time (issue 36).
    admitted_ms = models.BigIntegerField(null=True, blank=True)

    objects = RowsManager["Vote"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter_key"], name="one_vote_per_voter")
        ]
        indexes = [models.Index(fields=["poll", "receipt"], name="vote_receipt")]

    def __str__(self) -> str:
        return f"{self.voter_key} -> {self.choice_id}"


class Tally(models.Model):
    """Ballots per choice (for multiple choice: voters who picked it; for ranked choice:
    first preferences), changed only in the ballot's own transaction.

    Kept apart from Choice so that saving a Choice (admin) never writes a stale count.
    """

    choice = models.OneToOneField(
        Choice, on_delete=models.CASCADE, primary_key=True, related_name="tally"
    )
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="tallies")
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "tallies"

    def __str__(self) -> str:
        return f"{self.choice_id}: {self.votes}"


class RankingCount(models.Model):
    """How many ballots of a ranked poll rank its choices exactly so, best first.

    Results are computed from these (as many as there are distinct rankings), never from
    the ballots; changed only in the ballot's own transaction, as Tally is.
    """

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ranking_counts")
    ranking = ArrayField(models.BigIntegerField())
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "ranking"], name="one_count_per_ranking")
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.ranking}: {self.votes}"


class ValueCount(models.Model):
    """How many ballots of a rating-scale poll gave each value (the same rules as Tally)."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="value_counts")
    value = models.SmallIntegerField()
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "value"], name="one_count_per_value")
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.value}: {self.votes}"


class PollCounter(models.Model):
    """Total votes and a sequence number that grows with every change to the tallies.

    Live results carry `seq`, so a client can drop anything older than what it shows.
    """

    poll = models.OneToOneField(
        Poll, on_delete=models.CASCADE, primary_key=True, related_name="counter"
    )
    total = models.PositiveIntegerField(default=0)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.total} (seq {self.seq})"


class PollReset(models.Model):
    """Who removed a poll's votes, when, and how many: an organiser's reset is on record."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="resets")
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reset_at = models.DateTimeField(default=timezone.now)
    votes_removed = models.PositiveIntegerField()
    # A text poll's entries removed with its votes (issue 33); a default in the table too, for
    # the web pods of the release before, which write resets without it.
    entries_removed = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-reset_at", "-id"]

    def __str__(self) -> str:
        return f"{self.poll_id} reset at {self.reset_at:%Y-%m-%d %H:%M:%S}"


class BallotImport(models.Model):
    """Ballots an organiser imported from an election office's cast-vote records (polls.
    imports): one event, with the file's SHA-256, never a voter's ballot (no Vote rows).

    `profile` keeps the imported rankings (choice ids, best first) with their counts, so a
    recount counts them beside the Vote rows; `ended` those whose ranking ended for a
    reason ("overvote", "skipped"); `inactive` the ballots that rank nobody, by reason. A
    reset of the poll's votes withdraws the import (`withdrawn_at`): the record stays.
    """

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballot_imports")
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    file_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()  # ballot rows read
    ballots = models.PositiveIntegerField()  # their weights' sum
    counted = models.PositiveIntegerField()  # of those, ballots that rank someone
    inactive = models.JSONField(default=dict)
    profile = models.JSONField(default=list)  # [[ranking], ballots]
    ended = models.JSONField(default=list)  # [[ranking], reason, ballots]
    rules = models.JSONField(default=dict)  # the record format and import rules used
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["imported_at", "id"]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.file_name or 'records'} ({self.sha256[:12]})"


class LiveSession(models.Model):
    """A presenter's series of polls for a room: the audience joins with a short code and
    follows the presenter's current poll; votes count only while it is current and open.

    The state the vote path needs (which poll is current, whether it is locked) also lives
    in Redis, where the admission script reads it (polls.live_sessions).
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    title = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="live_sessions"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.DRAFT)

    class CodeDigits(models.IntegerChoices):
        ROOM = 6, "6 digits: a room (found by a guesser in days, see docs/security.md)"
        PUBLIC = 9, "9 digits: a public event (decades)"

    code = models.CharField(max_length=9, blank=True, help_text="The join code while live.")
    code_digits = models.PositiveSmallIntegerField(
        choices=CodeDigits.choices,
        default=CodeDigits.ROOM,
        help_text="How long the join code is: longer for an event whose code is public.",
    )
    polls: models.ManyToManyField[Poll, SessionPoll] = models.ManyToManyField(
        Poll, through="SessionPoll", related_name="sessions"
    )
    current_poll = models.ForeignKey(
        Poll, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked = models.BooleanField(default=False, help_text="Voting on the current poll is closed.")
    reveal = models.BooleanField(default=False, help_text="The audience sees the results.")
    quiz_leaderboard = models.BooleanField(
        "quiz leaderboard",
        default=True,
        help_text="Show the quiz leaderboard on the projector and each player's place on "
        "the phones (turn off for a classroom: phones still say right or wrong and points).",
    )
    seq = models.BigIntegerField(default=0)  # grows with every change the audience must see
    live_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "session"
        ordering = ["-created_at", "-id"]
        permissions = [("present_livesession", "Can present any session")]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(state="live"), name="one_live_session_per_code"
            )
        ]

    def __str__(self) -> str:
        return self.title


class SessionPoll(models.Model):
    """A poll's place in a session."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="entries")
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="session_entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "poll"], name="a_poll_once_per_session")
        ]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.poll_id}"


class VotingWindow(models.Model):
    """A span during which a session's poll was current and open: the worker counts a vote
    of such a poll only if it was cast in one (with the admission's clock margin)."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="windows")
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="voting_windows")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [models.Index(fields=["poll", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.opened_at:%H:%M:%S}-{self.closed_at or '…'}"


class AdmissionChange(models.Model):
    """One change of whether a poll admits votes: its id is the poll's admission version.

    Ids come from a Postgres sequence and are never reused, even by a rolled-back change,
    so Redis's copy of each poll's state (polls.gates) can be written compare-and-set on
    them: an older write never overwrites a newer one. Each vote carries the version it
    was admitted under; the worker looks it up here (polls.pipeline.store).
    """

    class State(models.TextChoices):
        OPEN = "open", "Open (within its schedule)"
        LIVE = "live", "Open: its live session's current poll"
        CLOSED = "closed", "Closed"
        LOCKED = "locked", "Locked by its live session"
        WAITING = "waiting", "Not its live session's current poll"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="admission_changes")
    state = models.CharField(max_length=8, choices=State.choices)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    # A quiz question's countdown (issue 36): it opens for this long from Redis's TIME of
    # the write that opens it; opens_at and closes_at record that write's times.
    limit_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["poll", "-id"])]

    def __str__(self) -> str:
        return f"{self.poll_id} v{self.pk}: {self.state}"

    def admits_at(self, when: datetime) -> bool:
        """Whether this state admitted a vote at `when` (the admission's clock)."""
        return (
            self.state in (self.State.OPEN, self.State.LIVE)
            and (self.opens_at is None or self.opens_at <= when)
            and (self.closes_at is None or when < self.closes_at)
        )


class UncountedReceipt(models.Model):
    """A receipt whose ballot is not counted: replaced by a later ballot of its voter, or
    refused by the worker (with why). A counted receipt is on its `Vote` row; a receipt
    found in neither was never stored (or its poll was reset).

    One row per vote id (storing it again changes nothing: redelivery).
    """

    class Fate(models.TextChoices):
        REPLACED = "replaced", "Replaced by a later ballot of the same voter"
        REFUSED = "refused", "Refused"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="uncounted_receipts")
    vote_id = models.UUIDField(unique=True)
    receipt = models.CharField(max_length=10)
    nonce = models.CharField(max_length=64, default="", blank=True)
    fate = models.CharField(max_length=8, choices=Fate.choices)
    reason = models.CharField(max_length=100, default="", blank=True)  # why it was refused
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["poll", "receipt"], name="uncounted_receipt")]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.receipt}: {self.fate}"


class QuizPlayer(models.Model):
    """A player's nickname in a quiz session (issue 36): unique within the session, checked
    by the profanity filter, changeable until the session's first quiz question starts."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="players")
    voter_key = models.CharField(max_length=64)
    nickname = models.CharField(max_length=24)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "voter_key"], name="one_nickname_per_voter"),
            models.UniqueConstraint(
                Lower("nickname"), "session", name="nickname_unique_in_session"
            ),
        ]

    def __str__(self) -> str:
        return self.nickname


# --- Text answers (issue 33): a word cloud's words, open answers ---------------------
# The entries are the voter's ballot for a text kind (Vote.ballot stays empty); the counts
# per term are kept in the ballot's own transaction, like the tallies, so a snapshot never
# scans the entries. polls.text_entries writes and reads them; docs/text-answers.md.


class TextEntry(models.Model):
    """One entry of a voter's current text ballot: a word cloud's word or phrase, or an open
    answer. `shown` and `key` were normalised once, before admission (polls.counting.text),
    and are never normalised again. A voter's next ballot replaces all of their entries.

    Only a shown entry counts. The profanity filter's catch is stored pending (`flagged`),
    never shown or counted; moderation (issue 34) moves entries between the states, adding
    or taking away their counts in the same transaction.
    """

    class State(models.TextChoices):
        SHOWN = "shown", "Shown"
        PENDING = "pending", "Pending review"
        HIDDEN = "hidden", "Hidden"

    # The poll's own index would only tempt the planner: the composite ones start with it.
    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="text_entries", db_index=False
    )
    voter_key = models.CharField(max_length=64)
    vote_id = models.UUIDField()  # the ballot that brought it
    position = models.PositiveSmallIntegerField(default=0)  # its place in that ballot
    shown = models.TextField()  # what every page shows
    key = models.TextField()  # what counts: `shown` case-folded
    # Keys are compared and indexed by this digest (a key can be longer than an index row).
    digest = models.CharField(max_length=32)
    state = models.CharField(max_length=8, choices=State.choices, default=State.SHOWN)
    flagged = models.BooleanField(default=False, help_text="The profanity filter caught it.")
    cast_at = models.DateTimeField()
    stored_at = models.DateTimeField(default=timezone.now)
    # The last moderator's action on it (approve, hide, restore): who and when (issue 34).
    # Indexed only where set (entry_moderated_by): the worker's entries never are.
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    moderated_at = models.DateTimeField(null=True, blank=True)

    objects = RowsManager["TextEntry"]()

    class Meta:
        verbose_name_plural = "text entries"
        indexes = [
            models.Index(fields=["poll", "voter_key"], name="entry_by_voter"),
            models.Index(
                fields=["poll", "-id"], condition=models.Q(state="shown"), name="entry_shown_newest"
            ),
            models.Index(
                fields=["poll", "digest", "-id"],
                condition=models.Q(state="shown"),
                name="entry_shown_by_term",
            ),
            # A moderator's queue: the pending (or hidden) entries, newest first.
            models.Index(
                fields=["poll", "state", "-id"],
                condition=~models.Q(state="shown"),
                name="entry_moderation",
            ),
            # A deleted user's actions set to NULL (SET_NULL) find their rows here; an
            # index of every row's NULL cost each stored entry an index insert (issue 33).
            models.Index(
                fields=["moderated_by"],
                condition=models.Q(moderated_by__isnull=False),
                name="entry_moderated_by",
            ),
        ]

    def __str__(self) -> str:
        return self.shown


class TermCount(models.Model):
    """How many shown entries of a text poll have this key (a word cloud's term, a card of
    open answers); changed only in the ballot's own transaction, as Tally is. A count of 0
    stays as a row (readers skip it)."""

    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="term_counts", db_index=False
    )
    digest = models.CharField(max_length=32)  # of the key
    key = models.TextField()
    # Its most common spelling among the shown entries (SpellingCount), kept with the count.
    shown = models.TextField(default="")
    votes = models.IntegerField(default=0)
    # Its newest shown entry's id (0: none), kept with the count: open answers' cards say
    # how new each is without a look at the entries.
    newest = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "digest"], name="one_count_per_term")
        ]
        # The top terms, read in this order (ties by digest: the same counts, the same top).
        indexes = [models.Index(fields=["poll", "-votes", "digest"], name="term_top")]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.key}: {self.votes}"


class SpellingCount(models.Model):
    """How many shown entries of a text poll are spelled exactly so: a term shows its most
    common spelling ("Python" over "python")."""

    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="spelling_counts", db_index=False
    )
    digest = models.CharField(max_length=32)  # of the spelling
    term = models.CharField(max_length=32)  # the digest of its key (TermCount.digest)
    shown = models.TextField()
    votes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "digest"], name="one_count_per_spelling")
        ]
        # A term's most common spelling: the first row of this index for (poll, term).
        indexes = [models.Index(fields=["poll", "term", "-votes"], name="spelling_by_term")]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.shown}: {self.votes}"


class EntryCounter(models.Model):
    """A text poll's totals, kept with the counts: shown entries (counted), distinct terms
    among them, and entries pending review or hidden (counted nowhere)."""

    poll = models.OneToOneField(
        Poll, on_delete=models.CASCADE, primary_key=True, related_name="entry_counter"
    )
    entries = models.IntegerField(default=0)
    distinct_terms = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    hidden = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.entries} entries, {self.distinct_terms} distinct terms"


class ChainBatch(models.Model):
    """One link of a poll's sealed chain (polls.chain, polls.counting.chain): the events one
    transaction stored (a worker's batch of ballots, an organiser's action), their hashes
    and the batch's hash over the previous one. Appended, never changed."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="chain")
    index = models.PositiveIntegerField()  # from 1 within its poll
    previous = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    events = models.JSONField()
    event_hashes = ArrayField(models.CharField(max_length=64))
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "index"], name="one_chain_batch_per_index")
        ]

    def __str__(self) -> str:
        return f"{self.poll_id} #{self.index} {self.hash[:12]}"


class ChainHead(models.Model):
    """A poll's seal: its chain's last hash and length. Its row is locked by whoever
    appends, so two transactions never fork the chain."""

    poll = models.OneToOneField(
        Poll, on_delete=models.CASCADE, primary_key=True, related_name="chain_head"
    )
    length = models.PositiveIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.length} batches, {self.hash[:12]}"


class TermDecision(models.Model):
    """A moderator's decision on a word cloud's term (every entry of one key, whoever gave
    it): approved terms are shown, hidden ones hidden, now and for entries still to come
    (polls.text_entries.initial_state). Open answers are moderated per entry: no row."""

    class Decision(models.TextChoices):
        SHOWN = "shown", "Approved"
        HIDDEN = "hidden", "Hidden"

    poll = models.ForeignKey(
        Poll, on_delete=models.CASCADE, related_name="term_decisions", db_index=False
    )
    digest = models.CharField(max_length=32)  # of the key (TermCount.digest)
    key = models.TextField()
    decision = models.CharField(max_length=8, choices=Decision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "digest"], name="one_decision_per_term")
        ]
        # Who may moderate audience text: presenters, staff and the "Moderators" group.
        permissions = [("moderate_entries", "Can moderate audience text")]

    def __str__(self) -> str:
        return f"{self.poll_id} {self.key}: {self.decision}"


class QnaBoard(models.Model):
    """A live session's Q&A board (issue 35): the audience asks and upvotes, the presenter
    answers. Whether it admits questions and upvotes also lives in Redis, where the Q&A
    admission script reads it (polls.qna, polls.pipeline.qna_admission)."""

    class Moderation(models.TextChoices):
        OFF = "off", "Off: every question is shown at once, unfiltered"
        AFTER = "after", "After: shown at once, the filter's catches held for review"
        BEFORE = "before", "Before: every question waits for a moderator"

    class Names(models.TextChoices):
        ANONYMOUS = "anonymous", "Anonymous: no names"
        ALLOWED = "allowed", "A name is allowed"
        REQUIRED = "required", "A name is required"

    session = models.OneToOneField(LiveSession, on_delete=models.CASCADE, related_name="qna_board")
    enabled = models.BooleanField(default=True, help_text="The audience sees the board.")
    asking_open = models.BooleanField(default=True, help_text="New questions are taken.")
    upvoting_open = models.BooleanField(default=True, help_text="Upvotes are taken.")
    moderation = models.CharField(
        max_length=8, choices=Moderation.choices, default=Moderation.AFTER
    )
    filter_refuses = models.BooleanField(
        default=False,
        help_text="Refuse a question the profanity filter catches (else hold it for review).",
    )
    names = models.CharField(max_length=10, choices=Names.choices, default=Names.ANONYMOUS)
    highlighted = models.ForeignKey(
        "Question", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(default=False, help_text="Put away: closed and not shown.")
    version = models.BigIntegerField(default=0)  # Redis's copy is written in this order
    seq = models.BigIntegerField(default=0)  # grows with every change the pages must see
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Q&A board"

    def __str__(self) -> str:
        return f"Q&A of {self.session_id}"


class Question(models.Model):
    """An audience question on a Q&A board, stored by the worker (its `uuid` was given at
    admission: storing it twice changes nothing). `upvotes` is kept in the worker's
    transaction from the QnaUpvote rows."""

    class State(models.TextChoices):
        SHOWN = "shown", "Shown"
        PENDING = "pending", "Pending review"
        HIDDEN = "hidden", "Hidden"

    board = models.ForeignKey(QnaBoard, on_delete=models.CASCADE, related_name="questions")
    uuid = models.UUIDField(unique=True)
    voter_key = models.CharField(max_length=64)
    name = models.CharField(max_length=160, blank=True)
    text = models.TextField()
    original = models.TextField(blank=True, help_text="As asked, before a typo was corrected.")
    state = models.CharField(max_length=8, choices=State.choices, default=State.SHOWN)
    flagged = models.BooleanField(default=False, help_text="The profanity filter caught it.")
    pinned = models.BooleanField(default=False)
    answered_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    upvotes = models.IntegerField(default=0)
    asked_at = models.DateTimeField()  # the web host's clock
    admitted_ms = models.BigIntegerField()  # Redis's clock at admission
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        # The snapshot's two lists read the first 50 rows of these (a board of any size).
        indexes = [
            models.Index(
                models.F("board"),
                models.F("pinned").desc(),
                models.F("answered_at").asc(nulls_first=True),
                models.F("upvotes").desc(),
                models.F("id").desc(),
                condition=models.Q(state="shown", withdrawn_at=None, archived_at=None),
                name="question_top",
            ),
            models.Index(
                fields=["board", "-id"],
                condition=models.Q(state="shown", withdrawn_at=None, archived_at=None),
                name="question_newest",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class QnaUpvote(models.Model):
    """A voter's latest upvote action on a question: up or not (never a toggle), the
    latest by admission time (then action id) kept by the worker."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="upvote_rows")
    voter_key = models.CharField(max_length=64)
    up = models.BooleanField()
    admitted_ms = models.BigIntegerField()
    action_id = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "voter_key"], name="one_upvote_per_voter_and_question"
            )
        ]
        indexes = [models.Index(fields=["voter_key"], name="upvote_by_voter")]

    def __str__(self) -> str:
        return f"{self.voter_key} {'up' if self.up else 'not'} {self.question_id}"
