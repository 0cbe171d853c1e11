"""Letters: made from stored figures, accessible PDFs, issued once and kept byte for byte."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from allocations.models import IndicativeBudget, Letter, LetterBatch
from allocations.services.letter_batches import letter_batch_run
from allocations.services.letters import letter_issue
from allocations.services.plans import plan_authorise, plan_submit
from assessments.models import PersonAccess
from tests.factories import make_person, make_plan

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def test_indicative_letter_shows_the_stored_figures(submitted_a, person_a, worker_a):
    letter, reused = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    budget = IndicativeBudget.objects.get()
    text = text_of(letter.read_pdf())
    assert not reused
    assert "Your indicative personal budget" in text
    assert f"£{budget.indicative_weekly_gbp} a week" in text  # £120.00
    assert "£6,240.00 a year" in text
    assert "8.00 points × £4.88 a point" in text and "£39.04" in text and "− £1.95" in text
    assert "Based on the cost of the current support" in text
    assert f"Our reference: {person_a.reference}" in text and "Page 1 of" in text
    assert letter.figures["indicative_weekly"] == "120.00"
    assert letter.sha256 == hashlib.sha256(letter.read_pdf()).hexdigest()


def test_the_letter_gives_the_person_the_triggers_words_for_them_not_the_staff_guidance(
    draft_a, person_a, worker_a, policy
):
    from assessments.models import FundingTrigger
    from assessments.services.assessments import assessment_submit
    from tests.factories import complete_assessment

    ready = complete_assessment(draft_a, worker_a, option_index=2)  # 5 points each, flags dfg
    assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    FundingTrigger.objects.filter(code="dfg").update(
        what_to_consider="Check the housing team's waiting list.",
        for_the_person="A grant can pay for changes to your home: ask us how to apply.",
    )

    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")

    text = text_of(letter.read_pdf())
    assert "Disabled Facilities Grant" in text
    assert "A grant can pay for changes to your home: ask us how to apply." in text
    assert "waiting list" not in text


def test_pdf_is_tagged_pdf_ua_with_title_and_language(submitted_a, person_a, worker_a):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    reader = PdfReader(io.BytesIO(letter.read_pdf()))
    assert reader.metadata.title == f"Your indicative personal budget – {person_a.reference}"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()
    assert "/StructTreeRoot" in root


def test_statement_and_panel_letters_show_their_figures(submitted_a, person_a, worker_a, manager_a):
    plan = make_plan(
        person_a,
        worker_a,
        weekly="118.00",
        contribution_weekly_gbp=Decimal("20"),
        difference_reason="A cheaper provider",
    )
    plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan))
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="statement")
    text = text_of(letter.read_pdf())
    assert "£118.00 a week (£6,136.00 a year)" in text
    assert "£20.00 a week" in text and "£98.00 a week" in text
    with pytest.raises(Exception, match="no decision"):
        letter_issue(actor=worker_a, person=person_a, kind="panel_decision")


def test_panel_decision_letter_shows_the_decision(
    submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    import datetime

    from panels.services import panel_decide, referral_schedule
    from tests.panels.helpers import held_meeting

    meeting = held_meeting(panel_chair, [panel_member, panel_member2])  # under way: it decides
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="650.00", difference_reason="Night care"),
    )
    referral = referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
    # The chair records the decision three days after the meeting: the letter gives the
    # meeting's date, when the panel looked at the plan.
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
        panel_decide(
            actor=panel_chair,
            referral=referral,
            outcome="approved_with_conditions",
            reasons="Safe at home.",
            conditions="Falls sensor first",
            review_date=datetime.date(2027, 3, 1),
        )
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="panel_decision")
    text = text_of(letter.read_pdf())
    assert f"at its meeting on {meeting.date:%-d %B %Y}" in text
    assert letter.figures["meeting_date"] == meeting.date.isoformat()
    assert "Decision: Approved with conditions" in text
    assert "Safe at home." in text and "Falls sensor first" in text and "1 March 2027" in text
    assert letter.figures["conditions"] == "Falls sensor first"


def test_long_content_flows_onto_further_pages_with_headers_repeated(
    submitted_a, person_a, worker_a, manager_a
):
    from allocations.services.plans import plan_line_add, plan_start
    from tests.factories import plan_line

    plan = plan_start(actor=worker_a, person=person_a)
    for n in range(40):
        plan_line_add(
            actor=worker_a,
            plan=plan,
            data=plan_line(weekly="3.00", description=f"Support item number {n}"),
        )
    plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan))
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="statement")
    reader = PdfReader(io.BytesIO(letter.read_pdf()))
    # Each page's words, wherever the table's columns wrap its lines.
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Our reference: {person_a.reference}" in text
        assert f"Page {number} of {len(pages)}" in text
    # The 40 lines run over a page break, and the table's header row repeats on the page
    # where the table continues.
    continued = [t for t in pages[1:] if "Support item number" in t]
    assert continued and all("Weekly equivalent" in t for t in continued)
    assert "Support item number 39" in "".join(pages)


def test_letters_only_from_stored_figures(person_a, worker_a, db):
    with pytest.raises(Exception, match="no indicative budget"):
        letter_issue(actor=worker_a, person=person_a, kind="indicative")
    assert not Letter.objects.exists()


def test_issued_letters_never_change(submitted_a, person_a, worker_a):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    with pytest.raises(PermissionError):
        letter.save()
    with pytest.raises(PermissionError):
        letter.delete()


def test_download_returns_the_same_bytes_and_is_logged(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    client.post(reverse("allocations:letter_issue", args=[person_a.pk]), {"kind": "indicative"})
    letter = Letter.objects.get()
    url = reverse("allocations:letter_download", args=[letter.pk])
    first = client.get(url)
    second = client.get(url)
    assert first.content == second.content == letter.read_pdf()
    assert hashlib.sha256(first.content).hexdigest() == letter.sha256
    assert PersonAccess.objects.filter(page="letter_download", person=person_a).count() == 2
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert page.count("Indicative budget letter</a>") == 1


def test_letter_views_permission_matrix(client, submitted_a, person_a, worker_a, worker_b, auditor):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    download = reverse("allocations:letter_download", args=[letter.pk])
    issue = reverse("allocations:letter_issue", args=[person_a.pk])
    assert client.get(download).status_code == 302
    client.force_login(worker_b)
    assert client.get(download).status_code == 404
    assert client.post(issue, {"kind": "indicative"}).status_code == 404
    client.force_login(auditor)
    assert client.get(download).status_code == 200
    assert client.post(issue, {"kind": "indicative"}).status_code == 403
    assert client.get(reverse("allocations:letter_batches")).status_code == 403
    client.force_login(worker_a)
    assert client.get(reverse("allocations:letter_batches")).status_code == 403
    assert Letter.objects.count() == 1


def _indicative_batch(creator, *person_ids) -> LetterBatch:
    """A queued batch of indicative letters, as letter_batch_start saves one."""
    return LetterBatch.objects.create(
        kind="indicative",
        description="test",
        person_ids=list(person_ids),
        total=len(person_ids),
        created_by=creator,
    )


def test_batch_reuses_letters_and_reports_failures(submitted_a, person_a, worker_a, senior_manager):
    without_budget = make_person(actor=worker_a, family_name="Nobudget")
    letter_issue(actor=worker_a, person=person_a, kind="indicative")
    batch = _indicative_batch(senior_manager, person_a.pk, without_budget.pk)
    letter_batch_run(batch)
    batch.refresh_from_db()
    assert (batch.status, batch.processed, batch.issued, batch.reused) == ("done", 2, 0, 1)
    assert batch.failures == [
        {
            "reference": without_budget.reference,
            "error": f"{without_budget.full_name} has no indicative budget to write about.",
        }
    ]
    assert Letter.objects.count() == 1


def test_batch_page_zip(client, submitted_a, person_a, worker_a, senior_manager, team_a):
    client.force_login(senior_manager)
    response = client.post(
        reverse("allocations:letter_batches"), {"kind": "indicative", "team": team_a.pk}
    )
    batch = LetterBatch.objects.get()
    assert response.url == reverse("allocations:letter_batch", args=[batch.pk])
    assert batch.person_ids == [person_a.pk]
    letter_batch_run(batch)
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(reverse("allocations:letter_batch_zip", args=[batch.pk])).content)
    )
    assert archive.namelist() == [f"{person_a.reference}-indicative.pdf"]
    assert archive.read(archive.namelist()[0]) == Letter.objects.get().read_pdf()


def test_batch_views_permission_matrix(client, submitted_a, person_a, senior_manager, manager_b):
    batch = _indicative_batch(senior_manager, person_a.pk)
    urls = [
        reverse("allocations:letter_batch", args=[batch.pk]),
        reverse("allocations:letter_batch_status", args=[batch.pk]),
        reverse("allocations:letter_batch_zip", args=[batch.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous
    client.force_login(manager_b)  # another team's manager
    for url in urls:
        assert client.get(url).status_code == 404
    client.force_login(senior_manager)
    assert client.get(urls[0]).status_code == 200
    assert client.get(urls[2]).status_code == 404  # not finished yet


def test_team_manager_batches_only_their_team(client, submitted_a, manager_a, team_b):
    client.force_login(manager_a)
    page = client.get(reverse("allocations:letter_batches")).text
    assert "South Locality Team" not in page
    response = client.post(
        reverse("allocations:letter_batches"), {"kind": "indicative", "team": team_b.pk}
    )
    assert "Select a valid choice" in response.text
    assert not LetterBatch.objects.exists()


def test_budget_letter_command(tmp_path, submitted_a, person_a, worker_a, capsys):
    output = tmp_path / "letter.pdf"
    call_command(
        "budget_letter",
        "--person",
        person_a.reference,
        "--kind",
        "indicative",
        "-o",
        str(output),
        "--issued-by",
        "worker.a",
    )
    letter = Letter.objects.get()
    assert output.read_bytes() == letter.read_pdf()
    assert letter.issued_by == worker_a
    assert "£120.00 a week" in text_of(output.read_bytes())


def test_budget_letter_command_without_issued_by(tmp_path, submitted_a, person_a):
    outputs = [tmp_path / "first.pdf", tmp_path / "second.pdf"]
    for output in outputs:
        call_command(
            "budget_letter",
            "--person",
            person_a.reference,
            "--kind",
            "indicative",
            "-o",
            str(output),
        )
    letter = Letter.objects.get()  # the same figures: the second run writes the same letter
    assert letter.issued_by.username == "command.line"
    assert not letter.issued_by.has_usable_password()
    assert outputs[0].read_bytes() == outputs[1].read_bytes() == letter.read_pdf()


def test_system_check_warns_without_harfbuzz_subset(monkeypatch):
    import weasyprint.text.ffi

    from allocations.checks import harfbuzz_subset_installed

    assert harfbuzz_subset_installed(None) == []
    monkeypatch.setattr(weasyprint.text.ffi, "harfbuzz_subset", None)
    (warning,) = harfbuzz_subset_installed(None)
    assert warning.id == "allocations.W001" and "libharfbuzz-subset0" in warning.hint


def test_batch_makes_pdfs_in_parallel_processes(
    submitted_a, person_a, worker_a, senior_manager, questionnaire
):
    from assessments.services.assessments import assessment_start, assessment_submit
    from tests.factories import complete_assessment

    other = make_person(actor=worker_a, family_name="Second")
    ready = complete_assessment(
        assessment_start(actor=worker_a, person=other, supported_by="self"), worker_a
    )
    assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    batch = _indicative_batch(senior_manager, person_a.pk, other.pk)
    letter_batch_run(batch, processes=2)
    batch.refresh_from_db()
    assert (batch.issued, batch.failures) == (2, [])
    for letter in Letter.objects.all():
        assert letter.person.reference in text_of(letter.read_pdf())
        assert letter.sha256 == hashlib.sha256(letter.read_pdf()).hexdigest()


# --- the team rule in every service that issues letters -----------------------------------------


def test_another_teams_worker_cannot_issue_a_letter(submitted_a, person_a, worker_b):
    from django.core.exceptions import PermissionDenied

    from assessments.services.people import TEAM_NOT_ALLOWED

    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        letter_issue(actor=worker_b, person=person_a, kind="indicative")
    assert not Letter.objects.exists()


def test_a_batch_cannot_be_started_for_another_teams_people(submitted_a, person_a, manager_b):
    from django.core.exceptions import PermissionDenied

    from allocations.services.letter_batches import NOT_YOUR_TEAM, letter_batch_start
    from assessments.models import Person

    with pytest.raises(PermissionDenied) as caught:
        letter_batch_start(
            actor=manager_b,
            people=Person.objects.filter(pk=person_a.pk),
            kind="indicative",
            description="x",
        )
    assert str(caught.value) == NOT_YOUR_TEAM.format(reference=person_a.reference)
    assert not LetterBatch.objects.exists()


def test_a_person_who_left_the_creators_team_is_a_failure_of_the_batch(
    submitted_a, person_a, manager_a, team_b
):
    from allocations.services.letter_batches import NOT_YOUR_TEAM
    from assessments.models import Person

    batch = _indicative_batch(manager_a, person_a.pk)
    Person.objects.filter(pk=person_a.pk).update(team=team_b)  # moved after the batch started
    letter_batch_run(batch)
    batch.refresh_from_db()
    assert (batch.status, batch.processed, batch.issued) == ("done", 1, 0)
    assert batch.failures == [
        {
            "reference": person_a.reference,
            "error": NOT_YOUR_TEAM.format(reference=person_a.reference),
        }
    ]
    assert not Letter.objects.exists()
