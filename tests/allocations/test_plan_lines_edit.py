"""Changing a plan line (allocations.services.plans.plan_line_update and the line's own page):
the same rules as adding or removing one; the old line is ended (kept), a new one takes its
place and the plan's history tells it as one change; nothing partly saved; the page shows the
line's current values and puts errors in a summary linked to the fields."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from allocations.models import PlanLine, SupportPlan
from allocations.selectors.plans import plan_history
from allocations.services.plans import (
    LINE_NOT_ON_PLAN,
    OWN_TEAM_ONLY,
    PLAN_LOCKED,
    ROLE_CANNOT_PLAN,
    PlanStateError,
    plan_line_remove,
    plan_line_update,
    plan_submit,
)
from allocations.views.plans import LINE_CHANGED
from tests.factories import make_plan, plan_line

pytestmark = pytest.mark.django_db
FEWER_HOURS = "Two hours fewer suit her."
# person_a's indicative budget is £120 a week: 14 hours × £8.00 = £112.00 needs a reason.
FOURTEEN_HOURS = plan_line(
    weekly="8.00", quantity=Decimal("14"), unit="hour", description="Personal assistant"
)


def _plan(person, worker):
    plan = make_plan(person, worker, weekly="118.00", difference_reason=FEWER_HOURS)
    return plan, plan.lines.live().get()


def test_a_changed_line_replaces_the_old_one_which_is_kept(submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)

    changed = plan_line_update(actor=worker_a, plan=plan, line_id=line.pk, data=FOURTEEN_HOURS)

    assert list(plan.lines.live()) == [changed]
    assert (changed.quantity, changed.unit, changed.unit_cost_gbp) == (
        Decimal("14"),
        "hour",
        Decimal("8.00"),
    )
    assert changed.history.get().history_change_reason == f"changed: replaces line {line.pk}"
    line.refresh_from_db()  # the old line is kept as it was, ended by the worker
    assert (line.quantity, line.unit_cost_gbp) == (Decimal("1"), Decimal("118.00"))
    assert line.ended_at is not None and line.ended_by == worker_a
    plan.refresh_from_db()
    assert plan.updated_by == worker_a
    # The plan's history tells it as one change, from the old values to the new.
    entries = [e for e in plan_history(plan) if e.action.endswith("line")]
    assert [e.action for e in entries] == ["Changed line", "Added line"]
    assert entries[0].who == worker_a.get_full_name()
    assert entries[0].changes[0].old == "Personal assistant: 1 hour × £118.00 per week"
    assert entries[0].changes[0].new == "Personal assistant: 14 hours × £8.00 per week"


def test_another_teams_worker_and_a_role_that_does_not_plan_cannot_change_a_line(
    submitted_a, person_a, worker_a, worker_b, auditor
):
    plan, line = _plan(person_a, worker_a)
    with pytest.raises(PermissionDenied, match=OWN_TEAM_ONLY):
        plan_line_update(actor=worker_b, plan=plan, line_id=line.pk, data=FOURTEEN_HOURS)
    with pytest.raises(PermissionDenied, match=ROLE_CANNOT_PLAN):
        plan_line_update(actor=auditor, plan=plan, line_id=line.pk, data=FOURTEEN_HOURS)
    line.refresh_from_db()
    assert line.unit_cost_gbp == Decimal("118.00") and line.history.count() == 1


def test_a_submitted_plans_lines_cannot_change(submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)
    plan = plan_submit(actor=worker_a, plan=plan)
    locked = PLAN_LOCKED.format(status=SupportPlan.Status.AWAITING_AUTHORISATION.label.lower())
    with pytest.raises(PlanStateError, match=locked):
        plan_line_update(actor=worker_a, plan=plan, line_id=line.pk, data=FOURTEEN_HOURS)
    line.refresh_from_db()
    assert line.unit_cost_gbp == Decimal("118.00")


def test_only_a_live_line_of_the_plan_can_change(submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)
    plan_line_remove(actor=worker_a, plan=plan, line_id=line.pk)
    with pytest.raises(ValidationError, match=LINE_NOT_ON_PLAN):
        plan_line_update(actor=worker_a, plan=plan, line_id=line.pk, data=FOURTEEN_HOURS)
    with pytest.raises(ValidationError, match=LINE_NOT_ON_PLAN):
        plan_line_update(actor=worker_a, plan=plan, line_id=line.pk + 999, data=FOURTEEN_HOURS)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": Decimal("-1")}, "quantity"),
        ({"description": ""}, "description"),
        ({"meets_outcomes": ["not_a_need"]}, "meets_outcomes"),
        ({"meets_sections": ["not_an_area"]}, "meets_sections"),
    ],
)
def test_a_refused_change_saves_nothing(submitted_a, person_a, worker_a, bad, field):
    plan, line = _plan(person_a, worker_a)
    plan_rows, line_rows = plan.history.count(), line.history.count()

    with pytest.raises(ValidationError) as refused:
        plan_line_update(actor=worker_a, plan=plan, line_id=line.pk, data={**FOURTEEN_HOURS, **bad})

    assert field in refused.value.message_dict
    assert list(plan.lines.all()) == [line]  # no new line, the old one not ended
    line.refresh_from_db()
    assert line.ended_at is None and line.unit_cost_gbp == Decimal("118.00")
    assert (plan.history.count(), line.history.count()) == (plan_rows, line_rows)


# --- the line's page -----------------------------------------------------------------------------


POSTED = {
    "line-category": "pa_hours",
    "line-description": "Personal assistant",
    "line-provider": "Direct employ",
    "line-quantity": "14",
    "line-unit": "hour",
    "line-unit_cost_gbp": "8.00",
    "line-frequency": "week",
    "line-meets_outcomes": ["nutrition", "hygiene"],
}


def test_the_line_page_permission_matrix(
    client, submitted_a, person_a, worker_a, worker_b, auditor
):
    plan, line = _plan(person_a, worker_a)
    url = reverse("allocations:plan_line_edit", args=[plan.pk, line.pk])

    response = client.get(url)  # login required
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(worker_b)
    assert client.get(url).status_code == 404
    assert client.post(url, POSTED).status_code == 404
    client.force_login(auditor)
    assert client.get(url).status_code == 403
    assert client.post(url, POSTED).status_code == 403
    line.refresh_from_db()
    assert line.history.count() == 1  # nothing changed so far

    client.force_login(worker_a)
    assert client.get(url).status_code == 200
    response = client.post(url, POSTED, follow=True)
    assert response.redirect_chain == [(reverse("allocations:plan_detail", args=[plan.pk]), 302)]
    assert LINE_CHANGED in [str(m) for m in response.context["messages"]]
    new = plan.lines.live().get()
    assert (new.quantity, new.provider) == (Decimal("14"), "Direct employ")
    assert new.history.latest().history_user == worker_a
    assert "14 hours × £8.00 per week" in response.text
    assert "Changed line" in response.text


def test_the_line_page_shows_the_current_values(client, submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)
    client.force_login(worker_a)
    plan_page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).text
    url = reverse("allocations:plan_line_edit", args=[plan.pk, line.pk])
    assert f'href="{url}">Change<span class="visually-hidden"> Personal assistant' in plan_page

    page = client.get(url).text

    assert "<title>Change a line" in page
    assert 'name="line-description" value="Personal assistant"' in page
    assert 'name="line-unit_cost_gbp" value="118.00"' in page
    assert 'name="line-unit" value="hour"' in page
    assert re.search(r'value="nutrition"\s+id="id_line-meets_outcomes_0" checked', page)
    assert "1 hour × £118.00 per week" in page


def test_bad_input_on_the_line_page_is_summarised_beside_the_fields_and_saves_nothing(
    client, submitted_a, person_a, worker_a
):
    plan, line = _plan(person_a, worker_a)
    client.force_login(worker_a)
    url = reverse("allocations:plan_line_edit", args=[plan.pk, line.pk])

    response = client.post(url, {**POSTED, "line-quantity": "-2", "line-description": ""})

    assert response.status_code == 200
    page = response.text
    assert "<title>Error: Change a line" in page
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert 'role="alert"' in page.split('id="error-summary"')[0].rsplit("<div", 1)[1]
    assert "There is a problem" in summary
    assert '<a class="alert-link" href="#id_line-description">Description: This field' in summary
    assert '<a class="alert-link" href="#id_line-quantity">Quantity: Ensure this value' in summary
    assert 'id="id_line-quantity"' in page and "is-invalid" in page  # beside the field too
    assert 'value="-2"' in page  # what was typed stays in the form
    assert "1 hour × £118.00 per week" in page  # the line as it still is
    assert list(plan.lines.all()) == [line]
    line.refresh_from_db()
    assert line.ended_at is None and line.history.count() == 1


def test_a_submitted_plans_line_page_sends_the_worker_back(client, submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)
    plan_submit(actor=worker_a, plan=plan)
    client.force_login(worker_a)
    url = reverse("allocations:plan_line_edit", args=[plan.pk, line.pk])
    locked = PLAN_LOCKED.format(status=SupportPlan.Status.AWAITING_AUTHORISATION.label.lower())
    for response in (client.get(url, follow=True), client.post(url, POSTED, follow=True)):
        assert response.redirect_chain == [
            (reverse("allocations:plan_detail", args=[plan.pk]), 302)
        ]
        assert [str(m) for m in response.context["messages"]] == [locked]
        assert "Change<span" not in response.text
    line.refresh_from_db()
    assert line.unit_cost_gbp == Decimal("118.00")


def test_an_ended_line_has_no_page(client, submitted_a, person_a, worker_a):
    plan, line = _plan(person_a, worker_a)
    plan_line_remove(actor=worker_a, plan=plan, line_id=line.pk)
    client.force_login(worker_a)
    url = reverse("allocations:plan_line_edit", args=[plan.pk, line.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, POSTED).status_code == 404
    assert PlanLine.objects.get(pk=line.pk).unit_cost_gbp == Decimal("118.00")


def test_the_plan_pages_forms_summarise_their_errors_linked_to_the_fields(
    client, submitted_a, person_a, worker_a
):
    plan, line = _plan(person_a, worker_a)
    client.force_login(worker_a)
    settings = client.post(
        reverse("allocations:plan_settings", args=[plan.pk]),
        {"management": "bogus", "contribution_weekly_gbp": "-5"},
    ).text
    summary = settings.split('id="settings-errors"')[1].split("</div>")[0]
    # A group of radios links to its first; a box to itself.
    assert 'href="#id_management_0">How the budget will be managed: Select a valid' in summary
    assert (
        'href="#id_contribution_weekly_gbp">The person&#x27;s assessed weekly contribution (£): '
        "Ensure this value is greater than or equal to 0." in summary
    )
    assert "Constraint" not in summary
    assert 'id="id_management_0"' in settings

    added = client.post(
        reverse("allocations:plan_line_add", args=[plan.pk]), {"line-quantity": "x"}
    ).text
    summary = added.split('id="line-errors"')[1].split("</div>")[0]
    assert 'href="#id_line-category">Category: This field is required.' in summary
    assert 'href="#id_line-quantity">Quantity: Enter a number.' in summary
    assert '<details class="border rounded p-3" id="add-line" open>' in added
    assert list(plan.lines.all()) == [line]
    plan.refresh_from_db()
    assert plan.management == "direct_payment" and plan.contribution_weekly_gbp == 0
