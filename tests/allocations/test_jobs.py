"""The one background-job pattern: statuses, the runner, progress, and the database's rules."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from allocations.jobs import job_run, job_status_response, job_to_run
from allocations.models import LetterBatch
from allocations.services.letters import NOT_LETTER_ISSUER
from allocations.services.repricing import NOT_REPRICER
from assessments.workflows import IllegalTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(senior_manager):
    job = LetterBatch(
        kind="indicative", description="Three people", total=3, created_by=senior_manager
    )
    job._history_user = senior_manager
    job.save()
    return job


def _issue_three(job):
    job.processed, job.issued = 3, 2
    job.failures = [{"reference": "P3", "error": "no budget"}]
    job.save()


def test_a_job_runs_to_done_and_every_save_names_who_started_it(batch, senior_manager):
    job_run(batch, _issue_three)
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.DONE
    assert batch.started_at <= batch.finished_at
    statuses = [h.status for h in batch.history.order_by("history_id")]
    assert statuses == ["queued", "running", "running", "done"]
    assert {h.history_user for h in batch.history.all()} == {senior_manager}


def test_a_failing_body_marks_the_job_failed_keeps_the_error_and_raises(batch):
    def body(job):
        raise RuntimeError("the PDF maker stopped")

    with pytest.raises(RuntimeError):
        job_run(batch, body)
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("failed", "the PDF maker stopped")
    assert batch.finished_at is not None


def test_a_failed_or_killed_job_may_run_again_a_finished_one_never(batch):
    with pytest.raises(RuntimeError):
        job_run(batch, lambda job: (_ for _ in ()).throw(RuntimeError("boom")))
    job_run(batch, _issue_three)  # failed → running → done, the old error cleared
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("done", "")
    assert job_to_run(LetterBatch.objects, batch.pk) is None
    with pytest.raises(IllegalTransition, match="finished cannot become running"):
        job_run(batch, _issue_three)

    killed = LetterBatch.objects.create(
        kind="indicative", description="x", created_by=batch.created_by
    )
    LetterBatch.objects.filter(pk=killed.pk).update(status="running")  # the worker died
    assert job_to_run(LetterBatch.objects, killed.pk) == killed
    assert job_run(killed, lambda job: None).status == "done"


def test_the_status_view_answers_the_counts_the_progress_line_shows(batch):
    job_run(batch, _issue_three)
    data = job_status_response(batch)
    assert data["Content-Type"] == "application/json"
    progress = json.loads(data.content)
    assert progress == {
        "status": "done",
        "status_label": "Finished",
        "stalled": False,
        "total": 3,
        "processed": 3,
        "percent": 100,
        "error": "",
        "issued": 2,
        "reused": 0,
        "failed": 1,
    }
    assert [words for _, _, words in batch.progress_counts()] == [
        "letters issued",
        "reused",
        "failed",
    ]


@pytest.mark.parametrize(
    "change", [{"status": "paused"}, {"processed": 4}], ids=["unknown status", "past the total"]
)
def test_postgresql_refuses_a_job_row_that_makes_no_sense_even_by_bulk_update(batch, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        LetterBatch.objects.filter(pk=batch.pk).update(**change)


# --- both jobs follow the pattern: re-pricing runs and letter batches ---------------------------


@pytest.fixture(params=["repricing", "letters"])
def queued(request, submitted_a, person_a, ras_admin, senior_manager):
    """(job, task, count) for a queued job of each kind covering person_a: `count` is the
    attribute the task returns (new budget versions, letters newly issued)."""
    from allocations.services.letter_batches import issue_letter_batch, letter_batch_start
    from allocations.services.repricing import apply_repricing, repricing_start
    from assessments.models import Person
    from tests.factories import make_policy_from_today

    if request.param == "repricing":
        new = make_policy_from_today(ras_admin, senior_manager)
        with request.getfixturevalue("django_capture_on_commit_callbacks")(execute=False):
            job = repricing_start(actor=ras_admin, policy=new)
        return job, apply_repricing, "changed"
    with request.getfixturevalue("django_capture_on_commit_callbacks")(execute=False):
        job = letter_batch_start(
            actor=senior_manager,
            people=Person.objects.filter(pk=person_a.pk),
            kind="indicative",
            description="test",
        )
    return job, issue_letter_batch, "issued"


def test_each_job_runs_through_the_pattern_and_history_names_who_started_it(queued):
    job, task, count = queued
    assert task.call(job.pk) == 1  # as the worker does: no request
    job.refresh_from_db()
    assert (job.status, job.processed, job.total, getattr(job, count)) == ("done", 1, 1, 1)
    assert job.started_at <= job.finished_at
    statuses = [h.status for h in job.history.order_by("history_id")]
    assert statuses[:2] == ["queued", "running"] and statuses[-1] == "done"
    assert {h.history_user for h in job.history.all()} == {job.created_by}


def test_a_duplicate_delivery_of_a_finished_job_does_nothing(queued):
    job, task, count = queued
    task.call(job.pk)
    rows = job.history.count()
    assert task.call(job.pk) == 0
    job.refresh_from_db()
    assert (job.status, getattr(job, count), job.history.count()) == ("done", 1, rows)


def test_a_killed_workers_retry_runs_the_job_again_to_the_end(queued):
    job, task, count = queued
    # The worker died mid-run: the row says running, with the counts it had reached.
    type(job).objects.filter(pk=job.pk).update(status="running", total=1, processed=1)
    assert job_to_run(type(job).objects, job.pk) is not None
    task.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, getattr(job, count), job.error) == ("done", 1, 1, "")


def test_a_failing_body_leaves_the_job_failed_with_the_error(queued, monkeypatch):
    job, task, _ = queued
    body = {
        "apply_repricing": "allocations.services.repricing.repricing_parts",
        "issue_letter_batch": "allocations.services.letter_batches._run",
    }[task.name]

    def stopped(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(body, stopped)
    with pytest.raises(RuntimeError):
        task.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "the database went away")
    assert job.finished_at is not None
    assert job.history.latest().history_user == job.created_by
    if isinstance(job, LetterBatch):  # still reported with the people's failures, as before
        assert job.failures == [
            {"reference": "(the whole batch)", "error": "the database went away"}
        ]
    monkeypatch.undo()
    assert task.call(job.pk) == 1  # a failed job may run again, its counts started afresh
    job.refresh_from_db()
    assert (job.status, job.error, job.processed) == ("done", "", 1)
    assert getattr(job, "failures", []) == []


def test_a_job_whose_creator_lost_the_role_fails_saying_why(queued):
    job, task, _ = queued
    job.created_by.groups.clear()  # the task reads its creator afresh: no cached permissions
    with pytest.raises(PermissionDenied):
        task.call(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error in (NOT_REPRICER, NOT_LETTER_ISSUER)


def test_both_status_views_answer_the_common_keys_and_their_own_counts(client, queued):
    from django.urls import reverse

    job, task, _ = queued
    task.call(job.pk)
    client.force_login(job.created_by)
    name = "repricing_run_status" if task.name == "apply_repricing" else "letter_batch_status"
    data = client.get(reverse(f"allocations:{name}", args=[job.pk])).json()
    job.refresh_from_db()
    assert data == job.progress()
    common = {"status", "status_label", "stalled", "total", "processed", "percent", "error"}
    own = (
        {"changed", "flagged"} if name == "repricing_run_status" else {"issued", "reused", "failed"}
    )
    assert set(data) == common | own
    assert (data["status"], data["percent"]) == ("done", 100)


def test_both_job_pages_show_the_one_progress_partial(client, queued):
    from django.urls import reverse

    job, task, _ = queued
    client.force_login(job.created_by)
    name = "repricing_run" if task.name == "apply_repricing" else "letter_batch"
    page = client.get(reverse(f"allocations:{name}", args=[job.pk])).text
    assert page.count('id="run-progress"') == 1 and page.count("js/progress.js") == 1
    assert ('data-done-reload="1"' in page) == (name == "letter_batch")
    assert "Download all the letters" not in page
    task.call(job.pk)
    page = client.get(reverse(f"allocations:{name}", args=[job.pk])).text
    assert ("Download all the letters" in page) == (name == "letter_batch")
