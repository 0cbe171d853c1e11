"""Assessments step by step: start one, answer a section a page (then informal support and
eligibility), check the answers on the summary, submit or withdraw."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.assessment_page import assessment_actions
from assessments.forms import (
    EligibilityForm,
    InformalSupportStepForm,
    SectionForm,
    StartAssessmentForm,
    SubmitForm,
    WithdrawForm,
    add_service_errors,
)
from assessments.models import Assessment, PersonAccess
from assessments.roles import ASSESSMENT_ADD, ASSESSMENT_CHANGE
from assessments.selectors.assessments import (
    assessment_get_for_change,
    assessment_get_for_user,
    assessment_history,
    assessment_steps,
    assessment_summary,
    assessment_total_points,
    section_answers,
    section_questions,
)
from assessments.selectors.eligibility import eligibility_for
from assessments.selectors.people import person_get_for_user
from assessments.services.assessments import (
    AssessmentIncomplete,
    AssessmentLocked,
    assessment_problems,
    assessment_save_informal_support,
    assessment_save_section,
    assessment_start,
    assessment_submit,
    assessment_withdraw,
)
from assessments.services.concurrency import ConcurrentEdit
from assessments.services.eligibility import eligibility_record
from assessments.views.people import record_opening


@require_http_methods(["GET", "POST"])
def assessment_start_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk, permission=ASSESSMENT_ADD)
    form = StartAssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = assessment_start(
                actor=request.user, person=person, supported_by=form.cleaned_data["supported_by"]
            )
        except AssessmentLocked as refusal:
            messages.error(request, str(refusal))
            return redirect("assessments:person_detail", pk=person.pk)
        return redirect("assessments:assessment_step", pk=assessment.pk, number=1)
    record_opening(request, person, PersonAccess.Page.ASSESSMENT_START)
    return render(request, "assessments/assessments/start.html", {"person": person, "form": form})


def _step_or_404(steps, number: int):
    if not 1 <= number <= len(steps):
        raise Http404("No such step.")
    return steps[number - 1]


def _after_save(request, assessment, steps, step):
    action = request.POST.get("action", "next")
    if action == "back" and step.number > 1:
        return redirect("assessments:assessment_step", pk=assessment.pk, number=step.number - 1)
    if action == "exit":
        messages.success(request, "Your answers are saved. Resume from the person's page.")
        return redirect("assessments:person_detail", pk=assessment.person_id)
    if step.number < len(steps):
        return redirect("assessments:assessment_step", pk=assessment.pk, number=step.number + 1)
    return redirect("assessments:assessment_summary", pk=assessment.pk)


def _conflict(form, assessment_pk: int):
    """Show the user's own input again, with the latest version number, so saving again is a
    deliberate choice made after seeing the colleague's change."""
    data = form.data.copy()
    data["lock_version"] = Assessment.objects.values_list("lock_version", flat=True).get(
        pk=assessment_pk
    )
    form.data = data


