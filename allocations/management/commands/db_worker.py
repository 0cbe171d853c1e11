"""`manage.py db_worker`: django_tasks_db's worker, which also resumes stalled jobs.

It replaces the library's command of the same name (allocations comes before django_tasks_db
in INSTALLED_APPS, as django.contrib.staticfiles replaces `runserver`), so every way of
starting the worker (`make run`, systemd units, the README) gets it. On start, and then every
few seconds (a quarter of the lease, at most 30 s; not with --batch), it puts back to queued
any job whose worker died (allocations.jobs.jobs_recover); several workers may do so at once.

Stopping: the library's worker finishes its current task on the first SIGTERM (a second one
ends it at once); the running job hears the same signal (allocations.jobs) and stops at its
next checkpoint, queued to resume, so the worker exits within seconds rather than at the end
of the batch.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as LibraryCommand
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("allocations.jobs")


def recovery_interval() -> float:
    """Seconds between two looks for stalled jobs: a quarter of the lease, 0.5 to 30 s."""
    return min(30.0, max(0.5, settings.JOB_LEASE_SECONDS / 4))


def _recover() -> None:
    # The job modules register their tasks as they are imported.
    import allocations.tasks  # noqa: F401
    from allocations.jobs import jobs_recover

    try:
        for job in jobs_recover():
            _close_dead_task_results(job)
    except Exception:  # noqa: BLE001 - a database blip must not end the worker
        logger.exception("Looking for stalled jobs failed; trying again later.")
        connection.close()


def _close_dead_task_results(job) -> None:
    """The queue's own record of a task whose worker died says "running" for ever: mark it
    failed, saying the job was queued again to resume."""
    from allocations.jobs import WorkerDied, job_task

    task = job_task(job)
    dead = DBTaskResult.objects.running().filter(
        task_path=task.module_path, args_kwargs={"args": [job.pk], "kwargs": {}}
    )
    for result in dead:
        result.set_failed(WorkerDied(DIED.format(job=job)))


DIED = "The worker stopped mid-job (its lease ran out): {job} was queued again to resume."


def _recover_forever(interval: float) -> None:
    while True:
        time.sleep(interval)
        close_old_connections()
        _recover()


class Command(LibraryCommand):
    help = LibraryCommand.help + ", resuming jobs whose worker died"

    def handle(self, *args, **options):
        reloading = options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if not reloading:  # the reloader's parent process runs no tasks
            _recover()
            if not options.get("batch"):  # --batch runs what is queued now, then exits
                threading.Thread(
                    target=_recover_forever,
                    args=(recovery_interval(),),
                    name="job-recovery",
                    daemon=True,
                ).start()
        return super().handle(*args, **options)
