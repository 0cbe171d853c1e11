"""The support plan pages: starting a plan, the plan itself (GET), and one POST-only view per
thing a user does to it (its lines, named informal support and settings; submitting,
authorising or returning it). Each action: the door (404 for a plan the user may not see, 403
for a role without the action's permission) → the service → back to the plan with a message,
or the plan page again with the form's errors beside its fields."""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allocations.costing import line_weekly_text, panel_reasons, plan_costs, plan_managed
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
    LINE_NOT_ON_PLAN,
    LOWER_AGREED,
    OWN_TEAM_ONLY,
    PLAN_LOCKED,
    PlanIncomplete,
    PlanStateError,
    plan_authorise,
    plan_informal_add,
    plan_informal_remove,
    plan_line_add,
    plan_line_remove,
    plan_line_update,
    plan_return,
    plan_start,
    plan_submit,
    plan_update,
)
from allocations.units import line_amount_text
from assessments.forms import add_service_errors
from assessments.models import Outcome, PersonAccess
from assessments.selectors.people import person_get_for_user, team_allowed
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse

SAVED = "The plan has been saved."
LINE_ADDED = "Line added."
LINE_CHANGED = "Line changed."
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

    amount: str  # how much of what, at what unit cost, how often: "14 hours × £16.50 per week"
    weekly: str  # its weekly equivalent, worked out in words
    needs: str  # the eligible needs it meets, by name
    areas: str  # the areas of the assessment it meets, by title


def _line_rows(lines: list[PlanLine], sections: list[tuple[str, str]]):
    labels, titles = dict(Outcome.choices), dict(sections)
    return [
        (
            line,
            LineText(
                amount=line_amount_text(line),
                weekly=line_weekly_text(line),
                needs="; ".join(labels[c] for c in line.meets_outcomes if c in labels),
                areas="; ".join(titles[c] for c in line.meets_sections if c in titles),
            ),
        )
        for line in lines
    ]


def _plan_page(
    request, plan: SupportPlan, *, refused: PlanIncomplete | None = None, **bound_forms
) -> HttpResponse:
    """The plan page: its lines and costs beside the indicative budget, how it meets each
    eligible need, how it is managed; and, by state and role, the forms to change, submit or
    authorise it. `bound_forms` (e.g. line_form=…) replace the blank forms, so a form posted
    with errors shows them in a summary at its top and beside its fields; `refused` (a
    submission refused) lists its problems at the top of the page, each linked to what to
    change."""
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
    submit_problems = _submit_problems(refused, forms["settings_form"]) if refused else []
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
            "managed": plan_managed(plan, costs.weekly),
            "submit_problems": submit_problems,
            "not_yet": NOT_YET,
            "has_errors": bool(submit_problems) or any(f.errors for f in forms.values()),
            "open_line_form": bool(forms["line_form"].errors)
            or any(anchor == LINE_FORM_ANCHOR for anchor, _ in submit_problems),
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


# Where the plan page's summary of a refused submission links each problem to.
LINE_FORM_ANCHOR = "add-line"
NEEDS_ANCHOR = "needs"


def _submit_problems(refused: PlanIncomplete, settings_form) -> list[tuple[str, str]]:
    """(anchor, problem) for the error summary: a plan setting's field, the form to add a
    line, or the list of eligible needs."""
    anchors = {"lines": LINE_FORM_ANCHOR, "needs": NEEDS_ANCHOR}
    return [
        (
            settings_form[where].auto_id
            if where in settings_form.fields
            else anchors.get(where, ""),
            problem,
        )
        for where, problem in zip(refused.where, refused.problems, strict=True)
    ]


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
    `view(request, plan, **url_kwargs)`. A service's refusal (a state that does not allow it,
    invalid data) becomes an error message on the plan page; PermissionDenied is 403."""

    def decorate(view):
        @require_POST
        @wraps(view)
        def action(request, pk: int, **kwargs):
            plan = plan_get_for_user(user=request.user, pk=pk, permission=permission)
            try:
                return view(request, plan, **kwargs)
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


@require_http_methods(["GET", "POST"])
def plan_line_edit_view(request, pk: int, line_id: int):
    """Change one line of a plan still being written: the form with the line's current values
    (GET), saved by plan_line_update (POST); errors in a summary at the top of the form and
    beside each field, nothing saved. 404 for a plan the user may not see or a line that is
    not on it; 403 for a role that does not change plans or another team's plan."""
    plan = plan_get_for_user(user=request.user, pk=pk, permission=PLAN_CHANGE)
    if not team_allowed(request.user, plan.person.team_id):
        raise PermissionDenied(OWN_TEAM_ONLY)
    line = plan.lines.live().filter(pk=line_id).first()
    if line is None:
        raise Http404(LINE_NOT_ON_PLAN)
    if not plan.is_editable:
        refuse(
            request, PlanStateError(PLAN_LOCKED.format(status=plan.get_status_display().lower()))
        )
        return _back(plan)
    needs, sections = _needs(plan), plan_sections(plan)
    if request.method == "GET":
        person_access_record(
            user=request.user, person=plan.person, page=PersonAccess.Page.PLAN, path=request.path
        )
        form = PlanLineForm(instance=line, needs=needs, sections=sections)
    else:
        # A copy: binding the form writes the posted values onto its instance, and the page
        # still says what the line holds now.
        form = PlanLineForm(request.POST, instance=copy(line), needs=needs, sections=sections)
        if form.is_valid():
            try:
                plan_line_update(
                    actor=request.user, plan=plan, line_id=line.pk, data=form.cleaned_data
                )
            except PlanStateError as refusal:
                refuse(request, refusal)
                return _back(plan)
            except ValidationError as refusal:
                if not hasattr(refusal, "error_dict"):
                    refuse(request, refusal)
                    return _back(plan)
                add_service_errors(form, refusal)
            else:
                messages.success(request, LINE_CHANGED)
                return _back(plan)
    return render(
        request,
        "allocations/plans/line_edit.html",
        {"plan": plan, "person": plan.person, "line": line, "form": form},
    )


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
    try:
        plan = plan_submit(actor=request.user, plan=plan)
    except PlanIncomplete as refusal:
        return _plan_page(request, plan, refused=refusal)
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
