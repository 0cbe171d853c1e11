"""Panel meetings, referrals and decisions; and each user's 'My work' page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.selectors.budgets import budget_explanation
from assessments.models import PersonAccess
from assessments.services import person_access_record
from panels.forms import ConflictForm, MeetingForm, PanelDecisionForm
from panels.models import PanelReferral
from panels.selectors import (
    meeting_get,
    meetings_for,
    my_work,
    referral_get,
    referrals_unscheduled,
)
from panels.services import (
    MEETING_ADD,
    AlreadyDecided,
    conflict_declare,
    meeting_create,
    panel_decide,
    quorum_for,
    referral_conflicts,
    referral_schedule,
)


def _refusal(request, refusal) -> None:
    messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))


@require_http_methods(["GET"])
def my_work_view(request):
    return render(request, "panels/my_work.html", my_work(user=request.user))


@require_http_methods(["GET", "POST"])
def meeting_list_view(request):
    meetings = meetings_for(user=request.user)
    can_add = request.user.has_perm(MEETING_ADD)
    form = MeetingForm(request.POST or None, initial={"chair": request.user.pk})
    if request.method == "POST":
        if not can_add:
            raise PermissionDenied("Only panel chairs arrange panel meetings.")
        if form.is_valid():
            try:
                meeting = meeting_create(actor=request.user, **form.cleaned_data)
            except ValidationError as refusal:
                _refusal(request, refusal)
            else:
                messages.success(request, f"{meeting} arranged.")
                return redirect("panels:meeting_detail", pk=meeting.pk)
    return render(
        request,
        "panels/meeting_list.html",
        {
            "meetings": meetings,
            "form": form,
            "can_add": can_add,
            "unscheduled": referrals_unscheduled(user=request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def meeting_detail_view(request, pk: int):
    meeting = meeting_get(user=request.user, pk=pk)
    can_schedule = request.user.has_perm(MEETING_ADD)
    if request.method == "POST":
        if not can_schedule:
            raise PermissionDenied("Only panel chairs set the agenda.")
        try:
            referral_id = int(request.POST.get("referral", ""))
        except ValueError:
            messages.error(request, "Choose a referral to add.")
            return redirect("panels:meeting_detail", pk=meeting.pk)
        referral = referral_get(user=request.user, pk=referral_id)
        try:
            referral_schedule(actor=request.user, referral=referral, meeting=meeting)
        except ValidationError as refusal:
            _refusal(request, refusal)
        else:
            messages.success(request, f"{referral.plan.person.full_name} added to the agenda.")
        return redirect("panels:meeting_detail", pk=meeting.pk)
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


@require_http_methods(["GET"])
def referral_detail_view(request, pk: int):
    referral = referral_get(user=request.user, pk=pk)
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
            "can_decide": is_chair and referral.status == PanelReferral.Status.WAITING,
            "can_declare": referral.status == PanelReferral.Status.WAITING
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
    referral = referral_get(user=request.user, pk=pk)
    form = PanelDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision and give the reasons.")
        return redirect("panels:referral_detail", pk=referral.pk)
    try:
        decision = panel_decide(actor=request.user, referral=referral, **form.cleaned_data)
    except AlreadyDecided as refusal:
        messages.warning(request, str(refusal))
    except ValidationError as refusal:
        _refusal(request, refusal)
    else:
        messages.success(request, f"Decision recorded: {decision.get_outcome_display()}.")
    return redirect("panels:referral_detail", pk=referral.pk)


@require_http_methods(["POST"])
def referral_conflict_view(request, pk: int):
    referral: PanelReferral = referral_get(user=request.user, pk=pk)
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            conflict_declare(
                actor=request.user, referral=referral, reason=form.cleaned_data["reason"]
            )
        except ValidationError as refusal:
            _refusal(request, refusal)
        else:
            messages.success(request, "Your conflict of interest is recorded.")
    else:
        messages.error(request, "Say what the conflict is.")
    return redirect("panels:referral_detail", pk=referral.pk)
