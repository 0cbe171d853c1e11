"""Letters issued in batches: starting a batch, the background job, and running it (pages
laid out in this process, PDFs made by a pool of processes)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from allocations.jobs import (
    JobStopped,
    LeaseLost,
    job_checkpoint,
    job_queue,
    job_register,
    job_resume,
    job_run,
    job_tick,
    job_to_run,
)
from allocations.letters.kinds import letter_content, letter_kind_choices
from allocations.letters.rendering import LETTER_STYLESHEETS, render_html
from allocations.models import Letter, LetterBatch
from allocations.pdf_worker import html_to_pdf, pdf_process_init
from allocations.permissions import BATCH_RUN, LETTER_ISSUE
from allocations.selectors.letters import NOT_BATCH_RUNNER
from allocations.services.letters import NOT_LETTER_ISSUER, _figures_key, _live_letter, _store
from assessments.models import Person, User
from assessments.selectors.people import team_allowed

NOT_YOUR_TEAM = "{reference} is not one of your team's people."


WHOLE_BATCH = "(the whole batch)"


@transaction.atomic
def letter_batch_start(*, actor: User, people, kind: str, description: str) -> LetterBatch:
    """Queue a batch of `kind` letters for `people` (a queryset), issued by a background job.
    Raises PermissionDenied for a role that does not run batches, or when one of the people is
    of a team the actor may not see (the team rule); ValidationError for an unknown kind."""
    if not actor.has_perm(BATCH_RUN):
        raise PermissionDenied(NOT_BATCH_RUNNER)
    if kind not in dict(letter_kind_choices()):
        raise ValidationError({"kind": f"Unknown kind of letter: {kind}."})
    rows = list(people.values_list("pk", "team_id", "reference"))
    for _, team_id, reference in rows:
        if not team_allowed(actor, team_id):
            raise PermissionDenied(NOT_YOUR_TEAM.format(reference=reference))
    ids = [pk for pk, _, _ in rows]
    batch = LetterBatch(
        kind=kind, description=description, person_ids=ids, total=len(ids), created_by=actor
    )
    return job_queue(batch, issue_letter_batch)


def letter_batch_run(batch: LetterBatch, *, processes: int | None = None) -> LetterBatch:
    """Run a batch as a job (allocations.jobs.job_run: running → done, or failed with the
    error): issue (or reuse) each person's letter. Pages are laid out in the main process;
    PDFs are made by a pool of processes (one per core by default). A failure is recorded
    against the person and the rest still complete; a person the batch's creator may no longer
    see (the team rule) is one such failure. A failure of the whole batch (including a creator
    whose role no longer issues letters) is also added to `failures`.

    Resumable: a run after a worker stopped or died keeps the letters this batch already
    issued (never made again: they are linked to the batch, and letter_once_per_figures
    refuses a second letter for the same figures) and carries on with the other people. The
    progress is saved, and the lease renewed, every few letters; when the worker is asked to
    stop, the batch stops at the next letter (the PDFs being made finish first)."""
    return job_run(batch, lambda job: _issue_all(job, processes))


def _issue_all(batch: LetterBatch, processes: int | None) -> None:
    # The letters an earlier run of this batch issued count as issued and are skipped; the
    # other counts start again (reuse finds letters issued meanwhile).
    earlier = dict(Letter.objects.filter(batch=batch).values_list("person_id", "pk"))
    batch.letter_ids = [earlier[pk] for pk in batch.person_ids if pk in earlier]
    batch.processed = batch.issued = len(batch.letter_ids)
    batch.reused, batch.failures = 0, []
    try:
        if not batch.created_by.has_perm(LETTER_ISSUE):
            raise PermissionDenied(NOT_LETTER_ISSUER)
        _run(batch, batch.created_by, processes, skip=set(earlier))
    except (JobStopped, LeaseLost):
        raise
    except Exception as problem:
        batch.failures.append({"reference": WHOLE_BATCH, "error": str(problem)})
        raise


@task()
def issue_letter_batch(batch_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): issue a batch of
    letters; returns how many were newly issued (0 for a batch already finished, or running
    in another worker). Defined beside its body so that letter_batch_start enqueues it
    without importing allocations.tasks."""
    batch = job_to_run(LetterBatch.objects.select_related("created_by"), batch_id)
    return 0 if batch is None else letter_batch_run(batch).issued


job_register(LetterBatch, issue_letter_batch)


def letter_batch_resume(*, actor: User, batch: LetterBatch) -> LetterBatch:
    """Resume a stalled batch (its worker died) from where it stopped: for whoever may start
    it (PermissionDenied for a role that does not run batches, or when one of its people is
    of a team the actor may not see, as letter_batch_start). ValidationError when it is not
    stalled."""
    if not actor.has_perm(BATCH_RUN):
        raise PermissionDenied(NOT_BATCH_RUNNER)
    people = Person.objects.filter(pk__in=batch.person_ids)
    for team_id, reference in people.values_list("team_id", "reference"):
        if not team_allowed(actor, team_id):
            raise PermissionDenied(NOT_YOUR_TEAM.format(reference=reference))
    return job_resume(actor=actor, job=batch)


LAYOUT_CHECKPOINT = 25  # pages laid out between two saves of the progress
PDF_CHECKPOINT = 10  # letters stored between two saves of the progress


def _run(batch: LetterBatch, actor, processes, *, skip: set[int]) -> None:
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
        if person_id in skip:
            continue
        job_tick(batch)
        try:
            person = people[person_id]
            if not team_allowed(actor, person.team_id):
                raise PermissionDenied(NOT_YOUR_TEAM.format(reference=person.reference))
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
        if len(pending) % LAYOUT_CHECKPOINT == 0:
            job_checkpoint(batch)  # progress while the pages are laid out
    job_checkpoint(batch)

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

    def store_all(make_pdf) -> None:
        """Store each pending letter, its PDF from `make_pdf(position)`, saving the progress
        every few letters."""
        for index, item in enumerate(pending, start=1):
            try:
                store(item, make_pdf(index - 1))
            except Exception as problem:  # noqa: BLE001
                fail(item[0].pk, problem)
            batch.processed += 1
            if index % PDF_CHECKPOINT == 0:
                job_checkpoint(batch)
            else:
                job_tick(batch)

    if processes <= 1 or len(pending) < 2:
        store_all(lambda position: html_to_pdf(pending[position][3], base_url, *LETTER_STYLESHEETS))
        return
    context = multiprocessing.get_context("spawn")  # no inherited database sockets
    pool = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=pdf_process_init,
        initargs=(os.getpid(),),
    )
    try:
        futures = [
            pool.submit(html_to_pdf, item[3], base_url, *LETTER_STYLESHEETS) for item in pending
        ]
        store_all(lambda position: _result(futures[position], batch))
    finally:
        # Stopping: the PDFs being made finish, those not started are dropped.
        pool.shutdown(wait=True, cancel_futures=True)
    # job_run saves the last counts with the move to done.


def _result(future, batch: LetterBatch) -> bytes:
    """A PDF from the pool, the batch's lease renewed while it is made (the first ones wait
    for the processes to start)."""
    while True:
        try:
            return future.result(timeout=0.5)
        except TimeoutError:
            job_tick(batch, stop=False)
