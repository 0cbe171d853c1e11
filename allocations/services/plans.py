"""Writes for support plans: starting and editing a plan, submitting it (checked, and routed
to a team manager or the panel), authorising or returning it, the agreed personal budget and
a decision on a lower one, and a plan following a new indicative budget. Each one
transaction, recording who and why."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.costing import PlanCosts, management_split, panel_reasons, plan_costs
from allocations.decisions import decide_lower, lock_person
from allocations.models import (
    AgreedBudget,
    IndicativeBudget,
    InformalSupportItem,
    PlanLine,
    SupportPlan,
)
from allocations.notifications import (
    notify_lower_figure,
    notify_plan_decided,
    notify_plan_to_authorise,
)
from allocations.permissions import (
    BUDGET_DECIDE,
    PLAN_ADD,
    PLAN_AUTHORISE,
    PLAN_CHANGE,
    PLAN_DECIDE_BY_PANEL,
)
from allocations.selectors.budgets import gbp, is_silent_reduction
from allocations.selectors.plans import (
    LINE_REPLACED,
    LINE_REPLACES,
    OPEN_STATUSES,
    eligible_needs,
    live_lines,
    plan_sections,
    wrote,
)
from allocations.selectors.reviews import default_review_date
from allocations.signals import plan_referred_to_panel, plan_withdrawn_from_panel
from assessments.models import Outcome, User
from assessments.selectors.people import team_allowed
from assessments.services.history import save_as
from assessments.workflows import IllegalTransition

NOT_YOUR_OWN = "Nobody may authorise or decide on a plan they wrote."


ROLE_CANNOT_PLAN = "Your role cannot change support plans."


OWN_TEAM_ONLY = "You can only plan for your own team's people."


ONLY_THE_PANEL_DECIDES = "Only the risk enablement panel's chair decides on a referred plan."


PLAN_LOCKED = "The plan is {status}: it cannot change."


NO_BUDGET_YET = "The person has no indicative budget to plan against yet."


ALREADY_IN_PROGRESS = "The person already has a support plan in progress."


ONLY_WAITING_AUTHORISED = "Only a plan waiting for a team manager can be authorised."


ONLY_WAITING_RETURNED = "Only a plan waiting for a team manager can be returned."


ONLY_REFERRED_AGREED = "Only a plan referred to the panel can be approved by it."


ONLY_REFERRED_RETURNED = "Only a plan referred to the panel can be returned by it."


LINE_NOT_ON_PLAN = "That line is not on this plan."


INFORMAL_NOT_ON_PLAN = "That informal support is not on this plan."


NEED_NOT_MET = "No plan line or named informal support meets this eligible need: {need}."


SPLIT_MUST_ADD_UP = (
    "The amounts for each way of managing the budget add up to {total} a week, but the plan "
    "costs {weekly} a week."
)


REASON_NEEDED = (
    "The plan differs from the indicative budget by {percent}%, more than the {tolerance}% "
    "tolerance: give the reason."
)


DIFFERENCE_REASON_NEEDED = (
    "The plan differs from the indicative budget by {difference} a week ({percent}%): give "
    "the reason, however small the difference."
)


BUDGET_CHANGED = (
    "The indicative budget changed from {old} to {new} a week ({why}). The plan is now "
    "compared with the new figure{again}."
)


PLAN_CLOSED = "{why} The support plan was closed: start a new one if a budget becomes due."


LOWER_AGREED = (
    "The new agreed budget of {new} a week is lower than the current {old} while the person's "
    "needs (points) have not reduced: it waits for a team manager's decision and the current "
    "budget stays in force until then."
)


CONTRIBUTION_TOO_HIGH = "The person's contribution cannot be more than the plan's weekly cost."


RISK_REASONS_NEEDED = "Describe the risks when referring the plan to the panel for risk reasons."


NO_LINES = "Add at least one line to the plan."


class PlanIncomplete(Exception):
    """Why a plan cannot be submitted yet: `problems`, one message each, and beside each in
    `where` what it is about ("lines", "needs", or the name of the plan setting to change)."""

    def __init__(self, problems: list[str], where: list[str] | None = None):
        self.problems = problems
        self.where = where or [""] * len(problems)
        super().__init__(" ".join(problems))


class PlanStateError(IllegalTransition):
    """A change the plan's state does not allow: the one named error for an illegal move
    (IllegalTransition), with the plan's own message for each service."""


