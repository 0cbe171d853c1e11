"""Questionnaire import under bad input (issue 14): every malformed file gets a page naming
each problem by its place in the file (or QuestionnaireInvalid from the service), never an
exception or a 500, and nothing is saved. A valid file still imports."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.urls import reverse

from assessments.models import FundingTrigger, Question, QuestionnaireVersion, Section
from assessments.services.questionnaires import (
    QuestionnaireInvalid,
    questionnaire_import,
    questionnaire_read,
)
from tests.factories import questionnaire_data

pytestmark = pytest.mark.django_db

OPTION = "sections[0].questions[0].options[2]"  # the option whose points are "5"
URL = "assessments:questionnaire_import"


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _changed(change) -> bytes:
    """The test questionnaire with one change made to it, as a file."""
    data = questionnaire_data()
    change(data)
    return _json(data)


def _points_literal(literal: str) -> bytes:
    """The test questionnaire with OPTION's points written as `literal` (raw JSON text)."""
    data = questionnaire_data()
    data["sections"][0]["questions"][0]["options"][2]["points"] = "@POINTS@"
    return _json(data).replace(b'"@POINTS@"', literal.encode())


def _with(path: list, value) -> bytes:
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return _changed(change)


def _question(code: str) -> dict:
    return {
        "code": code,
        "text": "Q?",
        "options": [{"label": "No", "points": "0"}, {"label": "Yes", "points": "1"}],
    }


def _option(points: str = "1") -> dict:
    return {"label": "An answer", "points": points, "triggers": []}


Q0 = ["sections", 0, "questions", 0]
O0 = [*Q0, "options", 0]
O2 = [*Q0, "options", 2]

