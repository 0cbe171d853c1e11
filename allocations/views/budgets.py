"""Indicative budget pages, recalculation, and decisions on lower indicative and agreed
budgets."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.forms import LowerFigureDecisionForm, ReasonForm
from allocations.models import AgreedBudget, IndicativeBudget
from allocations.permissions import BUDGET_DECIDE, BUDGET_RECALCULATE
from allocations.selectors.budgets import (
    agreed_awaiting_decision,
    agreed_get_for_user,
    budget_explanation,
    budget_get_for_user,
    budget_triggers,
    budgets_awaiting_decision,
)
from allocations.services.budgets import NoPolicyInForce, budget_decide, budget_recalculate
from allocations.services.plans import agreed_budget_decide
from assessments.forms import add_service_errors
from assessments.models import PersonAccess
from assessments.selectors.history import object_history
from assessments.selectors.people import person_get_for_user
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse


@require_http_methods(["GET"])
def budget_detail_view(request, pk: int):
    budget = budget_get_for_user(user=request.user, pk=pk)
    person_access_record(
        user=request.user, person=budget.person, page=PersonAccess.Page.BUDGET, path=request.path
    )
    return render(
        request,
        "allocations/budgets/detail.html",
        {
            "budget": budget,
            "person": budget.person,
            "explanation": budget_explanation(budget),
            "triggers": budget_triggers(budget),
            "can_decide": request.user.has_perm(BUDGET_DECIDE)
            and budget.status == IndicativeBudget.Status.AWAITING_DECISION,
            "decision_form": LowerFigureDecisionForm(),
            "history": object_history(budget),
        },
    )


@require_http_methods(["POST"])
def budget_recalculate_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(BUDGET_RECALCULATE):
        raise PermissionDenied("Your role cannot recalculate budgets.")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the budget is being recalculated.")
    else:
        try:
            budget = budget_recalculate(
                actor=request.user, person=person, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, NoPolicyInForce) as refusal:
            refuse(request, refusal)
        else:
            if budget.status == IndicativeBudget.Status.AWAITING_DECISION:
                messages.warning(
                    request,
                    "The new figure is lower while the person's needs have not reduced: it "
                    "waits for a manager's decision and the current figure stays in force.",
                )
            else:
                messages.success(request, "A new budget version has been calculated.")
    return redirect("assessments:person_detail", pk=person.pk)


@require_http_methods(["GET"])
def decisions_view(request):
    if not request.user.has_perm(BUDGET_DECIDE):
        raise PermissionDenied("Only managers decide on lower figures.")
    return render(
        request,
        "allocations/budgets/decisions.html",
        {
            "budgets": budgets_awaiting_decision(user=request.user),
            "agreed_budgets": agreed_awaiting_decision(user=request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def agreed_decide_view(request, pk: int):
    """A lower agreed budget: see it beside the current one, and adopt it or keep the current
    one, with a reason."""
    agreed = agreed_get_for_user(user=request.user, pk=pk)
    form = LowerFigureDecisionForm(request.POST or None)
    can_decide = (
        request.user.has_perm(BUDGET_DECIDE)
        and agreed.status == AgreedBudget.Status.AWAITING_DECISION
    )
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied("Only managers decide on lower agreed budgets.")
        if form.is_valid():
            try:
                agreed_budget_decide(
                    actor=request.user,
                    agreed=agreed,
                    decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as refusal:
                add_service_errors(form, refusal)
            else:
                messages.success(request, "Decision recorded.")
                return redirect("allocations:decisions")
    else:
        person_access_record(
            user=request.user,
            person=agreed.person,
            page=PersonAccess.Page.BUDGET,
            path=request.path,
        )
    return render(
        request,
        "allocations/budgets/agreed_decide.html",
        {
            "agreed": agreed,
            "person": agreed.person,
            "form": form,
            "can_decide": can_decide,
            "history": object_history(agreed),
        },
    )


@require_http_methods(["POST"])
def budget_decide_view(request, pk: int):
    budget = budget_get_for_user(user=request.user, pk=pk)
    form = LowerFigureDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision and give the reason.")
        return redirect("allocations:budget_detail", pk=budget.pk)
    try:
        budget_decide(
            actor=request.user,
            budget=budget,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as refusal:
        refuse(request, refusal)
        return redirect("allocations:budget_detail", pk=budget.pk)
    messages.success(request, "Decision recorded.")
    return redirect("allocations:decisions")
