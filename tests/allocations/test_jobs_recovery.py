"""Background jobs survive their worker (issue 14): a worker killed mid-job (SIGKILL) leaves a
stalled job that another worker resumes from where it stopped, doing nothing twice; a worker
asked to stop (SIGTERM) checkpoints and exits within seconds, its job queued to resume; two
workers looking at once never both take a job; the pages say what happened and offer
"Resume".

The first tests start real `manage.py db_worker` processes against this test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from allocations.jobs import (
    NOT_STALLED,
    RESUMING,
    STALLED_REASON,
    job_checkpoint,
    job_run,
    job_stop_clear,
    job_stop_request,
    jobs_recover,
)
from allocations.models import IndicativeBudget, Letter, LetterBatch, RepricingRun
from allocations.selectors.letters import batch_zip
from allocations.services.letter_batches import issue_letter_batch, letter_batch_start
from allocations.services.repricing import (
    ALREADY_APPLYING,
    _apply_chunk,
    apply_repricing,
    repricing_apply,
    repricing_start,
)
from assessments.models import Person
from tests.factories import make_budgeted_person, make_policy_from_today

LEASE = 3  # seconds, for the workers these tests start
STOP_BOUND = 10  # seconds a worker may take to stop on SIGTERM (a letter or two, then exit)


@pytest.fixture(autouse=True)
def _no_stop_left_over():
    job_stop_clear()
    yield
    job_stop_clear()


# --- real workers ---------------------------------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict  # the test database, while a test runs
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


class Worker:
    """`manage.py db_worker` in its own process group (as a service manager runs it: a
    signal to the group reaches its PDF processes too)."""

    def __init__(self, *, processes: int = 1):
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "JOB_LEASE_SECONDS": str(LEASE),
            "LETTER_PROCESSES": str(processes),
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"]
            + ["--interval", "0.2", "--verbosity", "0"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.signal(signal.SIGKILL)
            self.process.wait(10)
        _wait_for(lambda: not _group_alive(self.process.pid), 10, "the worker's processes")
        self.log.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition, timeout: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    log = worker.output() if worker else ""
    raise AssertionError(f"Waited {timeout} s for {what}.\n{log}")


@pytest.fixture
def workers():
    started: list[Worker] = []

    def start(**kwargs) -> Worker:
        started.append(Worker(**kwargs))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def big_batch(questionnaire, policy, worker_a, senior_manager):
    """A queued batch of indicative letters for 14 people (a few seconds of PDFs)."""
    people = [make_budgeted_person(actor=worker_a) for _ in range(14)]
    return letter_batch_start(
        actor=senior_manager,
        people=Person.objects.filter(pk__in=[p.pk for p in people]).order_by("reference"),
        kind="indicative",
        description="Everyone in team A",
    )


def _letters(batch) -> int:
    return Letter.objects.filter(batch=batch).count()


def _assert_issued_exactly_once(batch: LetterBatch) -> None:
    batch.refresh_from_db()
    people = batch.person_ids
    assert (batch.status, batch.processed, batch.total) == ("done", len(people), len(people))
    assert (batch.issued, batch.reused, batch.failures) == (len(people), 0, [])
    per_person = Counter(Letter.objects.values_list("person_id", flat=True))
    assert per_person == Counter(people)  # every person has one letter: none twice
    assert set(Letter.objects.values_list("batch_id", flat=True)) == {batch.pk}
    assert sorted(batch.letter_ids) == sorted(Letter.objects.values_list("pk", flat=True))
    assert batch_zip(batch)  # the ZIP downloads now


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_is_replaced_and_the_batch_completes_exactly_once(
    big_batch, workers
):
    first = workers()
    _wait_for(lambda: _letters(big_batch) >= 3, 60, "the first letters", first)
    first.signal(signal.SIGKILL)  # the worker dies mid-batch, writing nothing more
    first.process.wait(10)
    big_batch.refresh_from_db()
    made_by_the_first = _letters(big_batch)
    assert big_batch.status == "running" and made_by_the_first < len(big_batch.person_ids)

    second = workers()  # finds the batch stalled once its lease runs out, and resumes it
    _wait_for(lambda: LetterBatch.objects.get().status == "done", 60, "the batch", second)

    _assert_issued_exactly_once(big_batch)
    assert big_batch.attempts == 2
    # The queue's record of the killed worker's task no longer says "running" for ever.
    results = DBTaskResult.objects.filter(task_path__endswith="issue_letter_batch")
    assert sorted(results.values_list("status", flat=True)) == ["FAILED", "SUCCESSFUL"]
    assert "queued again to resume" in results.get(status="FAILED").traceback
    reasons = big_batch.history.values_list("history_change_reason", flat=True)
    stalled = STALLED_REASON.split("{percent}")[-1]
    assert any(reason and reason.endswith(stalled) for reason in reasons)


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_worker_within_seconds_and_the_batch_resumes(big_batch, workers):
    first = workers(processes=2)  # PDFs made by a pool: the signal reaches those too
    _wait_for(lambda: _letters(big_batch) >= 2, 60, "the first letters", first)
    asked = time.monotonic()
    first.signal(signal.SIGTERM)
    first.process.wait(STOP_BOUND)
    assert time.monotonic() - asked < STOP_BOUND
    assert first.process.returncode == 0, first.output()
    _wait_for(lambda: not _group_alive(first.process.pid), 5, "the PDF processes to end")

    big_batch.refresh_from_db()
    assert big_batch.status == "queued" and big_batch.is_resuming  # checkpointed, not run out
    assert big_batch.processed == _letters(big_batch) < len(big_batch.person_ids)
    assert big_batch.state_label.startswith("Waiting to resume from")
    waiting = DBTaskResult.objects.filter(status="READY", task_path__endswith="issue_letter_batch")
    assert waiting.count() == 1  # queued again for the next worker

    workers()  # a worker started later carries on
    _wait_for(lambda: LetterBatch.objects.get().status == "done", 60, "the batch")
    _assert_issued_exactly_once(big_batch)


# --- the lease, in one process ----------------------------------------------------------------


def _stalled(job, *, seconds_ago: int = 600):
    type(job).objects.filter(pk=job.pk).update(
        status="running",
        heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago),
        lease_token="x" * 32,
        attempts=1,
    )
    job.refresh_from_db()
    return job


@pytest.fixture
def batch(submitted_a, person_a, senior_manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return letter_batch_start(
            actor=senior_manager,
            people=Person.objects.filter(pk=person_a.pk),
            kind="indicative",
            description="One",
        )


@pytest.mark.django_db
def test_a_job_whose_lease_ran_out_is_stalled_and_says_so(batch):
    assert not batch.is_stalled
    _stalled(batch, seconds_ago=1)
    assert not batch.is_stalled and batch.state_label == "Running"
    _stalled(batch, seconds_ago=settings.JOB_LEASE_SECONDS + 1)
    assert batch.is_stalled
    assert batch.state_label == "Stalled: the worker stopped at 0%"
    assert batch.progress()["stalled"] is True


@pytest.mark.django_db
def test_recovery_requeues_each_stalled_job_once(batch, django_capture_on_commit_callbacks):
    running = LetterBatch.objects.create(
        kind="indicative", description="healthy", created_by=batch.created_by
    )
    _stalled(running, seconds_ago=1)  # its worker is alive
    _stalled(batch)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert jobs_recover() == [batch]
    assert len(enqueued) == 1
    batch.refresh_from_db()
    assert (batch.status, batch.lease_token, batch.heartbeat_at) == ("queued", "", None)
    assert batch.history.latest().history_change_reason.startswith("The worker stopped at")
    assert batch.history.latest().history_user == batch.created_by
    assert jobs_recover() == []  # queued now: nobody re-queues it again
    running.refresh_from_db()
    assert running.status == "running"


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_over_one_stalled_job_at_once_only_one_runs_it(
    submitted_a, person_a, senior_manager
):
    batch = letter_batch_start(
        actor=senior_manager,
        people=Person.objects.filter(pk=person_a.pk),
        kind="indicative",
        description="One",
    )
    _stalled(batch)
    ran, barrier = [], threading.Barrier(2)

    def worker(name):
        try:
            job = LetterBatch.objects.select_related("created_by").get(pk=batch.pk)
            barrier.wait()
            job_run(job, lambda job: (ran.append(name), time.sleep(0.3)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(name,)) for name in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(ran) == 1
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == ("done", 2)


@pytest.mark.django_db(transaction=True)
def test_two_workers_recovering_at_once_requeue_a_stalled_job_once(
    submitted_a, person_a, senior_manager
):
    batch = letter_batch_start(
        actor=senior_manager,
        people=Person.objects.filter(pk=person_a.pk),
        kind="indicative",
        description="One",
    )
    _stalled(batch)
    tasks_before = DBTaskResult.objects.count()
    found, barrier = [], threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            found.extend(jobs_recover())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert [job.pk for job in found] == [batch.pk]
    assert DBTaskResult.objects.count() == tasks_before + 1


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_writes_nothing_more(batch):
    def taken_over(job):
        # Thought dead, another worker took the job over (a new token, a fresh heartbeat).
        LetterBatch.objects.filter(pk=job.pk).update(lease_token="y" * 32)
        job.processed = 1
        job_checkpoint(job)

    job_run(batch, taken_over)
    batch.refresh_from_db()
    assert (batch.status, batch.lease_token, batch.processed) == ("running", "y" * 32, 0)


# --- stopping and resuming, in one process ----------------------------------------------------


def _fake_pdf(stop_after: int):
    made = []

    def html_to_pdf(html, base_url, *stylesheets):
        made.append(html)
        if len(made) == stop_after:
            job_stop_request()  # SIGTERM arrives while this letter is made
        return b"%PDF-1.7 " + str(len(made)).encode()

    return html_to_pdf


@pytest.mark.django_db
def test_a_batch_asked_to_stop_checkpoints_and_resumes_without_a_letter_twice(
    questionnaire,
    policy,
    worker_a,
    senior_manager,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.LETTER_PROCESSES = 1  # the PDFs made here, by the stand-in below
    people = [make_budgeted_person(actor=worker_a) for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=False):
        batch = letter_batch_start(
            actor=senior_manager,
            people=Person.objects.filter(pk__in=[p.pk for p in people]),
            kind="indicative",
            description="Five",
        )
    monkeypatch.setattr("allocations.services.letter_batches.html_to_pdf", _fake_pdf(2))
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert issue_letter_batch.call(batch.pk) == 2
    batch.refresh_from_db()
    assert (batch.status, batch.processed, batch.issued, len(enqueued)) == ("queued", 2, 2, 1)
    assert batch.history.latest().history_change_reason.startswith("The worker was asked to stop")

    job_stop_clear()  # the next worker
    assert issue_letter_batch.call(batch.pk) == 5
    _assert_issued_exactly_once(batch)
    assert batch.attempts == 2


@pytest.fixture
def new_policy(caseload, ras_admin, senior_manager):
    return make_policy_from_today(ras_admin, senior_manager)


def _reprice_run(ras_admin, policy, capture) -> RepricingRun:
    with capture(execute=False):
        return repricing_start(actor=ras_admin, policy=policy)


def _budgets_of(run) -> Counter:
    return Counter(IndicativeBudget.objects.filter(repricing_run=run).values_list("person_id"))


@pytest.mark.django_db
def test_a_repricing_asked_to_stop_resumes_from_the_next_chunk_each_person_once(
    new_policy, ras_admin, monkeypatch, django_capture_on_commit_callbacks, caseload
):
    run = _reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks)
    real = _apply_chunk

    def stop_after_first(run, policy, rows):
        job_stop_request()  # SIGTERM arrives during the first chunk
        return real(run, policy, rows)

    monkeypatch.setattr("allocations.services.repricing._apply_chunk", stop_after_first)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        repricing_apply(run, chunk=1)
    run.refresh_from_db()
    assert (run.status, run.processed, run.total, run.changed, len(enqueued)) == (
        "queued",
        1,
        3,
        1,
        1,
    )
    assert run.state_label == "Waiting to resume from 33% (the worker stopped)"

    monkeypatch.undo()
    job_stop_clear()
    assert apply_repricing.call(run.pk) == 3
    run.refresh_from_db()
    assert (run.status, run.processed, run.total, run.changed) == ("done", 3, 3, 3)
    assert _budgets_of(run) == Counter((p.pk,) for p in caseload)


@pytest.mark.django_db
def test_a_chunk_applied_twice_reprices_each_person_once(
    new_policy, ras_admin, django_capture_on_commit_callbacks, caseload
):
    from allocations.selectors.repricing import repricing_rows

    run = _reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks)
    rows = repricing_rows(new_policy)
    assert _apply_chunk(run, new_policy, rows) == (3, 0)
    assert _apply_chunk(run, new_policy, rows) == (0, 0)  # a second worker, or a resumed run
    assert _budgets_of(run) == Counter((p.pk,) for p in caseload)


@pytest.mark.django_db
def test_starting_a_repricing_again_resumes_a_stalled_run_instead_of_refusing(
    new_policy, ras_admin, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    run = _reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks)
    _stalled(run, seconds_ago=1)  # running well: refused, as before
    with pytest.raises(ValidationError, match=ALREADY_APPLYING):
        _reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks)
    _stalled(run)  # its worker died at 0%
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        again = repricing_start(actor=ras_admin, policy=new_policy)
    assert again.pk == run.pk and RepricingRun.objects.count() == 1
    assert (again.status, len(enqueued)) == ("queued", 1)
    apply_repricing.call(run.pk)
    run.refresh_from_db()
    assert (run.status, run.changed) == ("done", 3)


# --- the pages -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_batch_page_says_the_worker_stopped_and_resumes_it(
    client, batch, senior_manager, manager_b, worker_a, django_capture_on_commit_callbacks
):
    LetterBatch.objects.filter(pk=batch.pk).update(total=4, processed=1)
    _stalled(batch)
    url = reverse("allocations:letter_batch", args=[batch.pk])
    assert client.post(url).status_code == 302  # anonymous: to the sign-in page
    client.force_login(worker_a)  # a role that does not run batches
    assert client.post(url).status_code == 403
    client.force_login(manager_b)  # another team's manager
    assert client.post(url).status_code == 404
    batch.refresh_from_db()
    assert batch.status == "running"

    client.force_login(senior_manager)
    page = client.get(url).text
    assert "Stalled: the worker stopped at 25%" in page and 'id="run-resume"' in page
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client.post(url, follow=True)
    assert RESUMING in response.text and len(enqueued) == 1
    batch.refresh_from_db()
    assert batch.status == "queued"
    assert batch.history.latest().history_user == senior_manager
    assert "Waiting to resume from 25%" in response.text
    assert 'id="run-resume"' not in response.text

    response = client.post(url, follow=True)  # not stalled now: nothing changes
    assert "This job is not stalled" in response.text
    assert LetterBatch.objects.get().status == "queued"


@pytest.mark.django_db
def test_the_repricing_page_says_the_worker_stopped_and_resumes_it(
    client, new_policy, ras_admin, senior_manager, django_capture_on_commit_callbacks
):
    run = _reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks)
    url = reverse("allocations:repricing_run", args=[run.pk])
    client.force_login(ras_admin)
    response = client.post(url, follow=True)  # queued, not stalled
    assert NOT_STALLED.format(state="waiting to start") in response.text
    _stalled(run)
    client.force_login(senior_manager)  # may not apply policies
    assert client.post(url).status_code == 403
    client.force_login(ras_admin)
    status = client.get(reverse("allocations:repricing_run_status", args=[run.pk])).json()
    assert (status["stalled"], status["status_label"]) == (
        True,
        "Stalled: the worker stopped at 0%",
    )
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = client.post(url, follow=True)
    assert RESUMING in response.text and len(enqueued) == 1
    run.refresh_from_db()
    assert run.status == "queued"


@pytest.mark.django_db
def test_applying_a_policy_again_on_its_page_resumes_the_stalled_run(
    client, new_policy, ras_admin, django_capture_on_commit_callbacks
):
    from allocations.views.repricing import RESUMED_INSTEAD

    run = _stalled(_reprice_run(ras_admin, new_policy, django_capture_on_commit_callbacks))
    client.force_login(ras_admin)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("allocations:repricing", args=[new_policy.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("allocations:repricing_run", args=[run.pk])
    assert RESUMED_INSTEAD in response.text
    assert RepricingRun.objects.get().status == "queued"


@pytest.mark.django_db
def test_only_who_may_start_a_batch_resumes_it(batch, manager_b, worker_a, manager_a):
    from django.core.exceptions import PermissionDenied

    from allocations.services.letter_batches import NOT_YOUR_TEAM, letter_batch_resume
    from allocations.services.repricing import NOT_REPRICER, repricing_resume

    _stalled(batch)
    with pytest.raises(PermissionDenied, match=NOT_YOUR_TEAM.split("{reference}")[-1]):
        letter_batch_resume(actor=manager_b, batch=batch)
    with pytest.raises(PermissionDenied):
        letter_batch_resume(actor=worker_a, batch=batch)
    with pytest.raises(PermissionDenied, match=NOT_REPRICER):
        repricing_resume(actor=manager_a, run=RepricingRun(pk=1))
    batch.refresh_from_db()
    assert batch.status == "running"
    assert letter_batch_resume(actor=manager_a, batch=batch).status == "queued"
