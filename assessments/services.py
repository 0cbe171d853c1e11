"""Writes. Each runs in one transaction and records who did it in the history."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from assessments.eligibility import is_eligible
from assessments.models import (
    REFERENCE_DUPLICATE_MESSAGE,
    Answer,
    AnswerOption,
    Assessment,
    EligibilityDetermination,
    FundingTrigger,
    InformalSupport,
    Outcome,
    OutcomeFinding,
    Person,
    PersonAccess,
    Question,
    QuestionnaireVersion,
    Section,
    Team,
    User,
)
from assessments.roles import (
    ASSESSMENT_ADD,
    ASSESSMENT_CHANGE,
    PEOPLE_ALL_TEAMS,
    PERSON_ADD,
    PERSON_CHANGE,
    QUESTIONNAIRE_CHANGE,
    QUESTIONNAIRE_PUBLISH,
)
from assessments.signals import assessment_submitted

PERSON_FIELDS = (
    "reference",
    "given_name",
    "family_name",
    "date_of_birth",
    "client_group",
    "team",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "existing_weekly_cost_gbp",
    "needs_increased",
    "sex",
    "ethnicity",
)


def _check_team(*, actor: User, team: Team) -> None:
    if actor.has_perm(PEOPLE_ALL_TEAMS):
        return
    if actor.team_id is None or actor.team_id != team.pk:
        raise PermissionDenied("You can only keep records for your own team's people.")


def _save_person(person: Person, *, actor: User) -> Person:
    person.full_clean()
    person._history_user = actor  # simple-history: author of this history row
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        # Two people saving the same new reference at once: the database's unique constraint
        # catches what full_clean() could not.
        if "reference" in str(exc):
            raise ValidationError({"reference": REFERENCE_DUPLICATE_MESSAGE}) from None
        raise
    return person


@transaction.atomic
def person_create(*, actor: User, data: dict[str, Any]) -> Person:
    """Create a person on the caseload.

    `data` holds PERSON_FIELDS (missing optional ones default). Raises PermissionDenied if the
    actor may not add people to that team, ValidationError (by field) for bad input; nothing is
    saved in either case.
    """
    if not actor.has_perm(PERSON_ADD):
        raise PermissionDenied("Your role cannot add people.")
    person = Person(**{name: data[name] for name in PERSON_FIELDS if name in data})
    _check_team(actor=actor, team=person.team)
    return _save_person(person, actor=actor)


PERSON_CONCURRENT_EDIT = (
    "{who} changed this record at {when} while you were editing it. Nothing of yours has been "
    "saved yet: your changes are shown below, with the latest saved details beside any that "
    "differ. Check them and save again."
)


class ConcurrentEdit(Exception):
    """Someone else saved the record since this user loaded it. `message` says who and when."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _who_and_when(user: User | None, moment) -> dict[str, str]:
    who = (user.get_full_name() or user.username) if user is not None else "Someone"
    return {"who": who, "when": f"{timezone.localtime(moment):%H:%M:%S on %d %b %Y}"}


