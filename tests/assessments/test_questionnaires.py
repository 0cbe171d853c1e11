"""Questionnaire versions: import validation, publishing, immutability, copying, pages."""

from __future__ import annotations

import copy
import io
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from assessments.models import (
    TRIGGER_CODE_FIXED_MESSAGE,
    AnswerOption,
    FundingTrigger,
    PublishedVersionImmutable,
    Question,
    QuestionnaireVersion,
    Section,
)
from assessments.roles import Role
from assessments.selectors.questionnaires import PUBLISH_NOT_PERMITTED
from assessments.services.questionnaires import (
    PUBLISH_NEEDS_SECOND_PERSON,
    QuestionnaireInvalid,
    questionnaire_copy_to_draft,
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
    questionnaire_retire,
    questionnaire_touched_by,
)
from assessments.workflows import IllegalTransition
from tests.factories import make_user, questionnaire_data

pytestmark = pytest.mark.django_db

Status = QuestionnaireVersion.Status


def test_import_export_round_trip(ras_admin):
    data = questionnaire_data(sections=3, questions=2)
    version = questionnaire_import(actor=ras_admin, data=data)
    assert version.status == Status.DRAFT
    assert version.history.get().history_user == ras_admin
    assert questionnaire_export(version=version) == data


def test_default_questionnaire_imports_and_publishes(ras_admin, senior_manager, settings):
    path = settings.BASE_DIR / "fixtures" / "default_questionnaire.json"
    version = questionnaire_import(actor=ras_admin, data=json.loads(path.read_text()))
    questionnaire_publish(actor=senior_manager, version=version)
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


def test_publish_retires_the_previous_version(ras_admin, senior_manager):
    first = questionnaire_publish(
        actor=senior_manager,
        version=questionnaire_import(actor=ras_admin, data=questionnaire_data()),
    )
    second = questionnaire_copy_to_draft(actor=ras_admin, version=first)
    assert (second.number, second.status) == (first.number + 1, Status.DRAFT)
    questionnaire_publish(actor=senior_manager, version=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.RETIRED, Status.PUBLISHED)
    assert first.retired_by == senior_manager and second.published_by == senior_manager
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


def test_an_incomplete_draft_cannot_be_published(ras_admin, senior_manager):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    AnswerOption.objects.filter(question__code="s2_q2", order__gt=1).delete()
    with pytest.raises(QuestionnaireInvalid) as caught:
        questionnaire_publish(actor=senior_manager, version=draft)
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

EDIT_ACTIONS = ["questionnaire_retire", "questionnaire_copy"]


@pytest.mark.parametrize(
    "role", ["worker_a", "manager_a", "auditor", "senior_manager", "panel_chair"]
)
def test_only_ras_administrators_edit_questionnaires(client, questionnaire, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("assessments:questionnaire_list")).status_code == 200
    detail = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk]))
    assert detail.status_code == 200
    assert "Copy to a new draft" not in detail.text
    assert "Retire" not in detail.text
    assert client.get(reverse("assessments:questionnaire_import")).status_code == 403
    for action in EDIT_ACTIONS:
        url = reverse(f"assessments:{action}", args=[questionnaire.pk])
        assert client.post(url, {"confirm": "True"}).status_code == 403
    retire = reverse("assessments:questionnaire_retire", args=[questionnaire.pk])
    assert client.get(retire).status_code == 403
    # Senior managers publish (four eyes) but this version is already published.
    publish = client.post(reverse("assessments:questionnaire_publish", args=[questionnaire.pk]))
    assert publish.status_code == (302 if role == "senior_manager" else 403)
    questionnaire.refresh_from_db()
    assert questionnaire.status == Status.PUBLISHED
    assert QuestionnaireVersion.objects.count() == 1
    admin_url = reverse("admin:assessments_question_changelist")
    assert client.get(admin_url).status_code in (302, 403)


def test_anonymous_cannot_see_questionnaires(client, questionnaire):
    response = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk]))
    assert response.status_code == 302


def test_ras_administrator_copies_publishes_and_exports(
    client, ras_admin, senior_manager, questionnaire
):
    client.force_login(ras_admin)
    client.post(reverse("assessments:questionnaire_copy", args=[questionnaire.pk]))
    draft = QuestionnaireVersion.objects.get(status=Status.DRAFT)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert "Edit the draft" in page
    client.force_login(senior_manager)  # four eyes: the copier cannot publish it
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


# --- four eyes: publishing needs someone who did not draft, import or edit the version -------


