"""Budget letters: PDFs made with WeasyPrint from stored figures, issued exactly once.

Each kind of letter is registered (below, or by panels for its decision letter) with a builder
that reads one stored record and returns the template, its context and the figures the letter
shows, and with what a batch of that kind needs: its label, whom it is for and how to describe
it. Issuing renders, stores the bytes with their SHA-256 and never changes them; the same
figures make one live letter (a second "Issue" returns the first) until it is withdrawn.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import multiprocessing
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from allocations.models import AgreedBudget, IndicativeBudget, Letter, LetterBatch
from allocations.pdf_worker import html_to_pdf
from allocations.permissions import BATCH_RUN, LETTER_ISSUE, LETTER_WITHDRAW
from allocations.plans import line_weekly_text
from allocations.selectors import budget_explanation, budget_triggers
from assessments.models import Person, User

# The database's rule that the same figures make one live letter (allocations/models.py).
ONCE_PER_FIGURES = "letter_once_per_figures"

ALREADY_ISSUED = "{kind} already issued on {date} by {who}: the same letter is shown."
WITHDRAW_REASON_REQUIRED = "Say why the letter is withdrawn."
ALREADY_WITHDRAWN = "This letter was already withdrawn on {date} by {who}."


class NothingToIssue(Exception):
    """There is no stored record of this kind to make the letter from."""


class LetterAlreadyWithdrawn(Exception):
    """A letter is withdrawn once; its withdrawal is never changed."""


@dataclass(frozen=True)
class LetterContent:
    template: str
    title: str
    context: dict[str, Any]
    figures: dict[str, Any]  # what the letter shows, stored with it
    source_id: int


Builder = Callable[[Person, int | None], LetterContent]
# (people, since) -> those of them a batch of this kind is for; `since` (a date or None) is
# compared with the date the kind is about (calculated, agreed, decided).
PeopleFilter = Callable[[QuerySet, datetime.date | None], QuerySet]


@dataclass(frozen=True)
class LetterKind:
    """One kind of letter: how to make it, and whom a batch of it is for."""

    kind: str
    builder: Builder
    label: str  # the batch form's choice, e.g. "Indicative budget letters (people with …)"
    people: PeopleFilter
    description: str  # how a batch's description starts, e.g. "Indicative budget letters"
    since_text: str  # what the "since" date is about, e.g. "budgets calculated"


_kinds: dict[str, LetterKind] = {}


def register_letter_kind(
    kind: str,
    builder: Builder,
    *,
    label: str,
    people: PeopleFilter,
    description: str,
    since_text: str,
) -> None:
    """Add a kind of letter (allocations registers its two below; panels its decision letter
    in its AppConfig.ready, so allocations never imports panels)."""
    _kinds[kind] = LetterKind(kind, builder, label, people, description, since_text)


def letter_kind_choices() -> list[tuple[str, str]]:
    """The kinds a batch can make, in the order they were registered."""
    return [(k.kind, k.label) for k in _kinds.values()]


def council() -> dict[str, Any]:
    return {
        "name": settings.COUNCIL_NAME,
        "address": settings.COUNCIL_ADDRESS,
        "phone": settings.COUNCIL_PHONE,
        "email": settings.COUNCIL_EMAIL,
        "logo": settings.COUNCIL_LOGO.as_uri(),
        "signatory_name": settings.LETTER_SIGNATORY_NAME,
        "signatory_title": settings.LETTER_SIGNATORY_TITLE,
    }


def render_html(content: LetterContent, person: Person, issued_on) -> str:
    return render_to_string(
        content.template,
        {
            **content.context,
            "title": content.title,
            "person": person,
            "council": council(),
            "issued_on": issued_on,
        },
    )


def render_pdf(content: LetterContent, person: Person, issued_on) -> bytes:
    """A tagged, accessible PDF (PDF/UA-1) with its title and language set."""
    return html_to_pdf(render_html(content, person, issued_on), str(settings.BASE_DIR))


def _figures_key(kind: str, content: LetterContent) -> str:
    canonical = json.dumps(
        {"kind": kind, "source": content.source_id, "figures": content.figures}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def letter_content(kind: str, person: Person, source_id: int | None = None) -> LetterContent:
    if kind not in _kinds:
        raise NothingToIssue(f"Unknown kind of letter: {kind}.")
    return _kinds[kind].builder(person, source_id)


def _live_letter(person: Person, kind: str, key: str) -> Letter | None:
    """The letter not withdrawn for exactly these figures, if one was issued."""
    return (
        Letter.objects.select_related("issued_by")
        .filter(person=person, kind=kind, figures_sha256=key, withdrawn_at__isnull=True)
        .first()
    )


def letter_issue(
    *,
    actor: User,
    person: Person,
    kind: str,
    source_id: int | None = None,
    batch=None,
) -> tuple[Letter, bool]:
    """Issue a letter from stored figures. Returns (letter, reused): when a letter not
    withdrawn was already issued for exactly the same figures, that letter is returned
    (reused=True) and nothing is stored, so two clicks on "Issue" make one letter.

    The PDF is made outside any transaction (it takes a fifth of a second); the letter is
    then stored in one INSERT, in a savepoint: when a concurrent request stored the same
    figures first, the database refuses the second (letter_once_per_figures) and the first
    request's letter is returned. Raises PermissionDenied or NothingToIssue."""
    if not actor.has_perm(LETTER_ISSUE):
        raise PermissionDenied("Your role cannot issue letters.")
    content = letter_content(kind, person, source_id)
    key = _figures_key(kind, content)
    existing = _live_letter(person, kind, key)
    if existing is not None:
        return existing, True
    now = timezone.now()
    pdf = render_pdf(content, person, timezone.localdate(now))
    return _store(person, kind, content, key, pdf, actor=actor, batch=batch, now=now)


