"""The organisers' admin: polls with their choices, lifecycle actions, read-only votes.

Every change goes through polls.organising, so the admin, the commands and the views
share one implementation of each rule; tallies are read from Tally/PollCounter.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError, QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import (
    displays,
    export,
    kinds,
    live_sessions,
    moderation,
    organising,
    qna,
    quiz,
    selectors,
    text_entries,
)
from .kinds import KINDS, kind_for
from .models import (
    Choice,
    LiveSession,
    Poll,
    PollReset,
    QnaBoard,
    Question,
    SessionPoll,
    TextEntry,
    Vote,
)

# The product's name on every admin page (its header, the browser's title, its home page).
admin.site.site_header = gettext_lazy("Live votes")
admin.site.site_title = gettext_lazy("Live votes: organisers")
admin.site.index_title = gettext_lazy("Your polls and live sessions")


def voting_url(poll: Poll) -> str:
    return settings.VOTING_BASE_URL + reverse("polls:detail", args=[poll.slug])


def results_url(poll: Poll) -> str:
    return settings.RESULTS_BASE_URL + reverse("results:page", args=[poll.slug])


def refuse_deleting_voted_choice(choice: Choice) -> None:
    """Vote.choice is PROTECT: say why a choice stays, in words, without listing every vote."""
    votes = selectors.votes_for_choice(choice=choice)
    if votes:
        raise ValidationError(
            f"The choice “{choice.label}” cannot be deleted: {votes} vote(s) are for it. "
            "Rename it instead, or reset the poll's votes first."
        )


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ("label", "position", "votes")
    readonly_fields = ("votes",)
    ordering = ("position", "id")

    def get_extra(self, request: HttpRequest, obj: Poll | None = None, **kwargs: Any) -> int:
        return 4 if obj is None else 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Choice]:
        return super().get_queryset(request).select_related("tally", "poll__counter")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)

        class ChoiceForm(formset.form):  # type: ignore[name-defined]
            # The admin's own check collects (and lists) every protecting vote.
            def hand_clean_DELETE(self) -> None:
                if self.cleaned_data.get(DELETION_FIELD_NAME) and self.instance.pk:
                    refuse_deleting_voted_choice(self.instance)

        class ChoiceFormSet(formset):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                if getattr(self, "initial_extra", None) is None:
                    # New rows continue the order (0, 1, 2, ... after the last), not all 0.
                    positions = [c.position for c in self.get_queryset()]
                    start = max(positions) + 1 if positions else 0
                    self.initial_extra = [{"position": start + n} for n in range(self.extra)]

            def clean(self) -> None:
                super().clean()
                # The poll's kind options must fit its choices (self.instance: the poll as
                # just edited); a rating scale has values, not choices.
                kept = [
                    f
                    for f in self.forms
                    if f.cleaned_data.get("label") and not f.cleaned_data.get(DELETION_FIELD_NAME)
                ]
                if problem := organising.kind_options_problem(self.instance, len(kept)):
                    raise ValidationError(problem)

        formset.form = ChoiceForm
        return ChoiceFormSet

    @admin.display(description="votes")
    def votes(self, choice: Choice) -> str:
        if choice.pk is None:
            return "-"
        # The poll's shares together: one rounding rule (counting.shares) for all of them.
        _, rows = selectors.tally_rows(poll=choice.poll)
        row = next((r for r in rows if r.choice_id == choice.pk), None)
        return "-" if row is None else f"{row.votes} ({row.percent}%)"


class PollResetInline(admin.TabularInline):
    """Who reset the poll's votes and when: a record, never edited."""

    model = PollReset
    fields = ("reset_at", "reset_by", "votes_removed", "entries_removed")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "vote reset"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _option_fields() -> dict[str, forms.Field]:
    """Every kind's options as form fields (each kind declares its own)."""
    return {option.name: option.field() for kind in KINDS.values() for option in kind.options}


def _option_rows() -> tuple[tuple[str, ...], ...]:
    """The options' fields for a fieldset: each kind's on a row of its own."""
    rows: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for kind in KINDS.values():
        # Options two kinds share (the quiz settings) get one row of their own.
        quiz = tuple(
            o.name for o in kind.options if o.name not in seen and o.name.startswith("quiz_")
        )
        rest = tuple(o.name for o in kind.options if o.name not in seen and o.name not in quiz)
        rows += [row for row in (rest, quiz) if row]
        seen.update(o.name for o in kind.options)
    return tuple(rows)


