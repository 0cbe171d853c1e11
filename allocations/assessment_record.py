"""A submitted assessment as a document for the person's records: every question with the
answer given and its points, informal support, the eligibility decision with its reasons, and
when and by whom it was assessed. Made on request as a tagged PDF (PDF/UA-1) by the letters'
machinery (allocations.pdf_worker.html_to_pdf); nothing is stored.

It lives in allocations, beside the letters, because assessments never imports allocations
(HOUSE STYLE §2b): the assessment's page offers the download through
assessments.assessment_page, which allocations fills in its AppConfig.ready()."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from allocations.letters.rendering import council
from allocations.pdf_worker import html_to_pdf
from assessments.models import Assessment
from assessments.selectors.assessments import assessment_summary
from assessments.selectors.eligibility import eligibility_for

# What the download offers, and what is said when the assessment is not finished.
ASSESSMENT_PDF_NOT_READY = (
    "Only a submitted assessment can be downloaded as a PDF: this one is {status}."
)


def assessment_record_ready(assessment: Assessment) -> bool:
    """A record can be made of a completed assessment: submitted, or submitted and since
    superseded by a reassessment (not one in progress or withdrawn)."""
    return assessment.is_submitted or assessment.is_superseded


def assessment_record_title(assessment: Assessment) -> str:
    return f"Assessment of {assessment.person.full_name} – {assessment.person.reference}"


def assessment_record_html(assessment: Assessment) -> str:
    summary = assessment_summary(assessment=assessment)
    return render_to_string(
        "allocations/assessment_record/document.html",
        {
            "title": assessment_record_title(assessment),
            "assessment": assessment,
            "person": assessment.person,
            "summary": summary,
            "total_points": sum((s.points for s in summary), Decimal("0")),
            "eligibility": eligibility_for(assessment=assessment),
            "council": council(),
            "made_at": timezone.localtime(),
        },
    )


def assessment_record_pdf(assessment: Assessment) -> bytes:
    return html_to_pdf(assessment_record_html(assessment), str(settings.BASE_DIR))


def assessment_record_filename(assessment: Assessment) -> str:
    """E.g. ``assessment-ASC-100001-2026-11-20.pdf``."""
    return f"assessment-{assessment.person.reference}-{assessment.assessment_date:%Y-%m-%d}.pdf"
