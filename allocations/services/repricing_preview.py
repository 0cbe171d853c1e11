"""A re-pricing preview of a whole caseload as a background job, in parts that several workers
share (issue 15): the same machinery as applying a policy (allocations.services.repricing).

A preview run is cut into parts of settings.REPRICING_PREVIEW_PART people by person id
(RepricingPreviewPart, one row each, planned once, as a re-pricing run's parts are). The run's
own task (`preview_repricing`, on one worker) enqueues one task per part
(`preview_repricing_part`) for the other workers, then works parts out itself until none is
left to take, and waits for those other workers hold (taking over any whose worker died). Each
part is one transaction with its row locked (a worker skips parts another holds): its people's
rows read a page at a time (the next page read ahead by a second connection) and counted
(selectors.repricing.Preview), and the part marked done with its results (PreviewSummary as
JSON). A part whose worker died rolls back and is taken by another; a part done is never worked
out again. When every part is done, their results are merged into the run's `summary`: exactly
what the preview page works out in one request for a small caseload. Nothing but the run and
its parts is written.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django_tasks import task

from allocations.jobs import (
    job_queue,
    job_register,
    job_resume,
    job_run,
    job_to_run,
)
from allocations.models import RasPolicy, RepricingPreviewPart, RepricingPreviewRun
from allocations.permissions import POLICY_REPRICE
from allocations.selectors.repricing import (
    PAGE,
    Preview,
    PreviewSummary,
    inputs_mark,
    repricing_pages,
)
from allocations.services.repricing import (
    NOT_REPRICER,
    part_finish,
    part_take,
    part_to_work,
    progress_set,
    run_in_parts,
)

Status = RepricingPreviewRun.Status

# People a page within a part: a part's pages are read one ahead of the page in hand, so only
# its first page's query is not overlapped with the counting; smaller pages than the preview
# in one process reads (selectors.repricing.PAGE) keep that wait short, part after part.
PART_PAGE = PAGE // 2


def repricing_preview_run(
    run: RepricingPreviewRun, *, part: int | None = None, spread: bool = False
) -> RepricingPreviewRun:
    """Run a preview job (allocations.jobs.job_run: running → done, or failed with the
    error). Fails (PermissionDenied) when whoever started it may no longer apply policies.

    The first time, the run is cut into parts of `part` people (settings.REPRICING_PREVIEW_PART
    by default); with `spread` (the background task), each part's task is enqueued for other
    workers to share. Then this process works parts out until none is left to take, waits for
    those other workers hold (taking over any whose worker died), and merges every part's
    results into `run.summary`. Resumable: each part and its results commit together; asked
    to stop, it stops after the part in hand, queued to resume."""
    part = part or settings.REPRICING_PREVIEW_PART
    return job_run(run, lambda job: _preview(job, part=part, spread=spread))


def _preview(run: RepricingPreviewRun, *, part: int, spread: bool) -> None:
    """The body of a preview run's own task (see repricing_preview_run)."""
    run_in_parts(
        run,
        run.parts,
        size=part,
        enqueue=preview_repricing_part.enqueue,
        work=lambda parts: _preview_part(run.policy, parts),
        count=_count,
        spread=spread,
    )
    # Each part's results once, in person order (see PreviewSummary.merge).
    run.summary = PreviewSummary.merge(
        PreviewSummary.from_json(tallies)
        for tallies in run.parts.order_by("number").values_list("tallies", flat=True)
    ).as_json()


def _count(run: RepricingPreviewRun) -> bool:
    """Set the run's progress from its parts' (the people of a part not done yet as planned);
    True when it changed."""
    done = Q(done_at__isnull=False)
    counts = run.parts.aggregate(
        total=Sum("total"),
        processed=Sum("processed", filter=done),
        parts_done=Count("pk", filter=done),
    )
    counts["workers"] = (
        run.parts.filter(done).exclude(done_by="").values("done_by").distinct().count()
    )
    counts["processed"] = min(counts["processed"] or 0, counts["total"] or 0)
    return progress_set(run, counts)


def _preview_part(policy: RasPolicy, parts) -> RepricingPreviewPart | None:
    """Work out the first part of `parts` not done and not held by another worker, in one
    transaction with its row locked: its people's rows read and counted, the part marked
    done with its results. None when there is no such part."""
    # Pages read ahead by a second connection: it sees what this transaction sees, unless
    # the caller's own transaction holds rows not committed yet (a test's).
    ahead = not connection.in_atomic_block
    with transaction.atomic():
        part = part_take(parts)
        if part is None:
            return None
        first, last = part.first_person_id, part.last_person_id
        preview = Preview(
            policy=policy,
            pages=lambda: repricing_pages(
                policy, page=PART_PAGE, first=first, last=last, read_ahead=ahead
            ),
        )
        part.total = part.processed = preview.total.people
        part.tallies = PreviewSummary.of(preview).as_json()
        part_finish(part)
    return part


@task()
def preview_repricing(run_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): work a preview run
    out, its parts shared with other workers; returns how many people it counted (0 for a
    run already finished)."""
    run = job_to_run(RepricingPreviewRun.objects.select_related("policy", "created_by"), run_id)
    return 0 if run is None else repricing_preview_run(run, spread=True).processed


@task()
def preview_repricing_part(part_id: int) -> int:
    """One part of a preview run, for whichever worker is free; returns how many people it
    counted: 0 when the part is done already or another worker holds it, or when the run has
    finished or failed (its own task waits for, or takes over, every part)."""
    part = part_to_work(RepricingPreviewPart.objects, part_id)
    if part is None:
        return 0
    done = _preview_part(part.run.policy, RepricingPreviewPart.objects.filter(pk=part_id))
    return 0 if done is None else done.processed


job_register(RepricingPreviewRun, preview_repricing)


@transaction.atomic
def repricing_preview_start(*, actor, policy: RasPolicy) -> RepricingPreviewRun:
    """Queue a background preview of applying `policy` (any policy the actor may apply:
    PermissionDenied otherwise). One at a time per policy: a preview of it waiting or running
    is returned as it is, and a stalled one (its worker died) resumes instead."""
    if not actor.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    unfinished = list(policy.preview_runs.filter(status__in=[Status.QUEUED, Status.RUNNING]))
    for run in unfinished:
        if run.is_stalled:
            return job_resume(actor=actor, job=run)
    if unfinished:
        return unfinished[0]
    run = RepricingPreviewRun(policy=policy, created_by=actor, inputs_mark=inputs_mark())
    return job_queue(run, preview_repricing)