# The options' fields, declared so the admin's fieldsets may name them.
PollOptionsForm = type("PollOptionsForm", (forms.ModelForm,), _option_fields())


class PollForm(PollOptionsForm):  # type: ignore[valid-type, misc]
    """The admin's poll form (its fields come from PollAdmin.fieldsets); the options of
    the poll's kind are kept in Poll.options, checked by the kind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:  # a form posted without it keeps the poll's kind
            self.fields["kind"].required = False
        for name, value in self.instance.options.items():
            self.initial.setdefault(name, value)

    def clean_kind(self) -> str:
        return str(self.cleaned_data.get("kind") or self.instance.kind or kinds.DEFAULT_KIND)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        edited = Poll(pk=self.instance.pk, kind=cleaned.get("kind", self.instance.kind))
        if problem := organising.kind_change_problem(edited):
            self.add_error("kind", problem)
        kind = kind_for(edited)
        if all(option.name in self.fields for option in kind.options):
            options = {
                option.name: cleaned[option.name]
                for option in kind.options
                if cleaned.get(option.name) not in (None, "")
            }
            for name, problem in kind.option_problems(options).items():
                self.add_error(name, problem)
            stored = self.instance.options if self.instance.pk else {}
            self.instance.options = kind.settled_options(options, stored)
        return cleaned


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    form = PollForm
    list_display = (
        "question",
        "slug",
        "state",
        "status",
        "opens_at",
        "closes_at",
        "total_votes",
        "links",
    )
    list_filter = ("kind", "status", "results_visibility", "login_required")
    search_fields = ("question", "slug")
    prepopulated_fields = {"slug": ("question",)}
    radio_fields = {"results_visibility": admin.VERTICAL}
    readonly_fields = ("state", "results", "links", "imports", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("question", "slug")}),
        (
            "Question",
            {
                "fields": ("kind", *_option_rows()),
                "description": " ".join(
                    [
                        *(f"{kind.label}: {kind.admin_help}" for kind in KINDS.values()),
                        "Only the options of the chosen kind apply.",
                    ]
                ),
            },
        ),
        (
            "Lifecycle",
            {
                "fields": ("status", "opens_at", "closes_at", "state"),
                "description": (
                    "An open poll takes votes from opens_at (if set) until closes_at (if set), "
                    "by itself: nobody needs to act at those times."
                ),
            },
        ),
        (
            "Rules",
            {
                "fields": (
                    "results_visibility",
                    "allow_vote_change",
                    "login_required",
                    "ballot_secrecy",
                )
            },
        ),
        ("Results", {"fields": ("results", "links", "imports", "created_at", "updated_at")}),
    )
    actions = (
        "open_now",
        "close_now",
        "reset_votes",
        "clear_entries",
        "export_csv",
        "export_entries_csv",
        "export_json",
    )
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Poll]:
        return super().get_queryset(request).select_related("counter")

    def get_inlines(self, request: HttpRequest, obj: Poll | None) -> list[type[Any]]:
        return [ChoiceInline] if obj is None else [ChoiceInline, PollResetInline]

    def view_on_site(self, obj: Poll) -> str:
        return voting_url(obj)

    def get_urls(self) -> list[Any]:
        preview = path(
            "<path:object_id>/preview/",
            self.admin_site.admin_view(self.preview_view),
            name="polls_poll_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The question as a phone shows it: the voting page's own ballot (displays.
        voting_form and its _ballot_<kind> partial), which takes no vote from here."""
        poll = self.get_object(request, object_id)
        if poll is None or not self.has_view_permission(request, poll):
            raise PermissionDenied
        context = {
            "poll": poll,
            "choices": poll.choices.all(),
            "problem": organising.question_problem(poll),
            "back": reverse("admin:polls_poll_change", args=[poll.pk]),
            **displays.voting_form(poll, ballot=None),
        }
        return render(request, "polls/preview.html", context)

    def save_model(self, request: HttpRequest, obj: Poll, form: Any, change: bool) -> None:
        before = Poll.objects.filter(pk=obj.pk).values_list("kind", "options").first()
        super().save_model(request, obj, form, change)
        if before is not None and before[0] == obj.kind:  # a rules change is on record
            organising.record_rules_change(obj, before[1], obj.options, by=request.user)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        try:
            super().save_formset(request, form, formset, change)
        except ProtectedError:
            # A vote for the choice arrived after the form was checked.
            self.message_user(
                request,
                "A choice was not deleted: votes for it arrived meanwhile.",
                messages.ERROR,
            )

    # --- Read-only displays ------------------------------------------------------------

    @admin.display(description="state now")
    def state(self, poll: Poll) -> str:
        if poll.pk is None:  # not "draft" while Open is chosen above: nothing is saved yet
            return "decided by the status and times above, once saved"
        return poll.state_at(timezone.now())

    @admin.display(description="votes", ordering="counter__total")
    def total_votes(self, poll: Poll) -> int:
        return poll.counter.total

    @admin.display(description="pages")  # short: "public pages" was cut off at 1280 px
    def links(self, poll: Poll) -> str:
        if poll.pk is None:
            return "-"
        links = format_html(
            '<a href="{}" target="_blank" rel="noopener">vote</a> · '
            '<a href="{}" target="_blank" rel="noopener">results</a>',
            voting_url(poll),
            results_url(poll),
        )
        if kind_for(poll).has_rctab:
            rctab = reverse("polls:api-results-rctab", args=[poll.slug])
            links = format_html('{} · <a href="{}">RCTab JSON</a>', links, rctab)
        return links

    @admin.display(description="ballot imports")
    def imports(self, poll: Poll) -> str:
        """Cast-vote records imported (manage.py import_ballots): each a record, kept."""
        records = list(poll.ballot_imports.all()) if poll.pk else []
        if not records:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{timezone.localtime(r.imported_at):%Y-%m-%d %H:%M}",
                    r.file_name,
                    r.sha256,
                    r.rows,
                    r.counted,
                    "withdrawn" if r.withdrawn_at else "counted",
                )
                for r in records
            ),
        )
        return format_html(
            "<table><thead><tr><th>imported</th><th>file</th><th>SHA-256</th><th>rows</th>"
            "<th>ballots counted</th><th>now</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="tallies")
    def results(self, poll: Poll) -> str:
        if poll.pk is None:
            return "-"
        if kind_for(poll).stores_entries:  # a text poll: its most given terms
            return _terms_table(poll)
        total, rows = selectors.tally_rows(poll=poll)
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}%</td></tr>",
            ((row.label, row.votes, row.percent) for row in rows),
        )
        return format_html(
            "<table><thead><tr><th>choice</th><th>votes</th><th>share</th></tr></thead>"
            "<tbody>{}</tbody><tfoot><tr><td>total</td><td>{}</td><td></td></tr></tfoot></table>",
            body,
            total,
        )

    # --- Actions ------------------------------------------------------------------------

    @admin.action(description="Open selected polls now", permissions=["change"])
    def open_now(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        for poll in queryset:
            organising.open_poll(poll)
        self.message_user(request, f"Opened {len(queryset)} poll(s).", messages.SUCCESS)

    @admin.action(description="Close selected polls now", permissions=["change"])
    def close_now(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        closed = 0
        for poll in queryset:
            try:
                organising.close_poll(poll)
            except organising.PollSetupError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(request, f"Closed {closed} poll(s).", messages.SUCCESS)

    @admin.action(description="Reset votes of selected polls…", permissions=["change"])
    def reset_votes(
        self, request: HttpRequest, queryset: QuerySet[Poll]
    ) -> TemplateResponse | None:
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Reset votes?",
                "opts": self.model._meta,
                "polls": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/polls/poll/reset_votes_confirmation.html", context
            )
        for poll in queryset:
            record = organising.reset_votes(poll, by=request.user)
            self.message_user(
                request,
                f"Reset “{poll}”: {record.votes_removed} vote(s) removed.",
                messages.SUCCESS,
            )
        return None

    @admin.action(
        description="Clear entries of selected word clouds or open answers…",
        permissions=["change"],
    )
    def clear_entries(
        self, request: HttpRequest, queryset: QuerySet[Poll]
    ) -> TemplateResponse | None:
        texts = [poll for poll in queryset if kind_for(poll).stores_entries]
        if len(texts) != len(queryset):
            self.message_user(
                request,
                "Only word clouds and open answers have entries to clear: "
                "choose those (or reset the votes of the others).",
                messages.ERROR,
            )
            return None
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Clear entries?",
                "opts": self.model._meta,
                "polls": queryset.select_related("entry_counter"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/polls/poll/clear_entries_confirmation.html", context
            )
        for poll in queryset:
            record = organising.clear_entries(poll, by=request.user)
            self.message_user(
                request,
                f"Cleared “{poll}”: {record.entries_removed} entries of "
                f"{record.votes_removed} voter(s) removed.",
                messages.SUCCESS,
            )
        return None

    @admin.action(
        description="Export entries of selected word clouds or open answers as CSV",
        permissions=["view"],
    )
    def export_entries_csv(self, request: HttpRequest, queryset: QuerySet[Poll]) -> HttpResponse:
        out = io.StringIO()
        polls = [poll for poll in queryset.order_by("slug") if kind_for(poll).stores_entries]
        for poll in polls:  # one block per poll, each with its header
            out.write(f"# {poll.slug}\n")
            export.write_entries_csv(poll, out)
        name = polls[0].slug if len(polls) == 1 else "polls"
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-entries.csv"'
        return response

    @admin.action(
        description="Export results of selected polls as JSON (with every entry)",
        permissions=["view"],
    )
    def export_json(self, request: HttpRequest, queryset: QuerySet[Poll]) -> HttpResponse:
        documents = []
        for poll in queryset.order_by("slug"):
            document = export.results_document(poll)
            if kind_for(poll).stores_entries:
                document["text"] = export.text_document(poll, entries=True)
            documents.append(document)
        name = queryset.first().slug if len(queryset) == 1 else "polls"  # type: ignore[union-attr]
        body = json.dumps(documents[0] if len(documents) == 1 else documents, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-results.json"'
        return response

    @admin.action(description="Export results of selected polls as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Poll]) -> HttpResponse:
        out = io.StringIO()
        export.write_csv(export.export_rows(polls=queryset.order_by("slug")), out)
        name = queryset.first().slug if len(queryset) == 1 else "polls"  # type: ignore[union-attr]
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-results.csv"'
        return response


def _terms_table(poll: Poll) -> str:
    """A text poll's totals and its most given terms (text, escaped like all text here)."""
    totals = text_entries.totals(poll.pk)
    top = text_entries.terms_page(poll.pk, 1, size=20)
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td></tr>", ((t["text"], t["count"]) for t in top)
    )
    return format_html(
        "<p>{} entries counted, {} different; {} waiting for review, {} hidden.</p>"
        "<table><thead><tr><th>most given</th><th>entries</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        totals.entries,
        totals.distinct,
        totals.pending,
        totals.hidden,
        body,
    )


@admin.register(TextEntry)
class TextEntryAdmin(admin.ModelAdmin):
    """A word cloud's or open answers' entries: text, never markup, never edited here (the
    counts would drift). Moderators approve, hide and restore them with the actions, as
    on their pages (polls.moderation: a word cloud's entry is approved or restored with its
    whole term)."""

    list_display = ("shown", "state", "flagged", "poll", "cast_at", "moderated_by", "moderated_at")
    list_select_related = ("poll", "moderated_by")
    list_filter = ("state", "flagged", "poll")
    search_fields = ("shown", "key")
    fields = ("poll", "shown", "key", "state", "flagged", "position", "vote_id", "cast_at",
              "stored_at", "moderated_by", "moderated_at")  # fmt: skip
    readonly_fields = fields
    show_full_result_count = False
    actions = ("approve", "hide", "restore", "hide_voters")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self.has_moderate_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self.has_moderate_permission(request)

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return moderation.may_moderate(request.user)

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[TextEntry], action: str, unit: str
    ) -> None:
        moved = 0
        for entry in queryset.select_related("poll").order_by("id"):
            target = moderation.Target(unit, entry.pk)
            try:
                moved += moderation.apply(entry.poll, action, target, by=request.user).moved
            except moderation.ModerationError as error:  # gone meanwhile (a new ballot)
                self.message_user(request, str(error), messages.WARNING)
        self.message_user(request, f"{action.capitalize()}: {moved} entries.", messages.SUCCESS)

    @admin.action(description="Approve (a word cloud: the whole term)", permissions=["moderate"])
    def approve(self, request: HttpRequest, queryset: QuerySet[TextEntry]) -> None:
        self._apply(request, queryset, moderation.APPROVE, moderation.ENTRY)

    @admin.action(description="Hide", permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet[TextEntry]) -> None:
        self._apply(request, queryset, moderation.HIDE, moderation.ENTRY)

    @admin.action(description="Restore (a word cloud: the whole term)", permissions=["moderate"])
    def restore(self, request: HttpRequest, queryset: QuerySet[TextEntry]) -> None:
        self._apply(request, queryset, moderation.RESTORE, moderation.ENTRY)

    @admin.action(description="Hide every entry of their voters", permissions=["moderate"])
    def hide_voters(self, request: HttpRequest, queryset: QuerySet[TextEntry]) -> None:
        self._apply(request, queryset, moderation.HIDE, moderation.VOTER)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Votes are evidence: visible, searchable, never edited here (tallies would drift)."""

    list_display = ("voter_key", "poll", "choice", "cast_at", "stored_at")
    list_select_related = ("poll", "choice")
    list_filter = ("poll",)
    search_fields = ("voter_key",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SessionPollForm(forms.ModelForm):
    """A question already in the session (or one picked from the polls): it must be able
    to work as it is (organising.question_problem), said in the organiser's words."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        poll = cleaned.get("poll")
        kept = poll is not None and not cleaned.get(DELETION_FIELD_NAME)
        if kept and poll is not None and (problem := organising.question_problem(poll)):
            self.add_error("poll", problem)
        return cleaned


class SessionPollInline(admin.StackedInline):
    """The session's questions in order: reorder them by their position (a number field:
    the keyboard's arrows work), open one to edit it, preview it as a phone shows it.
    Stacked, not tabular: every field has its own label (axe)."""

    model = SessionPoll
    form = SessionPollForm
    fields = (("position", "poll"), ("kind", "question_links"))
    readonly_fields = ("kind", "question_links")
    autocomplete_fields = ("poll",)
    extra = 0
    ordering = ("position", "id")
    verbose_name = gettext_lazy("question")
    verbose_name_plural = gettext_lazy("Questions, in order")

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionPoll]:
        return super().get_queryset(request).select_related("poll")

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, entry: SessionPoll) -> str:
        return entry.poll.get_kind_display() if entry.pk else "-"

    @admin.display(description=gettext_lazy("question"))
    def question_links(self, entry: SessionPoll) -> str:
        if entry.pk is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("admin:polls_poll_change", args=[entry.poll_id]),
            gettext_lazy("edit"),
            reverse("admin:polls_poll_preview", args=[entry.poll_id]),
            gettext_lazy("preview as a phone"),
        )


