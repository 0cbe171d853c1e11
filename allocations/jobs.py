"""The one pattern every background job follows (re-pricing runs and letter batches today;
calibration runs and exports next). A service checks the actor may start it and calls
`job_queue` (the `BackgroundJob` row saved, status queued, and its task enqueued after
commit); the task, defined beside the job's body and registered with `job_register`, calls
`job_to_run` and `job_run`; the job's page includes `allocations/jobs/_progress.html` and
polls a status view that answers `job_status_response`.

Jobs survive their worker. `job_run` claims the job with a lease (a random token and
`heartbeat_at`, under a row lock, so of two workers exactly one gets it); the body calls
`job_checkpoint` between items, which saves its progress, renews the lease and, when the worker
has been asked to stop (SIGTERM), raises `JobStopped`: the job goes back to queued and its task
is enqueued again, to carry on where it stopped. A worker killed outright (SIGKILL, a lost
machine) leaves its job running with a lease that runs out: the job is stalled, and
`jobs_recover` (the worker runs it on start and every few seconds, see
allocations/management/commands/db_worker.py) or a person's "Resume" (`job_resume`) puts it
back to queued. Each body resumes without doing anything twice (see each one's docstring).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import JsonResponse
from django.utils import timezone
from django.utils.crypto import get_random_string

from allocations.models import BackgroundJob

Status = BackgroundJob.Status
JOB_WORKFLOW = BackgroundJob.WORKFLOW
ERROR_LENGTH = 2000

Job = TypeVar("Job", bound=BackgroundJob)

logger = logging.getLogger(__name__)

STOPPED_REASON = "The worker was asked to stop at {percent}%: waiting to resume."
STALLED_REASON = "The worker stopped at {percent}% (no checkpoint within the lease): resuming."
RESUMED_BY = "Resumed by {actor} after the worker stopped at {percent}%."
RESUMED_REASON = "Resumed where the worker stopped (attempt {attempts})."
NOT_STALLED = "This job is not stalled: it is {state}."
RESUMING = "Resuming from where the worker stopped: nothing already done is done again."


class JobStopped(Exception):
    """The worker is shutting down: the job has saved its progress and waits to resume."""


class LeaseLost(Exception):
    """Another worker has taken the job over (this one was thought dead): stop, write nothing."""


# Each kind of job and the task that runs it (for re-enqueueing a stopped or stalled job).
_TASKS: dict[type[BackgroundJob], object] = {}


def job_register(model: type[BackgroundJob], task) -> None:
    """Name the task that runs jobs of `model` (each job's module does, beside the task)."""
    _TASKS[model] = task


def job_task(job: BackgroundJob):
    """The task that runs `job`."""
    return _TASKS[type(job)]


class WorkerDied(Exception):
    """What a task queue records for a task whose worker died mid-job (the job resumes)."""


def job_queue(job: Job, task) -> Job:
    """Save a new job (queued, its history row naming `job.created_by`) and enqueue `task`
    with its id once the transaction commits, so the worker never looks for a row that is not
    there yet. The caller has checked the actor may start it, inside `transaction.atomic()`."""
    job._history_user = job.created_by
    job.save()
    transaction.on_commit(lambda: task.enqueue(job.pk))
    return job


# --- Stopping when the worker is asked to --------------------------------------------------------

_stop = threading.Event()
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGQUIT") if hasattr(signal, name)
)


def job_stop_request() -> None:
    """Ask the running job to stop at its next checkpoint (the worker's SIGTERM does)."""
    _stop.set()


def job_stop_requested() -> bool:
    return _stop.is_set()


