"""Questionnaire versions: import and export (the JSON format), copy to a new draft, publish
(four eyes) and retire."""

from __future__ import annotations

import contextlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import IO

from django.conf import settings
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


# --- Reading an uploaded file -------------------------------------------------------------------
# An imported file is untrusted: it is refused with a message, never a crash, before it costs
# memory or time. The caps are settings (ras_site/settings.py); these are their defaults.
LIMIT_DEFAULTS = {
    "QUESTIONNAIRE_IMPORT_MAX_BYTES": 1_000_000,
    "QUESTIONNAIRE_MAX_SECTIONS": 40,
    "QUESTIONNAIRE_MAX_QUESTIONS_PER_SECTION": 40,
    "QUESTIONNAIRE_MAX_QUESTIONS": 200,
    "QUESTIONNAIRE_MAX_OPTIONS_PER_QUESTION": 10,
    "QUESTIONNAIRE_MAX_TRIGGERS": 50,
    "QUESTIONNAIRE_IMPORT_MAX_ERRORS": 100,
}
# The format nests 8 deep (file, sections, a section, questions, a question, options, an
# option, its triggers); a file nesting deeper than this is not one of ours.
MAX_DEPTH = 10
# Texts without a database limit of their own.
MAX_HELP_TEXT = 2000
MAX_LONG_TEXT = 5000
POINTS_LIMIT = Decimal("10000")  # AnswerOption.points holds at most 9999.99

FILE_TOO_LARGE = "is larger than {limit}: a questionnaire file is far smaller"
FILE_NOT_UTF8 = "is not UTF-8 text"
FILE_NOT_JSON = "is not valid JSON: {problem}"
FILE_TOO_DEEP = f"nests lists and objects more than {MAX_DEPTH} deep"
TOO_MANY_PROBLEMS = "there are more than {limit} problems: fix these and import the file again"
NOT_TEXT = "must be text"
CONTROL_CHARACTER = "contains a control character ({code}), which is not allowed"
NOT_A_CHARACTER = "contains text that is not valid Unicode ({code})"
POINTS_NOT_A_NUMBER = 'must be a number, e.g. "4.5"'
POINTS_NEGATIVE = "cannot be negative"
POINTS_OUT_OF_RANGE = "must be under 10000, with at most 2 decimals"
# A number written with digits 0 to 9 (and a minus sign or point), nothing else.
_POINTS_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def questionnaire_limit(name: str) -> int:
    """One of the import caps (LIMIT_DEFAULTS' names), as the settings give it."""
    return getattr(settings, name, LIMIT_DEFAULTS[name])


def readable_size(limit: int) -> str:
    """A size in bytes as people read it: "1 MB", or "1,500 bytes"."""
    return f"{limit // 1_000_000} MB" if limit % 1_000_000 == 0 else f"{limit:,} bytes"


def _json_decimal(text: str) -> Decimal | str:
    """A JSON number, exactly (never through float). One too large even for a Decimal
    (1e99999999999999999999) stays text, which the points check refuses naming its place."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _depth(value: object) -> int:
    """How deep lists and objects nest in `value` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in item)
    return deepest


def questionnaire_read(upload: IO[bytes] | bytes) -> dict:
    """An uploaded questionnaire file (bytes, or a file opened in binary) as the dict that
    questionnaire_import takes. Reads at most QUESTIONNAIRE_IMPORT_MAX_BYTES + 1 bytes.

    Raises QuestionnaireInvalid with one ("file", message) problem when the file is too large,
    is not UTF-8, is not JSON or nests too deep. Numbers are read as Decimals (a 5,000-digit
    number or 1e30 is a value the checks refuse, not an error), NaN and Infinity too."""
    limit = questionnaire_limit("QUESTIONNAIRE_IMPORT_MAX_BYTES")
    if isinstance(upload, bytes):
        raw = upload[: limit + 1]
    else:
        if (getattr(upload, "size", None) or 0) > limit:
            raise QuestionnaireInvalid(
                [("file", FILE_TOO_LARGE.format(limit=readable_size(limit)))]
            )
        raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise QuestionnaireInvalid([("file", FILE_TOO_LARGE.format(limit=readable_size(limit)))])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise QuestionnaireInvalid([("file", FILE_NOT_UTF8)]) from None
    try:
        data = json.loads(
            text, parse_float=_json_decimal, parse_int=_json_decimal, parse_constant=Decimal
        )
    except json.JSONDecodeError as problem:
        raise QuestionnaireInvalid([("file", FILE_NOT_JSON.format(problem=problem))]) from None
    except RecursionError:
        raise QuestionnaireInvalid([("file", FILE_TOO_DEEP)]) from None
    if _depth(data) > MAX_DEPTH:
        raise QuestionnaireInvalid([("file", FILE_TOO_DEEP)])
    return data


