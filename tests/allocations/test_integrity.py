"""Rules that must hold on every path: ended budgets, plans that follow the budget, reasons
for every difference, no silent lower agreed budget, four eyes over the whole history, no
policy in the past, the transitional rule in words, and finite numbers in every form."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from allocations.decisions import ADOPT, KEEP
from allocations.letters.kinds import letter_content
from allocations.letters.rendering import render_html
from allocations.models import AgreedBudget, IndicativeBudget, RasPolicy, SupportPlan
from allocations.selectors.budgets import gbp
from allocations.selectors.repricing import repricing_rows
from allocations.services.budgets import budget_recalculate
from allocations.services.plans import (
    DIFFERENCE_REASON_NEEDED,
    PlanIncomplete,
    PlanStateError,
    agreed_budget_decide,
    plan_authorise,
    plan_line_add,
    plan_start,
    plan_submit,
    plan_update,
)
from allocations.services.policies import (
    EFFECTIVE_IN_PAST,
    FOUR_EYES,
    policy_approve,
    policy_create_draft,
    policy_update_draft,
)
from assessments.roles import Role
from assessments.services.assessments import assessment_start, assessment_submit
from assessments.services.people import person_update
from panels.models import PanelReferral
from tests.factories import (
    POLICY_FORM,
    SPEC_POLICY,
    complete_assessment,
    date_parts,
    make_person,
    make_plan,
    make_policy,
    make_user,
    plan_line,
)

pytestmark = pytest.mark.django_db
Status = IndicativeBudget.Status


def _reassess(person, worker, *, eligible: bool):
    draft = assessment_start(actor=worker, person=person, supported_by="family")
    ready = complete_assessment(draft, worker, eligible=eligible)
    return assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)


def _recalculate_at(person, manager, cost: str, reason: str = "Package cost corrected"):
    person_update(actor=manager, person=person, data={"existing_weekly_cost_gbp": Decimal(cost)})
    return budget_recalculate(actor=manager, person=person, reason=reason)


# --- A reassessment found not eligible ends the current budget --------------------------------


def test_a_reassessment_found_not_eligible_ends_the_budget_and_says_why(
    client, submitted_a, person_a, worker_a, policy
):
    budget = IndicativeBudget.objects.get()
    plan = make_plan(person_a, worker_a, weekly="120")
    second = _reassess(person_a, worker_a, eligible=False)

    budget.refresh_from_db()
    assert budget.status == Status.ENDED
    assert f"assessment {second.pk}" in budget.end_reason and "not eligible" in budget.end_reason
    ending = budget.history.latest()
    assert ending.history_user == worker_a and ending.end_reason == budget.end_reason
    # No budget to plan against, nothing to re-price, and the open plan is closed.
    with pytest.raises(PlanStateError):
        plan_start(actor=worker_a, person=person_a)
    plan.refresh_from_db()
    assert plan.status == SupportPlan.Status.CLOSED and "start a new one" in plan.closed_reason
    assert person_a.pk not in {row.person_id for row in repricing_rows(policy)}

    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert "No current indicative budget" in page and f"assessment {second.pk}" in page
    assert "Start a support plan" not in page
    detail = client.get(reverse("allocations:budget_detail", args=[budget.pk])).text
    assert "Why it ended" in detail and f"assessment {second.pk}" in detail


def test_a_lower_figure_awaiting_a_decision_ends_too(submitted_a, person_a, worker_a, manager_a):
    lower = _recalculate_at(person_a, manager_a, "90")
    assert lower.status == Status.AWAITING_DECISION
    _reassess(person_a, worker_a, eligible=False)
    assert set(IndicativeBudget.objects.values_list("status", flat=True)) == {Status.ENDED}


# --- An open support plan follows the current budget -----------------------------------------


def test_a_plan_being_written_is_compared_with_the_new_figure(
    submitted_a, person_a, worker_a, manager_a
):
    plan = make_plan(person_a, worker_a, weekly="120")
    new = _recalculate_at(person_a, manager_a, "150")
    plan.refresh_from_db()
    assert plan.indicative_budget == new and plan.status == SupportPlan.Status.DRAFT
    assert "changed from £120.00 to £150.00" in plan.history.latest().history_change_reason
    # The plan (£120) is now 20% under the £150 figure: a reason is needed to submit it.
    with pytest.raises(PlanIncomplete) as refused:
        plan_submit(actor=worker_a, plan=plan)
    assert any("20.00%" in problem for problem in refused.value.problems)


def test_a_submitted_plan_goes_back_to_the_worker_when_the_figure_changes(
    client, submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120"))
    assert plan.status == SupportPlan.Status.AWAITING_AUTHORISATION
    new = _recalculate_at(person_a, manager_a, "150")
    plan.refresh_from_db()
    assert (plan.status, plan.indicative_budget) == (SupportPlan.Status.RETURNED, new)
    assert "submit it again" in plan.returned_comments
    client.force_login(worker_a)
    assert "changed from £120.00 to £150.00" in client.get(
        reverse("allocations:plan_detail", args=[plan.pk])
    ).text.replace("&#x27;", "'")


def test_a_plan_at_the_panel_is_withdrawn_from_it_when_the_figure_changes(
    submitted_a, person_a, worker_a, manager_a
):
    plan = make_plan(
        person_a, worker_a, weekly="120", risk_referral=True, risk_reasons="Falls at night."
    )
    plan = plan_submit(actor=worker_a, plan=plan)
    referral = PanelReferral.objects.get(plan=plan)
    _recalculate_at(person_a, manager_a, "150")
    referral.refresh_from_db()
    plan.refresh_from_db()
    assert plan.status == SupportPlan.Status.RETURNED
    assert referral.status == PanelReferral.Status.WITHDRAWN
    assert "changed from £120.00 to £150.00" in referral.withdrawn_reason


# --- Any difference between the agreed and the indicative budget carries a reason ------------


def test_a_small_difference_inside_the_tolerance_needs_a_reason(
    submitted_a, person_a, worker_a, manager_a
):
    plan = make_plan(person_a, worker_a, weekly="121")  # 0.83% over £120: inside 10%
    with pytest.raises(PlanIncomplete) as refused:
        plan_submit(actor=worker_a, plan=plan)
    assert (
        DIFFERENCE_REASON_NEEDED.format(difference=gbp("1"), percent=Decimal("0.83"))
        in refused.value.problems
    )
    plan_update(actor=worker_a, plan=plan, data={"difference_reason": "Agency rate rose by £1."})
    plan = plan_submit(actor=worker_a, plan=plan)
    agreed = plan_authorise(actor=manager_a, plan=plan)
    assert agreed.difference_reason == "Agency rate rose by £1."


def test_the_database_refuses_an_agreed_budget_that_differs_without_a_reason(
    submitted_a, person_a, worker_a, manager_a
):
    agreed = plan_authorise(
        actor=manager_a,
        plan=plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120")),
    )
    assert agreed.difference_reason == ""  # no difference, no reason needed
    agreed.pk, agreed.status, agreed.weekly_gbp = None, AgreedBudget.Status.ENDED, Decimal("119")
    agreed.plan = SupportPlan.objects.create(
        person=person_a,
        indicative_budget=agreed.plan.indicative_budget,
        created_by=worker_a,
        updated_by=worker_a,
    )
    # A second agreed plan, made behind the services' back to reach the database's own rule.
    SupportPlan.objects.filter(pk=agreed.plan.pk).update(status=SupportPlan.Status.AGREED)
    # bulk_create skips save() (and its workflow guard) to reach the database's own rule.
    with pytest.raises(IntegrityError, match="agreed_difference_has_reason"), transaction.atomic():
        AgreedBudget.objects.bulk_create([agreed])


# --- A lower agreed budget is never silent ---------------------------------------------------


def _agree(person, worker, manager, weekly: str, reason: str = ""):
    plan = make_plan(person, worker, weekly=weekly, difference_reason=reason)
    return plan_authorise(actor=manager, plan=plan_submit(actor=worker, plan=plan))


def test_a_lower_agreed_budget_waits_for_a_managers_decision(
    client, submitted_a, person_a, worker_a, manager_a, worker_b, manager_b
):
    first = _agree(person_a, worker_a, manager_a, "120")
    lower = _agree(person_a, worker_a, manager_a, "100", reason="Fewer hours suit her now.")
    first.refresh_from_db()
    assert lower.status == AgreedBudget.Status.AWAITING_DECISION and lower.replaces == first
    assert first.status == AgreedBudget.Status.CURRENT  # still in force

    client.force_login(manager_a)
    assert f"{person_a.full_name}" in client.get(reverse("allocations:decisions")).text
    url = reverse("allocations:agreed_decide", args=[lower.pk])
    no_reason = client.post(url, {"decision": ADOPT, "reason": ""})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.text
    with pytest.raises(PermissionDenied):
        agreed_budget_decide(actor=worker_a, agreed=lower, decision=ADOPT, reason="x")
    client.force_login(manager_b)  # another team's manager cannot even see it
    assert client.get(url).status_code == 404
    client.force_login(manager_a)
    client.post(url, {"decision": ADOPT, "reason": "Agreed with her and her daughter."})
    lower.refresh_from_db()
    first.refresh_from_db()
    assert (lower.status, first.status) == (AgreedBudget.Status.CURRENT, AgreedBudget.Status.ENDED)
    assert lower.decided_by == manager_a and lower.history.latest().history_user == manager_a


def test_keeping_the_current_agreed_budget(submitted_a, person_a, worker_a, manager_a):
    first = _agree(person_a, worker_a, manager_a, "120")
    lower = _agree(person_a, worker_a, manager_a, "100", reason="Fewer hours.")
    agreed_budget_decide(actor=manager_a, agreed=lower, decision=KEEP, reason="Needs unchanged.")
    lower.refresh_from_db()
    first.refresh_from_db()
    assert lower.status == AgreedBudget.Status.NOT_ADOPTED
    assert first.status == AgreedBudget.Status.CURRENT


def test_a_higher_agreed_budget_replaces_the_current_one_at_once(
    submitted_a, person_a, worker_a, manager_a
):
    first = _agree(person_a, worker_a, manager_a, "120")
    higher = _agree(person_a, worker_a, manager_a, "125", reason="Extra visit.")
    first.refresh_from_db()
    assert (higher.status, first.status) == (
        AgreedBudget.Status.CURRENT,
        AgreedBudget.Status.ENDED,
    )


# --- Policies: four eyes over the whole history; never in the past ---------------------------


def test_nobody_who_ever_edited_a_draft_approves_it(ras_admin, senior_manager, client):
    colleague = make_user("ras.admin2", Role.RAS_ADMINISTRATOR)
    draft = make_policy(ras_admin, effective_from=timezone.localdate())
    draft = policy_update_draft(actor=colleague, policy=draft, data={"notes": "Checked."})
    draft = policy_update_draft(actor=ras_admin, policy=draft, data={"notes": "Final."})
    assert colleague.pk not in (draft.created_by_id, draft.updated_by_id)
    with pytest.raises(PermissionDenied, match=FOUR_EYES):
        policy_approve(actor=colleague, policy=draft)
    client.force_login(colleague)
    detail = client.get(reverse("allocations:policy_detail", args=[draft.pk])).text
    assert "Approve</button>" not in detail and "You drafted or edited this version" in detail
    assert policy_approve(actor=senior_manager, policy=draft).status == RasPolicy.Status.APPROVED


def test_a_policy_cannot_take_effect_in_the_past(client, ras_admin, senior_manager):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        policy_create_draft(
            actor=ras_admin,
            data={**SPEC_POLICY, "effective_from": today - datetime.timedelta(days=1)},
        )
    assert refused.value.message_dict["effective_from"] == [EFFECTIVE_IN_PAST.format(today=today)]
    tomorrow = today + datetime.timedelta(days=1)
    draft = make_policy(ras_admin, effective_from=tomorrow)
    later = time_machine.travel(timezone.now() + datetime.timedelta(days=3), tick=False)
    with later, pytest.raises(ValidationError, match="cannot take effect in the past"):
        policy_approve(actor=senior_manager, policy=draft)
    assert policy_approve(actor=senior_manager, policy=draft).status == RasPolicy.Status.APPROVED
    client.force_login(ras_admin)
    form = client.get(reverse("allocations:policy_create")).text
    assert "on or after the day it is approved" in form


# --- Transitional protection says what it does ----------------------------------------------


def test_the_existing_package_rule_is_never_called_protection(
    client, worker_a, questionnaire, policy
):
    person = make_person(actor=worker_a, existing_weekly_cost_gbp=Decimal("20.00"))
    _reassess(person, worker_a, eligible=True)
    budget = IndicativeBudget.objects.get(person=person)
    # 8 points: RAS £37.09; the current support costs £20.00, and that is the figure.
    assert (budget.indicative_weekly_gbp, budget.ras_weekly_gbp) == (
        Decimal("20.00"),
        Decimal("37.09"),
    )
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[person.pk])).text
    letter = render_html(letter_content("indicative", person), person, timezone.localdate())
    rules = client.get(reverse("allocations:rules")).text
    for text in (page, letter, rules):
        assert "protect" not in text.lower()
    assert "£17.09 less than the RAS figure of £37.09" in page
    assert "Based on the cost of the current support" in page
    assert "your indicative budget is the cost of your current support" in letter
    assert "This can be less than the RAS figure" in rules


def test_the_higher_of_rule_never_gives_less_than_the_current_support(
    client, worker_a, ras_admin, senior_manager, questionnaire
):
    make_policy(ras_admin, senior_manager, transitional_rule="higher_of")
    lower_cost = make_person(actor=worker_a, existing_weekly_cost_gbp=Decimal("20.00"))
    higher_cost = make_person(actor=worker_a, existing_weekly_cost_gbp=Decimal("610.00"))
    for person in (lower_cost, higher_cost):
        _reassess(person, worker_a, eligible=True)
    low = IndicativeBudget.objects.get(person=lower_cost)
    high = IndicativeBudget.objects.get(person=higher_cost)
    assert (low.indicative_weekly_gbp, low.basis) == (Decimal("37.09"), "ras")
    assert (high.indicative_weekly_gbp, high.basis) == (Decimal("610.00"), "existing_package")
    client.force_login(worker_a)
    page = client.get(reverse("assessments:person_detail", args=[higher_cost.pk])).text
    assert "no one gets less than their current support" in page
    assert "whichever is higher" in client.get(reverse("allocations:rules")).text


def test_the_policy_form_offers_both_transitional_rules(client, ras_admin):
    client.force_login(ras_admin)
    form = client.get(reverse("allocations:policy_create")).text
    assert 'value="existing_package"' in form and 'value="higher_of"' in form


# --- Numbers are finite in every form ---------------------------------------------------------


POLICY_POST = {**POLICY_FORM, **date_parts("effective_from", "2099-04-01")}
ODD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "sNaN"]


@pytest.mark.parametrize("odd", ODD_NUMBERS)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_per_point_gbp", "{odd}"),
        ("weeks_per_year", "{odd}"),
        ("panel_threshold_weekly_gbp", "{odd}"),
        ("client_group_factors", "learning_disability: {odd}"),
        ("informal_support_reductions", "none: 0\nsome: {odd}\nsubstantial: 20\nmost: 30"),
        ("carer_impact_multipliers", "low: {odd}\nmoderate: 0.5\nhigh: 0"),
        ("contingency_bands", "100: 5\n{odd}: 10\nabove: 26"),
    ],
)
def test_the_policy_form_refuses_odd_numbers_beside_the_field(client, ras_admin, field, value, odd):
    client.force_login(ras_admin)
    response = client.post(
        reverse("allocations:policy_create"), {**POLICY_POST, field: value.format(odd=odd)}
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not RasPolicy.objects.exists()


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_the_person_form_refuses_odd_numbers(client, worker_a, person_a, odd):
    from tests.factories import form_data, person_data

    client.force_login(worker_a)
    data = form_data(person_data(person_a.team, existing_weekly_cost_gbp=odd))
    data["lock_version"] = str(person_a.lock_version)
    response = client.post(reverse("assessments:person_edit", args=[person_a.pk]), data)
    assert response.status_code == 200
    assert "existing_weekly_cost_gbp" in response.context["form"].errors


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_the_plan_forms_refuse_odd_numbers(client, submitted_a, person_a, worker_a, odd):
    plan = make_plan(person_a, worker_a, weekly="120")
    client.force_login(worker_a)
    line = {
        "line-category": "pa_hours",
        "line-description": "PA",
        "line-quantity": odd,
        "line-unit": "hour",
        "line-unit_cost_gbp": odd,
        "line-frequency": "week",
    }
    response = client.post(reverse("allocations:plan_line_add", args=[plan.pk]), line)
    assert response.status_code == 200
    assert {"quantity", "unit_cost_gbp"} <= set(response.context["line_form"].errors)
    settings = {"management": "direct_payment"}
    response = client.post(
        reverse("allocations:plan_settings", args=[plan.pk]),
        {**settings, "contribution_weekly_gbp": odd},
    )
    assert response.status_code == 200
    assert "contribution_weekly_gbp" in response.context["settings_form"].errors
    assert plan.lines.live().count() == 1


@pytest.mark.parametrize("odd", ["NaN", "Infinity", "-Infinity", "1e309", "sNaN"])
def test_a_questionnaire_import_refuses_odd_points_naming_the_row(ras_admin, odd):
    import json

    from assessments.models import QuestionnaireVersion
    from assessments.services.questionnaires import QuestionnaireInvalid, questionnaire_import
    from tests.factories import questionnaire_data

    data = questionnaire_data()
    data["sections"][0]["questions"][1]["options"][2]["points"] = odd
    as_literal = json.dumps(data).replace(f'"{odd}"', odd)  # NaN, Infinity: Python's JSON
    for parsed in (data, json.loads(as_literal)) if odd != "sNaN" else (data,):
        with pytest.raises(QuestionnaireInvalid) as refused:
            questionnaire_import(actor=ras_admin, data=parsed)
        assert "sections[0].questions[1].options[2].points" in dict(refused.value.errors)
    assert not QuestionnaireVersion.objects.exists()


def test_a_withdrawn_referral_says_why_and_cannot_be_decided(
    client, submitted_a, person_a, worker_a, manager_a, panel_chair, panel_member, panel_member2
):
    from panels.services import meeting_create, referral_schedule

    plan = make_plan(
        person_a, worker_a, weekly="120", risk_referral=True, risk_reasons="Falls at night."
    )
    plan = plan_submit(actor=worker_a, plan=plan)
    meeting = meeting_create(
        actor=panel_chair,
        date=timezone.localdate() + datetime.timedelta(days=3),
        chair=panel_chair,
        members=[panel_member, panel_member2],
    )
    referral = referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
    _recalculate_at(person_a, manager_a, "150")
    client.force_login(panel_chair)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "Withdrawn" in page and "Record the panel&#x27;s decision" not in page
    agenda = client.get(reverse("panels:meeting_detail", args=[meeting.pk])).text
    assert "withdrawn: the indicative budget changed or ended" in agenda


def test_an_ended_line_leaves_the_plan_but_stays_in_its_history(
    client, submitted_a, person_a, worker_a
):
    plan = make_plan(person_a, worker_a, weekly="120")
    extra = plan_line_add(
        actor=worker_a, plan=plan, data=plan_line(weekly="15", description="Gardening help")
    )
    client.force_login(worker_a)
    url = reverse("allocations:plan_detail", args=[plan.pk])
    client.post(reverse("allocations:plan_line_remove", args=[plan.pk, extra.pk]))
    extra.refresh_from_db()
    assert (extra.ended_by, extra.ended_at is not None) == (worker_a, True)
    page = client.get(url)
    assert [line.pk for line, _ in page.context["lines"]] == [plan.lines.live().get().pk]
    assert page.context["costs"].weekly == Decimal("120.00")
    history = page.text
    assert "Ended line" in history and "Added line" in history and "Gardening help" in history


def test_authorising_a_lower_plan_says_it_waits_for_a_decision(
    client, submitted_a, person_a, worker_a, manager_a
):
    _agree(person_a, worker_a, manager_a, "120")
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="100", difference_reason="Fewer hours."),
    )
    client.force_login(manager_a)
    response = client.post(reverse("allocations:plan_authorise", args=[plan.pk]), follow=True)
    assert "waits for a team manager&#x27;s decision" in response.text
    assert "£100.00 a week is lower than the current £120.00" in response.text
