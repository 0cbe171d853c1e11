"""Panel meetings, referrals and decisions; and each user's 'My work' page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from allocations.selectors.budgets import budget_explanation
from assessments.forms import add_service_errors
from assessments.models import PersonAccess
from assessments.services.people import people_access_record, person_access_record
from assessments.views.people import record_shown
from assessments.views.refusals import refuse
from panels.documents import meeting_document_pdf
from panels.forms import (
    AttendanceForm,
    ConflictForm,
    MeetingForm,
    MoveForm,
    PanelDecisionForm,
    ReasonForm,
    SubstituteForm,
)
from panels.home import home_boxes
from panels.models import ConflictDeclaration, IllegalReferralTransition, PanelReferral
from panels.permissions import DECIDE, MEETING_ADD
from panels.selectors import (
    meeting_get_for_user,
    meetings_for,
    meetings_to_move_to,
    referral_get_for_user,
    referrals_unscheduled,
)
from panels.services import (
    CHAIR_CONFLICTED,
    ONLY_CHAIR_DECIDES,
    ONLY_CHAIRS_ARRANGE,
    ONLY_CHAIRS_MOVE,
    ONLY_CHAIRS_SCHEDULE,
    ONLY_MEETING_CHAIR,
    ONLY_OWN_CONFLICT,
    AlreadyDecided,
    attendance_record,
    conflict_declare,
    conflict_withdraw,
    decision_blockers,
    decision_present_names,
    meeting_cancel,
    meeting_create,
    meeting_runs,
    meeting_substitute_add,
    panel_decide,
    quorum_of,
    referral_conflicts,
    referral_move,
    referral_schedule,
)
from ras_site.downloads import download

CHOOSE_REFERRAL = "Choose a referral to add."


@require_http_methods(["GET"])
def my_work_view(request):
    """Each user's home: the boxes their roles call for (panels/home.py)."""
    return render(request, "panels/my_work.html", {"boxes": home_boxes(request)})


