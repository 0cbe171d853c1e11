"""Questionnaire versions: the list, a version's page, export (JSON), import, publish (four
eyes), retire and copy to a new draft."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import QuestionnaireImportForm, RetireQuestionnaireForm
from assessments.questionnaire_page import questionnaire_sections
from assessments.roles import QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH
from assessments.selectors.questionnaires import (
    EDITORS_ONLY,
    questionnaire_get_for_user,
    questionnaire_tree,
    questionnaire_versions,
)
from assessments.services.questionnaires import (
    QuestionnaireInvalid,
    questionnaire_copy_to_draft,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
    questionnaire_publish_refusal,
    questionnaire_retire,
)
from assessments.workflows import IllegalTransition


@require_http_methods(["GET"])
def questionnaire_list_view(request):
    return render(
        request,
        "assessments/questionnaires/list.html",
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
        "assessments/questionnaires/detail.html",
        {
            "version": version,
            "sections": sections,
            "question_count": sum(len(s.questions.all()) for s in sections),
            "can_edit": request.user.has_perm(QUESTIONNAIRE_CHANGE),
            "can_publish": version.is_draft and publish_refusal is None,
            "publish_refusal": publish_refusal,
            # Sections other apps add (allocations: a draft's impact on everyone's budget).
            "extra_sections": questionnaire_sections(request, version),
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
    if not request.user.has_perm(QUESTIONNAIRE_CHANGE):
        raise PermissionDenied(EDITORS_ONLY)
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
        request, "assessments/questionnaires/import.html", {"form": form, "errors": errors}
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
    version = questionnaire_get_for_user(user=request.user, pk=pk, permission=QUESTIONNAIRE_PUBLISH)
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
    version = questionnaire_get_for_user(user=request.user, pk=pk, permission=QUESTIONNAIRE_CHANGE)
    if request.method == "GET" and not version.is_published:
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
        "assessments/questionnaires/retire.html",
        {
            "version": version,
            "form": form,
            "assessments_using_it": version.assessments.count(),
        },
    )


@require_http_methods(["POST"])
def questionnaire_copy_view(request, pk: int):
    version = questionnaire_get_for_user(user=request.user, pk=pk, permission=QUESTIONNAIRE_CHANGE)
    return _questionnaire_action(
        request, version, questionnaire_copy_to_draft, "{version} has been created as a draft copy."
    )
