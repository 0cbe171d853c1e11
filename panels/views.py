"""Panel meetings, referrals and decisions; and each user's 'My work' page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.selectors.budgets import budget_explanation
from assessments.models import PersonAccess
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse
from panels.forms import ConflictForm, MeetingForm, PanelDecisionForm
from panels.models import IllegalReferralTransition, PanelReferral
from panels.permissions import DECIDE, MEETING_ADD
from panels.selectors import (
    meeting_get_for_user,
    meetings_for,
    my_work,
    referral_get_for_user,
    referrals_unscheduled,
)
from panels.services import (
    ONLY_CHAIR_DECIDES,
    ONLY_CHAIRS_ARRANGE,
    ONLY_CHAIRS_SCHEDULE,
    AlreadyDecided,
    conflict_declare,
    meeting_create,
    panel_decide,
    quorum_for,
    referral_conflicts,
    referral_schedule,
)

CHOOSE_REFERRAL = "Choose a referral to add."


@require_http_methods(["GET"])
def my_work_view(request):
    return render(request, "panels/my_work.html", my_work(user=request.user))


def _meeting_list(request, form: MeetingForm):
    return render(
        request,
        "panels/meeting_list.html",
        {
            "meetings": meetings_for(user=request.user),
            "form": form,
            "can_add": request.user.has_perm(MEETING_ADD),
            "unscheduled": referrals_unscheduled(user=request.user),
        },
    )


@require_http_methods(["GET"])
def meeting_list_view(request):
    return _meeting_list(request, MeetingForm(initial={"chair": request.user.pk}))


@require_http_methods(["POST"])
def meeting_create_view(request):
    meetings_for(user=request.user)  # the panel's gate: 403 for anyone outside it
    if not request.user.has_perm(MEETING_ADD):
        raise PermissionDenied(ONLY_CHAIRS_ARRANGE)
    form = MeetingForm(request.POST)
    if form.is_valid():
        try:
            meeting = meeting_create(actor=request.user, **form.cleaned_data)
        except ValidationError as refusal:
            refuse(request, refusal)
        else:
            messages.success(request, f"{meeting} arranged.")
            return redirect("panels:meeting_detail", pk=meeting.pk)
    return _meeting_list(request, form)


@require_http_methods(["GET"])
def meeting_detail_view(request, pk: int):
    meeting = meeting_get_for_user(user=request.user, pk=pk)
    can_schedule = request.user.has_perm(MEETING_ADD)
    return render(
        request,
        "panels/meeting_detail.html",
        {
            "meeting": meeting,
            "agenda": meeting.referrals.select_related("plan__person__team", "decision"),
            "unscheduled": referrals_unscheduled(user=request.user) if can_schedule else [],
            "can_schedule": can_schedule,
        },
    )


@require_http_methods(["POST"])
def meeting_schedule_view(request, pk: int):
    meeting = meeting_get_for_user(
        user=request.user, pk=pk, permission=MEETING_ADD, refusal=ONLY_CHAIRS_SCHEDULE
    )
    try:
        referral_id = int(request.POST.get("referral", ""))
    except ValueError:
        messages.error(request, CHOOSE_REFERRAL)
        return redirect("panels:meeting_detail", pk=meeting.pk)
    referral = referral_get_for_user(user=request.user, pk=referral_id)
    try:
        referral_schedule(actor=request.user, referral=referral, meeting=meeting)
    except ValidationError as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, f"{referral.plan.person.full_name} added to the agenda.")
    return redirect("panels:meeting_detail", pk=meeting.pk)


@require_http_methods(["GET"])
def referral_detail_view(request, pk: int):
    referral = referral_get_for_user(user=request.user, pk=pk)
    plan = referral.plan
    person_access_record(
        user=request.user, person=plan.person, page=PersonAccess.Page.PANEL, path=request.path
    )
    present, quorate = quorum_for(referral)
    conflicts = referral_conflicts(referral)
    meeting = referral.meeting
    is_chair = meeting is not None and meeting.chair_id == request.user.pk
    decision = getattr(referral, "decision", None) if hasattr(referral, "decision") else None
    return render(
        request,
        "panels/referral_detail.html",
        {
            "referral": referral,
            "plan": plan,
            "person": plan.person,
            "budget": plan.indicative_budget,
            "explanation": budget_explanation(plan.indicative_budget),
            "sections": plan.indicative_budget.breakdown.get("points_by_section", []),
            "snapshot": referral.plan_snapshot,
            "present": present,
            "quorate": quorate,
            "conflicts": conflicts,
            "conflicted_names": {
                u.get_full_name() or u.username: conflicts[u.pk]
                for u in ([meeting.chair, *meeting.members.all()] if meeting else [])
                if u.pk in conflicts
            },
            "can_decide": is_chair and referral.is_waiting,
            "can_declare": referral.is_waiting
            and meeting is not None
            and request.user.pk
            in [meeting.chair_id, *meeting.members.values_list("pk", flat=True)],
            "decision": decision,
            "decision_form": PanelDecisionForm(),
            "conflict_form": ConflictForm(),
        },
    )


@require_http_methods(["POST"])
def referral_decide_view(request, pk: int):
    referral = referral_get_for_user(
        user=request.user, pk=pk, permission=DECIDE, refusal=ONLY_CHAIR_DECIDES
    )
    form = PanelDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision and give the reasons.")
        return redirect("panels:referral_detail", pk=referral.pk)
    try:
        decision = panel_decide(actor=request.user, referral=referral, **form.cleaned_data)
    except AlreadyDecided as refusal:
        messages.warning(request, str(refusal))
    except (IllegalReferralTransition, ValidationError) as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, f"Decision recorded: {decision.get_outcome_display()}.")
    return redirect("panels:referral_detail", pk=referral.pk)


@require_http_methods(["POST"])
def referral_conflict_view(request, pk: int):
    referral: PanelReferral = referral_get_for_user(user=request.user, pk=pk)
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            conflict_declare(
                actor=request.user, referral=referral, reason=form.cleaned_data["reason"]
            )
        except ValidationError as refusal:
            refuse(request, refusal)
        else:
            messages.success(request, "Your conflict of interest is recorded.")
    else:
        messages.error(request, "Say what the conflict is.")
    return redirect("panels:referral_detail", pk=referral.pk)
