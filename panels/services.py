"""Panel writes: referrals, meetings, conflicts and the chair's decision (one per referral)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.costing import line_weekly_text, plan_costs
from allocations.models import PANEL_DECLINED_COMMENT, SupportPlan
from allocations.selectors.plans import live_lines, plan_authors
from allocations.services.plans import plan_agree_by_panel, plan_return_by_panel
from assessments.models import User
from assessments.roles import Role
from assessments.selectors.people import team_allowed
from panels.models import (
    REFERRAL_INITIAL,
    ConflictDeclaration,
    IllegalReferralTransition,
    PanelDecision,
    PanelMeeting,
    PanelReferral,
)
from panels.permissions import (
    DECIDE,
    MEETING_ADD,
    PANEL_VIEW,
    REFERRAL_CREATE,
    REFERRAL_WITHDRAW_ANY,
)

NOT_QUORATE = (
    "The panel is not quorate for this referral: {present} member(s) without a conflict, "
    "{quorum} needed."
)
CHAIR_CONFLICTED = "The chair has a conflict of interest in this referral and cannot decide it."
CANNOT_REFER = "Only the worker submitting the plan, in the person's team, refers it to the panel."
CANNOT_WITHDRAW = "Only a change to the person's indicative budget withdraws a referral."
ONLY_CHAIRS_ARRANGE = "Only panel chairs arrange panel meetings."
ONLY_CHAIRS_SCHEDULE = "Only panel chairs set the agenda."
ONLY_CHAIR_DECIDES = "Only the panel chair records decisions."
ONLY_MEETING_CHAIR_DECIDES = "Only the chair of the meeting this referral is on can decide it."
ONLY_MEMBERS_DECLARE = "Only the meeting's panel members declare conflicts."
ALREADY_DECIDED_SCHEDULE = "This referral has been decided."
ALREADY_DECIDED_CONFLICT = "The panel has already decided this referral."
WITHDRAWN = "This referral was withdrawn: {reason}"


class AlreadyDecided(IllegalReferralTransition):
    """Deciding a referral that has its decision (named, for the chair who clicked second)."""

    def __init__(self, decision: PanelDecision):
        self.decision = decision
        who = decision.decided_by.get_full_name() or decision.decided_by.username
        super().__init__(
            f"This referral was already decided by {who} at "
            f"{timezone.localtime(decision.decided_at):%H:%M on %d %b %Y}: "
            f"{decision.get_outcome_display()}.",
        )


def plan_snapshot(plan: SupportPlan) -> dict:
    """The plan as the panel is asked to decide it (the plan may change after a deferral)."""
    lines = live_lines(plan)
    costs = plan_costs(plan, lines)
    return {
        "weekly": str(costs.weekly),
        "annual": str(costs.annual),
        "one_off": str(costs.one_off),
        "difference": str(costs.difference),
        "difference_percent": None
        if costs.difference_percent is None
        else str(costs.difference_percent),
        "difference_reason": plan.difference_reason,
        "management": plan.get_management_display(),
        "contribution_weekly": str(plan.contribution_weekly_gbp),
        "risk_reasons": plan.risk_reasons,
        "lines": [
            {
                "support": f"{line.get_category_display()}: {line.description}",
                "provider": line.provider,
                "weekly": line_weekly_text(line),
            }
            for line in lines
        ],
    }


def _move(referral: PanelReferral, to: str, *, actor: User, why: str) -> PanelReferral:
    """Move a locked referral through the transition table and save it, the history naming
    the actor and why (at most 100 characters)."""
    referral.check_transition(to)
    referral.status = to
    referral._history_user = actor
    referral._change_reason = why[:100]
    referral.save()
    return referral


@transaction.atomic
def referral_create(*, plan: SupportPlan, reasons: list[str], actor: User) -> PanelReferral:
    """A submitted plan goes to the panel (allocations' plan_referred_to_panel signal): a new
    waiting referral with the reasons and the plan as referred. The actor is the worker who
    submitted the plan: PermissionDenied (CANNOT_REFER) unless they change plans for the
    person's team."""
    if not actor.has_perm(REFERRAL_CREATE) or not team_allowed(actor, plan.person.team_id):
        raise PermissionDenied(CANNOT_REFER)
    referral = PanelReferral(
        plan=plan,
        reasons=reasons,
        referred_by=actor,
        plan_snapshot=plan_snapshot(plan),
        status=REFERRAL_INITIAL,
    )
    referral._history_user = actor
    referral._change_reason = "referred to the panel"
    referral.save()
    return referral


@transaction.atomic
def referral_withdraw(*, plan: SupportPlan, reason: str, actor: User) -> PanelReferral | None:
    """The plan left the panel before a decision (its indicative budget changed or ended;
    allocations' plan_withdrawn_from_panel signal): the waiting referral moves waiting →
    withdrawn, kept with the reason and when, and leaves the agenda. PermissionDenied
    (CANNOT_WITHDRAW) unless the actor holds a permission that changes a budget."""
    if not any(actor.has_perm(permission) for permission in REFERRAL_WITHDRAW_ANY):
        raise PermissionDenied(CANNOT_WITHDRAW)
    referral = (
        PanelReferral.objects.select_for_update()
        .filter(plan=plan, status=PanelReferral.Status.WAITING)
        .first()
    )
    if referral is None:
        return None
    referral.withdrawn_at, referral.withdrawn_reason = timezone.now(), reason
    return _move(referral, PanelReferral.Status.WITHDRAWN, actor=actor, why=f"withdrawn: {reason}")


def _panel_people(users) -> bool:
    labels = {Role.PANEL_CHAIR.label, Role.PANEL_MEMBER.label}
    return all(labels & {g.name for g in u.groups.all()} for u in users)


@transaction.atomic
def meeting_create(*, actor: User, date: datetime.date, chair: User, members) -> PanelMeeting:
    if not actor.has_perm(MEETING_ADD):
        raise PermissionDenied(ONLY_CHAIRS_ARRANGE)
    if Role.PANEL_CHAIR.label not in {g.name for g in chair.groups.all()}:
        raise ValidationError({"chair": "The chair must be a panel chair."})
    members = [m for m in members if m.pk != chair.pk]
    if not _panel_people([chair, *members]):
        raise ValidationError({"members": "Only panel members and chairs can sit on the panel."})
    meeting = PanelMeeting(date=date, chair=chair, created_by=actor)
    meeting._history_user = actor
    meeting.save()
    meeting.members.set(members)
    return meeting


@transaction.atomic
def referral_schedule(*, actor: User, referral: PanelReferral, meeting: PanelMeeting):
    """Put a waiting referral on a meeting's agenda (its status stays waiting). Refused with
    PermissionDenied for anyone but a chair, ValidationError once it is no longer waiting."""
    if not actor.has_perm(MEETING_ADD):
        raise PermissionDenied(ONLY_CHAIRS_SCHEDULE)
    referral = PanelReferral.objects.select_for_update().get(pk=referral.pk)
    if not referral.is_waiting:
        raise ValidationError(ALREADY_DECIDED_SCHEDULE)
    referral.meeting = meeting
    referral._history_user = actor
    referral._change_reason = f"put on the agenda of the meeting of {meeting.date:%d %b %Y}"
    referral.save()
    return referral


def automatic_conflicts(referral: PanelReferral, users) -> dict[int, str]:
    """Panel members who assessed, planned or manage the case: {user id: why}."""
    plan = referral.plan
    assessment = plan.indicative_budget.assessment
    authors = plan_authors(plan)
    conflicts = {}
    for user in users:
        if user.pk in (assessment.started_by_id, assessment.submitted_by_id):
            conflicts[user.pk] = "assessed the person"
        elif user.pk in authors:
            conflicts[user.pk] = "wrote the support plan"
        elif user.team_id == plan.person.team_id and Role.TEAM_MANAGER.label in {
            g.name for g in user.groups.all()
        }:
            conflicts[user.pk] = "manages the person's team"
    return conflicts


def referral_conflicts(referral: PanelReferral) -> dict[int, str]:
    """Every conflict in this referral, automatic or declared: {user id: why}."""
    meeting = referral.meeting
    users = [meeting.chair, *meeting.members.all()] if meeting else []
    conflicts = automatic_conflicts(referral, users)
    for declared in referral.conflicts.all():
        conflicts.setdefault(declared.member_id, f"declared: {declared.reason}")
    return conflicts


def quorum_for(referral: PanelReferral) -> tuple[list[User], bool]:
    """The meeting's people without a conflict, and whether they make a quorum (the chair
    counts; PANEL_QUORUM, default 3)."""
    meeting = referral.meeting
    if meeting is None:
        return [], False
    conflicts = referral_conflicts(referral)
    members = meeting.members.order_by("username")  # the decision records them in this order
    present = [u for u in [meeting.chair, *members] if u.pk not in conflicts]
    return present, len(present) >= settings.PANEL_QUORUM


@transaction.atomic
def conflict_declare(*, actor: User, referral: PanelReferral, reason: str):
    """A member of the referral's meeting declares a conflict of interest, once. Refused with
    PermissionDenied for anyone else (ONLY_MEMBERS_DECLARE), ValidationError without a reason
    or once the referral is no longer waiting (read under the row's lock: the caller's copy
    may be stale)."""
    referral = PanelReferral.objects.select_for_update().get(pk=referral.pk)
    meeting = referral.meeting
    if (
        not actor.has_perm(PANEL_VIEW)
        or meeting is None
        or actor.pk
        not in [
            meeting.chair_id,
            *meeting.members.values_list("pk", flat=True),
        ]
    ):
        raise PermissionDenied(ONLY_MEMBERS_DECLARE)
    if not reason.strip():
        raise ValidationError({"reason": "Say what the conflict is."})
    if not referral.is_waiting:
        raise ValidationError(ALREADY_DECIDED_CONFLICT)
    declaration = ConflictDeclaration(referral=referral, member=actor, reason=reason.strip())
    declaration._history_user = actor
    try:
        with transaction.atomic():
            declaration.save()
    except IntegrityError:
        raise ValidationError("You have already declared a conflict in this referral.") from None
    return declaration


@transaction.atomic
def panel_decide(
    *,
    actor: User,
    referral: PanelReferral,
    outcome: str,
    reasons: str,
    conditions: str = "",
    review_date: datetime.date | None = None,
    information_needed: str = "",
) -> PanelDecision:
    """The chair records the panel's one decision on a referral.

    Refused unless the actor chairs the meeting, has no conflict, and the meeting is quorate.
    Reasons always; conditions and a review date when approved with conditions; the
    information needed when deferred. waiting → decided only: IllegalReferralTransition for a
    withdrawn referral (WITHDRAWN). The referral row is locked, so of two chairs deciding at
    once exactly one decision is kept; the other gets AlreadyDecided (an
    IllegalReferralTransition), naming it.
    """
    if not actor.has_perm(DECIDE):
        raise PermissionDenied(ONLY_CHAIR_DECIDES)
    # The referral row alone (no joins: a joined key changed at the same moment would make
    # PostgreSQL drop the row from a FOR UPDATE query); related rows are read after the lock.
    referral = PanelReferral.objects.select_for_update().get(pk=referral.pk)
    existing = PanelDecision.objects.filter(referral=referral).select_related("decided_by").first()
    if existing is not None:
        raise AlreadyDecided(existing)
    if referral.is_withdrawn:
        raise IllegalReferralTransition(WITHDRAWN.format(reason=referral.withdrawn_reason))
    referral.check_transition(PanelReferral.Status.DECIDED)
    if referral.meeting is None or referral.meeting.chair_id != actor.pk:
        raise PermissionDenied(ONLY_MEETING_CHAIR_DECIDES)
    if actor.pk in referral_conflicts(referral):
        raise PermissionDenied(CHAIR_CONFLICTED)
    present, quorate = quorum_for(referral)
    if not quorate:
        raise ValidationError(
            NOT_QUORATE.format(present=len(present), quorum=settings.PANEL_QUORUM)
        )
    errors = {}
    if not reasons.strip():
        errors["reasons"] = "Give the panel's reasons."
    if outcome == PanelDecision.Outcome.APPROVED_WITH_CONDITIONS:
        if not conditions.strip():
            errors["conditions"] = "State the conditions."
        if review_date is None:
            errors["review_date"] = "Give the review date."
    if outcome == PanelDecision.Outcome.DEFERRED and not information_needed.strip():
        errors["information_needed"] = "Say what information the panel needs."
    if outcome not in PanelDecision.Outcome.values:
        errors["outcome"] = "Choose a decision."
    if errors:
        raise ValidationError(errors)
    decision = PanelDecision(
        referral=referral,
        outcome=outcome,
        reasons=reasons.strip(),
        conditions=conditions.strip(),
        information_needed=information_needed.strip(),
        review_date=review_date,
        decided_by=actor,
        present=[u.username for u in present],
    )
    decision._history_user = actor
    decision.save()
    _move(referral, PanelReferral.Status.DECIDED, actor=actor, why=f"decided: {outcome}")
    plan = referral.plan
    if outcome in (PanelDecision.Outcome.APPROVED, PanelDecision.Outcome.APPROVED_WITH_CONDITIONS):
        plan_agree_by_panel(
            actor=actor,
            plan=plan,
            review_date=review_date
            or plan.review_date
            or timezone.localdate() + datetime.timedelta(days=365),
            conditions=conditions.strip(),
        )
    elif outcome == PanelDecision.Outcome.DEFERRED:
        plan_return_by_panel(
            actor=actor,
            plan=plan,
            comments=f"Deferred by the panel. Information needed: {information_needed.strip()}",
        )
    else:
        plan_return_by_panel(
            actor=actor, plan=plan, comments=f"{PANEL_DECLINED_COMMENT}: {reasons.strip()}"
        )
    return decision
