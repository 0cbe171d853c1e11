"""Panel writes: referrals, meetings, conflicts and the chair's decision (one per referral)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.costing import line_weekly_text, plan_costs
from allocations.models import PANEL_DECLINED_COMMENT, SupportPlan
from allocations.selectors.plans import live_lines, plan_authors
from allocations.selectors.reviews import default_review_date
from allocations.services.plans import plan_agree_by_panel, plan_return_by_panel
from allocations.units import line_amount_text
from assessments.models import User
from assessments.roles import Role
from assessments.selectors.people import team_allowed
from panels.models import (
    DEFAULT_MEETING_TIME,
    REFERRAL_INITIAL,
    ConflictDeclaration,
    IllegalReferralTransition,
    PanelAttendance,
    PanelDecision,
    PanelMeeting,
    PanelReferral,
)
from panels.notifications import notify_referral_awaits_meeting, notify_referral_on_agenda
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
QUORUM_HELP = (
    "To decide it, the chair can add a substitute panel member to the meeting, or move the "
    "referral to another meeting."
)
MEETING_IN_PAST = "A meeting cannot be arranged in the past."
MEETING_CANCELLED = "The meeting of {date} was cancelled: {reason}"
MEETING_NOT_STARTED = (
    "The meeting starts at {when}: the panel's decision can be recorded from then."
)
NOT_ON_A_MEETING = "This referral is not on a meeting's agenda yet."
ONLY_MEETING_CHAIR = (
    "Only the meeting's chair (or the chair who arranged it) records attendance, adds "
    "substitutes, moves its referrals and cancels it."
)
ONLY_CHAIRS_MOVE = "Only panel chairs move a referral to another meeting."
ONLY_OWN_CONFLICT = "Only the member who declared a conflict can withdraw it."
CONFLICT_ALREADY_WITHDRAWN = "This conflict was already withdrawn."
SUBSTITUTE_NOT_PANEL = "A substitute must be a panel member or chair."
ALREADY_SITS = "{name} already sits on this meeting."
MOVE_TARGET_SAME = "The referral is already on that meeting's agenda."
MOVE_TARGET_PAST = "A referral can only be moved to a meeting still to come."
MEETING_HAS_DECISIONS = "The panel has recorded decisions at this meeting: it cannot be cancelled."
GIVE_A_REASON = "Give a reason."


def _when(meeting: PanelMeeting) -> str:
    return f"{meeting.time:%H:%M} on {meeting.date:%d %b %Y}"


def _cancelled_text(meeting: PanelMeeting) -> str:
    return MEETING_CANCELLED.format(
        date=f"{meeting.date:%d %b %Y}", reason=meeting.cancelled_reason
    )


def _name(user: User) -> str:
    return user.get_full_name() or user.username


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
                "amount": line_amount_text(line),
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
    notify_referral_awaits_meeting(actor=actor)
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
def meeting_create(
    *,
    actor: User,
    date: datetime.date,
    chair: User,
    members,
    time: datetime.time | None = None,
    place: str = "",
) -> PanelMeeting:
    """A chair arranges a meeting at a time (default 10:00) and a place, never in the past
    (ValidationError MEETING_IN_PAST); each member is recorded as attending (present) until
    the chair records apologies. PermissionDenied (ONLY_CHAIRS_ARRANGE) for anyone else."""
    if not actor.has_perm(MEETING_ADD):
        raise PermissionDenied(ONLY_CHAIRS_ARRANGE)
    if Role.PANEL_CHAIR.label not in {g.name for g in chair.groups.all()}:
        raise ValidationError({"chair": "The chair must be a panel chair."})
    members = [m for m in members if m.pk != chair.pk]
    if not _panel_people([chair, *members]):
        raise ValidationError({"members": "Only panel members and chairs can sit on the panel."})
    meeting = PanelMeeting(
        date=date,
        time=time or DEFAULT_MEETING_TIME,
        place=place.strip(),
        chair=chair,
        created_by=actor,
    )
    if meeting.starts_at < timezone.now():
        raise ValidationError({"date": MEETING_IN_PAST})
    meeting._history_user = actor
    meeting._change_reason = "arranged"
    meeting.save()
    meeting.members.set(members)
    for member in members:
        _attendance_save(
            PanelAttendance(meeting=meeting, member=member, recorded_by=actor),
            actor=actor,
            why="invited",
        )
    return meeting


def _attendance_save(attendance: PanelAttendance, *, actor: User, why: str) -> PanelAttendance:
    attendance.recorded_by, attendance.recorded_at = actor, timezone.now()
    attendance._history_user = actor
    attendance._change_reason = why[:100]
    attendance.save()
    return attendance


def meeting_runs(actor: User, meeting: PanelMeeting) -> bool:
    """Whether the actor runs the meeting: its chair, or the chair who arranged it."""
    return actor.has_perm(MEETING_ADD) and actor.pk in (meeting.chair_id, meeting.created_by_id)


def _locked_meeting(meeting: PanelMeeting, actor: User) -> PanelMeeting:
    """The meeting's row, locked, for the one who runs it (PermissionDenied otherwise), and
    not cancelled (ValidationError)."""
    if not meeting_runs(actor, meeting):
        raise PermissionDenied(ONLY_MEETING_CHAIR)
    meeting = PanelMeeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise ValidationError(_cancelled_text(meeting))
    return meeting


@transaction.atomic
def attendance_record(
    *, actor: User, meeting: PanelMeeting, member: User, status: str, reason: str = ""
) -> PanelAttendance:
    """The meeting's chair records whether a member sitting on it is present or sent
    apologies (a substitute is added by meeting_substitute_add). Under the meeting's lock, so
    a decision being recorded at the same moment counts the attendance before or after,
    never half. PermissionDenied (ONLY_MEETING_CHAIR) for anyone else; ValidationError for a
    cancelled meeting, or someone not sitting on it."""
    meeting = _locked_meeting(meeting, actor)
    if status not in (PanelAttendance.Status.PRESENT, PanelAttendance.Status.APOLOGIES):
        raise ValidationError({"status": "Choose present or apologies."})
    attendance = PanelAttendance.objects.filter(meeting=meeting, member=member).first()
    if attendance is None:
        if not meeting.members.filter(pk=member.pk).exists():
            raise ValidationError({"member": f"{_name(member)} does not sit on this meeting."})
        attendance = PanelAttendance(meeting=meeting, member=member)
    attendance.status, attendance.reason = status, reason.strip() or attendance.reason
    if status == PanelAttendance.Status.PRESENT:
        attendance.reason = ""
    label = PanelAttendance.Status(status).label.lower()
    return _attendance_save(attendance, actor=actor, why=f"{label}: {reason.strip()}".rstrip(": "))


@transaction.atomic
def meeting_substitute_add(
    *, actor: User, meeting: PanelMeeting, member: User, reason: str
) -> PanelAttendance:
    """The meeting's chair adds a substitute panel member (someone with the panel member or
    chair role not already sitting on it), saying why (e.g. a member's conflict left the
    panel below quorum). They sit on the meeting (may declare conflicts, see its agenda) and
    count towards the quorum. PermissionDenied (ONLY_MEETING_CHAIR) for anyone else;
    ValidationError without a reason, for someone outside the panel, or already sitting."""
    meeting = _locked_meeting(meeting, actor)
    if not reason.strip():
        raise ValidationError({"reason": GIVE_A_REASON})
    if not _panel_people([member]) or not member.is_active:
        raise ValidationError({"member": SUBSTITUTE_NOT_PANEL})
    if member.pk == meeting.chair_id or meeting.members.filter(pk=member.pk).exists():
        raise ValidationError({"member": ALREADY_SITS.format(name=_name(member))})
    meeting.members.add(member)
    meeting._history_user = actor
    meeting._change_reason = f"substitute {_name(member)}: {reason.strip()}"[:100]
    meeting.save()
    attendance = PanelAttendance(
        meeting=meeting,
        member=member,
        status=PanelAttendance.Status.SUBSTITUTE,
        reason=reason.strip(),
    )
    return _attendance_save(attendance, actor=actor, why=f"substitute: {reason.strip()}")


@transaction.atomic
def meeting_cancel(*, actor: User, meeting: PanelMeeting, reason: str) -> PanelMeeting:
    """The meeting's chair cancels a meeting that has recorded no decision, saying why; its
    waiting referrals go back to awaiting a meeting (each one's history says so). The
    referrals are locked before the meeting, in the order panel_decide takes them."""
    if not meeting_runs(actor, meeting):
        raise PermissionDenied(ONLY_MEETING_CHAIR)
    if not reason.strip():
        raise ValidationError({"reason": GIVE_A_REASON})
    list(PanelReferral.objects.select_for_update().filter(meeting=meeting).order_by("pk"))
    meeting = _locked_meeting(meeting, actor)
    referrals = list(PanelReferral.objects.select_for_update().filter(meeting=meeting))
    if any(not r.is_waiting and not r.is_withdrawn for r in referrals):
        raise ValidationError(MEETING_HAS_DECISIONS)
    meeting.cancelled_at, meeting.cancelled_by = timezone.now(), actor
    meeting.cancelled_reason = reason.strip()
    meeting._history_user = actor
    meeting._change_reason = f"cancelled: {reason.strip()}"[:100]
    meeting.save()
    for referral in referrals:
        if referral.is_waiting:
            referral.meeting = None
            referral._history_user = actor
            referral._change_reason = (
                f"the meeting of {meeting.date:%d %b %Y} was cancelled: awaiting a meeting"
            )
            referral.save()
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
    meeting = PanelMeeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise ValidationError(_cancelled_text(meeting))
    referral.meeting = meeting
    referral._history_user = actor
    referral._change_reason = f"put on the agenda of the meeting of {meeting.date:%d %b %Y}"
    referral.save()
    notify_referral_on_agenda(meeting, actor=actor)
    return referral


@transaction.atomic
def referral_move(
    *, actor: User, referral: PanelReferral, meeting: PanelMeeting, reason: str
) -> PanelReferral:
    """A chair moves a waiting referral to another meeting still to come and not cancelled,
    saying why (e.g. its meeting cannot be quorate for it). The referral is locked first, as
    panel_decide locks it: a decision and a move at the same moment cannot both happen.
    PermissionDenied unless the actor is a chair who runs the referral's current meeting;
    ValidationError for a decided referral, no reason, or an unsuitable meeting."""
    if not actor.has_perm(MEETING_ADD):
        raise PermissionDenied(ONLY_CHAIRS_MOVE)
    referral = PanelReferral.objects.select_for_update().get(pk=referral.pk)
    if referral.meeting is not None and not meeting_runs(actor, referral.meeting):
        raise PermissionDenied(ONLY_MEETING_CHAIR)
    if not referral.is_waiting:
        raise ValidationError(ALREADY_DECIDED_SCHEDULE)
    if not reason.strip():
        raise ValidationError({"reason": GIVE_A_REASON})
    target = PanelMeeting.objects.select_for_update().get(pk=meeting.pk)
    if target.pk == referral.meeting_id:
        raise ValidationError({"meeting": MOVE_TARGET_SAME})
    if target.is_cancelled:
        raise ValidationError({"meeting": _cancelled_text(target)})
    if target.has_started:
        raise ValidationError({"meeting": MOVE_TARGET_PAST})
    referral.meeting = target
    referral._history_user = actor
    referral._change_reason = (f"moved to the meeting of {target.date:%d %b %Y}: {reason.strip()}")[
        :100
    ]
    referral.save()
    notify_referral_on_agenda(target, actor=actor)
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
        if not declared.is_withdrawn:
            conflicts.setdefault(declared.member_id, f"declared: {declared.reason}")
    return conflicts


@dataclass(frozen=True)
class Quorum:
    """Who counts towards the quorum for one referral, and who does not and why."""

    present: list  # the chair and those attending (or substituting) without a conflict
    conflicted: list  # [(user, why)] attending but conflicted
    apologies: list  # users who sent apologies
    substitutes: list  # users added as substitutes
    needed: int

    @property
    def quorate(self) -> bool:
        return len(self.present) >= self.needed

    def explanation(self) -> str:
        """Why the panel is not quorate, who is missing, and what the chair can do."""
        text = NOT_QUORATE.format(present=len(self.present), quorum=self.needed)
        if self.conflicted:
            text += " Conflicted: " + "; ".join(
                f"{_name(user)} ({why})" for user, why in self.conflicted
            )
            text += "."
        if self.apologies:
            text += " Apologies: " + ", ".join(_name(user) for user in self.apologies) + "."
        return f"{text} {QUORUM_HELP}"


def quorum_of(referral: PanelReferral) -> Quorum:
    """The quorum for a referral at its meeting (PANEL_QUORUM, default 3): the chair counts,
    and each member sitting on the meeting unless they sent apologies; a substitute counts;
    anyone with a conflict (worked out or declared and not withdrawn) does not."""
    meeting = referral.meeting
    if meeting is None:
        return Quorum([], [], [], [], settings.PANEL_QUORUM)
    conflicts = referral_conflicts(referral)
    attendance = {a.member_id: a for a in meeting.attendance.all()}
    members = meeting.members.order_by("username")  # the decision records them in this order
    present, conflicted, apologies, substitutes = [], [], [], []
    for user in [meeting.chair, *members]:
        row = attendance.get(user.pk)
        if row is not None and not row.counts:
            apologies.append(user)
            continue
        if row is not None and row.status == PanelAttendance.Status.SUBSTITUTE:
            substitutes.append(user)
        if user.pk in conflicts:
            conflicted.append((user, conflicts[user.pk]))
        else:
            present.append(user)
    return Quorum(present, conflicted, apologies, substitutes, settings.PANEL_QUORUM)


def quorum_for(referral: PanelReferral) -> tuple[list[User], bool]:
    """The people counted towards the quorum, and whether they make one (quorum_of)."""
    quorum = quorum_of(referral)
    return quorum.present, quorum.quorate


def decision_present_names(decision: PanelDecision, known: dict[str, str]) -> list[str]:
    """The names of those a decision recorded as present (it keeps their usernames)."""
    missing = [u for u in decision.present if u not in known]
    if missing:
        known = {**known, **{u.username: str(u) for u in User.objects.filter(username__in=missing)}}
    return [known.get(username, username) for username in decision.present]


def decision_blockers(referral: PanelReferral, quorum: Quorum | None = None) -> list[str]:
    """Why the panel's decision on a waiting referral cannot be recorded yet, in words for
    the chair (empty when it can): no meeting, a cancelled meeting, a meeting not yet begun,
    or below quorum (who is conflicted or away, and what to do). panel_decide refuses on the
    same list, under its locks. `quorum`: the referral's quorum_of, when the caller has it."""
    meeting = referral.meeting
    if meeting is None:
        return [NOT_ON_A_MEETING]
    if meeting.is_cancelled:
        return [_cancelled_text(meeting)]
    blockers = []
    if not meeting.has_started:
        blockers.append(MEETING_NOT_STARTED.format(when=_when(meeting)))
    quorum = quorum or quorum_of(referral)
    if not quorum.quorate:
        blockers.append(quorum.explanation())
    return blockers


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
def conflict_withdraw(
    *, actor: User, declaration: ConflictDeclaration, reason: str
) -> ConflictDeclaration:
    """The member who declared a conflict withdraws it, saying why; the declaration stays on
    record, marked withdrawn, and they count towards the quorum again. Under the referral's
    lock (as panel_decide). PermissionDenied (ONLY_OWN_CONFLICT) for anyone else;
    ValidationError without a reason, once withdrawn, or once the referral is decided."""
    if declaration.member_id != actor.pk:
        raise PermissionDenied(ONLY_OWN_CONFLICT)
    referral = PanelReferral.objects.select_for_update().get(pk=declaration.referral_id)
    declaration = ConflictDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if not reason.strip():
        raise ValidationError({"reason": GIVE_A_REASON})
    if declaration.is_withdrawn:
        raise ValidationError(CONFLICT_ALREADY_WITHDRAWN)
    if not referral.is_waiting:
        raise ValidationError(ALREADY_DECIDED_CONFLICT)
    declaration.withdrawn_at, declaration.withdrawn_reason = timezone.now(), reason.strip()
    declaration._history_user = actor
    declaration._change_reason = f"withdrawn: {reason.strip()}"[:100]
    declaration.save()
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
    # The meeting's row too: attendance and substitutes change under it.
    referral.meeting = PanelMeeting.objects.select_for_update().get(pk=referral.meeting_id)
    if actor.pk in referral_conflicts(referral):
        raise PermissionDenied(CHAIR_CONFLICTED)
    blockers = decision_blockers(referral)
    if blockers:
        raise ValidationError(blockers)
    present, _ = quorum_for(referral)
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
            # The panel's date; else the plan's; else the policy's review interval.
            review_date=review_date or plan.review_date or default_review_date(),
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