def coverage_problems(plan: SupportPlan, lines: list[PlanLine]) -> list[str]:
    met = {code for line in lines for code in line.meets_outcomes}
    met |= {item.outcome for item in plan.informal.live()}
    return [
        NEED_NOT_MET.format(need=Outcome(code).label)
        for code in eligible_needs(plan)
        if code not in met
    ]


def submission_problems(
    plan: SupportPlan, lines: list[PlanLine], costs: PlanCosts
) -> list[tuple[str, str]]:
    """(where, problem) for each reason the plan cannot be submitted yet: `where` is "lines",
    "needs" or the plan setting (PLAN_SETTINGS_FIELDS) to change."""
    problems = [] if lines else [("lines", NO_LINES)]
    problems += [("needs", problem) for problem in coverage_problems(plan, lines)]
    split = management_split(plan, costs.weekly)
    if sum(split.values()) != costs.weekly:
        problems.append(
            (
                "direct_payment_weekly_gbp",
                SPLIT_MUST_ADD_UP.format(
                    total=f"£{sum(split.values()):,}", weekly=f"£{costs.weekly:,}"
                ),
            )
        )
    if plan.contribution_weekly_gbp > costs.weekly:
        problems.append(("contribution_weekly_gbp", CONTRIBUTION_TOO_HIGH))
    if costs.difference and not plan.difference_reason.strip():
        # Sufficiency: every difference from the indicative budget carries its reason; one
        # beyond the tolerance also goes to the panel.
        problems.append(
            (
                "difference_reason",
                REASON_NEEDED.format(
                    percent=costs.difference_percent, tolerance=costs.tolerance_percent.normalize()
                )
                if costs.outside_tolerance
                else DIFFERENCE_REASON_NEEDED.format(
                    difference=gbp(costs.difference), percent=costs.difference_percent
                ),
            )
        )
    if plan.risk_referral and not plan.risk_reasons.strip():
        problems.append(("risk_reasons", RISK_REASONS_NEEDED))
    return problems


def _check_team_worker(actor: User, plan_or_person, permission: str = PLAN_CHANGE) -> None:
    """PermissionDenied unless the actor holds `permission` and the team rule lets them keep
    the person's records."""
    person = getattr(plan_or_person, "person", plan_or_person)
    if not actor.has_perm(permission):
        raise PermissionDenied(ROLE_CANNOT_PLAN)
    if not team_allowed(actor, person.team_id):
        raise PermissionDenied(OWN_TEAM_ONLY)


def _check_panel(actor: User) -> None:
    """PermissionDenied unless the actor may decide for the panel (the panel chair: panels
    registers PLAN_DECIDE_BY_PANEL for that role). Panels checks the rest: that the actor
    chairs the referral's meeting, has no conflict and the meeting is quorate."""
    if not actor.has_perm(PLAN_DECIDE_BY_PANEL):
        raise PermissionDenied(ONLY_THE_PANEL_DECIDES)


def _check_move(plan: SupportPlan, *, source: str, to: str, refusal: str) -> None:
    """PlanStateError(refusal) unless the plan is in `source`, the one status this service
    moves a plan from, and the workflow's table allows `source` → `to`."""
    if plan.status != source:
        raise PlanStateError(refusal)
    try:
        SupportPlan.WORKFLOW.check(plan.status, to)
    except IllegalTransition:
        raise PlanStateError(refusal) from None


def _lock(plan: SupportPlan) -> SupportPlan:
    # The row alone: a FOR UPDATE query with joins can lose the row on PostgreSQL when a
    # joined key (the plan's budget) changed concurrently. Related rows are read after.
    return SupportPlan.objects.select_for_update().get(pk=plan.pk)


def _save(plan: SupportPlan, *, actor: User, why: str = "edited") -> SupportPlan:
    """Save with the history naming the actor and why (WRITING reasons make an author; the
    history keeps 100 characters of the reason)."""
    plan.updated_at, plan.updated_by = timezone.now(), actor
    return save_as(plan, actor, reason=why)


