"""Background jobs have no request: every history row they write names the user who started
the job (a letter batch, and a re-pricing run)."""

from __future__ import annotations

import pytest

from allocations.models import IndicativeBudget, Letter, LetterBatch, RepricingRun
from allocations.services.letter_batches import letter_batch_start
from allocations.services.repricing import repricing_start
from allocations.tasks import apply_repricing, issue_letter_batch
from assessments.models import Person
from tests.factories import make_policy_from_today

pytestmark = pytest.mark.django_db


def test_every_history_row_of_a_finished_batch_names_its_creator(
    submitted_a, person_a, senior_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the worker runs it below
        batch = letter_batch_start(
            actor=senior_manager,
            people=Person.objects.filter(pk=person_a.pk),
            kind="indicative",
            description="test",
        )
    assert issue_letter_batch.call(batch.pk) == 1  # as the worker does: no request

    batch = LetterBatch.objects.get()
    assert batch.status == "done"
    rows = list(batch.history.order_by("history_id"))
    assert len(rows) >= 3  # queued, running, ..., done
    assert {row.history_user for row in rows} == {senior_manager}
    assert rows[-1].status == "done"
    letter = Letter.objects.get()
    assert [(h.history_type, h.history_user) for h in letter.history.all()] == [
        ("+", senior_manager)
    ]


def test_every_history_row_of_a_finished_repricing_run_names_its_creator(
    submitted_a, ras_admin, senior_manager, django_capture_on_commit_callbacks
):
    new = make_policy_from_today(ras_admin, senior_manager)
    with django_capture_on_commit_callbacks(execute=False):
        run = repricing_start(actor=ras_admin, policy=new)
    assert apply_repricing.call(run.pk) == 1  # as the worker does: no request

    run = RepricingRun.objects.get()
    assert (run.status, run.changed) == ("done", 1)
    rows = list(run.history.order_by("history_id"))
    assert len(rows) >= 4  # queued, running, counted, a chunk, done
    assert {row.history_user for row in rows} == {ras_admin}
    assert rows[-1].status == "done"
    budget = IndicativeBudget.objects.get(policy=new)
    assert {h.history_user for h in budget.history.all()} == {ras_admin}
