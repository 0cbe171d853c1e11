"""Questionnaire versions: import and export (the JSON format), copy to a new draft, publish
(four eyes) and retire."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from assessments.models import (
    AnswerOption,
    FundingTrigger,
    Question,
    QuestionnaireVersion,
    Section,
    User,
)
from assessments.notifications import notify, permission_holders
from assessments.roles import QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH
from assessments.selectors.questionnaires import EDITORS_ONLY, PUBLISH_NOT_PERMITTED
from assessments.services.history import save_as

EXPORT_FORMAT = "open-ras-questionnaire/1"


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

    def each_object(items: list, where: str):
        """(where, item) for each item of a list; an error for each that is not an object."""
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield f"{where}[{i}]", item
            else:
                errors.append((f"{where}[{i}]", "must be an object"))

    def need_list(obj: dict, key: str, where: str, minimum: int, message: str) -> list:
        items = obj.get(key)
        if not isinstance(items, list) or len(items) < minimum:
            errors.append((f"{where}.{key}" if where else key, message))
            return []
        return items

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
    for where, trigger in each_object(triggers, "triggers"):
        need_code(trigger, "code", where, trigger_codes, "Trigger")
        need_text(trigger, "name", where, 120)
        need_text(trigger, "what_to_consider", where, 5000)
        # Optional (files exported before it existed have none): the words for the person.
        for_the_person = trigger.get("for_the_person", "")
        if not isinstance(for_the_person, str):
            errors.append((f"{where}.for_the_person", "must be text"))
        elif len(for_the_person) > 5000:
            errors.append((f"{where}.for_the_person", "is longer than 5000 characters"))
    usable_triggers = trigger_codes | known_triggers

    sections = need_list(data, "sections", "", 1, "a questionnaire needs at least one section")
    section_codes: set[str] = set()
    question_codes: set[str] = set()
    for where, section in each_object(sections, "sections"):
        need_code(section, "code", where, section_codes, "Section")
        need_text(section, "title", where, 120)
        questions = need_list(
            section, "questions", where, 1, "a section needs at least one question"
        )
        for qwhere, question in each_object(questions, f"{where}.questions"):
            need_code(question, "code", qwhere, question_codes, "Question")
            need_text(question, "text", qwhere, 300)
            options = need_list(
                question, "options", qwhere, 2, "a question needs at least 2 options"
            )
            for owhere, option in each_object(options, f"{qwhere}.options"):
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
            {
                "code": t.code,
                "name": t.name,
                "what_to_consider": t.what_to_consider,
                "for_the_person": t.for_the_person,
            }
            for t in sorted(used.values(), key=lambda t: t.code)
        ],
        "sections": exported_sections,
    }


def _next_version_number() -> int:
    last = QuestionnaireVersion.objects.aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def _build_version(*, actor: User | None, data: dict, triggers: dict[str, FundingTrigger]):
    version = save_as(
        QuestionnaireVersion(
            title=data["title"].strip(),
            notes=data.get("notes", "") or "",
            number=_next_version_number(),
            created_by=actor,
        ),
        actor,
    )
    for s, section_data in enumerate(data["sections"], start=1):
        section = save_as(
            Section(version=version, order=s, **_texts(section_data, "code", "title")), actor
        )
        for q, question_data in enumerate(section_data["questions"], start=1):
            question = save_as(
                Question(section=section, order=q, **_texts(question_data, "code", "text")),
                actor,
            )
            for o, option_data in enumerate(question_data["options"], start=1):
                option = save_as(
                    AnswerOption(
                        question=question,
                        order=o,
                        label=option_data["label"],
                        points=Decimal(str(option_data["points"])),
                    ),
                    actor,
                )
                codes = option_data.get("triggers", [])
                if codes:
                    option.triggers.set([triggers[code] for code in codes])
    notify_questionnaire_to_publish(version, actor=actor)
    return version


QUESTIONNAIRE_TO_PUBLISH = (
    "A draft questionnaire to publish",
    "A draft questionnaire version is waiting for a second person to publish it.",
)


def notify_questionnaire_to_publish(version: QuestionnaireVersion, *, actor: User | None):
    """E-mail everyone who may publish the new draft, except whoever drafted it (four eyes)."""
    subject, reason = QUESTIONNAIRE_TO_PUBLISH
    notify(
        permission_holders(QUESTIONNAIRE_PUBLISH).exclude(pk=getattr(actor, "pk", None)),
        subject=subject,
        link_path=reverse("assessments:questionnaire_detail", args=[version.pk]),
        reason=reason,
        actor=actor,
    )


def _texts(data: dict, *required: str) -> dict[str, str]:
    """A section's or question's texts from the export format (help text optional)."""
    return {**{name: data[name] for name in required}, "help_text": data.get("help_text") or ""}


def _check_questionnaire_editor(actor: User | None, permission: str = QUESTIONNAIRE_CHANGE) -> None:
    if actor is None or not actor.has_perm(permission):
        raise PermissionDenied(EDITORS_ONLY)


@transaction.atomic
def questionnaire_import(
    *, actor: User | None, data: dict, permission: str = QUESTIONNAIRE_CHANGE
) -> QuestionnaireVersion:
    """Create a new draft version from an exported questionnaire.

    `permission` is the one the caller's capability asks of the actor: importing on the
    questionnaire pages asks QUESTIONNAIRE_CHANGE; a higher app drafting a version for its own
    capability (calibration's re-scaled weights) passes its own, as `policy_create_draft`
    does. Either way the result is a draft that someone else must publish (four eyes).

    The file is validated whole before anything is written; QuestionnaireInvalid lists every
    problem. Triggers the file defines are added when their code is new; an existing trigger
    keeps its own wording (RAS administrators maintain it here).
    """
    _check_questionnaire_editor(actor, permission)
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
                for_the_person=trigger_data.get("for_the_person", ""),
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
    QuestionnaireVersion.WORKFLOW.check(version.status, QuestionnaireVersion.Status.PUBLISHED)
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
    QuestionnaireVersion.WORKFLOW.move(version, QuestionnaireVersion.Status.PUBLISHED)
    version.published_at, version.published_by = now, actor
    version._history_user = actor
    version.save()
    return version


def _retire(version: QuestionnaireVersion, *, actor: User, now) -> None:
    QuestionnaireVersion.WORKFLOW.move(version, QuestionnaireVersion.Status.RETIRED)
    version.retired_at, version.retired_by = now, actor
    version._history_user = actor
    version.save()


@transaction.atomic
def questionnaire_retire(*, actor: User, version: QuestionnaireVersion):
    """published → retired: no new assessments start on it; existing ones keep it."""
    _check_questionnaire_editor(actor)
    version = _lock_version(version)
    _retire(version, actor=actor, now=timezone.now())
    return version