def _person_conflict(person: Person) -> ConcurrentEdit:
    """Name whoever made the latest change: the user of the record's newest history row."""
    latest = (
        person.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    who, when = (latest.history_user, latest.history_date) if latest else (None, person.updated_at)
    return ConcurrentEdit(PERSON_CONCURRENT_EDIT.format(**_who_and_when(who, when)))


@transaction.atomic
def person_update(
    *, actor: User, person: Person, data: dict[str, Any], lock_version: int | None = None
) -> Person:
    """Change a person's details; the history records the actor and every field changed.

    `lock_version` is the number the editor's page was built from: if the record has been
    saved since, ConcurrentEdit (naming who and when) is raised and nothing is saved. Internal
    callers that are not editing from a page (demo data, re-pricing) pass None: no check.
    Every save adds one to the record's lock_version.
    """
    if not actor.has_perm(PERSON_CHANGE):
        raise PermissionDenied("Your role cannot change people's records.")
    # The row alone (no joins): see _lock_draft.
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_team(actor=actor, team=person.team)
    if lock_version is not None and person.lock_version != lock_version:
        raise _person_conflict(person)
    for name in PERSON_FIELDS:
        if name in data:
            setattr(person, name, data[name])
    _check_team(actor=actor, team=person.team)
    person.lock_version += 1
    return _save_person(person, actor=actor)


def person_access_record(*, user: User, person: Person, page: str, path: str) -> PersonAccess:
    """Write one line of the append-only access log: this user opened this person's record."""
    return PersonAccess.objects.create(user=user, person=person, page=page, path=path[:300])


# --- Questionnaires --------------------------------------------------------------------------

EXPORT_FORMAT = "open-ras-questionnaire/1"


class IllegalTransition(Exception):
    """A state change the workflow does not allow (e.g. publishing a retired version)."""


class QuestionnaireInvalid(Exception):
    """A questionnaire (an import, or a draft being published) is not complete and valid.

    `errors` lists (where, message) pairs, `where` being a path such as
    ``sections[2].questions[0].options`` so the administrator can find the row.
    """

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{where}: {message}" for where, message in errors))


def _check_questionnaire_tree(data: dict, *, known_triggers: set[str]) -> list[tuple[str, str]]:
    """Validate the exported shape of a questionnaire. Returns every problem found, not just
    the first, so an administrator can fix a file in one go."""
    errors: list[tuple[str, str]] = []
    code_re = re.compile(r"^[a-z][a-z0-9_]*$")

    def need_text(obj, key, where, max_length):
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, str) or not value.strip():
            errors.append((f"{where}.{key}", "is required"))
        elif len(value) > max_length:
            errors.append((f"{where}.{key}", f"is longer than {max_length} characters"))
        return value

    def need_code(obj, key, where, seen, kind):
        value = need_text(obj, key, where, 50)
        if isinstance(value, str) and value.strip():
            if not code_re.match(value):
                errors.append(
                    (f"{where}.{key}", f"'{value}' must be lower-case letters, digits and '_'")
                )
            elif value in seen:
                errors.append((f"{where}.{key}", f"{kind} code '{value}' is used twice"))
            seen.add(value)

    if not isinstance(data, dict):
        return [("file", "must be a JSON object")]
    if data.get("format") != EXPORT_FORMAT:
        errors.append(("format", f"must be '{EXPORT_FORMAT}'"))
    need_text(data, "title", "questionnaire", 120)

    trigger_codes: set[str] = set()
    triggers = data.get("triggers", [])
    if not isinstance(triggers, list):
        errors.append(("triggers", "must be a list"))
        triggers = []
    for t, trigger in enumerate(triggers):
        where = f"triggers[{t}]"
        if not isinstance(trigger, dict):
            errors.append((where, "must be an object"))
            continue
        need_code(trigger, "code", where, trigger_codes, "Trigger")
        need_text(trigger, "name", where, 120)
        need_text(trigger, "what_to_consider", where, 5000)
    usable_triggers = trigger_codes | known_triggers

    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        errors.append(("sections", "a questionnaire needs at least one section"))
        sections = []
    section_codes: set[str] = set()
    question_codes: set[str] = set()
    for s, section in enumerate(sections):
        where = f"sections[{s}]"
        if not isinstance(section, dict):
            errors.append((where, "must be an object"))
            continue
        need_code(section, "code", where, section_codes, "Section")
        need_text(section, "title", where, 120)
        questions = section.get("questions")
        if not isinstance(questions, list) or not questions:
            errors.append((f"{where}.questions", "a section needs at least one question"))
            continue
        for q, question in enumerate(questions):
            qwhere = f"{where}.questions[{q}]"
            if not isinstance(question, dict):
                errors.append((qwhere, "must be an object"))
                continue
            need_code(question, "code", qwhere, question_codes, "Question")
            need_text(question, "text", qwhere, 300)
            options = question.get("options")
            if not isinstance(options, list) or len(options) < 2:
                errors.append((f"{qwhere}.options", "a question needs at least 2 options"))
                continue
            for o, option in enumerate(options):
                owhere = f"{qwhere}.options[{o}]"
                if not isinstance(option, dict):
                    errors.append((owhere, "must be an object"))
                    continue
                need_text(option, "label", owhere, 300)
                try:
                    points = Decimal(str(option.get("points")))
                    if not points.is_finite():
                        raise InvalidOperation
                except (InvalidOperation, ValueError):
                    errors.append((f"{owhere}.points", 'must be a number, e.g. "4.5"'))
                else:
                    if points < 0:
                        errors.append((f"{owhere}.points", "cannot be negative"))
                    elif points >= 10_000 or points != points.quantize(Decimal("0.01")):
                        errors.append(
                            (f"{owhere}.points", "must be under 10000, with at most 2 decimals")
                        )
                codes = option.get("triggers", [])
                if not isinstance(codes, list):
                    errors.append((f"{owhere}.triggers", "must be a list of trigger codes"))
                    continue
                for code in codes:
                    if code not in usable_triggers:
                        errors.append((f"{owhere}.triggers", f"unknown trigger code '{code}'"))
    return errors


