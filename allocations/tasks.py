"""Background jobs (django-tasks). `manage.py db_worker` runs them."""

from django_tasks import task

from allocations.models import RepricingRun
from allocations.repricing import repricing_apply


@task()
def apply_repricing(run_id: int) -> int:
    """Apply a re-pricing run; returns how many budget versions it created."""
    run = RepricingRun.objects.select_related("policy").get(pk=run_id)
    if run.status == RepricingRun.Status.DONE:
        return 0
    return repricing_apply(run).changed


@task()
def issue_letter_batch(batch_id: int) -> int:
    """Issue a batch of letters; returns how many were newly issued."""
    from allocations.letters import letter_batch_run
    from allocations.models import LetterBatch

    batch = LetterBatch.objects.select_related("created_by").get(pk=batch_id)
    if batch.status == LetterBatch.Status.DONE:
        return 0
    return letter_batch_run(batch).issued