class NewQuestionForm(PollOptionsForm):  # type: ignore[valid-type, misc]
    """A new question written on the session's page: its kind, choices (one a line) and
    options; organising.create_poll makes it and live_sessions.add_poll appends it."""

    question = forms.CharField(label=gettext_lazy("Question"), max_length=200, required=False)
    question_kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=Poll.Kind.choices, initial=kinds.DEFAULT_KIND
    )
    choices = forms.CharField(
        label=gettext_lazy("Choices, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text=gettext_lazy("None for a rating scale."),
    )

    class Meta:
        model = SessionPoll
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        question = (cleaned.get("question") or "").strip()
        if not question:
            if self.has_changed() and any(
                cleaned.get(name) for name in ("choices", *kinds.option_names())
            ):
                self.add_error("question", _("Write the question, or clear this form."))
            return cleaned
        kind = kinds.kind_for(cleaned.get("question_kind") or kinds.DEFAULT_KIND)
        labels = [line.strip() for line in (cleaned.get("choices") or "").splitlines()]
        spec: dict[str, Any] = {
            "question": question,
            "kind": kind.name,
            "labels": [label for label in labels if label],
            "options": {
                option.name: cleaned[option.name]
                for option in kind.options
                if cleaned.get(option.name) not in (None, "")
            },
        }
        spec["slug"] = organising.new_slug(question)
        try:
            organising.check_poll(
                Poll(**{k: v for k, v in spec.items() if k != "labels"}), spec["labels"]
            )
        except organising.PollSetupError as problem:
            raise ValidationError(str(problem)) from None
        self.poll_spec = spec
        return cleaned


class NewQuestionInline(admin.StackedInline):
    """Write new questions on the session's page: each is appended after the others."""

    model = SessionPoll
    form = NewQuestionForm
    fieldsets = (
        (None, {"fields": ("question", "question_kind", "choices")}),
        (
            gettext_lazy("Options of the kind"),
            {"fields": _option_rows()},
        ),
    )
    verbose_name = gettext_lazy("new question")
    verbose_name_plural = gettext_lazy("Add questions")
    can_delete = False

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 3 if obj is None else 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionPoll]:
        return super().get_queryset(request).none()  # new ones only: the others are above

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)

        class NewQuestions(formset):  # type: ignore[misc, valid-type]
            def save_new(self, form: Any, commit: bool = True) -> SessionPoll:
                poll = organising.create_poll(**form.poll_spec)
                return live_sessions.add_poll(self.instance, poll)

            def save(self, commit: bool = True) -> list[SessionPoll]:
                forms_ = [f for f in self.extra_forms if getattr(f, "poll_spec", None)]
                self.new_objects = [self.save_new(f) for f in forms_ if f.has_changed()]
                self.changed_objects: list[Any] = []
                self.deleted_objects: list[Any] = []
                return self.new_objects

        return NewQuestions