def letter_already_issued_message(letter: Letter) -> str:
    """What the person's page says when "Issue" returned a letter issued before."""
    return ALREADY_ISSUED.format(
        kind=letter.get_kind_display(),
        date=f"{timezone.localtime(letter.issued_at):%d %b %Y %H:%M}",
        who=letter.issued_by,
    )


def _is_once_per_figures(problem: IntegrityError) -> bool:
    diag = getattr(problem.__cause__, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name == ONCE_PER_FIGURES
    return "allocations_letter" in str(problem) or ONCE_PER_FIGURES in str(problem)


def _store(person, kind, content, key, pdf: bytes, *, actor, batch, now) -> tuple[Letter, bool]:
    """Store a new letter (history row naming the actor, who may be a batch's creator with no
    request). Returns (letter, reused): the letter stored first when another request stored
    the same figures while this PDF was made."""
    letter = Letter(
        person=person,
        kind=kind,
        source_id=content.source_id,
        figures=content.figures,
        figures_sha256=key,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size_bytes=len(pdf),
        issued_at=now,
        issued_by=actor,
        batch=batch,
    )
    letter._history_user = actor
    letter._change_reason = "issued"
    try:
        with transaction.atomic():
            letter.save()
    except IntegrityError as problem:
        existing = _live_letter(person, kind, key)
        if existing is None or not _is_once_per_figures(problem):
            raise
        return existing, True
    return letter, False


def letter_withdraw(*, actor: User, letter: Letter, reason: str) -> Letter:
    """Withdraw an issued letter, with a reason: the one change a letter allows, made once.
    Its PDF and figures are kept; the same figures can then be issued again.

    Raises PermissionDenied (role), ValidationError (no reason) or LetterAlreadyWithdrawn.
    Writes a history row naming the actor."""
    if not actor.has_perm(LETTER_WITHDRAW):
        raise PermissionDenied("Your role cannot withdraw letters.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": WITHDRAW_REASON_REQUIRED})
    with transaction.atomic():
        # The PDF is neither read nor written again (it is not in the history either).
        locked = Letter.objects.select_for_update().defer("pdf").get(pk=letter.pk)
        if locked.withdrawn_at is not None:
            raise LetterAlreadyWithdrawn(
                ALREADY_WITHDRAWN.format(
                    date=f"{timezone.localtime(locked.withdrawn_at):%d %b %Y %H:%M}",
                    who=locked.withdrawn_by or "the system",  # a migration's repair
                )
            )
        locked.withdrawn_at, locked.withdrawn_by, locked.withdrawn_reason = (
            timezone.now(),
            actor,
            reason,
        )
        locked._withdrawing = True
        locked._history_user = actor
        locked._change_reason = "withdrawn"
        locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    return locked


# --- The two kinds allocations makes ----------------------------------------------------------


def _source(records, source_id: int | None):
    """The record named, or else the person's current one (None if there is none)."""
    return (records.filter(pk=source_id) if source_id else records.filter(status="current")).first()