def job_stop_clear() -> None:
    """Forget a stop request (a process that runs jobs again after one, e.g. a test)."""
    _stop.clear()


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """While a job runs in the main thread of a process whose signals have Python handlers
    (the worker's: `db_worker` finishes its current task on the first SIGTERM), a signal also
    asks the job to stop at its next checkpoint, then reaches the old handler as before. A
    process with the default handlers (killed by SIGTERM) is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum, frame):
        _stop.set()
        previous[signum](signum, frame)

    for signum in _STOP_SIGNALS:
        current = signal.getsignal(signum)
        if callable(current):
            previous[signum] = current
            signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


# --- Claiming, checkpoints and the end of a run ---------------------------------------------------


def job_to_run(jobs: QuerySet[Job], pk: int) -> Job | None:
    """The job a task was given, or None when it has already finished (a duplicate delivery)
    or another worker holds its lease (a duplicate of a resumed job)."""
    job = jobs.get(pk=pk)
    if job.is_done or (job.status == Status.RUNNING and not job.is_stalled):
        return None
    return job


def _locked(job: Job) -> Job:
    return type(job).objects.select_for_update().get(pk=job.pk)


def _claim(job: Job) -> bool:
    """Take the job's lease: False when another worker holds it (running, lease still good).
    The row is locked, so of two workers claiming a stalled job at once exactly one wins (the
    other waits for the lock, then sees the new lease). Raises IllegalTransition for a job
    that has finished."""
    with transaction.atomic():
        current = _locked(job)
        if current.status == Status.RUNNING and not current.is_stalled:
            job.refresh_from_db()
            return False
        job.refresh_from_db()
        now = timezone.now()
        resumed = job.is_resuming or job.is_stalled
        JOB_WORKFLOW.move(job, Status.RUNNING)
        job.attempts += 1
        job.lease_token = get_random_string(32)
        job.heartbeat_at = now
        job.started_at, job.finished_at, job.error = job.started_at or now, None, ""
        if resumed:
            job._change_reason = RESUMED_REASON.format(attempts=job.attempts)
        job.save()
    return True


def _save_held(job: Job) -> None:
    """Save the job if this worker still holds its lease (LeaseLost otherwise), renewing it."""
    with transaction.atomic():
        if _locked(job).lease_token != job.lease_token:
            raise LeaseLost(f"{job} was taken over by another worker.")
        job.heartbeat_at = timezone.now()
        job.save()


def job_checkpoint(job: BackgroundJob, *, stop: bool = True) -> None:
    """Save the job's progress and renew its lease (in the caller's transaction, if any: a
    chunk of work and the count of it commit together). Raises LeaseLost when another worker
    has taken the job over, and JobStopped, after saving, when the worker is shutting down
    (unless `stop` is False: inside a transaction, call job_tick after it commits)."""
    _save_held(job)
    if stop and _stop.is_set():
        raise JobStopped(STOPPED_REASON.format(percent=job.percent))


def job_tick(job: BackgroundJob, *, stop: bool = True) -> None:
    """Between items, and while waiting for one (cheap): a checkpoint when the worker has been
    asked to stop or a quarter of the lease has gone by since the last one, so a slow stretch
    never looks like a dead worker. With `stop` False, only the lease is renewed."""
    renew = timedelta(seconds=settings.JOB_LEASE_SECONDS / 4)
    due = job.heartbeat_at is None or timezone.now() - job.heartbeat_at > renew
    if due or (stop and _stop.is_set()):
        job_checkpoint(job, stop=stop)


def job_run(job: Job, body: Callable[[Job], object]) -> Job:
    """Run `body(job)` as the person who asked for the job: running → done, or → failed with
    the error kept (and raised again, so the task queue records it too). The body updates
    `total`, `processed` and its own counts and calls `job_checkpoint` as it goes; every save
    writes a history row naming who started the job (the worker has no request).

    The job is claimed first (see _claim): when another worker holds it, or this process is
    stopping, it is returned as it is and nothing runs. When the worker is asked to stop, the
    job checkpoints, goes back to queued and its task is enqueued again (a worker started
    later carries on). When another worker took the job over meanwhile, this one stops and
    writes nothing more."""
    job._history_user = job.created_by
    if _stop.is_set():  # this process is stopping: the job waits for the next worker
        return job
    if not _claim(job):
        return job
    try:
        with _stop_on_signals():
            body(job)
    except JobStopped as stopped:
        with transaction.atomic():
            if _locked(job).lease_token == job.lease_token:
                _requeue(job, reason=str(stopped))
        return job
    except LeaseLost:
        logger.warning("%s was taken over by another worker; this one stops.", job)
        return job
    except Exception as problem:
        JOB_WORKFLOW.move(job, Status.FAILED)
        job.error = (job.error + "\n" if job.error else "") + str(problem)
        job.error = job.error[:ERROR_LENGTH]
        job.finished_at = timezone.now()
        try:
            _save_held(job)
        except LeaseLost:
            logger.warning("%s failed after another worker took it over.", job)
            return job
        raise
    JOB_WORKFLOW.move(job, Status.DONE)
    job.finished_at = timezone.now()
    try:
        _save_held(job)
    except LeaseLost:
        logger.warning("%s finished after another worker took it over.", job)
    return job


def _requeue(job: BackgroundJob, *, reason: str, user=None) -> None:
    """Back to queued, the lease given up, and the job's task enqueued after commit (the
    caller holds the row lock or the lease)."""
    JOB_WORKFLOW.move(job, Status.QUEUED)
    job.lease_token, job.heartbeat_at = "", None
    job._history_user = user or job.created_by
    job._change_reason = reason
    task = job_task(job)
    with transaction.atomic():
        job.save()
        transaction.on_commit(lambda: task.enqueue(job.pk))


# --- Stalled jobs: found by the worker, or resumed by a person -----------------------------------


def jobs_recover(*, now=None) -> list[BackgroundJob]:
    """Put every stalled job (running, its lease run out: its worker died) back to queued and
    enqueue its task, to resume where it stopped. Returns those jobs. Safe when several
    workers look at once: stalled rows are locked, skipping rows another worker holds, and
    each job is checked again under the lock, so exactly one worker re-queues it."""
    recovered = []
    for model in _TASKS:
        with transaction.atomic():
            stalled = model.objects.select_for_update(skip_locked=True).filter(model.stalled_q(now))
            for job in stalled:
                _requeue(job, reason=STALLED_REASON.format(percent=job.percent))
                logger.warning("%s stalled at %s%%: re-queued to resume.", job, job.percent)
                recovered.append(job)
    return recovered


def job_resume(*, actor, job: Job) -> Job:
    """A person's "Resume" for a stalled job (the caller has checked they may start such a
    job): back to queued, its task enqueued, the history naming them. Raises ValidationError
    when the job is not stalled (running well, waiting, or finished)."""
    with transaction.atomic():
        current = _locked(job)
        if not current.is_stalled:
            raise ValidationError(NOT_STALLED.format(state=current.state_label.lower()))
        _requeue(
            current,
            reason=RESUMED_BY.format(actor=actor, percent=current.percent),
            user=actor,
        )
    return current


def job_status_response(job: BackgroundJob) -> JsonResponse:
    """What a job's page polls: its status, progress and counts (see BackgroundJob.progress)."""
    return JsonResponse(job.progress())
