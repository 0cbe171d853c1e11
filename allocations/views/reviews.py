"""Review pages (Care Act s.27): starting a review of an agreed budget (with its reassessment),
and a review's page, where its outcome is recorded with reasons."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.forms import ReviewDecideForm, ReviewStartForm
from allocations.models import AgreedBudget
from allocations.permissions import REVIEW_DECIDE, REVIEW_START
from allocations.selectors.budgets import agreed_get_for_user
from allocations.selectors.reviews import review_get_for_user, with_review_due
from allocations.services.reviews import (
    ROLE_CANNOT_REVIEW,
    ReviewStateError,
    review_decide,
    review_start,
)
from assessments.forms import add_service_errors
from assessments.models import PersonAccess
from assessments.selectors.history import object_history
from assessments.services.assessments import AssessmentLocked
from assessments.views.people import record_opening
from assessments.views.refusals import refusal_text


@require_http_methods(["GET", "POST"])
def review_start_view(request, pk: int):
    """Start a review of a current agreed budget (404 for another team's person, 403 for a
    role that does not review)."""
    agreed = agreed_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(REVIEW_START):
        raise PermissionDenied(ROLE_CANNOT_REVIEW)
    form = ReviewStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = review_start(
                actor=request.user,
                agreed=agreed,
                reason=form.cleaned_data["reason"],
                supported_by=form.cleaned_data["supported_by"],
            )
        except ValidationError as refusal:
            add_service_errors(form, refusal)
        except (ReviewStateError, AssessmentLocked) as refusal:
            form.add_error(None, refusal_text(refusal))
        else:
            messages.success(request, "Review started, with a reassessment.")
            return redirect("allocations:review_detail", review.pk)
    due = with_review_due(AgreedBudget.objects.filter(pk=agreed.pk)).get()
    record_opening(request, agreed.person, PersonAccess.Page.REVIEW)
    return render(
        request,
        "allocations/reviews/start.html",
        {"agreed": agreed, "person": agreed.person, "form": form, "review_due": due.review_due},
    )


@require_http_methods(["GET", "POST"])
def review_detail_view(request, pk: int):
    """A review: what started it, its reassessment, and (while open) its outcome to record."""
    review = review_get_for_user(user=request.user, pk=pk)
    can_decide = review.is_open and request.user.has_perm(REVIEW_DECIDE)
    form = ReviewDecideForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm(REVIEW_DECIDE):
            raise PermissionDenied(ROLE_CANNOT_REVIEW)
        if form.is_valid():
            try:
                review_decide(
                    actor=request.user,
                    review=review,
                    outcome=form.cleaned_data["outcome"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as refusal:
                add_service_errors(form, refusal)
            except ReviewStateError as refusal:
                form.add_error(None, refusal_text(refusal))
            else:
                messages.success(request, "Review outcome recorded.")
                return redirect("allocations:review_detail", review.pk)
    record_opening(request, review.agreed_budget.person, PersonAccess.Page.REVIEW)
    return render(
        request,
        "allocations/reviews/detail.html",
        {
            "review": review,
            "agreed": review.agreed_budget,
            "person": review.agreed_budget.person,
            "form": form,
            "can_decide": can_decide,
            "history": object_history(review),
        },
    )