def _session_action(
    do: Any, done: str
) -> Any:  # one admin action per presenter action, each through polls.live_sessions
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        for session in queryset:
            try:
                do(session)
            except live_sessions.SessionError as error:
                modeladmin.message_user(request, f"{session}: {error}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{session}: {done}.", messages.SUCCESS)

    return action


def session_pages(session: LiveSession) -> dict[str, str]:
    """A live session's pages on this site (the admin's origin serves them too): the
    presenter's view, the audience's page, the embed."""
    if session.state != LiveSession.State.LIVE:
        return {}
    return {
        "present": reverse("polls:present", args=[session.code]),
        "audience": reverse("polls:session", args=[session.code]),
        "embed": reverse("polls:embed-session", args=[session.code]),
    }


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    """A session's page builds the whole session: its title, its questions in order (picked
    or written there), and leads to its pages; it goes live from a button."""

    list_display = ("title", "state", "code", "current_poll", "locked", "reveal", "owner", "pages")
    list_filter = ("state",)
    search_fields = ("title", "code")
    fields = (
        "title",
        "owner",
        "code_digits",
        "quiz_leaderboard",
        "state",
        "code",
        "current_poll",
        "locked",
        "reveal",
        "pages",
    )
    readonly_fields = ("state", "code", "current_poll", "locked", "reveal", "pages")
    inlines = [SessionPollInline, NewQuestionInline]
    change_form_template = "admin/polls/livesession/change_form.html"
    actions = (
        "go_live", "next_poll", "previous_poll", "lock", "unlock", "reveal", "hide", "end",
        "new_code", "duplicate", "export_quiz_csv", "export_quiz_json",
    )  # fmt: skip

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk}

    def response_add(
        self, request: HttpRequest, obj: LiveSession, post_url_continue: str | None = None
    ) -> HttpResponse:
        # A new session's next step is on its own page (Go live): stay there, not the list.
        if "_addanother" not in request.POST and IS_POPUP_VAR not in request.POST:
            post = request.POST.copy()
            post["_continue"] = "1"
            request.POST = post  # type: ignore[assignment]
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self) -> list[Any]:
        def view(name: str, do: Any) -> Any:
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(do),
                name=f"polls_livesession_{name.replace('-', '_')}",
            )

        return [view("go-live", self.go_live_view), view("duplicate", self.duplicate_view),
                *super().get_urls()]  # fmt: skip

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        session = self.get_object(request, object_id)
        extra = {"session_pages": session_pages(session) if session else {}}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def _posted_session(self, request: HttpRequest, object_id: str) -> LiveSession:
        if request.method != "POST":
            raise PermissionDenied
        session = self.get_object(request, object_id)
        if session is None or not self.has_change_permission(request, session):
            raise PermissionDenied
        return session

    def go_live_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Go live" button (live_sessions.go_live)."""
        session = self._posted_session(request, object_id)
        try:
            session = live_sessions.go_live(session)
        except live_sessions.SessionError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _("“%(title)s” is live: the join code is %(code)s.")
                % {"title": session.title, "code": session.code},
                messages.SUCCESS,
            )
        return redirect("admin:polls_livesession_change", session.pk)

    def duplicate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Duplicate" button (organising.duplicate_session)."""
        session = self._posted_session(request, object_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        copy = organising.duplicate_session(session, owner=request.user)
        self.message_user(request, _("A copy to give again: “%(title)s”.") % {"title": copy.title})
        return redirect("admin:polls_livesession_change", copy.pk)

    @admin.display(description=gettext_lazy("pages"))
    def pages(self, session: LiveSession) -> str:
        if not (links := session_pages(session)):
            return "-"
        links = {name: live_sessions.public_url(path) for name, path in links.items()}
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> · '
            '<a href="{}" target="_blank" rel="noopener">{}</a> · '
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            links["audience"], _("audience"), links["present"], _("presenter view"),
            links["embed"], _("embed"),
        )  # fmt: skip

    @admin.action(description=gettext_lazy("Duplicate (a talk given again)"), permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: QuerySet[LiveSession]) -> None:
        for session in queryset:
            copy = organising.duplicate_session(session, owner=request.user)
            self.message_user(
                request, _("A copy to give again: “%(title)s”.") % {"title": copy.title}
            )

    def _export_quiz(
        self, request: HttpRequest, queryset: QuerySet[LiveSession], as_json: bool
    ) -> HttpResponse | None:
        """One session's quiz ranking as a file (polls.quiz.export_csv / export_json)."""
        if queryset.count() != 1:
            self.message_user(
                request, _("Pick one session to export its quiz ranking."), messages.ERROR
            )
            return None
        session = queryset.get()
        body = quiz.export_json(session) if as_json else quiz.export_csv(session)
        kind = "application/json" if as_json else "text/csv"
        response = HttpResponse(body, content_type=f"{kind}; charset=utf-8")
        name = f"quiz-{session.pk}.{'json' if as_json else 'csv'}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Export the quiz ranking (CSV)")
    def export_quiz_csv(
        self, request: HttpRequest, queryset: QuerySet[LiveSession]
    ) -> HttpResponse | None:
        return self._export_quiz(request, queryset, as_json=False)

    @admin.action(description="Export the quiz ranking (JSON)")
    def export_quiz_json(
        self, request: HttpRequest, queryset: QuerySet[LiveSession]
    ) -> HttpResponse | None:
        return self._export_quiz(request, queryset, as_json=True)

    go_live = admin.action(description="Go live")(_session_action(live_sessions.go_live, "live"))
    next_poll = admin.action(description="Next poll")(
        _session_action(lambda s: live_sessions.move(s, step=1), "moved on")
    )
    previous_poll = admin.action(description="Previous poll")(
        _session_action(lambda s: live_sessions.move(s, step=-1), "moved back")
    )
    lock = admin.action(description="Lock voting on the current poll")(
        _session_action(lambda s: live_sessions.lock(s, locked=True), "locked")
    )
    unlock = admin.action(description="Unlock voting on the current poll")(
        _session_action(lambda s: live_sessions.lock(s, locked=False), "unlocked")
    )
    reveal = admin.action(description="Show results to the audience")(
        _session_action(lambda s: live_sessions.reveal(s, shown=True), "results shown")
    )
    hide = admin.action(description="Hide results from the audience")(
        _session_action(lambda s: live_sessions.reveal(s, shown=False), "results hidden")
    )
    end = admin.action(description="End the session")(_session_action(live_sessions.end, "ended"))
    new_code = admin.action(description="New join code")(
        _session_action(live_sessions.new_code, "new code")
    )


