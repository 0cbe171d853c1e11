"""The demo's reviews (issue 13): the north team's "My work" shows a review overdue and one due
within four weeks, and one review is done; running the demo again adds none."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from allocations.models import Review
from allocations.selectors.reviews import reviews_due
from assessments.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_review_due_one_overdue_and_one_done():
    call_command("seed_demo", verbosity=0)
    reviews = set(Review.objects.values_list("pk", "status", "outcome"))
    call_command("seed_demo", verbosity=0)
    assert set(Review.objects.values_list("pk", "status", "outcome")) == reviews  # idempotent

    due = reviews_due(user=User.objects.get(username="sw.north"))
    today = timezone.localdate()
    assert any(a.overdue for a in due)
    assert any(not a.overdue and a.review_due >= today for a in due)
    assert Review.objects.filter(status=Review.Status.DECIDED, outcome="no_change").exists()
    # Every review the demo made is dated after the budget it reviews was agreed.
    for review in Review.objects.select_related("agreed_budget"):
        assert review.started_at > review.agreed_budget.agreed_at
