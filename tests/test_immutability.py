"""Records that cannot be rewritten, held by PostgreSQL itself (migrations assessments 0007
and allocations 0008): `QuerySet.update()`, `.delete()` and raw SQL skip the models' Python
guards, so each is tried here and must be refused by the database, while the legitimate
transitions (withdrawing a letter once, retiring a version, superseding a budget, ending a
plan line...) still go through."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from allocations.models import (
    AgreedBudget,
    IndicativeBudget,
    InformalSupportItem,
    Letter,
    PlanLine,
    RasPolicy,
)
from allocations.services.budgets import budget_recalculate
from allocations.services.letters import letter_issue, letter_withdraw
from allocations.services.plans import (
    plan_authorise,
    plan_informal_add,
    plan_informal_remove,
    plan_line_remove,
    plan_submit,
)
from assessments.models import (
    Answer,
    AnswerOption,
    Assessment,
    EligibilityDetermination,
    FundingTrigger,
    OutcomeFinding,
    Question,
    QuestionnaireVersion,
    Section,
)
from assessments.services.assessments import assessment_start
from assessments.services.questionnaires import questionnaire_import
from tests.factories import make_plan, make_policy, questionnaire_data

pytestmark = pytest.mark.django_db
OptionTrigger = AnswerOption.triggers.through


@contextlib.contextmanager
def refused(match: str | None = None):
    """The statements inside are refused by a PostgreSQL trigger (RAISE EXCEPTION), and
    nothing they did is kept."""
    with pytest.raises(InternalError, match=match), transaction.atomic():
        yield


def raw(sql: str, *params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- Letters -----------------------------------------------------------------------------------


def test_an_issued_letter_never_changes_and_is_withdrawn_only_once(
    submitted_a, person_a, worker_a, manager_a
):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    rows = Letter.objects.filter(pk=letter.pk)
    for change in (
        {"figures_sha256": "0" * 64},
        {"figures": {"indicative_weekly": "999.00"}},
        {"pdf": b"%PDF-1.7 forged"},
        {"sha256": "0" * 64},
        {"issued_at": timezone.now()},
        {"issued_by": manager_a},
        {"withdrawn_reason": "A reason without a withdrawal"},
    ):
        with refused("was issued and never changes"):
            rows.update(**change)
    with refused("cannot be deleted"):
        rows.delete()
    with refused("was issued and never changes"):
        raw("UPDATE allocations_letter SET pdf = %s WHERE id = %s", b"forged", letter.pk)
    with refused("cannot be deleted"):
        raw("DELETE FROM allocations_letter WHERE id = %s", letter.pk)

    # The one change allowed: withdrawal, with who, when and why, through the service.
    withdrawn = letter_withdraw(actor=manager_a, letter=letter, reason="Sent to an old address")
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_by == manager_a
    # Once.
    for change in (
        {"withdrawn_reason": "Another reason"},
        {"withdrawn_at": timezone.now()},
        {"withdrawn_at": None, "withdrawn_by": None, "withdrawn_reason": ""},
    ):
        with refused("can only be withdrawn"):
            rows.update(**change)
    with refused("cannot be deleted"):
        rows.delete()
    stored = Letter.objects.get(pk=letter.pk)
    assert stored.read_pdf() == letter.read_pdf()
    assert stored.withdrawn_reason == "Sent to an old address"


def test_withdrawal_by_a_plain_update_works_once_too(submitted_a, person_a, worker_a):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    rows = Letter.objects.filter(pk=letter.pk)
    assert rows.update(withdrawn_at=timezone.now(), withdrawn_reason="Duplicate") == 1
    with refused("can only be withdrawn"):
        rows.update(withdrawn_at=timezone.now(), withdrawn_reason="Again")


# --- RAS policies ------------------------------------------------------------------------------


def test_an_approved_policy_refuses_update_and_delete(policy):
    rows = RasPolicy.objects.filter(pk=policy.pk)
    for change in (
        {"name": "Renamed"},
        {"price_per_point_gbp": Decimal("9.99")},
        {"status": "draft"},
        {"approved_by": None, "approved_at": None, "status": "draft"},
    ):
        with refused("is approved: it never changes"):
            rows.update(**change)
    with refused("is approved: it never changes"):
        rows.delete()
    with refused("is approved: it never changes"):
        raw("UPDATE allocations_raspolicy SET weeks_per_year = 53 WHERE id = %s", policy.pk)
    assert RasPolicy.objects.get(pk=policy.pk).price_per_point_gbp == policy.price_per_point_gbp


def test_a_draft_policy_can_still_change_and_be_deleted(ras_admin):
    draft = make_policy(ras_admin)
    rows = RasPolicy.objects.filter(pk=draft.pk)
    assert rows.update(name="Renamed draft", price_per_point_gbp=Decimal("5.00")) == 1
    assert rows.delete()[0] >= 1


# --- Questionnaires ----------------------------------------------------------------------------


def test_a_published_version_keeps_its_title_and_number_but_can_be_retired(
    questionnaire, ras_admin
):
    rows = QuestionnaireVersion.objects.filter(pk=questionnaire.pk)
    for change in (
        {"title": "Renamed"},
        {"number": 99},
        {"notes": "Rewritten"},
        {"status": "draft"},
        {"published_by": ras_admin},
    ):
        with refused("can no longer be changed"):
            rows.update(**change)
    with refused("it is kept, never deleted"):
        raw("DELETE FROM assessments_questionnaireversion WHERE id = %s", questionnaire.pk)

    # published → retired is the one step left.
    assert rows.update(status="retired", retired_at=timezone.now(), retired_by=ras_admin) == 1
    for change in ({"status": "published"}, {"retired_by": None}, {"title": "Renamed"}):
        with refused("is retired: it can no longer be changed"):
            rows.update(**change)
    with refused("it is kept, never deleted"):
        raw("DELETE FROM assessments_questionnaireversion WHERE id = %s", questionnaire.pk)


def test_the_parts_of_a_published_version_never_change(questionnaire):
    sections = Section.objects.filter(version=questionnaire)
    questions = Question.objects.filter(version=questionnaire)
    options = AnswerOption.objects.filter(question__version=questionnaire)
    links = OptionTrigger.objects.filter(answeroption__question__version=questionnaire)
    assert links.exists()  # "Lots of help" points to the DFG

    with refused("UPDATE refused on assessments_section"):
        sections.update(title="Renamed")
    with refused("refused on assessments_"):
        sections.delete()
    with refused("INSERT refused on assessments_section"):
        Section.objects.bulk_create(
            [Section(version=questionnaire, order=99, code="extra", title="Extra")]
        )
    with refused("UPDATE refused on assessments_question"):
        questions.update(text="Rewritten?")
    with refused("refused on assessments_"):
        questions.delete()
    with refused("UPDATE refused on assessments_answeroption"):
        options.update(points=Decimal("50"))
    with refused("refused on assessments_"):
        options.delete()
    with refused("UPDATE refused on assessments_answeroption"):
        raw("UPDATE assessments_answeroption SET label = 'x' WHERE id = %s", options[0].pk)

    # The options' funding triggers (the M2M table) too.
    with refused("DELETE refused on assessments_answeroption_triggers"):
        links.delete()
    untriggered = options.filter(triggers__isnull=True).first()
    with refused("INSERT refused on assessments_answeroption_triggers"):
        OptionTrigger.objects.create(
            answeroption=untriggered, fundingtrigger=FundingTrigger.objects.get(code="dfg")
        )
    other = FundingTrigger.objects.create(code="chc", name="CHC", what_to_consider="NHS.")
    with refused("UPDATE refused on assessments_answeroption_triggers"):
        links.update(fundingtrigger=other)

    assert sections.count() == 2 and questions.count() == 4 and options.count() == 12
    assert set(options.values_list("points", flat=True)) == {0, 2, 5}


def test_a_draft_version_and_its_parts_can_still_change(ras_admin):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data(title="Draft"))
    options = AnswerOption.objects.filter(question__version=draft)
    assert QuestionnaireVersion.objects.filter(pk=draft.pk).update(title="Renamed") == 1
    assert Section.objects.filter(version=draft).update(title="Renamed") == 2
    assert Question.objects.filter(version=draft).update(text="Rewritten?") == 4
    assert options.update(label="Relabelled") == 12
    links = OptionTrigger.objects.filter(answeroption__question__version=draft)
    assert links.delete()[0] == 4
    OptionTrigger.objects.create(
        answeroption=options.first(), fundingtrigger=FundingTrigger.objects.get(code="dfg")
    )
    QuestionnaireVersion.objects.filter(pk=draft.pk).delete()
    assert not Section.objects.filter(version_id=draft.pk).exists()


def test_publishing_needs_a_second_person_in_the_database(ras_admin, senior_manager):
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data(title="Draft"))
    assert draft.created_by == ras_admin
    rows = QuestionnaireVersion.objects.filter(pk=draft.pk)
    with refused("must be published by someone other than the person who drafted"):
        rows.update(status="published", published_at=timezone.now(), published_by=ras_admin)
    with refused("must be published by someone other"):
        rows.update(status="published", published_at=timezone.now(), published_by=None)
    with refused("must be published by someone other"):
        rows.update(status="retired", retired_at=timezone.now(), retired_by=senior_manager)
    assert rows.get().status == "draft"
    assert rows.update(status="published", published_at=timezone.now(), published_by=senior_manager)


def test_a_version_cannot_be_written_as_published_by_its_own_author(ras_admin, senior_manager):
    """Inserting a row that is already published skips the draft → published step: the same
    rule holds."""
    version = {"title": "Written directly", "number": 7, "created_by": ras_admin}
    for publisher in (ras_admin, None):
        with refused("must be published by someone other"):
            QuestionnaireVersion.objects.create(
                **version, status="published", published_at=timezone.now(), published_by=publisher
            )
    written = QuestionnaireVersion.objects.create(
        **version, status="published", published_at=timezone.now(), published_by=senior_manager
    )
    assert written.status == "published"


def test_a_funding_trigger_code_is_fixed_once_a_published_version_uses_it(questionnaire, ras_admin):
    dfg = FundingTrigger.objects.filter(code="dfg")
    with refused('code "dfg" is used by published questionnaire version'):
        dfg.update(code="dfg_renamed")
    with refused('code "dfg" is used by published questionnaire'):
        raw("DELETE FROM assessments_fundingtrigger WHERE code = 'dfg'")
    # Its wording is maintained by RAS administrators: that may change.
    assert dfg.update(name="Disabled Facilities Grant (DFG)") == 1

    # A trigger only a draft uses can still be renamed (and then deleted).
    draft = questionnaire_import(actor=ras_admin, data=questionnaire_data(title="Next"))
    chc = FundingTrigger.objects.create(code="chc", name="CHC", what_to_consider="NHS.")
    OptionTrigger.objects.create(
        answeroption=AnswerOption.objects.filter(question__version=draft).first(),
        fundingtrigger=chc,
    )
    assert FundingTrigger.objects.filter(pk=chc.pk).update(code="nhs_chc") == 1
    assert FundingTrigger.objects.filter(pk=chc.pk).delete()[0] >= 1


# --- Assessments -------------------------------------------------------------------------------


def test_a_submitted_assessments_answers_never_change(submitted_a):
    answers = Answer.objects.filter(assessment=submitted_a)
    answer = answers.select_related("question").first()
    other_option = answer.question.options.exclude(pk=answer.option_id).first()
    with refused("is submitted: UPDATE refused on assessments_answer"):
        answers.filter(pk=answer.pk).update(option=other_option)
    with refused("is submitted: UPDATE refused on assessments_answer"):
        answers.update(evidence="Rewritten afterwards")
    with refused("is submitted: DELETE refused on assessments_answer"):
        answers.delete()
    with refused("is submitted: INSERT refused on assessments_answer"):
        Answer.objects.bulk_create(
            [
                Answer(
                    assessment=submitted_a,
                    question=answer.question,
                    option=other_option,
                    answered_by=answer.answered_by,
                )
            ]
        )
    with refused("is submitted: UPDATE refused on assessments_answer"):
        raw(
            "UPDATE assessments_answer SET option_id = %s WHERE id = %s",
            other_option.pk,
            answer.pk,
        )
    assert answers.get(pk=answer.pk).option_id == answer.option_id


def test_a_submitted_assessments_eligibility_never_changes(submitted_a):
    decision = EligibilityDetermination.objects.filter(assessment=submitted_a)
    assert decision.get().eligible
    with refused("UPDATE refused on assessments_eligibilitydetermination"):
        decision.update(eligible=False, significant_impact=False)
    with refused("DELETE refused on assessments_eligibilitydetermination"):
        # (QuerySet.delete() stops in Python first: its findings PROTECT it.)
        raw("DELETE FROM assessments_eligibilitydetermination WHERE id = %s", decision.get().pk)
    findings = OutcomeFinding.objects.filter(determination__assessment=submitted_a)
    before = list(findings.values_list("outcome", "needs_assistance", "endangers"))
    assert ("nutrition", True, False) in before and ("hygiene", False, True) in before
    with refused("UPDATE refused on assessments_outcomefinding"):
        findings.update(needs_assistance=False, endangers=False)
    with refused("DELETE refused on assessments_outcomefinding"):
        findings.delete()
    with refused("INSERT refused on assessments_outcomefinding"):
        OutcomeFinding.objects.create(
            determination=decision.get(),
            outcome="toilet",
            needs_assistance=True,
            pain_or_distress=False,
            endangers=False,
            significantly_longer=False,
        )
    assert decision.get().eligible
    assert list(findings.values_list("outcome", "needs_assistance", "endangers")) == before


def test_a_submitted_assessment_is_locked_but_can_be_superseded(submitted_a, worker_a):
    rows = Assessment.objects.filter(pk=submitted_a.pk)
    for change in (
        {"informal_support": "most"},
        {"submitted_at": timezone.now()},
        {"status": "draft"},
        {"status": "withdrawn"},
    ):
        with refused("is submitted: it can no longer be changed"):
            rows.update(**change)
    with refused("Assessments are kept"):
        # (QuerySet.delete() stops in Python first: its answers PROTECT it.)
        raw("DELETE FROM assessments_assessment WHERE id = %s", submitted_a.pk)

    # submitted → superseded, by the person's next assessment, remains.
    successor = assessment_start(actor=worker_a, person=submitted_a.person, supported_by="self")
    assert rows.update(status="superseded", superseded_at=timezone.now(), superseded_by=successor)
    with refused("is superseded: it can no longer be changed"):
        rows.update(superseded_by=None)
    with refused("is superseded: it can no longer be changed"):
        rows.update(status="submitted")


def test_a_draft_assessments_answers_can_still_change(draft_a, worker_a):
    from tests.factories import answer_everything

    draft = answer_everything(draft_a, worker_a)
    answers = Answer.objects.filter(assessment=draft)
    assert answers.update(evidence="Checked with the person") == 4
    assert answers.delete()[0] == 4


# --- Indicative budgets ------------------------------------------------------------------------


def test_a_current_budget_keeps_its_figures_but_can_be_superseded(submitted_a, person_a):
    budget = IndicativeBudget.objects.get(person=person_a)
    assert budget.status == "current"
    rows = IndicativeBudget.objects.filter(pk=budget.pk)
    for change in (
        {"indicative_weekly_gbp": Decimal("1.00")},
        {"annual_gbp": Decimal("52.00")},
        {"raw_points": Decimal("99")},
        {"breakdown": {}},
        {"reason": "Rewritten"},
        {"created_at": timezone.now()},
    ):
        with refused("keeps the figures it was calculated with"):
            rows.update(**change)
    with refused("cannot be deleted"):
        rows.delete()
    with refused("keeps the figures it was calculated with"):
        raw(
            "UPDATE allocations_indicativebudget SET indicative_weekly_gbp = 0 WHERE id = %s",
            budget.pk,
        )

    # current → superseded is a status, not a figure.
    assert rows.update(status="superseded", ended_at=timezone.now()) == 1


def test_a_superseded_budget_never_changes_at_all(submitted_a, person_a, manager_a):
    first = IndicativeBudget.objects.get(person=person_a)
    second = budget_recalculate(actor=manager_a, person=person_a, reason="Cost checked")
    first.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "current")
    rows = IndicativeBudget.objects.filter(pk=first.pk)
    for change in (
        {"status": "current"},
        {"end_reason": "Added afterwards"},
        {"ended_at": None},
        {"decision_reason": "Added afterwards"},
        {"indicative_weekly_gbp": Decimal("1.00")},
    ):
        with refused("is superseded: it never changes"):
            rows.update(**change)
    with refused("cannot be deleted"):
        # (QuerySet.delete() stops in Python first: the new version PROTECTs it.)
        raw("DELETE FROM allocations_indicativebudget WHERE id = %s", first.pk)
    with refused("is superseded: it never changes"):
        raw("UPDATE allocations_indicativebudget SET end_reason = 'x' WHERE id = %s", first.pk)


# --- Support plans and agreed budgets ----------------------------------------------------------


@pytest.fixture
def plan_a(submitted_a, person_a, worker_a):
    """A draft plan costing exactly the indicative £120.00 a week, with named informal
    support as well as its line."""
    plan = make_plan(person_a, worker_a, weekly="120.00")
    plan_informal_add(
        actor=worker_a, plan=plan, outcome="nutrition", who="Her daughter", what="Cooks on Sundays"
    )
    return plan


def test_an_agreed_budgets_money_never_changes_but_it_can_end(plan_a, worker_a, manager_a):
    agreed = plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan_a))
    rows = AgreedBudget.objects.filter(pk=agreed.pk)
    for change in (
        {"weekly_gbp": Decimal("10.00"), "difference_reason": "Changed"},
        {"council_weekly_gbp": Decimal("0")},
        {"contribution_weekly_gbp": Decimal("5.00")},
        {"difference_reason": "Rewritten"},
        {"review_date": agreed.review_date.replace(year=agreed.review_date.year + 5)},
        {"agreed_by": worker_a},
    ):
        with refused("keeps what was agreed"):
            rows.update(**change)
    with refused("cannot be deleted"):
        rows.delete()
    with refused("keeps what was agreed"):
        raw("UPDATE allocations_agreedbudget SET weekly_gbp = 1 WHERE id = %s", agreed.pk)

    # current → ended (a later plan is agreed) is a status, not money.
    assert rows.update(status="ended", ended_at=timezone.now()) == 1
    with refused("keeps what was agreed"):
        rows.update(status="current", ended_at=None)
    assert rows.get().weekly_gbp == agreed.weekly_gbp


def test_plan_lines_and_informal_support_are_ended_once_never_deleted(plan_a, worker_a):
    line = PlanLine.objects.get(plan=plan_a)
    item = InformalSupportItem.objects.get(plan=plan_a)
    for model, row in ((PlanLine, line), (InformalSupportItem, item)):
        rows = model.objects.filter(pk=row.pk)
        table = model._meta.db_table
        with refused("ended, never deleted"):
            rows.delete()
        with refused("ended, never deleted"):
            raw(f"DELETE FROM {table} WHERE id = %s", row.pk)
        with refused("can only be ended, once"):
            rows.update(plan=plan_a)  # even a change to nothing but the same values
        with refused("can only be ended, once"):
            raw(f"UPDATE {table} SET plan_id = plan_id WHERE id = %s", row.pk)
    with refused("can only be ended, once"):
        PlanLine.objects.filter(pk=line.pk).update(unit_cost_gbp=Decimal("1.00"))
    with refused("can only be ended, once"):
        InformalSupportItem.objects.filter(pk=item.pk).update(who="Someone else")

    # Ending, once, through the plan's own services.
    plan_line_remove(actor=worker_a, plan=plan_a, line_id=line.pk)
    plan_informal_remove(actor=worker_a, plan=plan_a, item_id=item.pk)
    for model, row in ((PlanLine, line), (InformalSupportItem, item)):
        rows = model.objects.filter(pk=row.pk)
        ended = rows.get()
        assert ended.ended_at is not None and ended.ended_by == worker_a
        with refused("can only be ended, once"):
            rows.update(ended_at=timezone.now())
        with refused("can only be ended, once"):
            rows.update(ended_at=None, ended_by=None)
        with refused("ended, never deleted"):
            rows.delete()
    assert not PlanLine.objects.live().filter(plan=plan_a).exists()
    assert PlanLine.objects.filter(plan=plan_a).count() == 1


# --- Calibration evidence ----------------------------------------------------------------------


def test_a_calibration_sample_its_cases_and_its_runs_are_never_rewritten(ras_admin):
    from allocations.models import CalibrationCase, CalibrationRun, CalibrationSample
    from allocations.services.calibration import calibration_run, sample_load

    sample = sample_load(
        actor=ras_admin,
        name="Desk sample",
        data=b"reference,client_group,points,weekly_cost\nR1,older_people,10,100\n"
        b"R2,older_people,20,190\n",
        filename="desk.csv",
    )
    run = calibration_run(actor=ras_admin, sample=sample, method="ratio")
    cases = CalibrationCase.objects.filter(sample=sample)
    for rows, change in (
        (CalibrationSample.objects.filter(pk=sample.pk), {"name": "Renamed"}),
        (cases, {"weekly_cost_gbp": Decimal("1.00")}),
        (CalibrationRun.objects.filter(pk=run.pk), {"results": {}}),
    ):
        with refused("Calibration evidence is kept as it was made"):
            rows.update(**change)
    for rows in (cases, CalibrationRun.objects.filter(pk=run.pk)):
        with refused("Calibration evidence is kept as it was made"):
            rows.delete()
    # (Django's PROTECT stops a sample's .delete() before SQL; PostgreSQL stops raw SQL.)
    with refused("Calibration evidence is kept as it was made"):
        raw("DELETE FROM allocations_calibrationcase WHERE sample_id = %s", sample.pk)
    with refused("Calibration evidence is kept as it was made"):
        raw("DELETE FROM allocations_calibrationsample WHERE id = %s", sample.pk)
    assert sorted(cases.values_list("weekly_cost_gbp", flat=True)) == [100, 190]
    assert CalibrationRun.objects.get(pk=run.pk).results == run.results
