"""Assessments: the one door (`assessment_get_for_user`), the steps of a draft and where to
resume it, a section's questions and answers, the summary with points, and the history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, Exists, OuterRef, Prefetch, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from assessments.models import Answer, AnswerOption, Assessment, Person, Question, Section, User
from assessments.roles import ASSESSMENT_CHANGE, ASSESSMENT_VIEW
from assessments.selectors.history import FieldChange, HistoryEntry, history_entries
from assessments.selectors.people import people_visible_to
from ras_site.compiled import fetch, fetch_for_person, user_key


def assessment_get_for_user(*, user, pk: int) -> Assessment:
    """The one door to an assessment: Http404 unless the user may see its person
    (`people_visible_to`) and their role reads assessments."""
    # Compiled once a day for each user (ras_site.compiled).
    found = fetch(
        lambda pk: (
            Assessment.objects.select_related("person__team", "questionnaire")
            .filter(pk=pk, person__in=people_visible_to(user))
            .order_by("pk")[:1]
        ),
        ("assessment_get_for_user", *user_key(user)),
        args=(int(pk),),
    )
    assessment = found[0] if found else None
    if assessment is None or not user.has_perm(ASSESSMENT_VIEW):
        raise Http404("No such assessment on your caseload.")
    # Who started, last changed and submitted it, in a second query: joined into the first,
    # eight tables took PostgreSQL 10-20 ms to plan, for a look-up that runs in 0.3 ms.
    _attach_users(assessment, "started_by", "updated_by", "submitted_by")
    return assessment


def _attach_users(obj, *fields: str) -> None:
    """Load the users `obj`'s foreign keys `fields` point to, in one query."""
    ids = {getattr(obj, f"{field}_id") for field in fields} - {None}
    users = User.objects.in_bulk(ids) if ids else {}
    for field in fields:
        user_id = getattr(obj, f"{field}_id")
        if user_id is not None:
            setattr(obj, field, users[user_id])


def assessment_get_for_change(*, user, pk: int) -> Assessment:
    """The assessment, if the user may change it: 404 as assessment_get_for_user, then
    PermissionDenied for a role that reads assessments but does not change them."""
    assessment = assessment_get_for_user(user=user, pk=pk)
    if not user.has_perm(ASSESSMENT_CHANGE):
        raise PermissionDenied("Your role can read assessments but not change them.")
    return assessment


def assessments_for_person(*, person: Person) -> list[Assessment]:
    """The person's assessments, newest first (compiled once: ras_site.compiled)."""
    return fetch_for_person(
        lambda person_id: Assessment.objects.filter(person_id=person_id).select_related(
            "questionnaire", "submitted_by", "started_by"
        ),
        "assessments_for_person",
        person,
    )


def assessment_total_points(*, assessment: Assessment) -> Decimal:
    return assessment.answers.aggregate(
        total=Coalesce(Sum("option__points"), Decimal("0"), output_field=DecimalField())
    )["total"]


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    kind: str  # "section", "informal_support" or "eligibility"
    section: Section | None = None


def assessment_steps(*, assessment: Assessment) -> list[Step]:
    """The pages of an assessment: one per questionnaire section, then informal support and
    eligibility. One query."""
    sections = fetch(
        lambda version_id: Section.objects.filter(version_id=version_id),
        ("assessment_steps",),
        args=(assessment.questionnaire_id,),
    )
    steps = [Step(n, s.title, "section", s) for n, s in enumerate(sections, start=1)]
    steps.append(Step(len(steps) + 1, "Informal support", "informal_support"))
    steps.append(Step(len(steps) + 1, "Eligibility", "eligibility"))
    return steps


def assessment_resume_step(*, assessment: Assessment) -> int:
    """The first step with something still to do: a section with an unanswered question, then
    informal support, then eligibility (one query)."""
    unanswered = Question.objects.filter(section=OuterRef("pk")).exclude(
        Exists(Answer.objects.filter(assessment=assessment, question=OuterRef("pk")))
    )
    to_do = list(
        Section.objects.filter(version_id=assessment.questionnaire_id)
        .annotate(to_do=Exists(unanswered))
        .values_list("to_do", flat=True)
    )
    for number, section_to_do in enumerate(to_do, start=1):
        if section_to_do:
            return number
    if not assessment.informal_support:
        return len(to_do) + 1
    return len(to_do) + 2


def section_questions(*, section: Section) -> list[Question]:
    """The section's questions with their options (two queries, however many questions)."""
    questions = fetch(
        lambda section_id: Question.objects.filter(section_id=section_id).prefetch_related(
            Prefetch("options", queryset=AnswerOption.objects.order_by("order"))
        ),
        ("section_questions",),
        args=(section.pk,),
    )
    for question in questions:
        question.section = section
    return questions


def section_answers(*, assessment: Assessment, section: Section) -> dict[int, Answer]:
    answers = fetch(
        lambda assessment_id, section_id: Answer.objects.filter(
            assessment_id=assessment_id, question__section_id=section_id
        ).select_related("option"),
        ("section_answers",),
        args=(assessment.pk, section.pk),
    )
    for answer in answers:
        answer.assessment = assessment
    return {answer.question_id: answer for answer in answers}


@dataclass(frozen=True)
class SectionSummary:
    section: Section
    rows: list[tuple[Question, Answer | None]]
    points: Decimal


def assessment_summary(*, assessment: Assessment) -> list[SectionSummary]:
    """Every question with its answer (or None), and points by section: three queries."""
    answers = {
        a.question_id: a
        for a in assessment.answers.select_related("option").prefetch_related("option__triggers")
    }
    sections = Section.objects.filter(version_id=assessment.questionnaire_id).prefetch_related(
        "questions"
    )
    summaries = []
    for section in sections:
        rows = [(q, answers.get(q.pk)) for q in section.questions.all()]
        points = sum((a.option.points for _, a in rows if a), Decimal("0"))
        summaries.append(SectionSummary(section, rows, points))
    return summaries


def assessment_history(*, assessment: Assessment) -> list[HistoryEntry]:
    """The assessment's own changes and every answer given or changed, newest first."""
    entries = history_entries(
        assessment.history.select_related("history_user").order_by("history_date", "history_id"),
        Assessment,
    )
    answers = (
        Answer.history.filter(assessment_id=assessment.pk)
        .select_related("history_user", "question", "option")
        .order_by("history_date", "history_id")
    )
    for record in answers:
        user = record.history_user
        note = f" — note: {record.evidence}" if record.evidence else ""
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.get_full_name() or user.username) if user else "System",
                action="Answered" if record.history_type == "+" else "Answer changed",
                changes=(
                    FieldChange(
                        field=record.question.text,
                        old="",
                        new=f"{record.option.label} ({record.option.points.normalize():f} "
                        f"points){note}",
                    ),
                ),
            )
        )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