def _indicative(person: Person, source_id: int | None) -> LetterContent:
    budget = _source(
        IndicativeBudget.objects.select_related("policy").filter(person=person), source_id
    )
    if budget is None:
        raise NothingToIssue(f"{person.full_name} has no indicative budget to write about.")
    explanation = budget_explanation(budget)
    return LetterContent(
        template="allocations/letters/indicative.html",
        title=f"Your indicative personal budget – {person.reference}",
        context={
            "budget": budget,
            "explanation": explanation,
            "triggers": budget_triggers(budget),
        },
        figures={
            "indicative_weekly": str(budget.indicative_weekly_gbp),
            "annual": str(budget.annual_gbp),
            "explanation": [[r.step, r.detail, r.amount] for r in explanation],
            "triggers": budget.triggers,
        },
        source_id=budget.pk,
    )


def _statement(person: Person, source_id: int | None) -> LetterContent:
    agreed = _source(AgreedBudget.objects.select_related("plan").filter(person=person), source_id)
    if agreed is None:
        raise NothingToIssue(f"{person.full_name} has no agreed personal budget yet.")
    lines = [(line, line_weekly_text(line)) for line in agreed.plan.lines.live()]
    return LetterContent(
        template="allocations/letters/statement.html",
        title=f"Your personal budget statement – {person.reference}",
        context={"agreed": agreed, "lines": lines},
        figures={
            name: str(getattr(agreed, name))
            for name in (
                "weekly_gbp",
                "annual_gbp",
                "one_off_gbp",
                "contribution_weekly_gbp",
                "council_weekly_gbp",
                "direct_payment_weekly_gbp",
                "council_managed_weekly_gbp",
                "isf_weekly_gbp",
                "indicative_weekly_gbp",
                "review_date",
                "difference_reason",
                "conditions",
            )
        },
        source_id=agreed.pk,
    )


def _with_current_budget(people: QuerySet, since: datetime.date | None) -> QuerySet:
    budgets = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
    if since is not None:
        budgets = budgets.filter(created_at__date__gte=since)
    return people.filter(pk__in=budgets.values("person_id"))


def _with_agreed_budget(people: QuerySet, since: datetime.date | None) -> QuerySet:
    agreed = AgreedBudget.objects.filter(status=AgreedBudget.Status.CURRENT)
    if since is not None:
        agreed = agreed.filter(agreed_at__date__gte=since)
    return people.filter(pk__in=agreed.values("person_id"))


register_letter_kind(
    Letter.Kind.INDICATIVE,
    _indicative,
    label="Indicative budget letters (people with a current indicative budget)",
    people=_with_current_budget,
    description="Indicative budget letters",
    since_text="budgets calculated",
)
register_letter_kind(
    Letter.Kind.STATEMENT,
    _statement,
    label="Personal budget statements (people with a current agreed budget)",
    people=_with_agreed_budget,
    description="Personal budget statements",
    since_text="budgets agreed",
)


# --- Batches -----------------------------------------------------------------------------------


def letter_batch_people(
    kind: str, people: QuerySet, since: datetime.date | None = None
) -> QuerySet:
    """Those of `people` a batch of this kind is for: who have the record the letter is made
    from, optionally only those whose record dates from `since` on (calculated for indicative
    budgets, agreed for statements, decided for panel decisions)."""
    return _kinds[kind].people(people, since)


def letter_batch_description(kind: str, *, team=None, since: datetime.date | None = None) -> str:
    """E.g. "Personal budget statements, North Locality Team, budgets agreed since 1 Apr
    2026"."""
    letter_kind = _kinds[kind]
    return (
        letter_kind.description
        + (f", {team}" if team else ", all teams")
        + (f", {letter_kind.since_text} since {since:%d %b %Y}" if since else "")
    )


@transaction.atomic
def letter_batch_start(*, actor: User, people, kind: str, description: str) -> LetterBatch:
    if not actor.has_perm(BATCH_RUN):
        raise PermissionDenied("Only managers issue letters in batches.")
    if kind not in _kinds:
        raise ValidationError({"kind": f"Unknown kind of letter: {kind}."})
    ids = list(people.values_list("pk", flat=True))
    batch = LetterBatch(
        kind=kind, description=description, person_ids=ids, total=len(ids), created_by=actor
    )
    batch._history_user = actor
    batch.save()
    transaction.on_commit(lambda: issue_letter_batch.enqueue(batch.pk))
    return batch