@require_http_methods(["GET", "POST"])
def assessment_step_view(request, pk: int, number: int):
    assessment = assessment_get_for_change(user=request.user, pk=pk)
    if not assessment.is_draft:
        messages.info(request, "This assessment has been submitted and is read-only.")
        return redirect("assessments:assessment_summary", pk=assessment.pk)
    steps = assessment_steps(assessment=assessment)
    step = _step_or_404(steps, number)
    post = request.POST if request.method == "POST" else None
    conflict = None
    saved = {}

    if step.kind == "section":
        questions = section_questions(section=step.section)
        saved = section_answers(assessment=assessment, section=step.section)
        form = SectionForm(
            post,
            questions=questions,
            answers=saved,
            initial={"lock_version": assessment.lock_version},
        )
    elif step.kind == "informal_support":
        form = InformalSupportStepForm(
            post, initial=InformalSupportStepForm.initial_for(assessment)
        )
    else:
        determination = eligibility_for(assessment=assessment)
        form = EligibilityForm(post, initial=EligibilityForm.initial_for(assessment, determination))

    if post is not None and not form.is_valid() and post.get("action") in ("back", "exit"):
        # Leaving a page that is not complete enough to save: go where asked, and say so.
        messages.warning(request, f"“{step.title}” was not saved: it was not complete.")
        return _after_save(request, assessment, steps, step)
    if post is not None and form.is_valid():
        try:
            _save_step(request.user, assessment, step, form)
        except ConcurrentEdit as refusal:
            conflict = refusal.message
            _conflict(form, assessment.pk)
            if step.kind == "section":
                saved = section_answers(assessment=assessment, section=step.section)
        except AssessmentLocked as refusal:
            messages.error(request, str(refusal))
            return redirect("assessments:assessment_summary", pk=assessment.pk)
        except ValidationError as error:
            if step.kind == "section":
                form.add_question_errors(error.message_dict)
            else:
                add_service_errors(form, error)
        else:
            return _after_save(request, assessment, steps, step)

    if request.method == "GET":
        record_opening(request, assessment.person, PersonAccess.Page.ASSESSMENT)
    total_points = assessment_total_points(assessment=assessment)
    return render(
        request,
        f"assessments/assessments/{step.kind}.html",
        {
            "assessment": assessment,
            "person": assessment.person,
            "steps": steps,
            "step": step,
            "form": form,
            "conflict": conflict,
            "saved": saved,
            "total_points": total_points,
            # The live total on a section page: the other sections' saved points, plus
            # whatever is chosen on the page (static/js/running-total.js).
            "other_sections_points": total_points
            - sum((a.option.points for a in saved.values()), Decimal(0))
            if step.kind == "section"
            else None,
        },
    )


def _save_step(actor, assessment, step, form) -> None:
    data = form.cleaned_data
    if step.kind == "section":
        assessment_save_section(
            actor=actor,
            assessment=assessment,
            section=step.section,
            answers=form.answers(),
            lock_version=data["lock_version"],
        )
    elif step.kind == "informal_support":  # the form's fields are the service's arguments
        assessment_save_informal_support(actor=actor, assessment=assessment, **data)
    else:
        eligibility_record(actor=actor, assessment=assessment, **form.determination())


@require_http_methods(["GET"])
def assessment_summary_view(request, pk: int):
    assessment = assessment_get_for_user(user=request.user, pk=pk)
    record_opening(request, assessment.person, PersonAccess.Page.ASSESSMENT)
    can_change = assessment.is_draft and request.user.has_perm(ASSESSMENT_CHANGE)
    summary = assessment_summary(assessment=assessment)
    return render(
        request,
        "assessments/assessments/summary.html",
        {
            "assessment": assessment,
            "person": assessment.person,
            "summary": summary,
            "steps": assessment_steps(assessment=assessment),
            "total_points": sum((s.points for s in summary), Decimal("0")),
            "eligibility": eligibility_for(assessment=assessment),
            "can_change": can_change,
            "problems": assessment_problems(assessment) if can_change else [],
            "history": assessment_history(assessment=assessment),
            "submit_form": SubmitForm(initial={"lock_version": assessment.lock_version}),
            "actions": assessment_actions(request, assessment),
        },
    )


@require_http_methods(["POST"])
def assessment_submit_view(request, pk: int):
    assessment = assessment_get_for_change(user=request.user, pk=pk)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return redirect("assessments:assessment_summary", pk=assessment.pk)
    try:
        assessment_submit(
            actor=request.user,
            assessment=assessment,
            lock_version=form.cleaned_data["lock_version"],
        )
    except AssessmentIncomplete as refusal:
        messages.error(request, "The assessment cannot be submitted yet:")
        for problem in refusal.problems:
            messages.error(request, problem)
    except (ConcurrentEdit, AssessmentLocked) as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "The assessment has been submitted.")
    return redirect("assessments:assessment_summary", pk=assessment.pk)


@require_http_methods(["GET", "POST"])
def assessment_withdraw_view(request, pk: int):
    assessment = assessment_get_for_change(user=request.user, pk=pk)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment_withdraw(
                actor=request.user, assessment=assessment, reason=form.cleaned_data["reason"]
            )
        except AssessmentLocked as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, "The assessment has been withdrawn. It stays on record.")
        return redirect("assessments:person_detail", pk=assessment.person_id)
    record_opening(request, assessment.person, PersonAccess.Page.ASSESSMENT_WITHDRAW)
    return render(
        request,
        "assessments/assessments/withdraw.html",
        {"assessment": assessment, "person": assessment.person, "form": form},
    )
