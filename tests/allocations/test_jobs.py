"""The one background-job pattern: statuses, the runner, progress, and the database's rules."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction

from allocations.jobs import job_run, job_status_response, job_to_run
from allocations.models import LetterBatch
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