def questionnaire_export(*, version: QuestionnaireVersion) -> dict:
    """The whole version as a JSON-ready dict (the format questionnaire_import reads)."""
    sections = version.sections.prefetch_related("questions__options__triggers")
    used: dict[str, FundingTrigger] = {}
    exported_sections = []
    for section in sections:
        questions = []
        for question in section.questions.all():
            options = []
            for option in question.options.all():
                codes = sorted(t.code for t in option.triggers.all())
                used.update({t.code: t for t in option.triggers.all()})
                # "4.5", not "4.50": the file reads as people write points.
                points = format(option.points.normalize(), "f")
                options.append({"label": option.label, "points": points, "triggers": codes})
            questions.append(
                {
                    "code": question.code,
                    "text": question.text,
                    "help_text": question.help_text,
                    "options": options,
                }
            )
        exported_sections.append(
            {
                "code": section.code,
                "title": section.title,
                "help_text": section.help_text,
                "questions": questions,
            }
        )
    return {
        "format": EXPORT_FORMAT,
        "title": version.title,
        "notes": version.notes,
        "triggers": [
            {"code": t.code, "name": t.name, "what_to_consider": t.what_to_consider}
            for t in sorted(used.values(), key=lambda t: t.code)
        ],
        "sections": exported_sections,
    }


def _next_version_number() -> int:
    last = QuestionnaireVersion.objects.aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def _build_version(*, actor: User | None, data: dict, triggers: dict[str, FundingTrigger]):
    version = QuestionnaireVersion(
        title=data["title"].strip(),
        notes=data.get("notes", "") or "",
        number=_next_version_number(),
        created_by=actor,
    )
    version._history_user = actor
    version.save()
    for s, section_data in enumerate(data["sections"], start=1):
        section = Section(
            version=version,
            order=s,
            code=section_data["code"],
            title=section_data["title"],
            help_text=section_data.get("help_text", "") or "",
        )
        section._history_user = actor
        section.save()
        for q, question_data in enumerate(section_data["questions"], start=1):
            question = Question(
                section=section,
                order=q,
                code=question_data["code"],
                text=question_data["text"],
                help_text=question_data.get("help_text", "") or "",
            )
            question._history_user = actor
            question.save()
            for o, option_data in enumerate(question_data["options"], start=1):
                option = AnswerOption(
                    question=question,
                    order=o,
                    label=option_data["label"],
                    points=Decimal(str(option_data["points"])),
                )
                option._history_user = actor
                option.save()
                codes = option_data.get("triggers", [])
                if codes:
                    option.triggers.set([triggers[code] for code in codes])
    return version


def _check_questionnaire_editor(actor: User | None) -> None:
    if actor is None or not actor.has_perm(QUESTIONNAIRE_CHANGE):
        raise PermissionDenied("Only RAS administrators maintain questionnaires.")


@transaction.atomic
def questionnaire_import(*, actor: User | None, data: dict) -> QuestionnaireVersion:
    """Create a new draft version from an exported questionnaire.

    The file is validated whole before anything is written; QuestionnaireInvalid lists every
    problem. Triggers the file defines are added when their code is new; an existing trigger
    keeps its own wording (RAS administrators maintain it here).
    """
    _check_questionnaire_editor(actor)
    known = dict(FundingTrigger.objects.in_bulk(field_name="code"))
    errors = _check_questionnaire_tree(data, known_triggers=set(known))
    if errors:
        raise QuestionnaireInvalid(errors)
    for trigger_data in data.get("triggers", []):
        if trigger_data["code"] not in known:
            trigger = FundingTrigger(
                code=trigger_data["code"],
                name=trigger_data["name"],
                what_to_consider=trigger_data["what_to_consider"],
            )
            trigger._history_user = actor
            trigger.save()
            known[trigger.code] = trigger
    return _build_version(actor=actor, data=data, triggers=known)


@transaction.atomic
def questionnaire_copy_to_draft(*, actor: User, version: QuestionnaireVersion):
    """Start the next version: a draft copy of this one, numbered after the newest."""
    _check_questionnaire_editor(actor)
    data = questionnaire_export(version=version)
    triggers = dict(FundingTrigger.objects.in_bulk(field_name="code"))
    return _build_version(actor=actor, data=data, triggers=triggers)


def _lock_version(version: QuestionnaireVersion) -> QuestionnaireVersion:
    return QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)