def _editable(actor: User, plan: SupportPlan) -> SupportPlan:
    _check_team_worker(actor, plan)
    plan = _lock(plan)
    if not plan.is_editable:
        raise PlanStateError(PLAN_LOCKED.format(status=plan.get_status_display().lower()))
    return plan


@transaction.atomic
def plan_start(*, actor: User, person) -> SupportPlan:
    """A draft plan against the person's current indicative budget."""
    _check_team_worker(actor, person, PLAN_ADD)
    budget = (
        IndicativeBudget.objects.filter(person=person, status=IndicativeBudget.Status.CURRENT)
        .select_related("policy")
        .first()
    )
    if budget is None:
        raise PlanStateError(NO_BUDGET_YET)
    plan = SupportPlan(person=person, indicative_budget=budget, created_by=actor, updated_by=actor)
    try:
        with transaction.atomic():
            save_as(plan, actor, reason="created")
    except IntegrityError:
        raise PlanStateError(ALREADY_IN_PROGRESS) from None
    return plan


# What a worker sets on a plan besides its lines (the plan page's form shows these).
PLAN_SETTINGS_FIELDS = (
    "management",
    "direct_payment_weekly_gbp",
    "council_managed_weekly_gbp",
    "isf_weekly_gbp",
    "contribution_weekly_gbp",
    "difference_reason",
    "risk_referral",
    "risk_reasons",
    "review_date",
)


@transaction.atomic
def plan_update(*, actor: User, plan: SupportPlan, data: dict[str, Any]) -> SupportPlan:
    plan = _editable(actor, plan)
    for name in PLAN_SETTINGS_FIELDS:
        if name in data:
            setattr(plan, name, data[name])
    plan.full_clean(exclude=["person", "indicative_budget", "created_by", "updated_by"])
    return _save(plan, actor=actor)


# What a worker sets on a plan line (the line forms show these).
PLAN_LINE_FIELDS = (
    "category",
    "description",
    "provider",
    "quantity",
    "unit",
    "unit_cost_gbp",
    "frequency",
    "meets_outcomes",
    "meets_sections",
)


def _check_line_choices(plan: SupportPlan, data: dict[str, Any]) -> None:
    """ValidationError, by field, for needs or areas the plan's assessment does not have."""
    unknown = set(data.get("meets_outcomes", [])) - set(Outcome.values)
    if unknown:
        raise ValidationError({"meets_outcomes": "Choose needs from the list."})
    if set(data.get("meets_sections", [])) - {code for code, _ in plan_sections(plan)}:
        raise ValidationError({"meets_sections": "Choose areas from the assessment."})


@transaction.atomic
def plan_line_add(*, actor: User, plan: SupportPlan, data: dict[str, Any]) -> PlanLine:
    plan = _editable(actor, plan)
    _check_line_choices(plan, data)
    line = PlanLine(plan=plan, **data)
    line.full_clean(exclude=["plan"])
    save_as(line, actor)
    _save(plan, actor=actor)
    return line


@transaction.atomic
def plan_line_update(
    *, actor: User, plan: SupportPlan, line_id: int, data: dict[str, Any]
) -> PlanLine:
    """Change a line of a plan still being written (the same rules as adding one: the
    person's team, a role that changes plans, a plan being written or returned). A line is
    never rewritten (the database allows it only to be ended): the line is ended and a new one
    with the changed values takes its place, its history naming the line it replaces
    (LINE_REPLACES), so the plan's history reads as one change from the old values to the new.
    Returns the new line. Refused (ValidationError, by field; ValidationError(LINE_NOT_ON_PLAN)
    for a line that is not a live line of the plan) with nothing saved."""
    plan = _editable(actor, plan)
    old = plan.lines.live().select_for_update().filter(pk=line_id).first()
    if old is None:
        raise ValidationError(LINE_NOT_ON_PLAN)
    _check_line_choices(plan, data)
    values = {name: data.get(name, getattr(old, name)) for name in PLAN_LINE_FIELDS}
    line = PlanLine(plan=plan, **values)
    line.full_clean(exclude=["plan"])
    old.ended_at, old.ended_by = timezone.now(), actor
    save_as(old, actor, reason=LINE_REPLACED)
    save_as(line, actor, reason=LINE_REPLACES.format(pk=old.pk))
    _save(plan, actor=actor)
    return line


