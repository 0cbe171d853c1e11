"""The support plan pages: starting a plan, the plan itself (GET), and one POST-only view per
thing a user does to it (its lines, named informal support and settings; submitting,
authorising or returning it). Each action: the door (404 for a plan the user may not see, 403
for a role without the action's permission) → the service → back to the plan with a message,
or the plan page again with the form's errors beside its fields."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from allocations.costing import line_weekly_text, panel_reasons, plan_costs
from allocations.forms import CommentsForm, NamedInformalSupportForm, PlanLineForm, PlanSettingsForm
from allocations.models import AgreedBudget, PlanLine, SupportPlan
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
from assessments.selectors.people import person_get_for_user, team_allowed
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse

SAVED = "The plan has been saved."
LINE_ADDED = "Line added."
LINE_REMOVED = "Line removed."
INFORMAL_ADDED = "Informal support added."
INFORMAL_REMOVED = "Informal support removed."
REFERRED = "The plan has been referred to the panel."
SENT_TO_MANAGER = "The plan has been sent to a team manager."
AUTHORISED = "The plan is authorised: the budget is agreed."
RETURNED = "The plan has been returned to the worker."
NOT_YET = "The plan cannot be submitted yet:"


@require_POST
def plan_start_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    try:
        plan = plan_start(actor=request.user, person=person)
    except PlanStateError as refusal:
        refuse(request, refusal)
        return redirect("assessments:person_detail", pk=person.pk)
    return redirect("allocations:plan_detail", pk=plan.pk)


def _needs(plan: SupportPlan) -> list[tuple[str, str]]:
    return [(code, Outcome(code).label) for code in eligible_needs(plan)]


@dataclass(frozen=True)
class LineText:
    """What the plan page says about a line besides the line itself."""

    weekly: str  # its weekly equivalent, worked out in words
    needs: str  # the eligible needs it meets, by name
    areas: str  # the areas of the assessment it meets, by title


def _line_rows(lines: list[PlanLine], sections: list[tuple[str, str]]):
    labels, titles = dict(Outcome.choices), dict(sections)
    return [
        (
            line,
            LineText(
                weekly=line_weekly_text(line),
                needs="; ".join(labels[c] for c in line.meets_outcomes if c in labels),
                areas="; ".join(titles[c] for c in line.meets_sections if c in titles),
            ),
        )
        for line in lines
    ]


def _plan_page(request, plan: SupportPlan, **bound_forms) -> HttpResponse:
    """The plan page: its lines and costs beside the indicative budget, how it meets each
    eligible need, how it is managed; and, by state and role, the forms to change, submit or
    authorise it. `bound_forms` (e.g. line_form=…) replace the blank forms, so a form posted
    with errors shows them beside its fields."""
    user = request.user
    needs = _needs(plan)
    sections = plan_sections(plan)
    lines = live_lines(plan)
    labels = dict(Outcome.choices)
    informal = [(item, labels.get(item.outcome, "")) for item in plan.informal.live()]
    met = {code for line in lines for code in line.meets_outcomes}
    met |= {item.outcome for item, _ in informal}
    wrote_it = wrote(user, plan)
    forms = {
        "settings_form": PlanSettingsForm(instance=plan),
        "line_form": PlanLineForm(needs=needs, sections=sections),
        "informal_form": NamedInformalSupportForm(needs=needs),
        "comments_form": CommentsForm(),
        **bound_forms,
    }
    costs = plan_costs(plan, lines)
    can_edit = plan.is_editable and user.has_perm(PLAN_CHANGE)
    return render(
        request,
        "allocations/plans/detail.html",
        {
            "plan": plan,
            "person": plan.person,
            "costs": costs,
            # Where submitting would send the plan, said on the button before it is pressed
            # (plan_submit works it out again, by the same rules, when it is).
            "goes_to_panel": can_edit
            and panel_reasons(
                costs=costs,
                policy=plan.indicative_budget.policy,
                risk_referral=plan.risk_referral,
                risk_reasons=plan.risk_reasons,
            ),
            "lines": _line_rows(lines, sections),
            "informal": informal,
            "needs": [(label, code in met) for code, label in needs],
            "can_edit": can_edit,
            "can_authorise": plan.is_awaiting_authorisation
            and user.has_perm(PLAN_AUTHORISE)
            and team_allowed(user, plan.person.team_id)
            and not wrote_it,
            "wrote_it": wrote_it,
            "agreed": getattr(plan, "agreed", None)
            if plan.status == SupportPlan.Status.AGREED
            else None,
            "history": plan_history(plan),
            **forms,
        },
    )


@require_GET
def plan_detail_view(request, pk: int):
    """The plan page (reading it is recorded in the person's access log)."""
    plan = plan_get_for_user(user=request.user, pk=pk)
    person_access_record(
        user=request.user, person=plan.person, page=PersonAccess.Page.PLAN, path=request.path
    )
    return _plan_page(request, plan)


def _back(plan: SupportPlan):
    return redirect("allocations:plan_detail", pk=plan.pk)


def plan_action(permission: str):
    """A POST-only action on one plan: the door with the action's `permission`, then the view
    `view(request, plan, **url_kwargs)`. A service's refusal (an incomplete plan, a state that
    does not allow it, invalid data) becomes error messages on the plan page; PermissionDenied
    is 403."""

    def decorate(view):
        @require_POST
        @wraps(view)
        def action(request, pk: int, **kwargs):
            plan = plan_get_for_user(user=request.user, pk=pk, permission=permission)
            try:
                return view(request, plan, **kwargs)
            except PlanIncomplete as refusal:
                messages.error(request, NOT_YET)
                for problem in refusal.problems:
                    messages.error(request, problem)
            except (PlanStateError, ValidationError) as refusal:
                refuse(request, refusal)
            return _back(plan)

        return action

    return decorate


@plan_action(PLAN_CHANGE)
def plan_settings_view(request, plan: SupportPlan):
    form = PlanSettingsForm(request.POST, instance=plan)
    if not form.is_valid():
        return _plan_page(request, plan, settings_form=form)
    plan_update(actor=request.user, plan=plan, data=form.cleaned_data)
    messages.success(request, SAVED)
    return _back(plan)


@plan_action(PLAN_CHANGE)
def plan_line_add_view(request, plan: SupportPlan):
    form = PlanLineForm(request.POST, needs=_needs(plan), sections=plan_sections(plan))
    if not form.is_valid():
        return _plan_page(request, plan, line_form=form)
    plan_line_add(actor=request.user, plan=plan, data=form.cleaned_data)
    messages.success(request, LINE_ADDED)
    return _back(plan)


@plan_action(PLAN_CHANGE)
def plan_line_remove_view(request, plan: SupportPlan, line_id: int):
    plan_line_remove(actor=request.user, plan=plan, line_id=line_id)
    messages.success(request, LINE_REMOVED)
    return _back(plan)


@plan_action(PLAN_CHANGE)
def plan_informal_add_view(request, plan: SupportPlan):
    form = NamedInformalSupportForm(request.POST, needs=_needs(plan))
    if not form.is_valid():
        return _plan_page(request, plan, informal_form=form)
    plan_informal_add(actor=request.user, plan=plan, **form.cleaned_data)
    messages.success(request, INFORMAL_ADDED)
    return _back(plan)


@plan_action(PLAN_CHANGE)
def plan_informal_remove_view(request, plan: SupportPlan, item_id: int):
    plan_informal_remove(actor=request.user, plan=plan, item_id=item_id)
    messages.success(request, INFORMAL_REMOVED)
    return _back(plan)


@plan_action(PLAN_CHANGE)
def plan_submit_view(request, plan: SupportPlan):
    plan = plan_submit(actor=request.user, plan=plan)
    messages.success(request, REFERRED if plan.is_at_panel else SENT_TO_MANAGER)
    return _back(plan)


@plan_action(PLAN_AUTHORISE)
def plan_authorise_view(request, plan: SupportPlan):
    agreed = plan_authorise(actor=request.user, plan=plan)
    if agreed.status == AgreedBudget.Status.AWAITING_DECISION:
        messages.warning(
            request,
            LOWER_AGREED.format(new=gbp(agreed.weekly_gbp), old=gbp(agreed.replaces.weekly_gbp)),
        )
    else:
        messages.success(request, AUTHORISED)
    return _back(plan)


@plan_action(PLAN_AUTHORISE)
def plan_return_view(request, plan: SupportPlan):
    form = CommentsForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, plan, comments_form=form)
    plan_return(actor=request.user, plan=plan, comments=form.cleaned_data["comments"])
    messages.success(request, RETURNED)
    return _back(plan)