PUBLISH_NOT_PERMITTED = "Only RAS administrators and senior managers publish questionnaires."
PUBLISH_NEEDS_SECOND_PERSON = (
    "You drafted, imported or edited this version, so someone else must publish it (four "
    "eyes): ask a RAS administrator or senior manager who has not changed it."
)


def questionnaire_touched_by(*, version: QuestionnaireVersion) -> set[int]:
    """Ids of everyone who drafted, imported or edited `version`: its creator and the user of
    every history row of the version and of its sections, questions and options (including
    parts since deleted or moved, and options' trigger changes, which simple-history records as
    option rows)."""
    section_ids = Section.history.filter(version_id=version.pk).values("id")
    question_ids = Question.history.filter(
        Q(version_id=version.pk) | Q(section_id__in=section_ids)
    ).values("id")
    option_ids = AnswerOption.history.filter(question_id__in=question_ids).values("id")
    users = {version.created_by_id}
    for rows in (
        version.history.all(),
        Section.history.filter(id__in=section_ids),
        Question.history.filter(id__in=question_ids),
        AnswerOption.history.filter(id__in=option_ids),
    ):
        users.update(rows.values_list("history_user_id", flat=True).distinct())
    users.discard(None)
    return users


def questionnaire_publish_refusal(*, actor: User, version: QuestionnaireVersion) -> str | None:
    """Why `actor` may not publish `version` (PUBLISH_NOT_PERMITTED or
    PUBLISH_NEEDS_SECOND_PERSON), or None when they may. Does not check the status."""
    if not actor.has_perm(QUESTIONNAIRE_PUBLISH):
        return PUBLISH_NOT_PERMITTED
    if actor.pk in questionnaire_touched_by(version=version):
        return PUBLISH_NEEDS_SECOND_PERSON
    return None


@transaction.atomic
def questionnaire_publish(*, actor: User, version: QuestionnaireVersion):
    """draft → published. The version in use until now is retired in the same transaction.

    Four eyes: refused with PermissionDenied(PUBLISH_NOT_PERMITTED) without the publish
    permission, and with PermissionDenied(PUBLISH_NEEDS_SECOND_PERSON) when the actor
    drafted, imported or edited any part of the version (questionnaire_touched_by); the
    database refuses a version published by its creator as well. IllegalTransition unless
    it is a draft; QuestionnaireInvalid when the draft is incomplete: every section needs a
    question, every question 2 options.
    """
    if not actor.has_perm(QUESTIONNAIRE_PUBLISH):
        raise PermissionDenied(PUBLISH_NOT_PERMITTED)
    version = _lock_version(version)
    if version.status != QuestionnaireVersion.Status.DRAFT:
        raise IllegalTransition(f"Only a draft can be published; {version} is {version.status}.")
    refusal = questionnaire_publish_refusal(actor=actor, version=version)
    if refusal is not None:
        raise PermissionDenied(refusal)
    errors = _check_questionnaire_tree(questionnaire_export(version=version), known_triggers=set())
    if errors:
        raise QuestionnaireInvalid(errors)
    now = timezone.now()
    for current in QuestionnaireVersion.objects.select_for_update().filter(
        status=QuestionnaireVersion.Status.PUBLISHED
    ):
        _retire(current, actor=actor, now=now)
    version.status = QuestionnaireVersion.Status.PUBLISHED
    version.published_at, version.published_by = now, actor
    version._history_user = actor
    version.save()
    return version


def _retire(version: QuestionnaireVersion, *, actor: User, now) -> None:
    version.status = QuestionnaireVersion.Status.RETIRED
    version.retired_at, version.retired_by = now, actor
    version._history_user = actor
    version.save()


@transaction.atomic
def questionnaire_retire(*, actor: User, version: QuestionnaireVersion):
    """published → retired: no new assessments start on it; existing ones keep it."""
    _check_questionnaire_editor(actor)
    version = _lock_version(version)
    if version.status != QuestionnaireVersion.Status.PUBLISHED:
        raise IllegalTransition(f"Only the published version can be retired; {version} is not.")
    _retire(version, actor=actor, now=timezone.now())
    return version


# --- Assessments -----------------------------------------------------------------------------

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

ASSESSMENT_TRANSITIONS = {
    Assessment.Status.DRAFT: {Assessment.Status.SUBMITTED, Assessment.Status.WITHDRAWN},
    Assessment.Status.SUBMITTED: {Assessment.Status.SUPERSEDED},
    Assessment.Status.SUPERSEDED: set(),
    Assessment.Status.WITHDRAWN: set(),
}


class AssessmentLocked(Exception):
    """The assessment is no longer a draft."""