class _TooManyProblems(Exception):
    pass


# Control characters (NUL above all, which PostgreSQL refuses) and lone surrogates (which no
# encoding can hold). Multi-line texts may hold tabs and line breaks.
_NOT_TEXT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_TEXT_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` cannot be stored as text people read, or None."""
    found = (_NOT_TEXT_MULTILINE if multiline else _NOT_TEXT_ONE_LINE).search(value)
    if found is None:
        return None
    code = f"U+{ord(found.group()):04X}"
    if "\ud800" <= found.group() <= "\udfff":
        return NOT_A_CHARACTER.format(code=code)
    return CONTROL_CHARACTER.format(code=code)


def _check_questionnaire_tree(data: dict, *, known_triggers: set[str]) -> list[tuple[str, str]]:
    """Validate the exported shape of a questionnaire. Returns every problem found (up to
    QUESTIONNAIRE_IMPORT_MAX_ERRORS), not just the first, so an administrator can fix a file
    in one go. Never raises on a wrong type, size or character anywhere: each is a problem
    named by its place in the file."""
    errors: list[tuple[str, str]] = []
    max_errors = questionnaire_limit("QUESTIONNAIRE_IMPORT_MAX_ERRORS")

    def problem(where: str, message: str) -> None:
        if len(errors) >= max_errors:
            errors.append(("file", TOO_MANY_PROBLEMS.format(limit=max_errors)))
            raise _TooManyProblems
        errors.append((where, message))

    def check_text(value, where, max_length, *, multiline=False) -> bool:
        if not isinstance(value, str):
            problem(where, NOT_TEXT)
            return False
        if len(value) > max_length:
            problem(where, f"is longer than {max_length} characters")
            return False
        bad = _text_problem(value, multiline=multiline)
        if bad:
            problem(where, bad)
            return False
        return True

    def need_text(obj, key, where, max_length, *, multiline=False):
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problem(f"{where}.{key}", "is required")
            return None
        return (
            value if check_text(value, f"{where}.{key}", max_length, multiline=multiline) else None
        )

    def optional_text(obj, key, where, max_length):
        value = obj.get(key)
        if value is not None:
            check_text(value, f"{where}.{key}" if where else key, max_length, multiline=True)

    def need_code(obj, key, where, seen, kind):
        value = need_text(obj, key, where, 50)
        if value is None:
            return
        if not _CODE.fullmatch(value):
            problem(f"{where}.{key}", f"'{value}' must be lower-case letters, digits and '_'")
        elif value in seen:
            problem(f"{where}.{key}", f"{kind} code '{value}' is used twice")
        seen.add(value)

    def each_object(items: list, where: str):
        """(where, item) for each item of a list; a problem for each that is not an object."""
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield f"{where}[{i}]", item
            else:
                problem(f"{where}[{i}]", "must be an object")

    def need_list(obj, key, where, minimum, message, *, maximum, noun) -> list:
        items = obj.get(key)
        place = f"{where}.{key}" if where else key
        if not isinstance(items, list) or len(items) < minimum:
            problem(place, message)
            return []
        if len(items) > maximum:
            problem(place, f"has {len(items):,} {noun}; at most {maximum} are allowed")
            return []
        return items

    def check_points(value, where) -> None:
        if isinstance(value, str) and _POINTS_TEXT.fullmatch(value.strip()):
            points = Decimal(value.strip())
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            points = Decimal(value)
        elif isinstance(value, float):
            points = Decimal(str(value))
        else:
            problem(where, POINTS_NOT_A_NUMBER)
            return
        if not points.is_finite():
            problem(where, POINTS_NOT_A_NUMBER)
        elif points < 0:
            problem(where, POINTS_NEGATIVE)
        elif points >= POINTS_LIMIT or points != points.quantize(Decimal("0.01")):
            problem(where, POINTS_OUT_OF_RANGE)

    def check(data) -> None:
        if not isinstance(data, dict):
            problem("file", "must be a JSON object")
            return
        if data.get("format") != EXPORT_FORMAT:
            problem("format", f"must be '{EXPORT_FORMAT}'")
        need_text(data, "title", "questionnaire", 120)
        optional_text(data, "notes", "", MAX_LONG_TEXT)

        trigger_codes: set[str] = set()
        triggers = data.get("triggers", [])
        if not isinstance(triggers, list):
            problem("triggers", "must be a list")
            triggers = []
        elif len(triggers) > questionnaire_limit("QUESTIONNAIRE_MAX_TRIGGERS"):
            limit = questionnaire_limit("QUESTIONNAIRE_MAX_TRIGGERS")
            problem("triggers", f"has {len(triggers):,} triggers; at most {limit} are allowed")
            triggers = []
        for where, trigger in each_object(triggers, "triggers"):
            need_code(trigger, "code", where, trigger_codes, "Trigger")
            need_text(trigger, "name", where, 120)
            need_text(trigger, "what_to_consider", where, MAX_LONG_TEXT, multiline=True)
            # Optional (files exported before it existed have none): the words for the person.
            optional_text(trigger, "for_the_person", where, MAX_LONG_TEXT)
        usable_triggers = trigger_codes | known_triggers

        sections = need_list(
            data,
            "sections",
            "",
            1,
            "a questionnaire needs at least one section",
            maximum=questionnaire_limit("QUESTIONNAIRE_MAX_SECTIONS"),
            noun="sections",
        )
        section_codes: set[str] = set()
        question_codes: set[str] = set()
        max_questions = questionnaire_limit("QUESTIONNAIRE_MAX_QUESTIONS")
        counted = 0
        for where, section in each_object(sections, "sections"):
            need_code(section, "code", where, section_codes, "Section")
            need_text(section, "title", where, 120)
            optional_text(section, "help_text", where, MAX_HELP_TEXT)
            questions = need_list(
                section,
                "questions",
                where,
                1,
                "a section needs at least one question",
                maximum=questionnaire_limit("QUESTIONNAIRE_MAX_QUESTIONS_PER_SECTION"),
                noun="questions",
            )
            counted += len(questions)
            if counted > max_questions:
                problem(
                    "sections",
                    f"has more than {max_questions} questions in all; at most "
                    f"{max_questions} are allowed",
                )
                return
            for qwhere, question in each_object(questions, f"{where}.questions"):
                check_question(question, qwhere, question_codes, usable_triggers)

    def check_question(question, qwhere, question_codes, usable_triggers) -> None:
        need_code(question, "code", qwhere, question_codes, "Question")
        need_text(question, "text", qwhere, 300)
        optional_text(question, "help_text", qwhere, MAX_HELP_TEXT)
        options = need_list(
            question,
            "options",
            qwhere,
            2,
            "a question needs at least 2 options",
            maximum=questionnaire_limit("QUESTIONNAIRE_MAX_OPTIONS_PER_QUESTION"),
            noun="options",
        )
        for owhere, option in each_object(options, f"{qwhere}.options"):
            need_text(option, "label", owhere, 300)
            check_points(option.get("points"), f"{owhere}.points")
            codes = option.get("triggers", [])
            if not isinstance(codes, list):
                problem(f"{owhere}.triggers", "must be a list of trigger codes")
                continue
            if len(codes) > questionnaire_limit("QUESTIONNAIRE_MAX_TRIGGERS"):
                problem(f"{owhere}.triggers", "names more triggers than a questionnaire may have")
                continue
            for i, code in enumerate(codes):
                if not isinstance(code, str):
                    problem(f"{owhere}.triggers[{i}]", "must be a trigger code (text)")
                elif code not in usable_triggers:
                    shown = (
                        code
                        if len(code) <= 50 and not _text_problem(code, multiline=False)
                        else "…"
                    )
                    problem(f"{owhere}.triggers", f"unknown trigger code '{shown}'")

    with contextlib.suppress(_TooManyProblems):
        check(data)
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
