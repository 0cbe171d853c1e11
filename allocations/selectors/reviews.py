"""Reads for reviews (Care Act s.27): when each agreed budget is next due for review, the
reviews coming due for a team, one review for the user asking, and a person's reviews."""

from __future__ import annotations

import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from allocations.models import AgreedBudget, RasPolicy, Review
from allocations.permissions import REVIEW_START, REVIEW_VIEW
from allocations.selectors.policies import policy_in_force_on
from assessments.selectors.people import people_visible_to
from ras_site.compiled import fetch, user_key

# Reviews falling due within this many days show on the worker's and manager's "My work".
DUE_WITHIN_DAYS = 28
DEFAULT_INTERVAL_MONTHS = RasPolicy._meta.get_field("review_interval_months").default


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` moved on by `months` calendar months; the 31st becomes the month's last day
    (31 Jan + 1 month = 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    last = (following - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def review_interval_months(on: datetime.date | None = None) -> int:
    """The policy in force's months between reviews (12 when no policy is in force)."""
    policy = policy_in_force_on(on or timezone.localdate())
    return policy.review_interval_months if policy else DEFAULT_INTERVAL_MONTHS


def default_review_date(start: datetime.date | None = None) -> datetime.date:
    """When an agreed budget agreed (or last reviewed) on `start` (today) is next reviewed,
    by the policy in force: the date the panel sets overrides it."""
    start = start or timezone.localdate()
    return add_months(start, review_interval_months(start))


def with_review_due(agreed_budgets: QuerySet[AgreedBudget]) -> QuerySet[AgreedBudget]:
    """Annotates `review_due`: the date set by the latest review that changed nothing, else
    the date agreed (the policy's interval, or the panel's date); `review_open` (a review is
    in progress) and `reassessing` (a review sent the person for reassessment: their new
    agreed budget brings its own date). One query, however many budgets."""
    decided = Review.objects.filter(
        agreed_budget=OuterRef("pk"), outcome=Review.Outcome.NO_CHANGE
    ).order_by("-decided_at", "-pk")
    return agreed_budgets.annotate(
        review_due=Coalesce(Subquery(decided.values("next_review_date")[:1]), F("review_date")),
        review_open=Exists(
            Review.objects.filter(agreed_budget=OuterRef("pk"), status=Review.Status.OPEN)
        ),
        reassessing=Exists(
            Review.objects.filter(agreed_budget=OuterRef("pk"), outcome=Review.Outcome.REASSESS)
        ),
    )


def due_for_review(
    agreed_budgets: QuerySet[AgreedBudget], *, today: datetime.date
) -> QuerySet[AgreedBudget]:
    """Of `agreed_budgets`, the current ones whose review is overdue or due within
    DUE_WITHIN_DAYS of `today`, not yet started, the person not already being reassessed
    after one; annotated as by with_review_due."""
    cutoff = today + datetime.timedelta(days=DUE_WITHIN_DAYS)
    # Only a budget agreed with a date by the cut-off, or moved to one by a review, can be due:
    # a cheap test that spares the rest of a team's budgets the per-budget look-up of their
    # latest review (review_due), which it then settles exactly.
    moved = Review.objects.filter(outcome=Review.Outcome.NO_CHANGE, next_review_date__lte=cutoff)
    could_be_due = Q(review_date__lte=cutoff) | Q(pk__in=moved.values("agreed_budget_id"))
    current = agreed_budgets.filter(could_be_due, status=AgreedBudget.Status.CURRENT)
    return with_review_due(current).filter(
        review_due__lte=cutoff, review_open=False, reassessing=False
    )


def reviews_due_queryset(*, user, today: datetime.date | None = None) -> QuerySet[AgreedBudget]:
    """The current agreed budgets of the user's own team whose review is overdue or due within
    DUE_WITHIN_DAYS, not yet started, oldest first, each annotated with `review_due`; none for
    a role that does not start reviews, or a user without a team. Unevaluated, so that the
    menu's count of what waits (panels/home.py) can count it inside one query."""
    if not user.has_perm(REVIEW_START) or user.team_id is None:
        return AgreedBudget.objects.none()
    return (
        due_for_review(
            AgreedBudget.objects.filter(person__team_id=user.team_id),
            today=today or timezone.localdate(),
        )
        .select_related("person")
        .order_by("review_due", "pk")
    )


def reviews_due(
    *, user, today: datetime.date | None = None, limit: int | None = None
) -> list[AgreedBudget]:
    """reviews_due_queryset as a list (the first `limit`, oldest due first), each also
    carrying `overdue`. One query."""
    today = today or timezone.localdate()
    # The people are read after the budgets due are found: joined in the same query, the
    # planner read every person of a large team to name twenty.
    rows = fetch(
        lambda: reviews_due_queryset(user=user, today=today).select_related(None)[:limit],
        ("reviews_due", today, limit, *user_key(user)),
    )
    prefetch_related_objects(rows, "person")
    for row in rows:
        row.overdue = row.review_due < today
    return rows


def reviews_open(*, user, limit: int | None = None) -> list[Review]:
    """Reviews in progress for the user's own team, oldest first (the first `limit`; one
    query)."""
    if not user.has_perm(REVIEW_START) or user.team_id is None:
        return []
    return fetch(
        lambda: (
            Review.objects.filter(
                status=Review.Status.OPEN, agreed_budget__person__team_id=user.team_id
            )
            .select_related("agreed_budget__person", "started_by", "reassessment")
            .order_by("started_at", "pk")[:limit]
        ),
        ("reviews_open", limit, *user_key(user)),
    )


def review_get_for_user(*, user, pk: int) -> Review:
    """The one door to a review: 404 unless the user reads reviews and may see the person."""
    if not user.has_perm(REVIEW_VIEW):
        raise Http404("No such review.")
    review = (
        Review.objects.filter(pk=pk, agreed_budget__person__in=people_visible_to(user))
        .select_related("agreed_budget__person__team", "started_by", "decided_by", "reassessment")
        .first()
    )
    if review is None:
        raise Http404("No such review.")
    return review


def reviews_for_person(*, user, person) -> list[Review]:
    """A person's reviews, newest first (the caller has already let the user see the person)."""
    if not user.has_perm(REVIEW_VIEW):
        return []
    return fetch(
        lambda person_id: Review.objects.filter(agreed_budget__person_id=person_id).select_related(
            "agreed_budget", "started_by", "decided_by", "reassessment"
        ),
        ("reviews_for_person",),
        args=(person.pk,),
    )


def next_review_for_person(person) -> AgreedBudget | None:
    """The person's current agreed budget, annotated with when its review is due."""
    found = fetch(
        lambda person_id: with_review_due(
            AgreedBudget.objects.filter(person_id=person_id, status=AgreedBudget.Status.CURRENT)
        ).order_by("-agreed_at", "-pk")[:1],
        ("next_review_for_person",),
        args=(person.pk,),
    )
    return found[0] if found else None