class AssessmentIncomplete(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def _transition(assessment: Assessment, to: str) -> None:
    if to not in ASSESSMENT_TRANSITIONS[assessment.status]:
        raise IllegalTransition(
            f"An assessment that is {assessment.get_status_display().lower()} cannot become "
            f"{Assessment.Status(to).label.lower()}."
        )
    assessment.status = to


def _check_caseworker(actor: User, person: Person, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied("Your role cannot change assessments.")
    _check_team(actor=actor, team=person.team)


def _lock_draft(*, actor: User, assessment: Assessment, lock_version: int | None) -> Assessment:
    """Lock the row; refuse if it is not a draft, or if it changed since `lock_version`.

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
            CONCURRENT_EDIT.format(**_who_and_when(locked.updated_by, locked.updated_at))
        )
    return locked


def _touch(assessment: Assessment, *, actor: User) -> None:
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
    assessment = _lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
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
    _touch(assessment, actor=actor)
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
    assessment = _lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
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
    _touch(assessment, actor=actor)
    return assessment


MEANINGS = ("needs_assistance", "pain_or_distress", "endangers", "significantly_longer")


@transaction.atomic
def eligibility_record(
    *,
    actor: User,
    assessment: Assessment,
    lock_version: int,
    impairment_or_illness: bool,
    significant_impact: bool,
    unable: dict[str, set[str]],
    reasons: str,
) -> EligibilityDetermination:
    """Record (or revise, while the assessment is a draft) the eligibility determination.

    `unable` maps each outcome the person cannot achieve to the meanings that apply (a subset
    of MEANINGS). Eligibility is worked out by `is_eligible`, never typed in.
    """
    assessment = _lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    if not reasons.strip():
        raise ValidationError({"reasons": "Give the reasons for this decision."})
    for outcome, meanings in unable.items():
        if outcome not in Outcome.values or not set(meanings) <= set(MEANINGS):
            raise ValidationError("Unknown outcome or meaning.")
    outcomes_unable = sum(1 for meanings in unable.values() if meanings)
    determination = EligibilityDetermination.objects.filter(assessment=assessment).first()
    if determination is None:
        determination = EligibilityDetermination(assessment=assessment)
    determination.impairment_or_illness = impairment_or_illness
    determination.significant_impact = significant_impact
    determination.eligible = is_eligible(
        impairment_or_illness=impairment_or_illness,
        outcomes_unable=outcomes_unable,
        significant_impact=significant_impact,
    )
    determination.reasons = reasons.strip()
    determination.decided_at, determination.decided_by = timezone.now(), actor
    determination._history_user = actor
    determination.save()
    findings = {f.outcome: f for f in determination.findings.all()}
    for outcome in Outcome.values:
        meanings = unable.get(outcome, set())
        finding = findings.get(outcome) or OutcomeFinding(
            determination=determination, outcome=outcome
        )
        values = {meaning: meaning in meanings for meaning in MEANINGS}
        if finding.pk and all(getattr(finding, k) == v for k, v in values.items()):
            continue
        for meaning, value in values.items():
            setattr(finding, meaning, value)
        finding._history_user = actor
        finding.save()
    _touch(assessment, actor=actor)
    return determination


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
    assessment = _lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    problems = assessment_problems(assessment)
    if problems:
        raise AssessmentIncomplete(problems)
    now = timezone.now()
    for previous in Assessment.objects.select_for_update().filter(
        person_id=assessment.person_id, status=Assessment.Status.SUBMITTED
    ):
        _transition(previous, Assessment.Status.SUPERSEDED)
        previous.superseded_at, previous.superseded_by = now, assessment
        previous._history_user = actor
        previous.save()
    _transition(assessment, Assessment.Status.SUBMITTED)
    assessment.submitted_at, assessment.submitted_by = now, actor
    _touch(assessment, actor=actor)
    assessment_submitted.send(sender=Assessment, assessment=assessment, actor=actor)
    return assessment


@transaction.atomic
def assessment_withdraw(*, actor: User, assessment: Assessment, reason: str) -> Assessment:
    """draft → withdrawn, for an assessment started by mistake. Kept, with the reason."""
    assessment = _lock_draft(actor=actor, assessment=assessment, lock_version=None)
    if not reason.strip():
        raise ValidationError({"reason": "Say why this assessment is being withdrawn."})
    _transition(assessment, Assessment.Status.WITHDRAWN)
    assessment.withdrawn_at, assessment.withdrawn_by = timezone.now(), actor
    assessment.withdrawn_reason = reason.strip()
    _touch(assessment, actor=actor)
    return assessment