def _end_item(*, actor: User, plan: SupportPlan, items: str, pk: int, missing: str) -> None:
    """End one of a plan's live lines or named informal support (`items` names the relation):
    kept, with who ended it and when. ValidationError(missing) when it is not on the plan."""
    plan = _editable(actor, plan)
    item = getattr(plan, items).live().filter(pk=pk).first()
    if item is None:
        raise ValidationError(missing)
    item.ended_at, item.ended_by = timezone.now(), actor
    save_as(item, actor)
    _save(plan, actor=actor)


@transaction.atomic
def plan_line_remove(*, actor: User, plan: SupportPlan, line_id: int) -> None:
    """Take a line off a plan still being written: the line is ended, not deleted."""
    _end_item(actor=actor, plan=plan, items="lines", pk=line_id, missing=LINE_NOT_ON_PLAN)


@transaction.atomic
def plan_informal_add(*, actor: User, plan: SupportPlan, outcome: str, who: str, what: str):
    plan = _editable(actor, plan)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": "Choose a need from the list."})
    item = InformalSupportItem(plan=plan, outcome=outcome, who=who.strip(), what=what.strip())
    item.full_clean(exclude=["plan"])
    save_as(item, actor)
    _save(plan, actor=actor)
    return item


@transaction.atomic
def plan_informal_remove(*, actor: User, plan: SupportPlan, item_id: int) -> None:
    """Take named informal support off a plan still being written: ended, not deleted."""
    _end_item(actor=actor, plan=plan, items="informal", pk=item_id, missing=INFORMAL_NOT_ON_PLAN)


@transaction.atomic
def plan_submit(*, actor: User, plan: SupportPlan) -> SupportPlan:
    """Submit for authorisation. Refused (PlanIncomplete, one message per problem) while any
    eligible need is unmet, the split does not add up, or a reason is missing. Goes to the
    panel when any panel rule holds (the reasons are recorded), else to a team manager."""
    plan = _editable(actor, plan)
    lines = live_lines(plan)
    costs = plan_costs(plan, lines)
    problems = submission_problems(plan, lines, costs)
    if problems:
        raise PlanIncomplete([text for _, text in problems], [where for where, _ in problems])
    # One policy for every rule: the one the indicative budget was worked out under (re-pricing
    # moves current budgets to a new policy when one takes effect).
    policy = plan.indicative_budget.policy
    reasons = panel_reasons(
        costs=costs, policy=policy, risk_referral=plan.risk_referral, risk_reasons=plan.risk_reasons
    )
    plan.submitted_at, plan.submitted_by = timezone.now(), actor
    plan.routing_reasons = reasons
    plan.returned_comments = ""
    SupportPlan.WORKFLOW.move(
        plan, SupportPlan.Status.AT_PANEL if reasons else SupportPlan.Status.AWAITING_AUTHORISATION
    )
    plan = _save(plan, actor=actor, why="submitted")
    if reasons:
        plan_referred_to_panel.send(sender=SupportPlan, plan=plan, reasons=reasons, actor=actor)
    else:
        notify_plan_to_authorise(plan, actor=actor)
    return plan


