"""The support plan pages: starting a plan, and the plan itself."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.costing import line_weekly_text, plan_costs
from allocations.forms import CommentsForm, NamedInformalSupportForm, PlanLineForm, PlanSettingsForm
from allocations.models import AgreedBudget, SupportPlan
from allocations.permissions import PLAN_AUTHORISE, PLAN_CHANGE
from allocations.selectors.budgets import gbp
from allocations.selectors.plans import (
    eligible_needs,
    live_lines,
    plan_get_for_user,
    plan_history,
    plan_sections,
    wrote,
)
from allocations.services.plans import (
    LOWER_AGREED,
    PlanIncomplete,
    PlanStateError,
    plan_authorise,
    plan_informal_add,
    plan_informal_remove,
    plan_line_add,
    plan_line_remove,
    plan_return,
    plan_start,
    plan_submit,
    plan_update,
)
from assessments.models import Outcome, PersonAccess
from assessments.roles import PEOPLE_ALL_TEAMS
from assessments.selectors.people import person_get_for_user
from assessments.services.people import person_access_record


@require_http_methods(["POST"])
def plan_start_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    try:
        plan = plan_start(actor=request.user, person=person)
    except PlanStateError as refusal:
        messages.error(request, str(refusal))
        return redirect("assessments:person_detail", pk=person.pk)
    return redirect("allocations:plan_detail", pk=plan.pk)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError("Choose an item on this plan.") from None


def _needs(plan) -> list[tuple[str, str]]:
    return [(code, Outcome(code).label) for code in eligible_needs(plan)]


@require_http_methods(["GET", "POST"])
def plan_detail_view(request, pk: int):
    """The plan: its lines and costs beside the indicative budget, how it meets each eligible
    need, how it is managed; and, by state, editing, submitting or authorising it."""
    plan = plan_get_for_user(user=request.user, pk=pk)
    user = request.user
    if request.method == "GET":
        person_access_record(
            user=user, person=plan.person, page=PersonAccess.Page.PLAN, path=request.path
        )
    needs = _needs(plan)
    sections = plan_sections(plan)
    settings_form = PlanSettingsForm(instance=plan)
    line_form = PlanLineForm(needs=needs, sections=sections)
    informal_form = NamedInformalSupportForm(needs=needs)
    comments_form = CommentsForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "settings":
                settings_form = PlanSettingsForm(request.POST, instance=plan)
                if settings_form.is_valid():
                    plan_update(actor=user, plan=plan, data=settings_form.cleaned_data)
                    messages.success(request, "The plan has been saved.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "add_line":
                line_form = PlanLineForm(request.POST, needs=needs, sections=sections)
                if line_form.is_valid():
                    plan_line_add(actor=user, plan=plan, data=line_form.cleaned_data)
                    messages.success(request, "Line added.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "remove_line":
                plan_line_remove(actor=user, plan=plan, line_id=_int(request.POST.get("line")))
                messages.success(request, "Line removed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "remove_informal":
                plan_informal_remove(actor=user, plan=plan, item_id=_int(request.POST.get("item")))
                messages.success(request, "Informal support removed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "add_informal":
                informal_form = NamedInformalSupportForm(request.POST, needs=needs)
                if informal_form.is_valid():
                    plan_informal_add(actor=user, plan=plan, **informal_form.cleaned_data)
                    messages.success(request, "Informal support added.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "submit":
                plan = plan_submit(actor=user, plan=plan)
                if plan.status == SupportPlan.Status.AT_PANEL:
                    messages.success(request, "The plan has been referred to the panel.")
                else:
                    messages.success(request, "The plan has been sent to a team manager.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "authorise":
                agreed = plan_authorise(actor=user, plan=plan)
                if agreed.status == AgreedBudget.Status.AWAITING_DECISION:
                    messages.warning(
                        request,
                        LOWER_AGREED.format(
                            new=gbp(agreed.weekly_gbp), old=gbp(agreed.replaces.weekly_gbp)
                        ),
                    )
                else:
                    messages.success(request, "The plan is authorised: the budget is agreed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "return":
                comments_form = CommentsForm(request.POST)
                if comments_form.is_valid():
                    plan_return(
                        actor=user, plan=plan, comments=comments_form.cleaned_data["comments"]
                    )
                    messages.success(request, "The plan has been returned to the worker.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            else:
                messages.error(request, "Unknown action.")
        except PlanIncomplete as refusal:
            messages.error(request, "The plan cannot be submitted yet:")
            for problem in refusal.problems:
                messages.error(request, problem)
            return redirect("allocations:plan_detail", pk=plan.pk)
        except (PlanStateError, ValidationError) as refusal:
            messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
            return redirect("allocations:plan_detail", pk=plan.pk)
    lines = live_lines(plan)
    informal = list(plan.informal.live())
    met = {code for line in lines for code in line.meets_outcomes} | {i.outcome for i in informal}
    can_authorise = (
        plan.status == SupportPlan.Status.AWAITING_AUTHORISATION
        and user.has_perm(PLAN_AUTHORISE)
        and (user.has_perm(PEOPLE_ALL_TEAMS) or user.team_id == plan.person.team_id)
        and not wrote(user, plan)
    )
    return render(
        request,
        "allocations/plans/detail.html",
        {
            "plan": plan,
            "person": plan.person,
            "costs": plan_costs(plan, lines),
            "lines": [(line, line_weekly_text(line)) for line in lines],
            "informal": informal,
            "needs": [(label, code in met) for code, label in needs],
            "outcome_labels": dict(Outcome.choices),
            "section_titles": dict(sections),
            "can_edit": plan.is_editable and user.has_perm(PLAN_CHANGE),
            "can_authorise": can_authorise,
            "wrote_it": wrote(user, plan),
            "settings_form": settings_form,
            "line_form": line_form,
            "informal_form": informal_form,
            "comments_form": comments_form,
            "agreed": getattr(plan, "agreed", None)
            if plan.status == SupportPlan.Status.AGREED
            else None,
            "history": plan_history(plan),
        },
    )
