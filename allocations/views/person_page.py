"""The budgets, plans and letters section, and the reviews section, of a person's page
(registered in AppConfig.ready)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from allocations.forms import ReasonForm
from allocations.models import AgreedBudget, IndicativeBudget, Letter, SupportPlan
from allocations.permissions import (
    BUDGET_DECIDE,
    BUDGET_RECALCULATE,
    BUDGET_VIEW,
    LETTER_ISSUE,
    LETTER_VIEW,
    LETTER_WITHDRAW,
    PLAN_ADD,
    PLAN_VIEW,
    REVIEW_START,
    REVIEW_VIEW,
)
from allocations.selectors.budgets import (
    basis_note,
    budget_explanation,
    budget_triggers,
    budgets_for_person,
)
from allocations.selectors.plans import OPEN_STATUSES
from allocations.selectors.reviews import next_review_for_person, reviews_for_person
from assessments.selectors.people import team_allowed
from ras_site.compiled import fetch_for_person


def person_budget_section(request, person) -> str | None:
    """The 'Indicative budget' section of a person's page (registered in AppConfig.ready)."""
    user = request.user
    budgets = budgets_for_person(user=user, person=person)
    if not user.has_perm(BUDGET_VIEW):
        return None
    current = next((b for b in budgets if b.status == IndicativeBudget.Status.CURRENT), None)
    pending = [b for b in budgets if b.status == IndicativeBudget.Status.AWAITING_DECISION]
    # Why there is no current figure, when a reassessment ended the last one.
    ended = (
        next((b for b in budgets if b.status == IndicativeBudget.Status.ENDED), None)
        if current is None
        else None
    )
    plans = (
        fetch_for_person(
            lambda person_id: SupportPlan.objects.filter(person_id=person_id).select_related(
                "created_by"
            ),
            "person_page_plans",
            person,
        )
        if user.has_perm(PLAN_VIEW)
        else []
    )
    agreed_budgets = fetch_for_person(
        lambda person_id: AgreedBudget.objects.filter(
            person_id=person_id,
            status__in=[AgreedBudget.Status.CURRENT, AgreedBudget.Status.AWAITING_DECISION],
        ).select_related("agreed_by"),
        "person_page_agreed",
        person,
    )
    agreed = next((a for a in agreed_budgets if a.status == AgreedBudget.Status.CURRENT), None)
    agreed_pending = [a for a in agreed_budgets if a.status != AgreedBudget.Status.CURRENT]
    return render_to_string(
        "allocations/person_page/budget_section.html",
        {
            "person": person,
            "current": current,
            "pending": pending,
            "ended": ended,
            "basis_note": basis_note(current) if current else "",
            "agreed_pending": agreed_pending,
            "budgets": budgets,
            "explanation": budget_explanation(current) if current else [],
            "triggers": budget_triggers(current) if current else [],
            "can_recalculate": user.has_perm(BUDGET_RECALCULATE),
            "can_decide": user.has_perm(BUDGET_DECIDE),
            "reason_form": ReasonForm(),
            "plans": plans,
            "open_plan": next((p for p in plans if p.status in OPEN_STATUSES), None),
            "agreed": agreed,
            "can_plan": user.has_perm(PLAN_ADD),
            "letters": fetch_for_person(
                lambda person_id: (
                    Letter.objects.filter(person_id=person_id)
                    .select_related("issued_by", "withdrawn_by")
                    .defer("pdf")
                ),
                "person_page_letters",
                person,
            )
            if user.has_perm(LETTER_VIEW)
            else [],
            "can_issue": user.has_perm(LETTER_ISSUE),
            "can_withdraw_letters": user.has_perm(LETTER_WITHDRAW),
            "letter_kinds": Letter.Kind.choices,
        },
        request=request,
    )


def person_review_section(request, person) -> str | None:
    """The 'Reviews' section of a person's page (issue 13): when their current agreed budget is
    next due for review, a review in progress, a way to start one, and the reviews so far.
    Nothing for a role that does not read reviews, or a person never agreed a budget."""
    user = request.user
    if not user.has_perm(REVIEW_VIEW):
        return None
    agreed = next_review_for_person(person)
    reviews = reviews_for_person(user=user, person=person)
    if agreed is None and not reviews:
        return None
    open_review = next((r for r in reviews if r.is_open), None)
    return render_to_string(
        "allocations/person_page/review_section.html",
        {
            "person": person,
            "agreed": agreed,
            "overdue": agreed is not None and agreed.review_due < timezone.localdate(),
            "open_review": open_review,
            "reviews": reviews,
            "can_start": user.has_perm(REVIEW_START)
            and agreed is not None
            and open_review is None
            and team_allowed(user, person.team_id),
        },
        request=request,
    )