def _agree(
    plan: SupportPlan, *, actor: User, how: str, review_date: datetime.date, conditions: str = ""
) -> AgreedBudget:
    """The agreed personal budget for an authorised plan. It replaces the current one, unless
    it is lower while the person's points have not fallen: then it waits for a team manager's
    decision (agreed_budget_decide) and the current one stays in force (no silent reductions).
    """
    lines = live_lines(plan)
    costs = plan_costs(plan, lines)
    split = management_split(plan, costs.weekly)
    now = timezone.now()
    lock_person(plan.person_id)
    agreed_budgets = AgreedBudget.objects.select_for_update().filter(person_id=plan.person_id)
    for stale in agreed_budgets.filter(status=AgreedBudget.Status.AWAITING_DECISION):
        AgreedBudget.WORKFLOW.move(stale, AgreedBudget.Status.ENDED)
        stale.ended_at = now
        save_as(stale, actor)
    current = agreed_budgets.filter(status=AgreedBudget.Status.CURRENT).first()
    lower = current is not None and is_silent_reduction(
        new_weekly=costs.weekly,
        new_points=plan.indicative_budget.raw_points,
        current_weekly=current.weekly_gbp,
        current_points=current.plan.indicative_budget.raw_points,
    )
    if current is not None and not lower:
        AgreedBudget.WORKFLOW.move(current, AgreedBudget.Status.ENDED)
        current.ended_at = now
        save_as(current, actor)
    agreed = AgreedBudget(
        person=plan.person,
        plan=plan,
        status=AgreedBudget.Status.AWAITING_DECISION if lower else AgreedBudget.Status.CURRENT,
        replaces=current,
        weekly_gbp=costs.weekly,
        annual_gbp=costs.annual,
        one_off_gbp=costs.one_off,
        contribution_weekly_gbp=plan.contribution_weekly_gbp,
        council_weekly_gbp=costs.weekly - plan.contribution_weekly_gbp,
        indicative_weekly_gbp=costs.indicative_weekly,
        difference_reason=plan.difference_reason,
        conditions=conditions,
        review_date=review_date,
        agreed_by=actor,
        agreed_at=now,
        agreed_how=how,
        **split,
    )
    save_as(agreed, actor)
    SupportPlan.WORKFLOW.move(plan, SupportPlan.Status.AGREED)
    plan.decided_at, plan.decided_by = now, actor
    _save(plan, actor=actor, why="agreed")
    notify_plan_decided(plan, actor=actor, agreed=True)
    if lower:
        notify_lower_figure(agreed, actor=actor)
    return agreed


@transaction.atomic
def agreed_budget_decide(
    *, actor: User, agreed: AgreedBudget, decision: str, reason: str
) -> AgreedBudget:
    """A team manager's decision on a lower agreed budget: adopt it (it replaces the current
    one) or keep the current one (the lower one stays on record, not adopted). A reason is
    always required."""
    _check_team_worker(actor, agreed, BUDGET_DECIDE)
    return decide_lower(
        agreed,
        actor=actor,
        decision=decision,
        reason=reason,
        replaced_status=AgreedBudget.Status.ENDED,
        already_decided="This agreed budget has already been decided.",
    )


def plan_follow_budget(*, actor: User, budget: IndicativeBudget) -> SupportPlan | None:
    """A new current indicative budget: the person's open plan is compared with it from now on.
    A plan still being written keeps going against the new figure; a plan already submitted
    (to a team manager or the panel) goes back to the worker to check and submit again, since
    its routing and reasons were judged against the old figure. Runs inside the caller's
    transaction; returns the plan that moved, if any."""
    plan = (
        SupportPlan.objects.select_for_update()
        .filter(person_id=budget.person_id, status__in=OPEN_STATUSES)
        .exclude(indicative_budget=budget)
        .first()
    )
    if plan is None:
        return None
    old = IndicativeBudget.objects.get(pk=plan.indicative_budget_id)
    submitted = plan.is_awaiting_authorisation or plan.is_at_panel
    message = BUDGET_CHANGED.format(
        old=gbp(old.indicative_weekly_gbp),
        new=gbp(budget.indicative_weekly_gbp),
        why=budget.reason,
        again=": check it and submit it again" if submitted else "",
    )
    plan.indicative_budget = budget
    if submitted:
        at_panel = plan.is_at_panel
        SupportPlan.WORKFLOW.move(plan, SupportPlan.Status.RETURNED)
        plan.returned_comments = message
        plan.decided_at, plan.decided_by = timezone.now(), actor
        if at_panel:
            plan_withdrawn_from_panel.send(
                sender=SupportPlan, plan=plan, reason=message, actor=actor
            )
    why = (
        f"indicative budget changed from {gbp(old.indicative_weekly_gbp)} to "
        f"{gbp(budget.indicative_weekly_gbp)} a week"
    )
    return _save(plan, actor=actor, why=why)