def test_the_importer_cannot_publish_their_own_version(ras_admin):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    with pytest.raises(PermissionDenied, match=re.escape(PUBLISH_NEEDS_SECOND_PERSON)):
        questionnaire_publish(actor=ras_admin, version=draft)
    draft.refresh_from_db()
    assert (draft.status, draft.published_by) == (Status.DRAFT, None)


def test_someone_who_only_edited_a_question_cannot_publish(client, ras_admin, senior_manager):
    other_admin = make_user("ras.admin2", Role.RAS_ADMINISTRATOR, is_staff=True)
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    question = Question.objects.filter(version=draft).first()
    client.force_login(other_admin)  # edits one question in the admin, nothing else
    form = client.get(reverse("admin:assessments_question_change", args=[question.pk]))
    data = _admin_form_data(form)
    data["text"] = "Reworded question?"
    saved = client.post(reverse("admin:assessments_question_change", args=[question.pk]), data)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    assert question.history.latest().history_user == other_admin
    assert other_admin.pk in questionnaire_touched_by(version=draft)

    with pytest.raises(PermissionDenied, match=re.escape(PUBLISH_NEEDS_SECOND_PERSON)):
        questionnaire_publish(actor=other_admin, version=draft)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert ">Publish</button>" not in page
    assert PUBLISH_NEEDS_SECOND_PERSON in page
    refused = client.post(reverse("assessments:questionnaire_publish", args=[draft.pk]))
    assert refused.status_code == 302
    assert PUBLISH_NEEDS_SECOND_PERSON in client.get(refused.url).text
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT

    # Someone who never touched it may: the senior manager, through the page.
    client.force_login(senior_manager)
    page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
    assert ">Publish</button>" in page
    client.post(reverse("assessments:questionnaire_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert (draft.status, draft.published_by) == (Status.PUBLISHED, senior_manager)
    assert draft.history.latest().history_user == senior_manager


def test_another_ras_administrator_may_publish(ras_admin):
    other_admin = make_user("ras.admin2", Role.RAS_ADMINISTRATOR, is_staff=True)
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    published = questionnaire_publish(actor=other_admin, version=draft)
    assert (published.status, published.created_by, published.published_by) == (
        Status.PUBLISHED,
        ras_admin,
        other_admin,
    )


def test_publishing_needs_the_publish_permission(client, ras_admin, manager_a, auditor):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    for user in (manager_a, auditor):
        with pytest.raises(PermissionDenied, match=re.escape(PUBLISH_NOT_PERMITTED)):
            questionnaire_publish(actor=user, version=draft)
        client.force_login(user)
        page = client.get(reverse("assessments:questionnaire_detail", args=[draft.pk])).text
        assert ">Publish</button>" not in page
        assert PUBLISH_NOT_PERMITTED in page
        response = client.post(reverse("assessments:questionnaire_publish", args=[draft.pk]))
        assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_the_database_refuses_a_version_published_by_its_creator(ras_admin):
    from django.db import InternalError, transaction

    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    with (
        pytest.raises(InternalError, match="must be published by someone other"),
        transaction.atomic(),
    ):
        QuestionnaireVersion.objects.filter(pk=draft.pk).update(
            status=Status.PUBLISHED, published_by=ras_admin
        )


# --- retiring asks for confirmation ----------------------------------------------------------


def test_retiring_asks_for_confirmation_first(client, ras_admin, questionnaire):
    client.force_login(ras_admin)
    detail = client.get(reverse("assessments:questionnaire_detail", args=[questionnaire.pk])).text
    url = reverse("assessments:questionnaire_retire", args=[questionnaire.pk])
    assert f'href="{url}"' in detail  # a link to the confirmation page, not a one-click form

    page = client.get(url)
    assert page.status_code == 200
    assert "No new assessments start on this version." in page.text
    assert "Existing assessments keep it." in page.text
    assert 'name="confirm"' in page.text

    # The old one-click POST, without the confirmation, shows the page and retires nothing.
    bare = client.post(url)
    assert bare.status_code == 200
    assert "No new assessments start on this version." in bare.text
    questionnaire.refresh_from_db()
    assert questionnaire.status == Status.PUBLISHED

    done = client.post(url, {"confirm": "True"})
    assert done.url == reverse("assessments:questionnaire_detail", args=[questionnaire.pk])
    questionnaire.refresh_from_db()
    assert (questionnaire.status, questionnaire.retired_by) == (Status.RETIRED, ras_admin)
    assert questionnaire.history.latest().history_user == ras_admin
    # Nothing more to confirm: a retired version is never retired (or published) again.
    assert client.get(url).url == done.url
    assert client.post(url, {"confirm": "True"}).url == done.url


def test_retiring_keeps_existing_assessments_on_the_version(client, ras_admin, draft_a):
    client.force_login(ras_admin)
    url = reverse("assessments:questionnaire_retire", args=[draft_a.questionnaire_id])
    assert "The 1 assessment already on this version" in client.get(url).text
    client.post(url, {"confirm": "True"})
    draft_a.refresh_from_db()
    assert draft_a.questionnaire.status == Status.RETIRED
    assert draft_a.is_draft


# --- funding trigger codes are fixed once a published version uses them ----------------------


def _admin_form_data(response) -> dict:
    """The admin change form's current values, as the browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = str(value)
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for inline_form in formset.formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value is None or value is False:
                    continue
                key = f"{inline_form.prefix}-{name}"
                if isinstance(value, (list, tuple)):
                    data[key] = [str(v) for v in value]
                else:
                    data[key] = "on" if value is True else str(value)
    return data


def test_a_used_trigger_code_cannot_change_in_the_admin(client, ras_admin, questionnaire):
    trigger = FundingTrigger.objects.get(code="dfg")
    url = reverse("admin:assessments_fundingtrigger_change", args=[trigger.pk])
    client.force_login(ras_admin)
    data = _admin_form_data(client.get(url))
    data["code"] = "dfg_new"
    response = client.post(url, data)
    assert response.status_code == 200
    message = TRIGGER_CODE_FIXED_MESSAGE.format(versions="version 1 (Test SAQ)")
    assert (
        message == "Used by published questionnaire version 1 (Test SAQ): the code cannot change."
    )
    assert response.context["adminform"].form.errors["code"] == [message]
    trigger.refresh_from_db()
    assert trigger.code == "dfg"

    # The wording may still change; only the code is fixed.
    data["code"], data["name"] = "dfg", "Disabled Facilities Grant (DFG)"
    assert client.post(url, data).status_code == 302
    trigger.refresh_from_db()
    assert trigger.name == "Disabled Facilities Grant (DFG)"
    assert trigger.history.latest().history_user == ras_admin


def test_a_trigger_code_used_only_by_drafts_may_change(client, ras_admin):
    questionnaire_import(actor=ras_admin, data=questionnaire_data())
    trigger = FundingTrigger.objects.get(code="dfg")
    url = reverse("admin:assessments_fundingtrigger_change", args=[trigger.pk])
    client.force_login(ras_admin)
    data = _admin_form_data(client.get(url))
    data["code"] = "dfg_new"
    assert client.post(url, data).status_code == 302
    trigger.refresh_from_db()
    assert trigger.code == "dfg_new"


def test_the_message_names_every_version_using_the_code(ras_admin, senior_manager, questionnaire):
    second = questionnaire_copy_to_draft(actor=ras_admin, version=questionnaire)
    questionnaire_publish(actor=senior_manager, version=second)
    trigger = FundingTrigger.objects.get(code="dfg")
    trigger.code = "other"
    with pytest.raises(ValidationError) as caught:
        trigger.full_clean()
    assert caught.value.message_dict["code"] == [
        "Used by published questionnaire versions 1 (Test SAQ) and 2 (Test SAQ): the code "
        "cannot change."
    ]


def test_the_database_refuses_a_used_trigger_code_change(questionnaire):
    from django.db import InternalError, transaction

    with pytest.raises(InternalError, match="cannot change"), transaction.atomic():
        FundingTrigger.objects.filter(code="dfg").update(code="changed")
    assert FundingTrigger.objects.filter(code="dfg").exists()


@pytest.mark.django_db
def test_a_triggers_words_for_the_person_go_out_and_come_back_with_the_questionnaire(
    ras_admin, senior_manager
):
    from assessments.models import FundingTrigger
    from assessments.services.questionnaires import questionnaire_export, questionnaire_import
    from tests.factories import questionnaire_data

    data = questionnaire_data()
    data["triggers"][0]["for_the_person"] = "Ask us about a grant for changes to your home."
    version = questionnaire_import(actor=ras_admin, data=data)

    assert FundingTrigger.objects.get(code="dfg").for_the_person.startswith("Ask us about")
    exported = questionnaire_export(version=version)
    assert exported["triggers"][0]["for_the_person"] == data["triggers"][0]["for_the_person"]
    # A file from before the field existed still imports (the words are left blank).
    older = questionnaire_data(title="Older file")
    older["triggers"][0]["code"] = "dfg_old"
    del older["triggers"][0]["for_the_person"]
    for section in older["sections"]:
        for question in section["questions"]:
            question["options"][2]["triggers"] = ["dfg_old"]
    questionnaire_import(actor=ras_admin, data=older)
    assert FundingTrigger.objects.get(code="dfg_old").for_the_person == ""
