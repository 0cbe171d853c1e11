"""A submitted assessment as a PDF for the person's records, and the link to it on the
assessment's page (registered in AppConfig.ready)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from allocations.assessment_record import (
    ASSESSMENT_PDF_NOT_READY,
    assessment_record_filename,
    assessment_record_pdf,
    assessment_record_ready,
)
from assessments.models import PersonAccess
from assessments.selectors.assessments import assessment_get_for_user
from assessments.services.people import person_access_record
from ras_site.downloads import download


@require_http_methods(["GET"])
def assessment_pdf_view(request, pk: int):
    """The assessment as a PDF, for whoever may read it (its one door: 404 otherwise). Each
    download is written to the access log, as opening the assessment's page is."""
    assessment = assessment_get_for_user(user=request.user, pk=pk)
    if not assessment_record_ready(assessment):
        messages.info(
            request,
            ASSESSMENT_PDF_NOT_READY.format(status=assessment.get_status_display().lower()),
        )
        return redirect("assessments:assessment_summary", pk=assessment.pk)
    person_access_record(
        user=request.user,
        person=assessment.person,
        page=PersonAccess.Page.ASSESSMENT,
        path=request.path,
    )
    return download(
        assessment_record_pdf(assessment),
        "application/pdf",
        assessment_record_filename(assessment),
    )


def assessment_pdf_action(request, assessment) -> str | None:
    """The "Download as PDF" and "Print" links beside a completed assessment's status (the
    page's own door has already let the user read it)."""
    if not assessment_record_ready(assessment):
        return None
    return render_to_string(
        "allocations/assessment_record/_actions.html", {"assessment": assessment}
    )