def plan_close_for_person(*, actor: User, person_id: int, reason: str) -> SupportPlan | None:
    """No indicative budget is due any more: the person's open plan is closed (kept, with
    the reason), and withdrawn from the panel if it was waiting there."""
    plan = (
        SupportPlan.objects.select_for_update()
        .filter(person_id=person_id, status__in=OPEN_STATUSES)
        .first()
    )
    if plan is None:
        return None
    message = PLAN_CLOSED.format(why=reason)
    if plan.is_at_panel:
        plan_withdrawn_from_panel.send(sender=SupportPlan, plan=plan, reason=message, actor=actor)
    SupportPlan.WORKFLOW.move(plan, SupportPlan.Status.CLOSED)
    plan.closed_at, plan.closed_reason = timezone.now(), message
    return _save(plan, actor=actor, why="closed: no indicative budget is due")


def _for_manager(actor: User, plan: SupportPlan, *, to: str, refusal: str) -> SupportPlan:
    """The plan, locked, for a team manager's decision: their team's, waiting for a manager
    (PlanStateError(refusal) otherwise), and not one they wrote."""
    _check_team_worker(actor, plan, PLAN_AUTHORISE)
    plan = _lock(plan)
    _check_move(plan, source=SupportPlan.Status.AWAITING_AUTHORISATION, to=to, refusal=refusal)
    if wrote(actor, plan):
        raise PermissionDenied(NOT_YOUR_OWN)
    return plan


@transaction.atomic
def plan_authorise(*, actor: User, plan: SupportPlan) -> AgreedBudget:
    """A team manager of the person's team authorises a plan under the panel threshold."""
    plan = _for_manager(actor, plan, to=SupportPlan.Status.AGREED, refusal=ONLY_WAITING_AUTHORISED)
    return _agree(
        plan, actor=actor, how="team manager", review_date=plan.review_date or default_review_date()
    )


@transaction.atomic
def plan_return(*, actor: User, plan: SupportPlan, comments: str) -> SupportPlan:
    """A team manager returns the plan to the worker with comments."""
    plan = _for_manager(actor, plan, to=SupportPlan.Status.RETURNED, refusal=ONLY_WAITING_RETURNED)
    if not comments.strip():
        raise ValidationError({"comments": "Say what needs to change."})
    return _return(plan, actor=actor, comments=comments.strip())


def _return(plan: SupportPlan, *, actor: User, comments: str) -> SupportPlan:
    """Back to the worker with the decider's comments (the caller checked the move)."""
    SupportPlan.WORKFLOW.move(plan, SupportPlan.Status.RETURNED)
    plan.returned_comments = comments
    plan.decided_at, plan.decided_by = timezone.now(), actor
    notify_plan_decided(plan, actor=actor, agreed=False)
    return _save(plan, actor=actor, why="returned")


# Called by the panel (panels → allocations): the chair's decision on a referred plan.


def _for_panel(actor: User, plan: SupportPlan, *, to: str, refusal: str) -> SupportPlan:
    """The plan, locked, for the panel's decision (PLAN_DECIDE_BY_PANEL; at the panel, else
    PlanStateError(refusal))."""
    _check_panel(actor)
    plan = _lock(plan)
    _check_move(plan, source=SupportPlan.Status.AT_PANEL, to=to, refusal=refusal)
    return plan


@transaction.atomic
def plan_agree_by_panel(
    *, actor: User, plan: SupportPlan, review_date: datetime.date, conditions: str = ""
) -> AgreedBudget:
    """The panel approves a referred plan: at_panel → agreed, and the agreed budget. Refused
    (PermissionDenied) for an actor without PLAN_DECIDE_BY_PANEL, PlanStateError for a plan
    not at the panel."""
    plan = _for_panel(actor, plan, to=SupportPlan.Status.AGREED, refusal=ONLY_REFERRED_AGREED)
    return _agree(
        plan,
        actor=actor,
        how="risk enablement panel",
        review_date=review_date,
        conditions=conditions,
    )


@transaction.atomic
def plan_return_by_panel(*, actor: User, plan: SupportPlan, comments: str) -> SupportPlan:
    """The panel returns a referred plan (declined or deferred) with its comments: at_panel →
    returned. Refused as plan_agree_by_panel is."""
    plan = _for_panel(actor, plan, to=SupportPlan.Status.RETURNED, refusal=ONLY_REFERRED_RETURNED)
    return _return(plan, actor=actor, comments=comments)