# (id, file, where in the file, words the message contains)
MALFORMED = [
    # Nesting
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "file", "nests lists and objects"),
    (
        "deep-nesting-inside",
        _with(["notes"], json.loads("[" * 40 + "]" * 40)),
        "file",
        "nests lists and objects",
    ),
    ("deep-objects", b'{"a":' * 5000 + b"1" + b"}" * 5000, "file", "nests lists and objects"),
    # Numbers
    ("5000-digit-points", _points_literal("1" + "0" * 5000), f"{OPTION}.points", "under 10000"),
    ("5000-digit-string", _with([*O2, "points"], "9" * 5000), f"{OPTION}.points", "under 10000"),
    ("5000-digit-fraction", _points_literal("0." + "0" * 5000 + "1"), f"{OPTION}.points", "2 dec"),
    (
        "5000-digit-title",
        _with(["title"], 0).replace(b'"title": 0', b'"title": 1' + b"0" * 5000),
        "questionnaire.title",
        "must be text",
    ),
    ("points-1e30", _points_literal("1e30"), f"{OPTION}.points", "under 10000"),
    ("points-minus-1e30", _points_literal("-1e30"), f"{OPTION}.points", "cannot be negative"),
    ("points-1e-30", _points_literal("1e-30"), f"{OPTION}.points", "2 decimals"),
    (
        "points-huge-exponent",
        _points_literal("1e99999999999999999999"),
        f"{OPTION}.points",
        "must be a number",
    ),
    ("points-NaN", _points_literal("NaN"), f"{OPTION}.points", "must be a number"),
    ("points-Infinity", _points_literal("Infinity"), f"{OPTION}.points", "must be a number"),
    ("points-true", _points_literal("true"), f"{OPTION}.points", "must be a number"),
    ("points-null", _points_literal("null"), f"{OPTION}.points", "must be a number"),
    ("points-list", _points_literal("[5]"), f"{OPTION}.points", "must be a number"),
    ("points-object", _points_literal('{"n": 5}'), f"{OPTION}.points", "must be a number"),
    ("points-arabic-digits", _with([*O2, "points"], "١٢٣"), f"{OPTION}.points", "must be a number"),
    ("points-underscore", _with([*O2, "points"], "1_0"), f"{OPTION}.points", "must be a number"),
    ("points-exponent-text", _with([*O2, "points"], "1e3"), f"{OPTION}.points", "must be a number"),
    ("points-3-decimals", _with([*O2, "points"], "4.555"), f"{OPTION}.points", "2 decimals"),
    ("points-10000", _with([*O2, "points"], "10000"), f"{OPTION}.points", "under 10000"),
    # NUL bytes, control characters, text that is not text
    ("nul-in-title", _with(["title"], "Care\x00needs"), "questionnaire.title", "U+0000"),
    (
        "raw-nul-byte",
        _json(questionnaire_data()).replace(b"Section 1", b"Sec\x00tion"),
        "file",
        "not valid JSON",
    ),
    (
        "nul-in-label",
        _with([*O0, "label"], "No\x00"),
        f"{Q0[0]}[0].questions[0].options[0].label",
        "U+0000",
    ),
    (
        "nul-in-help-text",
        _with(["sections", 0, "help_text"], "\x00"),
        "sections[0].help_text",
        "U+0000",
    ),
    (
        "nul-in-guidance",
        _with(["triggers", 0, "what_to_consider"], "a\x00b"),
        "triggers[0].what_to_consider",
        "U+0000",
    ),
    (
        "escape-char-in-title",
        _with(["sections", 0, "title"], "Move\x1b[2J"),
        "sections[0].title",
        "U+001B",
    ),
    (
        "lone-surrogate",
        _json(questionnaire_data()).replace(b"Question 1.1?", b"\\ud800"),
        "sections[0].questions[0].text",
        "not valid Unicode",
    ),
    ("c1-control", _with([*Q0, "text"], "Why\x85"), "sections[0].questions[0].text", "U+0085"),
    # Wrong types anywhere
    (
        "option-triggers-nested",
        _with([*O0, "triggers"], [["x"]]),
        "sections[0].questions[0].options[0].triggers[0]",
        "trigger code",
    ),
    (
        "option-triggers-object",
        _with([*O0, "triggers"], [{"code": "dfg"}]),
        "sections[0].questions[0].options[0].triggers[0]",
        "trigger code",
    ),
    (
        "option-triggers-text",
        _with([*O0, "triggers"], "dfg"),
        "sections[0].questions[0].options[0].triggers",
        "list of trigger codes",
    ),
    ("triggers-nested", _with(["triggers"], [["x"]]), "triggers[0]", "must be an object"),
    ("triggers-text", _with(["triggers"], "dfg"), "triggers", "must be a list"),
    ("trigger-name-list", _with(["triggers", 0, "name"], ["x"]), "triggers[0].name", "text"),
    (
        "trigger-for-person-number",
        _with(["triggers", 0, "for_the_person"], 3),
        "triggers[0].for_the_person",
        "must be text",
    ),
    ("title-list", _with(["title"], ["A", "B"]), "questionnaire.title", "must be text"),
    ("title-object", _with(["title"], {"en": "A"}), "questionnaire.title", "must be text"),
    ("notes-object", _with(["notes"], {"a": 1}), "notes", "must be text"),
    (
        "help-text-number",
        _with([*Q0, "help_text"], 7),
        "sections[0].questions[0].help_text",
        "must be text",
    ),
    ("code-number", _with(["sections", 0, "code"], 12), "sections[0].code", "must be text"),
    ("code-list", _with([*Q0, "code"], ["s1_q1"]), "sections[0].questions[0].code", "text"),
    ("sections-object", _with(["sections"], {"s1": {}}), "sections", "at least one section"),
    ("sections-empty", _with(["sections"], []), "sections", "at least one section"),
    ("section-not-object", _with(["sections", 0], "s1"), "sections[0]", "must be an object"),
    (
        "questions-text",
        _with(["sections", 0, "questions"], "q"),
        "sections[0].questions",
        "at least one question",
    ),
    (
        "option-not-object",
        _with(O0, "No"),
        "sections[0].questions[0].options[0]",
        "must be an object",
    ),
    (
        "one-option",
        _with([*Q0, "options"], [_option()]),
        "sections[0].questions[0].options",
        "at least 2 options",
    ),
    ("file-a-list", b"[1, 2]", "file", "must be a JSON object"),
    ("file-a-string", b'"questionnaire"', "file", "must be a JSON object"),
    ("file-null", b"null", "file", "must be a JSON object"),
    ("no-format", _with(["format"], None), "format", "open-ras-questionnaire/1"),
    # Codes: the pattern covers the whole code
    ("code-newline", _with(["sections", 0, "code"], "abc\n"), "sections[0].code", "U+000A"),
    (
        "question-code-newline",
        _with([*Q0, "code"], "s1_q1\n"),
        "sections[0].questions[0].code",
        "U+000A",
    ),
    ("trigger-code-newline", _with(["triggers", 0, "code"], "dfg\n"), "triggers[0].code", "U+000A"),
    ("code-capitals", _with(["sections", 0, "code"], "ABC"), "sections[0].code", "lower-case"),
    ("code-not-ascii", _with(["sections", 0, "code"], "sé"), "sections[0].code", "lower-case"),
    ("code-arabic-digit", _with(["sections", 0, "code"], "s١"), "sections[0].code", "lower-case"),
    # Lengths and counts
    ("title-too-long", _with(["title"], "T" * 121), "questionnaire.title", "longer than 120"),
    (
        "help-text-too-long",
        _with([*Q0, "help_text"], "h" * 2001),
        "sections[0].questions[0].help_text",
        "longer than 2000",
    ),
    (
        "too-many-sections",
        _with(["sections"], [{"code": f"s{i}", "title": "S", "questions": []} for i in range(41)]),
        "sections",
        "at most 40",
    ),
    (
        "too-many-questions-in-a-section",
        _with(["sections", 0, "questions"], [_question(f"q{i}") for i in range(41)]),
        "sections[0].questions",
        "at most 40",
    ),
    (
        "too-many-questions",
        _with(
            ["sections"],
            [
                {
                    "code": f"s{s}",
                    "title": "S",
                    "questions": [_question(f"q{s}_{q}") for q in range(40)],
                }
                for s in range(6)
            ],
        ),
        "sections",
        "more than 200 questions",
    ),
    (
        "too-many-options",
        _with([*Q0, "options"], [_option() for _ in range(11)]),
        "sections[0].questions[0].options",
        "at most 10",
    ),
    (
        "too-many-triggers",
        _with(
            ["triggers"],
            [{"code": f"t{i}", "name": "T", "what_to_consider": "W"} for i in range(51)],
        ),
        "triggers",
        "at most 50",
    ),
    # Not JSON, not UTF-8
    ("not-json", b"not json at all", "file", "not valid JSON"),
    ("trailing-garbage", _json(questionnaire_data()) + b" and more", "file", "not valid JSON"),
    ("truncated", _json(questionnaire_data())[:-20], "file", "not valid JSON"),
    (
        "latin-1",
        _json(questionnaire_data()).replace(b"Section 1", "Séction".encode("latin-1")),
        "file",
        "not UTF-8",
    ),
    ("utf-16", json.dumps(questionnaire_data()).encode("utf-16"), "file", "not UTF-8"),
]


