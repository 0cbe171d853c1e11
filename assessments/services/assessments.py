"""Assessments: start one on the published questionnaire, save it a section at a time with the
informal-support facts, then submit (draft → submitted, superseding the previous one) or
withdraw it. Every change locks the draft first (`lock_draft`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments.models import (
    Answer,
    Assessment,
    EligibilityDetermination,
    InformalSupport,
    Person,
    Question,
    QuestionnaireVersion,
    Section,
    User,
)
from assessments.roles import ASSESSMENT_ADD, ASSESSMENT_CHANGE
from assessments.services.concurrency import ConcurrentEdit, who_and_when
from assessments.services.people import check_team
from assessments.signals import assessment_submitted

NO_PUBLISHED_QUESTIONNAIRE = (
    "No questionnaire is published yet, so an assessment cannot start: ask a RAS administrator."
)
ALREADY_OPEN = "{person} already has an assessment in progress: resume it from their page."
NOT_A_DRAFT = "This assessment has been {status} and can no longer be changed."
CONCURRENT_EDIT = (
    "{who} changed this assessment at {when} while you were working on it. Nothing of yours "
    "has been saved yet: your answers are shown below. Check them against the latest and "
    "save again."
)
UNANSWERED = "Not answered: “{question}” ({section})."
INFORMAL_SUPPORT_MISSING = "Say how much informal support the person gets (Informal support)."
ELIGIBILITY_MISSING = "Record the eligibility decision (Eligibility)."
CARER_DETAILS_NEEDED = "Answer this when the person gets informal support."
EVIDENCE_WITHOUT_ANSWER = "Choose an answer before adding an evidence note."


class AssessmentLocked(Exception):
    """The assessment is no longer a draft."""


class AssessmentIncomplete(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def _check_caseworker(actor: User, person: Person, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied("Your role cannot change assessments.")
    check_team(actor=actor, team=person.team)


def lock_draft(*, actor: User, assessment: Assessment, lock_version: int | None) -> Assessment:
    """Lock the row; refuse if it is not a draft, or if it changed since `lock_version`.

    Checks the actor's role (ASSESSMENT_CHANGE) and team: every change to a draft starts here,
    the eligibility services included.

    The FOR UPDATE query reads the assessment row alone. With joins, PostgreSQL locks the
    joined rows too and, when the assessment was updated while this query waited for the
    lock, re-checks the join against the new row but the old joined rows: a changed
    `updated_by` no longer matches, the row is dropped and `.get()` raises DoesNotExist
    instead of the conflict message. What else is needed is read after the lock is held.
    """
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    locked.person = Person.objects.select_related("team").get(pk=locked.person_id)
    _check_caseworker(actor, locked.person, ASSESSMENT_CHANGE)
    if locked.status != Assessment.Status.DRAFT:
        raise AssessmentLocked(NOT_A_DRAFT.format(status=locked.get_status_display().lower()))
    if lock_version is not None and locked.lock_version != lock_version:
        raise ConcurrentEdit(
            CONCURRENT_EDIT.format(**who_and_when(locked.updated_by, locked.updated_at))
        )
    return locked


def touch(assessment: Assessment, *, actor: User) -> None:
    """Record a change to a locked draft: a new lock_version, who and when."""
    assessment.lock_version += 1
    assessment.updated_at = timezone.now()
    assessment.updated_by = actor
    assessment._history_user = actor
    assessment.save()


@transaction.atomic
def assessment_start(*, actor: User, person: Person, supported_by: str) -> Assessment:
    """Start an assessment of `person` on the published questionnaire.

    Raises PermissionDenied (role or team), AssessmentLocked with NO_PUBLISHED_QUESTIONNAIRE
    or ALREADY_OPEN. One open assessment per person is also a database constraint.
    """
    _check_caseworker(actor, person, ASSESSMENT_ADD)
    questionnaire = QuestionnaireVersion.objects.filter(
        status=QuestionnaireVersion.Status.PUBLISHED
    ).first()
    if questionnaire is None:
        raise AssessmentLocked(NO_PUBLISHED_QUESTIONNAIRE)
    assessment = Assessment(
        person=person,
        questionnaire=questionnaire,
        supported_by=supported_by,
        started_by=actor,
        updated_by=actor,
    )
    assessment.full_clean(exclude=["person", "questionnaire", "started_by", "updated_by"])
    assessment._history_user = actor
    try:
        with transaction.atomic():
            assessment.save()
    except IntegrityError:
        raise AssessmentLocked(ALREADY_OPEN.format(person=person.full_name)) from None
    return assessment


@transaction.atomic
def assessment_save_section(
    *,
    actor: User,
    assessment: Assessment,
    section: Section,
    answers: dict[int, tuple[int | None, str]],
    lock_version: int,
) -> Assessment:
    """Save a section's answers: {question id: (option id or None, evidence note)}.

    Unanswered questions stay unanswered (a draft may be saved part-way). Raises
    ConcurrentEdit if the draft changed since `lock_version`, AssessmentLocked if submitted,
    ValidationError for an option that does not belong to its question.
    """
    assessment = lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    if section.version_id != assessment.questionnaire_id:
        raise ValidationError("That section is not part of this assessment's questionnaire.")
    questions = {q.pk: q for q in section.questions.prefetch_related("options")}
    existing = {a.question_id: a for a in assessment.answers.filter(question__section=section)}
    errors = {}
    for question_id, (option_id, evidence) in answers.items():
        question = questions.get(question_id)
        if question is None:
            raise ValidationError("That question is not part of this section.")
        evidence = (evidence or "").strip()
        if option_id is None:
            if evidence:
                errors[question.code] = EVIDENCE_WITHOUT_ANSWER
            continue
        option = next((o for o in question.options.all() if o.pk == option_id), None)
        if option is None:
            raise ValidationError("That answer is not one of the question's options.")
        answer = existing.get(question_id)
        if answer is None:
            answer = Answer(assessment=assessment, question=question)
        elif answer.option_id == option.pk and answer.evidence == evidence:
            continue
        answer.option, answer.evidence = option, evidence
        answer.answered_at, answer.answered_by = timezone.now(), actor
        answer._history_user = actor
        answer.save()
    if errors:
        raise ValidationError(errors)
    touch(assessment, actor=actor)
    return assessment


@transaction.atomic
def assessment_save_informal_support(
    *,
    actor: User,
    assessment: Assessment,
    lock_version: int,
    informal_support: str,
    carer_assessed: bool | None,
    carer_able_and_willing: bool | None,
    carer_impact: str,
) -> Assessment:
    """Record the informal-support facts the RAS uses. With no informal support, the carer
    questions do not apply and are cleared; otherwise all three are required."""
    assessment = lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    if informal_support == InformalSupport.NONE:
        carer_assessed, carer_able_and_willing, carer_impact = None, None, ""
    else:
        errors = {
            name: CARER_DETAILS_NEEDED
            for name, value in (
                ("carer_assessed", carer_assessed),
                ("carer_able_and_willing", carer_able_and_willing),
                ("carer_impact", carer_impact or None),
            )
            if value is None
        }
        if errors:
            raise ValidationError(errors)
    assessment.informal_support = informal_support
    assessment.carer_assessed = carer_assessed
    assessment.carer_able_and_willing = carer_able_and_willing
    assessment.carer_impact = carer_impact
    assessment.full_clean(exclude=["person", "questionnaire", "started_by", "updated_by"])
    touch(assessment, actor=actor)
    return assessment


def assessment_problems(assessment: Assessment) -> list[str]:
    """What stops this assessment being submitted, in questionnaire order (empty when none)."""
    answered = set(assessment.answers.values_list("question_id", flat=True))
    problems = [
        UNANSWERED.format(question=q.text, section=q.section.title)
        for q in Question.objects.filter(version=assessment.questionnaire_id)
        .select_related("section")
        .order_by("section__order", "order")
        if q.pk not in answered
    ]
    if not assessment.informal_support:
        problems.append(INFORMAL_SUPPORT_MISSING)
    if not EligibilityDetermination.objects.filter(assessment=assessment).exists():
        problems.append(ELIGIBILITY_MISSING)
    return problems


@transaction.atomic
def assessment_submit(*, actor: User, assessment: Assessment, lock_version: int) -> Assessment:
    """draft → submitted (read-only from now on). The person's previous submitted assessment,
    if any, becomes superseded by this one.

    Raises AssessmentIncomplete naming each unanswered question (and a missing informal
    support or eligibility step), ConcurrentEdit, AssessmentLocked.
    """
    assessment = lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    problems = assessment_problems(assessment)
    if problems:
        raise AssessmentIncomplete(problems)
    now = timezone.now()
    for previous in Assessment.objects.select_for_update().filter(
        person_id=assessment.person_id, status=Assessment.Status.SUBMITTED
    ):
        Assessment.WORKFLOW.move(previous, Assessment.Status.SUPERSEDED)
        previous.superseded_at, previous.superseded_by = now, assessment
        previous._history_user = actor
        previous.save()
    Assessment.WORKFLOW.move(assessment, Assessment.Status.SUBMITTED)
    assessment.submitted_at, assessment.submitted_by = now, actor
    touch(assessment, actor=actor)
    assessment_submitted.send(sender=Assessment, assessment=assessment, actor=actor)
    return assessment


@transaction.atomic
def assessment_withdraw(*, actor: User, assessment: Assessment, reason: str) -> Assessment:
    """draft → withdrawn, for an assessment started by mistake. Kept, with the reason."""
    assessment = lock_draft(actor=actor, assessment=assessment, lock_version=None)
    if not reason.strip():
        raise ValidationError({"reason": "Say why this assessment is being withdrawn."})
    Assessment.WORKFLOW.move(assessment, Assessment.Status.WITHDRAWN)
    assessment.withdrawn_at, assessment.withdrawn_by = timezone.now(), actor
    assessment.withdrawn_reason = reason.strip()
    touch(assessment, actor=actor)
    return assessment
