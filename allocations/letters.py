"""Budget letters: PDFs made with WeasyPrint from stored figures, issued exactly once.

Each kind of letter has a builder (registered below, or by panels for its decision letter)
that reads one stored record and returns the template, its context and the figures the
letter shows. Issuing renders, stores the bytes with their SHA-256 and never changes them.
"""

from __future__ import annotations

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
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, Letter, LetterBatch
from allocations.pdf_worker import html_to_pdf
from allocations.plans import line_weekly_text
from allocations.selectors import budget_explanation, budget_triggers
from assessments.models import Person, User

LETTER_ISSUE = "allocations.add_letter"
BATCH_RUN = "allocations.run_letterbatch"


class NothingToIssue(Exception):
    """There is no stored record of this kind to make the letter from."""


@dataclass(frozen=True)
class LetterContent:
    template: str
    title: str
    context: dict[str, Any]
    figures: dict[str, Any]  # what the letter shows, stored with it
    source_id: int


Builder = Callable[[Person, int | None], LetterContent]
_builders: dict[str, Builder] = {}


def register_letter_kind(kind: str, builder: Builder) -> None:
    _builders[kind] = builder


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
    if kind not in _builders:
        raise NothingToIssue(f"Unknown kind of letter: {kind}.")
    return _builders[kind](person, source_id)


def letter_issue(
    *,
    actor: User,
    person: Person,
    kind: str,
    source_id: int | None = None,
    batch=None,
    reuse: bool = False,
) -> tuple[Letter, bool]:
    """Issue a letter from stored figures. Returns (letter, reused). With reuse=True (batches),
    a letter already issued for exactly the same figures is returned instead of a new one.

    The PDF is made outside any transaction (it takes a fifth of a second); the letter is
    then stored in one INSERT."""
    if not actor.has_perm(LETTER_ISSUE):
        raise PermissionDenied("Your role cannot issue letters.")
    content = letter_content(kind, person, source_id)
    key = _figures_key(kind, content)
    if reuse:
        existing = Letter.objects.filter(person=person, kind=kind, figures_sha256=key).first()
        if existing is not None:
            return existing, True
    now = timezone.now()
    pdf = render_pdf(content, person, timezone.localdate(now))
    return _store(person, kind, content, key, pdf, actor=actor, batch=batch, now=now), False


def _store(person, kind, content, key, pdf: bytes, *, actor, batch, now) -> Letter:
    return Letter.objects.create(
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
    lines = [(line, line_weekly_text(line)) for line in agreed.plan.lines.all()]
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


register_letter_kind(Letter.Kind.INDICATIVE, _indicative)
register_letter_kind(Letter.Kind.STATEMENT, _statement)


# --- Batches -----------------------------------------------------------------------------------


@transaction.atomic
def letter_batch_start(*, actor: User, people, kind: str, description: str) -> LetterBatch:
    from allocations.tasks import issue_letter_batch

    if not actor.has_perm(BATCH_RUN):
        raise PermissionDenied("Only managers issue letters in batches.")
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
        existing = Letter.objects.filter(person=person, kind=batch.kind, figures_sha256=key).first()
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
        letter = _store(
            person, batch.kind, content, key, pdf, actor=actor, batch=batch, now=timezone.now()
        )
        batch.letter_ids.append(letter.pk)
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