def _errors_from_service(raw: bytes, actor) -> list[tuple[str, str]]:
    with pytest.raises(QuestionnaireInvalid) as refused:
        questionnaire_import(actor=actor, data=questionnaire_read(raw))
    return refused.value.errors


def _upload(raw: bytes, name: str = "questionnaire.json"):
    upload = io.BytesIO(raw)
    upload.name = name
    return upload


def _assert_names(errors, where: str, words: str) -> None:
    messages = [message for place, message in errors if place == where]
    assert messages, f"no problem at {where}: {errors[:5]}"
    assert any(words in message for message in messages), messages


def _assert_nothing_saved() -> None:
    assert not QuestionnaireVersion.objects.exists()
    assert not Section.objects.exists()
    assert not Question.objects.exists()
    assert not FundingTrigger.objects.exists()


@pytest.mark.parametrize(
    ("raw", "where", "words"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_file_is_refused_by_the_service_naming_the_place(ras_admin, raw, where, words):
    _assert_names(_errors_from_service(raw, ras_admin), where, words)
    _assert_nothing_saved()


@pytest.mark.parametrize(
    ("raw", "where", "words"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_a_malformed_file_gets_a_page_naming_the_place(client, ras_admin, raw, where, words):
    client.force_login(ras_admin)
    response = client.post(reverse(URL), {"file": _upload(raw)})
    assert response.status_code == 200
    assert "The file was not imported." in response.text
    _assert_names(response.context["errors"], where, words)
    assert f"<code>{where}</code>" in response.text
    _assert_nothing_saved()


def test_there_are_many_malformed_files():
    assert len(MALFORMED) >= 52


def test_every_problem_is_listed_at_once_up_to_a_cap(client, ras_admin):
    def many(data):
        question = data["sections"][0]["questions"][0]
        question["options"] = [_option("-1") for _ in range(10)]
        data["sections"][0]["questions"] = [copy.deepcopy(question) for _ in range(40)]

    client.force_login(ras_admin)
    response = client.post(reverse(URL), {"file": _upload(_changed(many))})
    errors = response.context["errors"]
    assert len(errors) == 101  # 100 problems, then a line saying there are more
    assert errors[0] == ("sections[0].questions[0].options[0].points", "cannot be negative")
    assert errors[-1][0] == "file" and "more than 100 problems" in errors[-1][1]
    assert "The file was not imported. 101 problems" in response.text
    _assert_nothing_saved()


def test_two_problems_in_different_places_are_both_named(ras_admin):
    def two(data):
        data["title"] = "\x00"
        data["sections"][1]["questions"][1]["options"][0]["triggers"] = [["x"]]

    errors = _errors_from_service(_changed(two), ras_admin)
    assert [where for where, _ in errors] == [
        "questionnaire.title",
        "sections[1].questions[1].options[0].triggers[0]",
    ]


def test_a_40_mb_upload_is_refused_without_being_kept(client, ras_admin):
    client.force_login(ras_admin)
    raw = b'{"title": "' + b"x" * 40_000_000 + b'"}'
    response = client.post(reverse(URL), {"file": _upload(raw)})
    assert response.status_code == 200
    assert response.context["errors"] == [
        ("file", "is larger than 1 MB: a questionnaire file is far smaller")
    ]
    assert "at most 1 MB." in response.text  # the page says so before anyone tries
    _assert_nothing_saved()


def test_the_size_cap_is_a_setting_and_exact(client, ras_admin, settings):
    raw = _json(questionnaire_data())
    settings.QUESTIONNAIRE_IMPORT_MAX_BYTES = len(raw) + 10
    client.force_login(ras_admin)
    too_big = raw + b" " * 11  # one byte over the cap
    response = client.post(reverse(URL), {"file": _upload(too_big)})
    assert response.context["errors"][0][0] == "file"
    assert "is larger than" in response.context["errors"][0][1]
    _assert_nothing_saved()
    response = client.post(reverse(URL), {"file": _upload(raw + b" " * 10)})  # exactly the cap
    assert response.status_code == 302
    assert QuestionnaireVersion.objects.count() == 1


def test_the_service_reads_at_most_one_byte_more_than_the_cap(settings):
    settings.QUESTIONNAIRE_IMPORT_MAX_BYTES = 1000

    asked = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            asked.append(size)
            return super().read(size)

    upload = Recording(b"[" + b" " * 5_000_000 + b"]")
    with pytest.raises(QuestionnaireInvalid) as refused:
        questionnaire_read(upload)
    assert asked == [1001]
    assert refused.value.errors == [
        ("file", "is larger than 1,000 bytes: a questionnaire file is far smaller")
    ]


def test_a_20000_question_file_is_refused_quickly_by_its_counts(client, ras_admin, settings):
    import time

    settings.QUESTIONNAIRE_IMPORT_MAX_BYTES = 50_000_000  # past the size cap, to the counts
    data = questionnaire_data()
    data["sections"] = [
        {"code": f"s{s}", "title": "S", "questions": [_question(f"q{s}_{q}") for q in range(40)]}
        for s in range(500)
    ]
    client.force_login(ras_admin)
    started = time.monotonic()
    response = client.post(reverse(URL), {"file": _upload(_json(data))})
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    _assert_names(response.context["errors"], "sections", "at most 40")
    _assert_nothing_saved()


def test_an_empty_file_gets_a_message_beside_the_field(client, ras_admin):
    client.force_login(ras_admin)
    response = client.post(reverse(URL), {"file": _upload(b"")})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The submitted file is empty."]
    _assert_nothing_saved()


def test_no_file_gets_a_message_beside_the_field(client, ras_admin):
    client.force_login(ras_admin)
    response = client.post(reverse(URL), {})
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    _assert_nothing_saved()


def test_a_valid_file_still_imports(client, ras_admin):
    client.force_login(ras_admin)
    data = questionnaire_data()
    data["sections"][0]["help_text"] = "Two lines,\r\nwith\ta tab."
    data["sections"][0]["questions"][0]["options"][1]["points"] = "2.5"
    response = client.post(reverse(URL), {"file": _upload(b"\xef\xbb\xbf" + _json(data))})
    version = QuestionnaireVersion.objects.get()
    assert response.url == reverse("assessments:questionnaire_detail", args=[version.pk])
    assert version.sections.count() == 2
    assert version.sections.get(code="s1").help_text == "Two lines,\r\nwith\ta tab."
    assert {str(o.points) for o in Question.objects.get(code="s1_q1").options.all()} == {
        "0.00",
        "2.50",
        "5.00",
    }


def test_points_written_as_json_numbers_import_exactly(ras_admin):
    raw = _points_literal("4.35")
    version = questionnaire_import(actor=ras_admin, data=questionnaire_read(raw))
    option = Question.objects.get(version=version, code="s1_q1").options.get(order=3)
    assert str(option.points) == "4.35"


def test_the_largest_file_the_caps_allow_imports(ras_admin, settings):
    # Kept small by lowering the caps: what matters is that a file at every cap is accepted.
    settings.QUESTIONNAIRE_MAX_SECTIONS = 3
    settings.QUESTIONNAIRE_MAX_QUESTIONS_PER_SECTION = 4
    settings.QUESTIONNAIRE_MAX_QUESTIONS = 12
    settings.QUESTIONNAIRE_MAX_OPTIONS_PER_QUESTION = 4
    data = questionnaire_data(sections=3, questions=4)
    for section in data["sections"]:
        for question in section["questions"]:
            question["options"].append(_option("7"))
    version = questionnaire_import(actor=ras_admin, data=questionnaire_read(_json(data)))
    assert Question.objects.filter(version=version).count() == 12
    data["sections"][2]["questions"].append(_question("one_more"))
    with pytest.raises(QuestionnaireInvalid) as refused:
        questionnaire_import(actor=ras_admin, data=data)
    assert refused.value.errors[0][0] == "sections[2].questions"


def test_the_import_still_needs_the_csrf_token(ras_admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(ras_admin)
    response = client.post(reverse(URL), {"file": _upload(_json(questionnaire_data()))})
    assert response.status_code == 403
    _assert_nothing_saved()
    page = client.get(reverse(URL))
    token = page.context["csrf_token"]
    response = client.post(
        reverse(URL),
        {"csrfmiddlewaretoken": str(token), "file": _upload(_json(questionnaire_data()))},
    )
    assert response.status_code == 302
    assert QuestionnaireVersion.objects.count() == 1


def test_only_questionnaire_editors_may_import(client, worker_a, senior_manager):
    for user in (worker_a, senior_manager):
        client.force_login(user)
        response = client.post(reverse(URL), {"file": _upload(_json(questionnaire_data()))})
        assert response.status_code == 403
    _assert_nothing_saved()