# --- Q&A boards (issue 35): the rules are polls.qna's --------------------------------


def _qna_export(boards: QuerySet[QnaBoard], *, as_json: bool) -> HttpResponse:
    if as_json:
        body = "[" + ",\n".join(qna.export_json(b) for b in boards) + "]"
        response = HttpResponse(body, content_type="application/json")
    else:
        body = "".join(qna.export_csv(b) for b in boards)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = "qna." + ("json" if as_json else "csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin.register(QnaBoard)
class QnaBoardAdmin(admin.ModelAdmin):
    """A session's Q&A board: its switches and settings; a change goes through polls.qna
    (Redis's copy, the pages' snapshot)."""

    list_display = ("session", "enabled", "asking_open", "upvoting_open", "moderation", "names",
                    "archived", "questions")  # fmt: skip
    list_filter = ("enabled", "asking_open", "moderation")
    fields = ("session", "enabled", "asking_open", "upvoting_open", "moderation",
              "filter_refuses", "names", "archived", "highlighted")  # fmt: skip
    readonly_fields = ("highlighted",)
    raw_id_fields = ("session",)
    actions = ("close_boards", "open_boards", "export_csv", "export_json")

    @admin.display(description="questions")
    def questions(self, board: QnaBoard) -> int:
        return board.questions.count()

    def save_model(self, request: HttpRequest, obj: QnaBoard, form: Any, change: bool) -> None:
        names = ("moderation", "names", "filter_refuses", "asking_open", "upvoting_open")
        options = {name: getattr(obj, name) for name in names}
        board = qna.enable(obj.session, enabled=obj.enabled, **options)
        if obj.archived != board.archived:
            board = qna.archive(board, archived=obj.archived)
        obj.pk = board.pk

    @admin.action(description="Close for questions and upvotes")
    def close_boards(self, request: HttpRequest, queryset: QuerySet[QnaBoard]) -> None:
        for board in queryset:
            qna.close(board)
        messages.success(request, f"{queryset.count()} closed.")

    @admin.action(description="Open for questions and upvotes")
    def open_boards(self, request: HttpRequest, queryset: QuerySet[QnaBoard]) -> None:
        for board in queryset:
            qna.set_open(board, asking=True, upvoting=True)
        messages.success(request, f"{queryset.count()} opened.")

    @admin.action(description="Export the questions (CSV)")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[QnaBoard]) -> HttpResponse:
        return _qna_export(queryset, as_json=False)

    @admin.action(description="Export the questions (JSON)")
    def export_json(self, request: HttpRequest, queryset: QuerySet[QnaBoard]) -> HttpResponse:
        return _qna_export(queryset, as_json=True)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    """The audience's questions: moderators approve, hide, restore and correct them (the
    original kept); the presenter's marks. Upvotes are the worker's, read only."""

    list_display = ("text", "board", "state", "flagged", "upvotes", "answered_at", "pinned",
                    "withdrawn_at")  # fmt: skip
    list_filter = ("state", "flagged", "pinned")
    search_fields = ("text", "name")
    fields = ("board", "text", "original", "name", "state", "flagged", "upvotes", "pinned",
              "answered_at", "asked_at", "withdrawn_at", "archived_at")  # fmt: skip
    readonly_fields = ("board", "original", "name", "state", "flagged", "upvotes", "pinned",
                       "answered_at", "asked_at", "withdrawn_at", "archived_at")  # fmt: skip
    actions = ("approve", "hide", "restore", "mark_answered")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # questions come from the audience, through the pipeline

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        if "text" in form.changed_data:  # a typo corrected: the original is kept
            stored = Question.objects.get(pk=obj.pk)
            qna.correct_question(stored, obj.text)

    @admin.action(description="Approve (show on the board)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        for question in queryset:
            qna.approve_question(question)

    @admin.action(description="Hide from the board")
    def hide(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        for question in queryset:
            qna.hide_question(question)

    @admin.action(description="Restore (show again)")
    def restore(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        for question in queryset:
            qna.restore_question(question)

    @admin.action(description="Mark answered")
    def mark_answered(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        for question in queryset:
            qna.mark_answered(question)