def _meeting_list(request, form: MeetingForm):
    unscheduled = list(referrals_unscheduled(user=request.user))
    record_shown(request, unscheduled, PersonAccess.Page.PANEL_MEETINGS)
    return render(
        request,
        "panels/meeting_list.html",
        {
            "meetings": meetings_for(user=request.user),
            "form": form,
            "can_add": request.user.has_perm(MEETING_ADD),
            "unscheduled": unscheduled,
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
            add_service_errors(form, refusal)
        else:
            messages.success(request, f"{meeting} arranged.")
            return redirect("panels:meeting_detail", pk=meeting.pk)
    return _meeting_list(request, form)


def _meeting_page(request, meeting, *, substitute_form=None, cancel_form=None, status=200):
    can_schedule = request.user.has_perm(MEETING_ADD) and not meeting.is_cancelled
    can_run = meeting_runs(request.user, meeting) and not meeting.is_cancelled
    attendance = {a.member_id: a for a in meeting.attendance.all()}
    sitting = [
        (member, attendance.get(member.pk))
        for member in sorted(meeting.members.all(), key=lambda u: (u.last_name, u.username))
    ]
    agenda = list(meeting.referrals.select_related("plan__person__team", "decision"))
    unscheduled = list(referrals_unscheduled(user=request.user)) if can_schedule else []
    record_shown(request, [agenda, unscheduled], PersonAccess.Page.PANEL_MEETING)
    return render(
        request,
        "panels/meeting_detail.html",
        {
            "meeting": meeting,
            "sitting": sitting,
            "agenda": agenda,
            "unscheduled": unscheduled,
            "can_schedule": can_schedule,
            "can_run": can_run,
            "attendance_choices": AttendanceForm.base_fields["status"].choices,
            "substitute_form": substitute_form or SubstituteForm(meeting=meeting),
            "cancel_form": cancel_form or ReasonForm(prefix="cancel"),
        },
        status=status,
    )


@require_http_methods(["GET"])
def meeting_detail_view(request, pk: int):
    return _meeting_page(request, meeting_get_for_user(user=request.user, pk=pk))


def _meeting_to_run(request, pk: int):
    """The meeting, for its chair (or the chair who arranged it): 403 for anyone else."""
    meeting = meeting_get_for_user(
        user=request.user, pk=pk, permission=MEETING_ADD, refusal=ONLY_MEETING_CHAIR
    )
    if not meeting_runs(request.user, meeting):
        raise PermissionDenied(ONLY_MEETING_CHAIR)
    return meeting


@require_http_methods(["POST"])
def meeting_attendance_view(request, pk: int):
    meeting = _meeting_to_run(request, pk)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose present or apologies.")
        return redirect("panels:meeting_detail", pk=meeting.pk)
    member = next((m for m in meeting.members.all() if m.pk == form.cleaned_data["member"]), None)
    if member is None:
        messages.error(request, "That person does not sit on this meeting.")
        return redirect("panels:meeting_detail", pk=meeting.pk)
    try:
        attendance = attendance_record(
            actor=request.user,
            meeting=meeting,
            member=member,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, f"{member}: {attendance.get_status_display().lower()} recorded.")
    return redirect("panels:meeting_detail", pk=meeting.pk)


@require_http_methods(["POST"])
def meeting_substitute_view(request, pk: int):
    meeting = _meeting_to_run(request, pk)
    form = SubstituteForm(request.POST, meeting=meeting)
    if form.is_valid():
        try:
            meeting_substitute_add(actor=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as refusal:
            add_service_errors(form, refusal)
        else:
            messages.success(
                request, f"{form.cleaned_data['member']} added to the meeting as a substitute."
            )
            return redirect("panels:meeting_detail", pk=meeting.pk)
    return _meeting_page(request, meeting, substitute_form=form, status=400)


@require_http_methods(["POST"])
def meeting_cancel_view(request, pk: int):
    meeting = _meeting_to_run(request, pk)
    form = ReasonForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            meeting_cancel(actor=request.user, meeting=meeting, reason=form.cleaned_data["reason"])
        except ValidationError as refusal:
            add_service_errors(form, refusal)
        else:
            messages.success(
                request, f"{meeting} cancelled; its referrals are waiting for a meeting."
            )
            return redirect("panels:meeting_detail", pk=meeting.pk)
    return _meeting_page(request, meeting, cancel_form=form, status=400)


@require_http_methods(["GET"])
def meeting_document_view(request, pk: int, kind: str):
    """The agenda or the minutes as a PDF, for whoever may see the meeting; each person it
    names is recorded in the access log, as when their referral is opened."""
    meeting = meeting_get_for_user(user=request.user, pk=pk)
    people_access_record(
        user=request.user,
        people=meeting.referrals.values_list("plan__person_id", flat=True),
        page=PersonAccess.Page.PANEL,
        path=request.path,
    )
    return download(
        meeting_document_pdf(meeting, kind),
        "application/pdf",
        f"panel-{kind}-{meeting.date:%Y-%m-%d}-{meeting.pk}.pdf",
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


def _referral_page(
    request, referral: PanelReferral, *, decision_form=None, move_form=None, status=200
):
    plan = referral.plan
    person_access_record(
        user=request.user, person=plan.person, page=PersonAccess.Page.PANEL, path=request.path
    )
    quorum = quorum_of(referral)
    meeting = referral.meeting
    is_chair = meeting is not None and meeting.chair_id == request.user.pk
    decision = getattr(referral, "decision", None) if hasattr(referral, "decision") else None
    blockers = decision_blockers(referral, quorum) if referral.is_waiting else []
    if is_chair and referral.is_waiting and request.user.pk in referral_conflicts(referral):
        blockers.insert(0, CHAIR_CONFLICTED)
    can_decide = is_chair and referral.is_waiting and request.user.has_perm(DECIDE)
    declarations = list(referral.conflicts.select_related("member"))
    can_move = (
        referral.is_waiting
        and request.user.has_perm(MEETING_ADD)
        and (meeting is None or meeting_runs(request.user, meeting))
    )
    names = {u.username: str(u) for u in [*quorum.present]}
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
            "quorum": quorum,
            "present": quorum.present,
            "quorate": quorum.quorate,
            "blockers": blockers,
            "declarations": declarations,
            "can_decide": can_decide,
            # The form is offered when it can succeed, or again after a refusal (the typed
            # text kept, the error beside it).
            "show_decision_form": can_decide and (not blockers or decision_form is not None),
            "can_declare": referral.is_waiting
            and meeting is not None
            and not meeting.is_cancelled
            and request.user.pk in [meeting.chair_id, *[m.pk for m in meeting.members.all()]],
            "can_move": can_move,
            "decision": decision,
            "decision_present": decision_present_names(decision, names) if decision else [],
            "decision_form": decision_form or PanelDecisionForm(),
            "conflict_form": ConflictForm(),
            "move_form": move_form
            or MoveForm(meetings=meetings_to_move_to(user=request.user, referral=referral)),
        },
        status=status,
    )


@require_http_methods(["GET"])
def referral_detail_view(request, pk: int):
    return _referral_page(request, referral_get_for_user(user=request.user, pk=pk))


@require_http_methods(["POST"])
def referral_decide_view(request, pk: int):
    referral = referral_get_for_user(
        user=request.user, pk=pk, permission=DECIDE, refusal=ONLY_CHAIR_DECIDES
    )
    form = PanelDecisionForm(request.POST)
    if not form.is_valid():
        return _referral_page(request, referral, decision_form=form, status=400)
    try:
        decision = panel_decide(actor=request.user, referral=referral, **form.cleaned_data)
    except AlreadyDecided as refusal:
        messages.warning(request, str(refusal))
    except IllegalReferralTransition as refusal:
        refuse(request, refusal)
    except ValidationError as refusal:
        add_service_errors(form, refusal)
        referral = referral_get_for_user(user=request.user, pk=pk)
        return _referral_page(request, referral, decision_form=form, status=400)
    else:
        messages.success(request, f"Decision recorded: {decision.get_outcome_display()}.")
    return redirect("panels:referral_detail", pk=referral.pk)


@require_http_methods(["POST"])
def referral_move_view(request, pk: int):
    referral = referral_get_for_user(
        user=request.user, pk=pk, permission=MEETING_ADD, refusal=ONLY_CHAIRS_MOVE
    )
    form = MoveForm(
        request.POST, meetings=meetings_to_move_to(user=request.user, referral=referral)
    )
    if form.is_valid():
        try:
            moved = referral_move(actor=request.user, referral=referral, **form.cleaned_data)
        except ValidationError as refusal:
            add_service_errors(form, refusal)
        else:
            messages.success(request, f"Moved to the agenda of the {moved.meeting}.")
            return redirect("panels:referral_detail", pk=referral.pk)
    return _referral_page(request, referral, move_form=form, status=400)


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


@require_http_methods(["POST"])
def conflict_withdraw_view(request, pk: int, conflict_pk: int):
    referral = referral_get_for_user(user=request.user, pk=pk)
    declaration = get_object_or_404(ConflictDeclaration, pk=conflict_pk, referral=referral)
    form = ReasonForm(request.POST, prefix="withdraw")
    if not form.is_valid():
        if declaration.member_id != request.user.pk:
            raise PermissionDenied(ONLY_OWN_CONFLICT)
        messages.error(request, "Say why you withdraw your conflict of interest.")
        return redirect("panels:referral_detail", pk=referral.pk)
    try:
        conflict_withdraw(
            actor=request.user, declaration=declaration, reason=form.cleaned_data["reason"]
        )
    except ValidationError as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, "Your conflict of interest is withdrawn.")
    return redirect("panels:referral_detail", pk=referral.pk)
