"""The one pattern every background job follows (re-pricing runs and letter batches today;
calibration runs and exports next). A service checks the actor may start it and calls
`job_queue` (the `BackgroundJob` row saved, status queued, and its task enqueued after
commit); the task, defined beside the job's body, calls
`job_to_run` and `job_run`; the job's page includes `allocations/jobs/_progress.html` and
polls a status view that answers `job_status_response`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction
from django.db.models import QuerySet
from django.http import JsonResponse
from django.utils import timezone

from allocations.models import BackgroundJob

Status = BackgroundJob.Status
JOB_WORKFLOW = BackgroundJob.WORKFLOW
ERROR_LENGTH = 2000

Job = TypeVar("Job", bound=BackgroundJob)


def job_queue(job: Job, task) -> Job:
    """Save a new job (queued, its history row naming `job.created_by`) and enqueue `task`
    with its id once the transaction commits, so the worker never looks for a row that is not
    there yet. The caller has checked the actor may start it, inside `transaction.atomic()`."""
    job._history_user = job.created_by
    job.save()
    transaction.on_commit(lambda: task.enqueue(job.pk))
    return job


def job_to_run(jobs: QuerySet[Job], pk: int) -> Job | None:
    """The job a task was given, or None when it has already finished (a duplicate delivery)."""
    job = jobs.get(pk=pk)
    return None if job.is_done else job


def job_run(job: Job, body: Callable[[Job], object]) -> Job:
    """Run `body(job)` as the person who asked for the job: running → done, or → failed with
    the error kept (and raised again, so the task queue records it too). The body updates
    `total`, `processed` and its own counts and saves as it goes; every save writes a history
    row naming who started the job (the worker has no request)."""
    job._history_user = job.created_by
    JOB_WORKFLOW.move(job, Status.RUNNING)
    job.started_at, job.finished_at, job.error = timezone.now(), None, ""
    job.save()
    try:
        body(job)
    except Exception as problem:
        JOB_WORKFLOW.move(job, Status.FAILED)
        job.error = (job.error + "\n" if job.error else "") + str(problem)
        job.error = job.error[:ERROR_LENGTH]
        job.finished_at = timezone.now()
        job.save()
        raise
    JOB_WORKFLOW.move(job, Status.DONE)
    job.finished_at = timezone.now()
    job.save()
    return job


def job_status_response(job: BackgroundJob) -> JsonResponse:
    """What a job's page polls: its status, progress and counts (see BackgroundJob.progress)."""
    return JsonResponse(job.progress())
