"""Two people starting the same review at the same moment, for real: two threads, each with its
own PostgreSQL connection (hence `transaction=True`). One review is started, with one
reassessment; the other person is told a review is already in progress."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from allocations.models import Review
from allocations.services.plans import plan_authorise, plan_submit
from allocations.services.reviews import ALREADY_OPEN, ReviewStateError, review_start
from assessments.models import Assessment
from tests.factories import make_plan

pytestmark = pytest.mark.django_db(transaction=True)


def test_starting_a_review_twice_at_once_makes_one_review(
    submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120.00"))
    agreed = plan_authorise(actor=manager_a, plan=plan)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def start(user):
        try:
            barrier.wait(timeout=10)
            review = review_start(actor=user, agreed=agreed, reason=f"Started by {user}")
            outcomes[user.username] = review.pk
        except ReviewStateError as refusal:
            outcomes[user.username] = str(refusal)
        except Exception as error:  # noqa: BLE001 - the test reports any other outcome
            outcomes[user.username] = error
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=start, args=(u,)) for u in (worker_a, manager_a)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a start never finished"

    started = [name for name, outcome in outcomes.items() if isinstance(outcome, int)]
    assert len(started) == 1, outcomes
    (refused,) = set(outcomes) - set(started)
    assert outcomes[refused] == ALREADY_OPEN
    review = Review.objects.get()
    assert review.pk == outcomes[started[0]] and review.started_by.username == started[0]
    # One reassessment, linked to the one review.
    drafts = Assessment.objects.filter(person=person_a, status=Assessment.Status.DRAFT)
    assert list(drafts) == [review.reassessment]
