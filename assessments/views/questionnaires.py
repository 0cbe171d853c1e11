"""Questionnaire versions: the list, a version's page, export (JSON), import, publish (four
eyes), retire and copy to a new draft."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
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
    FILE_TOO_LARGE,
    QuestionnaireInvalid,
    questionnaire_copy_to_draft,
    questionnaire_export,
    questionnaire_import,
    questionnaire_limit,
    questionnaire_publish,
    questionnaire_publish_refusal,
    questionnaire_read,
    questionnaire_retire,
    readable_size,
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


class _UploadSizeLimit(FileUploadHandler):
    """Stops keeping an uploaded file once it passes `limit` bytes: the rest of the request is
    read and dropped, so a 40 MB upload never sits in memory or on disk."""

    def __init__(self, request, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@csrf_exempt  # checked by _questionnaire_import, once the size limit is in place (Django docs)
@require_http_methods(["GET", "POST"])
def questionnaire_import_view(request):
    if not request.user.has_perm(QUESTIONNAIRE_CHANGE):
        raise PermissionDenied(EDITORS_ONLY)
    limit = _UploadSizeLimit(request, limit=questionnaire_limit("QUESTIONNAIRE_IMPORT_MAX_BYTES"))
    request.upload_handlers.insert(0, limit)
    return _questionnaire_import(request, limit)


@csrf_protect
def _questionnaire_import(request, limit: _UploadSizeLimit):
    """The import page: every problem in the file, each by its place in it (nothing is saved
    unless the whole file is valid), or the new draft."""
    posted = request.method == "POST"  # bound even with no file, so the form says it is missing
    form = QuestionnaireImportForm(
        request.POST if posted else None, request.FILES if posted else None
    )
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and limit.too_large:
        errors = [("file", FILE_TOO_LARGE.format(limit=readable_size(limit.limit)))]
    elif request.method == "POST" and form.is_valid():
        try:
            data = questionnaire_read(form.cleaned_data["file"])
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
