"""Letters issued in batches: starting a batch, the background job, and running it (pages
laid out in this process, PDFs made by a pool of processes)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from allocations.letters.kinds import letter_content, letter_kind_choices
from allocations.letters.rendering import render_html
from allocations.models import LetterBatch
from allocations.pdf_worker import html_to_pdf
from allocations.permissions import BATCH_RUN, LETTER_ISSUE
from allocations.services.letters import _figures_key, _live_letter, _store
from assessments.models import Person, User


@transaction.atomic
def letter_batch_start(*, actor: User, people, kind: str, description: str) -> LetterBatch:
    if not actor.has_perm(BATCH_RUN):
        raise PermissionDenied("Only managers issue letters in batches.")
    if kind not in dict(letter_kind_choices()):
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
