"""Questionnaire versions: import validation, publishing, immutability, copying, pages."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.urls import reverse

from assessments.models import (
    AnswerOption,
    PublishedVersionImmutable,
    Question,
    QuestionnaireVersion,
    Section,
)
from assessments.services import (
    IllegalTransition,
    QuestionnaireInvalid,
    questionnaire_copy_to_draft,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
    questionnaire_retire,
)
from tests.factories import questionnaire_data

pytestmark = pytest.mark.django_db

Status = QuestionnaireVersion.Status


def test_import_export_round_trip(ras_admin):
    data = questionnaire_data(sections=3, questions=2)
    version = questionnaire_import(actor=ras_admin, data=data)
    assert version.status == Status.DRAFT
    assert version.history.get().history_user == ras_admin
    assert questionnaire_export(version=version) == data


def test_default_questionnaire_imports_and_publishes(ras_admin, settings):
    path = settings.BASE_DIR / "fixtures" / "default_questionnaire.json"
    version = questionnaire_import(actor=ras_admin, data=json.loads(path.read_text()))
    questionnaire_publish(actor=ras_admin, version=version)
    assert version.sections.count() == 10
    assert 25 <= Question.objects.filter(version=version).count() <= 35


def _broken(mutate):
    data = questionnaire_data()
    mutate(data)
    return data


INVALID = [
    (
        lambda d: d["sections"][1]["questions"][0].update(code="s1_q1"),
        ("sections[1].questions[0].code", "Question code 's1_q1' is used twice"),
    ),
    (
        lambda d: d["sections"][1].update(code="s1"),
        ("sections[1].code", "Section code 's1' is used twice"),
    ),
    (
        lambda d: d["sections"][0]["questions"][1].update(
            options=d["sections"][0]["questions"][1]["options"][:1]
        ),
        ("sections[0].questions[1].options", "a question needs at least 2 options"),
    ),
    (
        lambda d: d["sections"][0]["questions"][0]["options"][2].update(points="-1"),
        ("sections[0].questions[0].options[2].points", "cannot be negative"),
    ),
    (
        lambda d: d["sections"][0]["questions"][0]["options"][2].update(points="lots"),
        ("sections[0].questions[0].options[2].points", 'must be a number, e.g. "4.5"'),
    ),
    (
        lambda d: d["sections"][0]["questions"][0]["options"][0].update(triggers=["nope"]),
        ("sections[0].questions[0].options[0].triggers", "unknown trigger code 'nope'"),
    ),
    (lambda d: d.update(sections=[]), ("sections", "a questionnaire needs at least one section")),
    (
        lambda d: d["sections"][0].update(code="Bad Code"),
        ("sections[0].code", "'Bad Code' must be lower-case letters, digits and '_'"),
    ),
    (lambda d: d.update(format="other"), ("format", "must be 'open-ras-questionnaire/1'")),
]


@pytest.mark.parametrize(("mutate", "error"), INVALID)
def test_import_refuses_an_invalid_file_whole(ras_admin, mutate, error):
    with pytest.raises(QuestionnaireInvalid) as caught:
        questionnaire_import(actor=ras_admin, data=_broken(mutate))
    assert error in caught.value.errors
    assert not QuestionnaireVersion.objects.exists()
    assert not Section.objects.exists()


def test_import_reports_every_problem_at_once(ras_admin):
    def two_problems(d):
        d["sections"][0]["questions"][0]["options"][1]["points"] = "-2"
        d["sections"][1]["questions"][1]["code"] = "s1_q1"

    with pytest.raises(QuestionnaireInvalid) as caught:
        questionnaire_import(actor=ras_admin, data=_broken(two_problems))
    assert len(caught.value.errors) == 2


# --- transitions -----------------------------------------------------------------------------


def test_publish_retires_the_previous_version(ras_admin):
    first = questionnaire_publish(
        actor=ras_admin, version=questionnaire_import(actor=ras_admin, data=questionnaire_data())
    )
    second = questionnaire_copy_to_draft(actor=ras_admin, version=first)
    assert (second.number, second.status) == (first.number + 1, Status.DRAFT)
    questionnaire_publish(actor=ras_admin, version=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.RETIRED, Status.PUBLISHED)
    assert first.retired_by == ras_admin and second.published_by == ras_admin
    assert QuestionnaireVersion.objects.filter(status=Status.PUBLISHED).count() == 1


def test_illegal_transitions_are_refused(ras_admin, questionnaire):
    with pytest.raises(IllegalTransition):
        questionnaire_publish(actor=ras_admin, version=questionnaire)
    questionnaire_retire(actor=ras_admin, version=questionnaire)
    with pytest.raises(IllegalTransition):
        questionnaire_retire(actor=ras_admin, version=questionnaire)
    with pytest.raises(IllegalTransition):
        questionnaire_publish(actor=ras_admin, version=questionnaire)
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    with pytest.raises(IllegalTransition):
        questionnaire_retire(actor=ras_admin, version=draft)


def test_an_incomplete_draft_cannot_be_published(ras_admin):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    AnswerOption.objects.filter(question__code="s2_q2", order__gt=1).delete()
    with pytest.raises(QuestionnaireInvalid) as caught:
        questionnaire_publish(actor=ras_admin, version=draft)
    assert ("sections[1].questions[1].options", "a question needs at least 2 options") in (
        caught.value.errors
    )
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_published_version_never_changes(questionnaire):
    section = questionnaire.sections.first()
    question = section.questions.first()
    option = question.options.first()
    for change in (
        lambda: setattr(section, "title", "New") or section.save(),
        lambda: setattr(question, "text", "New?") or question.save(),
        lambda: setattr(option, "points", 99) or option.save(),
        lambda: option.delete(),
        lambda: Section.objects.create(version=questionnaire, order=9, code="x", title="X"),
    ):
        with pytest.raises(PublishedVersionImmutable, match="copy it to a new draft"):
            change()
    option.refresh_from_db()
    assert option.points == 0


def test_a_draft_can_be_edited(ras_admin):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    option = AnswerOption.objects.filter(question__version=draft).first()
    option.points = 7
    option.save()
    assert AnswerOption.objects.get(pk=option.pk).points == 7


# --- pages -----------------------------------------------------------------------------------

EDIT_ACTIONS = ["questionnaire_publish", "questionnaire_retire", "questionnaire_copy"]


@pytest.mark.parametrize(
    "role", ["worker_a", "manager_a", "auditor", "senior_manager", "panel_chair"]
)
def test_only_ras_administrators_edit_questionnaires(client, questionnaire, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("assessments:questionnaire_list")).status_code == 200
    detail = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk]))
    assert detail.status_code == 200
    assert "Copy to a new draft" not in detail.text
    assert client.get(reverse("assessments:questionnaire_import")).status_code == 403
    for action in EDIT_ACTIONS:
        url = reverse(f"assessments:{action}", args=[questionnaire.pk])
        assert client.post(url).status_code == 403
    assert QuestionnaireVersion.objects.count() == 1
    admin_url = reverse("admin:assessments_question_changelist")
    assert client.get(admin_url).status_code in (302, 403)


def test_anonymous_cannot_see_questionnaires(client, questionnaire):
    response = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk]))
    assert response.status_code == 302


def test_ras_administrator_copies_publishes_and_exports(client, ras_admin, questionnaire):
    client.force_login(ras_admin)
    client.post(reverse("assessments:questionnaire_copy", args=[questionnaire.pk]))
    draft = QuestionnaireVersion.objects.get(status=Status.DRAFT)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert "Edit the draft" in page
    client.post(reverse("assessments:questionnaire_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED
    exported = client.get(reverse("assessments:questionnaire_export", args=[draft.pk]))
    assert exported["Content-Disposition"] == 'attachment; filename="questionnaire-v2.json"'
    assert json.loads(exported.content) == questionnaire_export(version=draft)


def test_import_page_shows_each_problem_with_where_it_is(client, ras_admin):
    client.force_login(ras_admin)
    data = _broken(lambda d: d["sections"][0]["questions"][0]["options"][1].update(points="-3"))
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "q.json"
    response = client.post(reverse("assessments:questionnaire_import"), {"file": upload})
    assert "The file was not imported. 1 problem" in response.text
    assert "sections[0].questions[0].options[1].points" in response.text
    assert "cannot be negative" in response.text
    assert not QuestionnaireVersion.objects.exists()

    good = io.BytesIO(json.dumps(copy.deepcopy(questionnaire_data())).encode())
    good.name = "q.json"
    response = client.post(reverse("assessments:questionnaire_import"), {"file": good})
    version = QuestionnaireVersion.objects.get()
    assert response.url == reverse("assessments:questionnaire_detail", args=[version.pk])


def test_import_page_refuses_a_file_that_is_not_json(client, ras_admin):
    client.force_login(ras_admin)
    upload = io.BytesIO(b"not json at all")
    upload.name = "q.json"
    response = client.post(reverse("assessments:questionnaire_import"), {"file": upload})
    assert "is not valid JSON" in response.text


def test_admin_edits_drafts_only(client, ras_admin, questionnaire):
    client.force_login(ras_admin)
    question = Question.objects.filter(version=questionnaire).first()
    url = reverse("admin:assessments_question_change", args=[question.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text  # read-only: the version is published
    draft = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    draft_question = Question.objects.filter(version=draft).first()
    page = client.get(reverse("admin:assessments_question_change", args=[draft_question.pk]))
    assert 'name="_save"' in page.text


def test_published_titles_and_option_triggers_never_change(questionnaire):
    from assessments.models import FundingTrigger

    questionnaire.title = "Renamed"
    with pytest.raises(PublishedVersionImmutable):
        questionnaire.save()
    from django.db import transaction

    option = AnswerOption.objects.filter(question__version=questionnaire, order=3).first()
    with pytest.raises(PublishedVersionImmutable), transaction.atomic():
        option.triggers.add(
            FundingTrigger.objects.create(code="new", name="N", what_to_consider="x")
        )
    with pytest.raises(PublishedVersionImmutable), transaction.atomic():
        option.triggers.clear()
    assert list(option.triggers.values_list("code", flat=True)) == ["dfg"]


def test_questionnaire_services_check_the_role(worker_a, questionnaire):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        questionnaire_import(actor=worker_a, data=questionnaire_data())
    with pytest.raises(PermissionDenied):
        questionnaire_copy_to_draft(actor=worker_a, version=questionnaire)
    with pytest.raises(PermissionDenied):
        questionnaire_retire(actor=worker_a, version=questionnaire)
