"""A completed assessment as a PDF for the person's records: what it holds, who may download
it (the assessment's own door), the access log, and the link on the assessment's page."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from allocations.assessment_record import ASSESSMENT_PDF_NOT_READY
from assessments.models import PersonAccess
from assessments.services.assessments import assessment_withdraw

pytestmark = pytest.mark.django_db


def pdf_url(assessment) -> str:
    return reverse("allocations:assessment_pdf", args=[assessment.pk])


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def test_the_pdf_holds_the_questions_answers_points_eligibility_date_and_assessor(
    client, submitted_a, person_a, worker_a
):
    client.force_login(worker_a)
    response = client.get(pdf_url(submitted_a))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == (
        f'attachment; filename="assessment-{person_a.reference}-'
        f'{submitted_a.assessment_date:%Y-%m-%d}.pdf"'
    )
    text = text_of(response.content)
    assert "Your assessment of needs" in text
    assert f"Edith Atkinson Our reference {person_a.reference}" in text
    # Every question with the answer given and its points (two points each, eight in all).
    for question in ("Question 1.1?", "Question 1.2?", "Question 2.1?", "Question 2.2?"):
        assert f"{question} Some help 2" in text
    assert "Total points 8" in text
    assert "Eligible for care and support" in text and "Reasons: Reasons given." in text
    assert f"Date of assessment {submitted_a.assessment_date:%-d %B %Y}" in text
    assert f"Assessor Worker.A, who submitted it on {submitted_a.submitted_at:%-d %B %Y}" in text


def test_each_download_is_written_to_the_access_log(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    client.get(pdf_url(submitted_a))
    client.get(pdf_url(submitted_a))
    logged = PersonAccess.objects.filter(person=person_a, user=worker_a, path=pdf_url(submitted_a))
    assert [a.page for a in logged] == [PersonAccess.Page.ASSESSMENT] * 2


def test_only_those_who_may_read_the_assessment_can_download_it(
    client, submitted_a, person_a, worker_b, panel_member, auditor, manager_a
):
    url = pdf_url(submitted_a)
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    for outsider in (worker_b, panel_member):  # another team; a panel it was never sent to
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    assert not PersonAccess.objects.filter(path=url).exists()  # refusals are not logged
    for reader in (auditor, manager_a):
        client.force_login(reader)
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_an_assessment_in_progress_or_withdrawn_has_no_pdf(client, draft_a, worker_a):
    client.force_login(worker_a)
    response = client.get(pdf_url(draft_a), follow=True)
    assert response.redirect_chain == [
        (reverse("assessments:assessment_summary", args=[draft_a.pk]), 302)
    ]
    assert ASSESSMENT_PDF_NOT_READY.format(status="in progress") in response.content.decode()
    assert "Download as PDF" not in response.content.decode()

    assessment_withdraw(actor=worker_a, assessment=draft_a, reason="Started in error.")
    response = client.get(pdf_url(draft_a))
    assert response.status_code == 302
    assert not PersonAccess.objects.filter(path=pdf_url(draft_a)).exists()


def test_the_assessment_page_offers_the_pdf_and_prints_without_its_frame(
    client, submitted_a, worker_a
):
    client.force_login(worker_a)
    page = client.get(reverse("assessments:assessment_summary", args=[submitted_a.pk])).text
    assert f'id="assessment-pdf" href="{pdf_url(submitted_a)}">Download as PDF' in page
    # The browser's print: the print stylesheet, and a line saying whose record it is.
    assert 'href="/static/css/print.css" media="print"' in page
    assert "assessment record for Edith Atkinson" in page