def letter_batch_run(batch: LetterBatch, *, processes: int | None = None) -> LetterBatch:
    """Issue (or reuse) each person's letter. Pages are laid out in the main process; PDFs
    are made by a pool of processes (one per core by default). A failure is recorded against
    the person and the rest still complete."""
    actor = batch.created_by
    # The worker has no request: every progress save's history row names who started the job.
    batch._history_user = actor
    if not actor.has_perm(LETTER_ISSUE):
        raise PermissionDenied("Your role cannot issue letters.")
    # A re-run (after a worker crash) starts the counts again; reuse makes it idempotent.
    batch.status = LetterBatch.Status.RUNNING
    batch.processed = batch.issued = batch.reused = 0
    batch.failures, batch.letter_ids = [], []
    batch.save()
    try:
        return _run(batch, actor, processes)
    except Exception as problem:
        batch.status, batch.finished_at = LetterBatch.Status.FAILED, timezone.now()
        batch.failures.append({"reference": "(the whole batch)", "error": str(problem)})
        batch.save()
        raise


@task()
def issue_letter_batch(batch_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): issue a batch of
    letters; returns how many were newly issued. Defined beside its body so that
    letter_batch_start enqueues it without importing allocations.tasks."""
    batch = LetterBatch.objects.select_related("created_by").get(pk=batch_id)
    if batch.status == LetterBatch.Status.DONE:
        return 0
    return letter_batch_run(batch).issued


def _run(batch: LetterBatch, actor, processes) -> LetterBatch:
    people = Person.objects.in_bulk(batch.person_ids)
    today = timezone.localdate()
    base_url = str(settings.BASE_DIR)
    processes = processes or settings.LETTER_PROCESSES
    pending = []  # (person, content, key, html) still to render

    def fail(person_id, problem) -> None:
        person = people.get(person_id)
        reference = person.reference if person else str(person_id)
        batch.failures.append({"reference": reference, "error": str(problem)})

    for person_id in batch.person_ids:
        try:
            person = people[person_id]
            content = letter_content(batch.kind, person)
        except Exception as problem:  # noqa: BLE001 - reported per person
            fail(person_id, problem)
            batch.processed += 1
            continue
        key = _figures_key(batch.kind, content)
        existing = _live_letter(person, batch.kind, key)
        if existing is not None:
            batch.letter_ids.append(existing.pk)
            batch.reused += 1
            batch.processed += 1
            continue
        pending.append((person, content, key, render_html(content, person, today)))
        if len(pending) % 25 == 0:
            batch.save()  # progress while the pages are laid out
    batch.save()

    def store(item, pdf) -> None:
        person, content, key, _ = item
        letter, reused = _store(
            person, batch.kind, content, key, pdf, actor=actor, batch=batch, now=timezone.now()
        )
        batch.letter_ids.append(letter.pk)
        if reused:  # issued from the person's page while this PDF was made
            batch.reused += 1
        else:
            batch.issued += 1

    if processes <= 1 or len(pending) < 2:
        for item in pending:
            try:
                store(item, html_to_pdf(item[3], base_url))
            except Exception as problem:  # noqa: BLE001
                fail(item[0].pk, problem)
            batch.processed += 1
            batch.save()
    else:
        context = multiprocessing.get_context("spawn")  # no inherited database sockets
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            futures = [pool.submit(html_to_pdf, item[3], base_url) for item in pending]
            for index, (item, future) in enumerate(zip(pending, futures, strict=True)):
                try:
                    store(item, future.result())
                except Exception as problem:  # noqa: BLE001
                    fail(item[0].pk, problem)
                batch.processed += 1
                if index % 10 == 0:
                    batch.save()
    batch.status, batch.finished_at = LetterBatch.Status.DONE, timezone.now()
    batch.save()
    return batch


def batch_letters(batch: LetterBatch) -> list[Letter]:
    """The letters this batch issued or reused, in the batch's order."""
    letters = Letter.objects.select_related("person").in_bulk(batch.letter_ids)
    return [letters[pk] for pk in batch.letter_ids if pk in letters]


def batch_zip(batch: LetterBatch) -> bytes:
    """One ZIP of PDFs, a file per person named by their reference."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for letter in batch_letters(batch):
            archive.writestr(f"{letter.person.reference}-{letter.kind}.pdf", bytes(letter.pdf))
    return buffer.getvalue()
