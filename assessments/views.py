"""People (list and search, create, read with history, edit, the access log), their
assessments step by step, and questionnaire versions (import, export, publish, retire, copy).

Views parse the request, call a selector or service, and render. Access checks live in
selectors (`person_get_for_user` / `person_get_for_change`).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import (
    EligibilityForm,
    InformalSupportStepForm,
    PersonForm,
    PersonSearchForm,
    QuestionnaireImportForm,
    RetireQuestionnaireForm,
    SectionForm,
    StartAssessmentForm,
    SubmitForm,
    WithdrawForm,
    add_service_errors,
)
from assessments.models import Assessment, PersonAccess, QuestionnaireVersion
from assessments.person_page import person_sections
from assessments.roles import (
    ACCESS_LOG_VIEW,
    ASSESSMENT_ADD,
    ASSESSMENT_CHANGE,
    PERSON_CHANGE,
    QUESTIONNAIRE_CHANGE,
    QUESTIONNAIRE_PUBLISH,
)
from assessments.selectors import (
    assessment_get_for_change,
    assessment_get_for_user,
    assessment_history,
    assessment_resume_step,
    assessment_steps,
    assessment_summary,
    assessment_total_points,
    assessments_for_person,
    eligibility_for,
    person_access_list,
    person_can_add,
    person_get_for_change,
    person_get_for_user,
    person_history,
    person_list,
    questionnaire_get_for_user,
    questionnaire_tree,
    questionnaire_versions,
    section_answers,
    section_questions,
)
from assessments.services import (
    PUBLISH_NOT_PERMITTED,
    AssessmentIncomplete,
    AssessmentLocked,
    ConcurrentEdit,
    IllegalTransition,
    QuestionnaireInvalid,
    assessment_problems,
    assessment_save_informal_support,
    assessment_save_section,
    assessment_start,
    assessment_submit,
    assessment_withdraw,
    eligibility_record,
    person_access_record,
    person_create,
    person_update,
    questionnaire_copy_to_draft,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
    questionnaire_publish_refusal,
    questionnaire_retire,
)

PEOPLE_PER_PAGE = 25


@require_http_methods(["GET"])
def person_list_view(request):
    search = PersonSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(person_list(user=request.user, query=query), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "assessments/person_list.html",
        {
            "search": search,
            "query": query,
            "page": page,
            "can_add": person_can_add(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def person_create_view(request):
    if not person_can_add(request.user):
        raise PermissionDenied("Your role cannot add people.")
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = person_create(actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{person.full_name} has been added.")
            return redirect("assessments:person_detail", pk=person.pk)
    return render(request, "assessments/person_form.html", {"form": form, "person": None})


def _record_opening(request, person, page: str) -> None:
    person_access_record(user=request.user, person=person, page=page, path=request.path)


@require_http_methods(["GET"])
def person_detail_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    _record_opening(request, person, PersonAccess.Page.DETAIL)
    assessments = list(assessments_for_person(person=person))
    return render(
        request,
        "assessments/person_detail.html",
        {
            "person": person,
            "history": person_history(person=person),
            "assessments": assessments,
            "has_open_assessment": any(a.is_draft for a in assessments),
            "resume_step": next(
                (assessment_resume_step(assessment=a) for a in assessments if a.is_draft), 1
            ),
            "extra_sections": person_sections(request, person),
            "can_assess": request.user.has_perm(ASSESSMENT_ADD),
            "can_change": request.user.has_perm(PERSON_CHANGE),
            "can_see_access_log": request.user.has_perm(ACCESS_LOG_VIEW),
        },
    )


@require_http_methods(["GET", "POST"])
def person_edit_view(request, pk: int):
    person = person_get_for_change(user=request.user, pk=pk)
    form = PersonForm(request.POST or None, instance=person, user=request.user)
    conflict, latest = None, []
    if request.method == "GET":
        _record_opening(request, person, PersonAccess.Page.EDIT)
    elif form.is_valid():
        try:
            person = person_update(
                actor=request.user,
                person=person,
                data=form.cleaned_data,
                lock_version=form.cleaned_data["lock_version"],
            )
        except ConcurrentEdit as refusal:
            conflict = refusal.message
            person = person_get_for_change(user=request.user, pk=pk)
            latest = form.show_conflict(person)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{person.full_name}'s record has been updated.")
            return redirect("assessments:person_detail", pk=person.pk)
    return render(
        request,
        "assessments/person_form.html",
        {"form": form, "person": person, "conflict": conflict, "latest": latest},
    )


@require_http_methods(["GET"])
def person_access_log_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    accesses = person_access_list(user=request.user, person=person)
    _record_opening(request, person, PersonAccess.Page.ACCESS_LOG)
    page = Paginator(accesses, 50).get_page(request.GET.get("page"))
    return render(request, "assessments/person_access_log.html", {"person": person, "page": page})


# --- Assessments -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def assessment_start_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(ASSESSMENT_ADD):
        raise PermissionDenied("Your role cannot start assessments.")
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
    return render(request, "assessments/assessment_start.html", {"person": person, "form": form})


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
        _record_opening(request, assessment.person, PersonAccess.Page.ASSESSMENT)
    total_points = assessment_total_points(assessment=assessment)
    return render(
        request,
        f"assessments/assessment_{step.kind}.html",
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
    lock_version = form.cleaned_data["lock_version"]
    if step.kind == "section":
        assessment_save_section(
            actor=actor,
            assessment=assessment,
            section=step.section,
            answers=form.answers(),
            lock_version=lock_version,
        )
    elif step.kind == "informal_support":
        data = form.cleaned_data
        assessment_save_informal_support(
            actor=actor,
            assessment=assessment,
            lock_version=lock_version,
            informal_support=data["informal_support"],
            carer_assessed=data["carer_assessed"],
            carer_able_and_willing=data["carer_able_and_willing"],
            carer_impact=data["carer_impact"],
        )
    else:
        data = form.cleaned_data
        eligibility_record(
            actor=actor,
            assessment=assessment,
            lock_version=lock_version,
            impairment_or_illness=data["impairment_or_illness"],
            significant_impact=data["significant_impact"],
            unable=form.unable(),
            reasons=data["reasons"],
        )


@require_http_methods(["GET"])
def assessment_summary_view(request, pk: int):
    assessment = assessment_get_for_user(user=request.user, pk=pk)
    _record_opening(request, assessment.person, PersonAccess.Page.ASSESSMENT)
    can_change = assessment.is_draft and request.user.has_perm(ASSESSMENT_CHANGE)
    summary = assessment_summary(assessment=assessment)
    return render(
        request,
        "assessments/assessment_summary.html",
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
    return render(
        request,
        "assessments/assessment_withdraw.html",
        {"assessment": assessment, "person": assessment.person, "form": form},
    )


# --- Questionnaires --------------------------------------------------------------------------


def _require_questionnaire_editor(user) -> None:
    if not user.has_perm(QUESTIONNAIRE_CHANGE):
        raise PermissionDenied("Only RAS administrators maintain questionnaires.")


@require_http_methods(["GET"])
def questionnaire_list_view(request):
    return render(
        request,
        "assessments/questionnaire_list.html",
        {
            "versions": questionnaire_versions(user=request.user),
            "can_edit": request.user.has_perm(QUESTIONNAIRE_CHANGE),
        },
    )


@require_http_methods(["GET"])
def questionnaire_detail_view(request, pk: int):
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    sections = questionnaire_tree(version=version)
    publish_refusal = (
        questionnaire_publish_refusal(actor=request.user, version=version)
        if version.is_draft
        else None
    )
    return render(
        request,
        "assessments/questionnaire_detail.html",
        {
            "version": version,
            "sections": sections,
            "question_count": sum(len(s.questions.all()) for s in sections),
            "can_edit": request.user.has_perm(QUESTIONNAIRE_CHANGE),
            "can_publish": version.is_draft and publish_refusal is None,
            "publish_refusal": publish_refusal,
        },
    )


@require_http_methods(["GET"])
def questionnaire_export_view(request, pk: int):
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    response = JsonResponse(
        questionnaire_export(version=version),
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    filename = f"questionnaire-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def questionnaire_import_view(request):
    _require_questionnaire_editor(request.user)
    form = QuestionnaireImportForm(request.POST or None, request.FILES or None)
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and form.is_valid():
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as problem:
            errors = [("file", f"is not valid JSON: {problem}")]
        else:
            try:
                version = questionnaire_import(actor=request.user, data=data)
            except QuestionnaireInvalid as refusal:
                errors = refusal.errors
            else:
                messages.success(request, f"Imported as a draft: {version}.")
                return redirect("assessments:questionnaire_detail", pk=version.pk)
    return render(
        request, "assessments/questionnaire_import.html", {"form": form, "errors": errors}
    )


def _questionnaire_action(request, version, action, done: str):
    try:
        result = action(actor=request.user, version=version)
    except IllegalTransition as refusal:
        messages.error(request, str(refusal))
        return redirect("assessments:questionnaire_detail", pk=version.pk)
    except QuestionnaireInvalid as refusal:
        messages.error(request, "This draft cannot be published yet:")
        for where, message in refusal.errors:
            messages.error(request, f"{where}: {message}")
        return redirect("assessments:questionnaire_detail", pk=version.pk)
    messages.success(request, done.format(version=result))
    return redirect("assessments:questionnaire_detail", pk=result.pk)


@require_http_methods(["POST"])
def questionnaire_publish_view(request, pk: int):
    if not request.user.has_perm(QUESTIONNAIRE_PUBLISH):
        raise PermissionDenied(PUBLISH_NOT_PERMITTED)
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    if version.is_draft:
        # Four eyes: someone who drafted or edited it may see it, not publish it.
        refusal = questionnaire_publish_refusal(actor=request.user, version=version)
        if refusal is not None:
            messages.error(request, refusal)
            return redirect("assessments:questionnaire_detail", pk=version.pk)
    return _questionnaire_action(
        request, version, questionnaire_publish, "{version} is published: new assessments use it."
    )


@require_http_methods(["GET", "POST"])
def questionnaire_retire_view(request, pk: int):
    """A confirmation page (what retiring means) whose form retires; a POST without that
    confirmation shows the page again and changes nothing."""
    _require_questionnaire_editor(request.user)
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    if request.method == "GET" and version.status != QuestionnaireVersion.Status.PUBLISHED:
        messages.info(request, f"Only the published version can be retired; {version} is not.")
        return redirect("assessments:questionnaire_detail", pk=version.pk)
    form = RetireQuestionnaireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _questionnaire_action(
            request,
            version,
            questionnaire_retire,
            "{version} is retired: no new assessments use it.",
        )
    return render(
        request,
        "assessments/questionnaire_retire.html",
        {
            "version": version,
            "form": form,
            "assessments_using_it": version.assessments.count(),
        },
    )


@require_http_methods(["POST"])
def questionnaire_copy_view(request, pk: int):
    _require_questionnaire_editor(request.user)
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    return _questionnaire_action(
        request, version, questionnaire_copy_to_draft, "{version} has been created as a draft copy."
    )
