"""Reads, always scoped to the user asking.

`person_get_for_user` is the one door to a person's record: 404 for anyone who may not see
them (so a record's existence is not revealed to other teams), 403 for a change by someone who
may see but not change it.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from assessments.models import (
    Answer,
    AnswerOption,
    Assessment,
    EligibilityDetermination,
    Person,
    PersonAccess,
    Question,
    QuestionnaireVersion,
    Section,
)
from assessments.roles import (
    ACCESS_LOG_VIEW,
    ASSESSMENT_CHANGE,
    ASSESSMENT_VIEW,
    PEOPLE_ALL_TEAMS,
    PERSON_ADD,
    PERSON_CHANGE,
    PERSON_VIEW,
    QUESTIONNAIRE_VIEW,
)

_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


# Who else a user may see, beyond their team's caseload. Apps higher up register a rule in
# their AppConfig.ready() (panels: the people referred to a panel the user sits on), so
# assessments never imports them (HOUSE STYLE §2b). A rule takes the user and returns a Q on
# Person, a queryset of Person ids, or None when it grants nothing.
VisibilityRule = Callable[..., Q | QuerySet | None]
_visibility_rules: list[VisibilityRule] = []


def register_visibility(rule: VisibilityRule) -> VisibilityRule:
    """Add a rule to people_visible_to (idempotent, so ready() may run twice)."""
    if rule not in _visibility_rules:
        _visibility_rules.append(rule)
    return rule


def people_visible_to(user) -> QuerySet[Person]:
    """Everyone a user may see: everyone for whole-service roles; otherwise their team's
    caseload and whatever the registered rules add (e.g. people referred to their panel).

    The one door: every look-up of a person, or of anything that belongs to one (assessments,
    budgets, plans, letters), filters by this."""
    if not user.is_authenticated or not user.has_perm(PERSON_VIEW):
        return Person.objects.none()
    people = Person.objects.select_related("team")
    if user.has_perm(PEOPLE_ALL_TEAMS):
        return people
    allowed = []
    if user.team_id is not None:
        allowed.append(Q(team_id=user.team_id))
    for rule in _visibility_rules:
        extra = rule(user)
        if extra is None:
            continue
        allowed.append(extra if isinstance(extra, Q) else Q(pk__in=extra))
    if not allowed:
        return Person.objects.none()
    return people.filter(reduce(operator.or_, allowed))


def _parse_date(text: str) -> datetime.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    return None


def person_list(*, user, query: str = "") -> QuerySet[Person]:
    """People the user may see, matching a search of name, reference or date of birth.

    A query that reads as a date (31/12/1950 or 1950-12-31) matches the date of birth; otherwise
    every word must appear in the first name, last name or reference.
    """
    people = people_visible_to(user)
    query = query.strip()
    if not query:
        return people
    date_of_birth = _parse_date(query)
    if date_of_birth is not None:
        return people.filter(date_of_birth=date_of_birth)
    for word in re.split(r"\s+", query):
        people = people.filter(
            Q(given_name__icontains=word)
            | Q(family_name__icontains=word)
            | Q(reference__icontains=word)
        )
    return people


def person_get_for_user(*, user, pk: int) -> Person:
    """The person, if the user may see them; Http404 otherwise."""
    try:
        return people_visible_to(user).get(pk=pk)
    except Person.DoesNotExist:
        raise Http404("No such person on your caseload.") from None


def person_get_for_change(*, user, pk: int) -> Person:
    """The person, if the user may change them: 404 if not visible, 403 if read-only."""
    person = person_get_for_user(user=user, pk=pk)
    if not user.has_perm(PERSON_CHANGE):
        raise PermissionDenied("Your role can read this record but not change it.")
    return person


def person_can_add(user) -> bool:
    return user.has_perm(PERSON_ADD) and (
        user.team_id is not None or user.has_perm(PEOPLE_ALL_TEAMS)
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime.datetime
    who: str
    action: str
    changes: tuple[FieldChange, ...]


_ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


def _display(record, field_name: str) -> str:
    field = record.instance_type._meta.get_field(field_name)
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        return str(getattr(record, field_name))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


# Bookkeeping fields that every save touches: not worth listing as changes.
_HISTORY_SKIP = {"updated_at", "created_at", "lock_version", "updated_by"}


def _entries(records, model, *, skip=frozenset()) -> list[HistoryEntry]:
    """History rows of one object (oldest first) → entries, newest first, each with the
    fields that changed."""
    skip = set(skip) | _HISTORY_SKIP
    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        changes: list[FieldChange] = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=skip)
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    FieldChange(
                        field=str(field.verbose_name).capitalize(),
                        old=_display(previous, change.field),
                        new=_display(record, change.field),
                    )
                )
        user = record.history_user
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.get_full_name() or user.username) if user else "System",
                action=_ACTIONS.get(record.history_type, record.history_type),
                changes=tuple(changes),
            )
        )
        previous = record
    entries.reverse()
    return entries


def person_history(*, person: Person) -> list[HistoryEntry]:
    """Every change to a person, newest first, with the fields that changed (one query each
    for the history rows and the teams they name)."""
    records = person.history.select_related("history_user", "team").order_by(
        "history_date", "history_id"
    )
    return _entries(records, Person)


def object_history(instance, *, skip=frozenset()) -> list[HistoryEntry]:
    """Every change to any audited object (a budget, a policy, a plan), newest first."""
    records = instance.history.select_related("history_user").order_by("history_date", "history_id")
    return _entries(records, type(instance), skip=skip)


def assessment_history(*, assessment: Assessment) -> list[HistoryEntry]:
    """The assessment's own changes and every answer given or changed, newest first."""
    entries = _entries(
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


def person_access_list(*, user, person: Person) -> QuerySet[PersonAccess]:
    """Who opened this person's record, newest first. Auditors only."""
    if not user.has_perm(ACCESS_LOG_VIEW):
        raise PermissionDenied("Only auditors can see who has opened a record.")
    return person.accesses.select_related("user")


# --- Assessments ----------------------------------------------------------------------------


def assessment_get_for_user(*, user, pk: int) -> Assessment:
    """The assessment, if the user may see its person; Http404 otherwise."""
    assessment = (
        Assessment.objects.select_related(
            "person__team", "questionnaire", "started_by", "submitted_by", "updated_by"
        )
        .filter(pk=pk, person__in=people_visible_to(user))
        .first()
    )
    if assessment is None or not user.has_perm(ASSESSMENT_VIEW):
        raise Http404("No such assessment on your caseload.")
    return assessment


def assessment_get_for_change(*, user, pk: int) -> Assessment:
    assessment = assessment_get_for_user(user=user, pk=pk)
    if not user.has_perm(ASSESSMENT_CHANGE):
        raise PermissionDenied("Your role can read assessments but not change them.")
    return assessment


def assessments_for_person(*, person: Person) -> QuerySet[Assessment]:
    return person.assessments.select_related("questionnaire", "submitted_by", "started_by")


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
    sections = list(Section.objects.filter(version_id=assessment.questionnaire_id))
    steps = [Step(n, s.title, "section", s) for n, s in enumerate(sections, start=1)]
    steps.append(Step(len(steps) + 1, "Informal support", "informal_support"))
    steps.append(Step(len(steps) + 1, "Eligibility", "eligibility"))
    return steps


def assessment_resume_step(*, assessment: Assessment) -> int:
    """The first step with something still to do: a section with an unanswered question, then
    informal support, then eligibility (two queries)."""
    answered = set(assessment.answers.values_list("question_id", flat=True))
    steps = Section.objects.filter(version_id=assessment.questionnaire_id).prefetch_related(
        "questions"
    )
    sections = list(steps)
    for number, section in enumerate(sections, start=1):
        if any(q.pk not in answered for q in section.questions.all()):
            return number
    if not assessment.informal_support:
        return len(sections) + 1
    return len(sections) + 2


def section_questions(*, section: Section) -> list[Question]:
    """The section's questions with their options (two queries, however many questions)."""
    return list(
        section.questions.prefetch_related(
            Prefetch("options", queryset=AnswerOption.objects.order_by("order"))
        )
    )


def section_answers(*, assessment: Assessment, section: Section) -> dict[int, Answer]:
    return {
        a.question_id: a
        for a in assessment.answers.filter(question__section=section).select_related("option")
    }


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


def eligibility_for(*, assessment: Assessment) -> EligibilityDetermination | None:
    return (
        EligibilityDetermination.objects.filter(assessment=assessment)
        .select_related("decided_by")
        .prefetch_related("findings")
        .first()
    )


# --- Questionnaires -------------------------------------------------------------------------


def questionnaire_versions(*, user) -> QuerySet[QuestionnaireVersion]:
    if not user.has_perm(QUESTIONNAIRE_VIEW):
        raise PermissionDenied("Your role cannot see questionnaires.")
    return QuestionnaireVersion.objects.select_related("published_by", "created_by")


def questionnaire_get_for_user(*, user, pk: int) -> QuestionnaireVersion:
    try:
        return questionnaire_versions(user=user).get(pk=pk)
    except QuestionnaireVersion.DoesNotExist:
        raise Http404("No such questionnaire version.") from None


def questionnaire_tree(*, version: QuestionnaireVersion) -> list[Section]:
    """Sections → questions → options → triggers, in four queries."""
    return list(
        version.sections.prefetch_related(
            Prefetch("questions__options", queryset=AnswerOption.objects.order_by("order")),
            "questions__options__triggers",
        )
    )
