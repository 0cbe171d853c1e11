"""How a plan reads: a line's amount with its unit in the right number ("14 hours × £16.50")
on the plan page, in the statement letter and in the panel's snapshot; the management split
with the direct payment net of the person's contribution, on the plan page once submitted and
in the statement letter, which agree on it."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from allocations.costing import managed_amounts
from allocations.letters.kinds import letter_content
from allocations.letters.rendering import render_html
from allocations.services.letters import letter_issue
from allocations.services.plans import (
    plan_authorise,
    plan_line_add,
    plan_start,
    plan_submit,
    plan_update,
)
from allocations.units import amount_text, unit_for
from tests.allocations.test_letters import text_of
from tests.factories import plan_line

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("quantity", "unit", "reads"),
    [
        ("14", "hour", "14 hours"),
        ("1", "hours", "1 hour"),
        ("1", "hour", "1 hour"),
        ("7.50", "visit", "7.5 visits"),
        ("2", "week", "2 weeks"),
        ("3", "day", "3 days"),
        ("1", "nights", "1 night"),
        ("2", "night", "2 nights"),
        ("4", "session", "4 sessions"),
        ("2", "session at the day centre", "2 sessions at the day centre"),
        ("2", "day centre session", "2 day centre sessions"),
        ("1", "sessions at the day centre", "1 session at the day centre"),
        ("2", "class", "2 classes"),
        ("3", "journey", "3 journeys"),
        ("2", "equipment", "2 equipment"),  # no plural: as typed
        ("1250", "mile", "1,250 miles"),
    ],
)
def test_a_unit_is_in_the_number_its_quantity_needs(quantity, unit, reads):
    number, _, words = reads.partition(" ")
    assert unit_for(Decimal(quantity), unit) == words
    assert amount_text(Decimal(quantity), unit, Decimal("16.5")) == f"{reads} × £16.50"


def test_a_line_without_a_unit_reads_as_a_number_of_them():
    assert amount_text(Decimal("3"), "  ", Decimal("5")) == "3 × £5.00"


@pytest.mark.parametrize(
    ("split", "contribution", "net", "off", "rest"),
    [
        # A direct payment: the contribution comes off it.
        (("118.00", "0", "0"), "20.00", "98.00", "20.00", "0.00"),
        # A mix: off the direct payment first.
        (("60.00", "40.00", "18.00"), "20.00", "40.00", "20.00", "0.00"),
        # More contribution than the direct payment: the rest towards the other support.
        (("10.00", "108.00", "0"), "25.50", "0.00", "10.00", "15.50"),
        # No direct payment: all of it towards the support arranged.
        (("0", "118.00", "0"), "20.00", "0.00", "0.00", "20.00"),
    ],
)
def test_the_direct_payment_is_net_of_the_contribution(split, contribution, net, off, rest):
    direct, council, isf = map(Decimal, split)
    managed = managed_amounts(
        direct_payment=direct, council_managed=council, isf=isf, contribution=Decimal(contribution)
    )
    assert managed.direct_payment_weekly == direct
    assert managed.direct_payment_net_weekly == Decimal(net)
    assert managed.contribution_off_direct_payment_weekly == Decimal(off)
    assert managed.contribution_to_services_weekly == Decimal(rest)
    assert str(managed.direct_payment_net_weekly) == net  # pennies, as letters store them


# --- the plan page, the letter and the panel -------------------------------------------------


def _mixed_plan(person, worker):
    """14 hours × £8.00 a week (£112.00) and a one-off; a mix of £60 direct payment, £40
    council-managed and £12 ISF; a £20.00 contribution. person_a's indicative budget is £120."""
    plan = plan_start(actor=worker, person=person)
    plan_line_add(
        actor=worker,
        plan=plan,
        data=plan_line(weekly="8.00", quantity=Decimal("14"), unit="hour"),
    )
    plan_line_add(
        actor=worker,
        plan=plan,
        data=plan_line(
            weekly="95.00",
            quantity=Decimal("2"),
            unit="night",
            frequency="year",
            category="short_breaks",
            description="Respite",
            outcomes=(),
        ),
    )
    return plan_update(
        actor=worker,
        plan=plan,
        data={
            "management": "mixed",
            "direct_payment_weekly_gbp": Decimal("60.00"),
            "council_managed_weekly_gbp": Decimal("40.00"),
            "isf_weekly_gbp": Decimal("15.65"),  # 112.00 + 190 / 52 = 115.65
            "contribution_weekly_gbp": Decimal("20.00"),
            "difference_reason": "Fewer hours suit her.",
        },
    )


def _managed_table(page: str) -> str:
    table = page.split('id="plan-managed"')[1].split("</caption>")[1].split("</table>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", table).split())


def test_the_plan_page_reads_each_lines_amount(client, submitted_a, person_a, worker_a):
    plan = _mixed_plan(person_a, worker_a)
    client.force_login(worker_a)
    page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).text
    assert "<td>14 hours × £8.00 per week</td>" in page
    assert "<td>2 nights × £95.00 per year</td>" in page


def test_a_mixed_split_shows_its_amounts_after_submission(
    client, submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(actor=worker_a, plan=_mixed_plan(person_a, worker_a))
    client.force_login(worker_a)

    page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).text

    assert 'action="/plans/' not in page.split('id="settings-heading"')[1]  # no form now
    assert _managed_table(page) == (
        "Managed as A mix of these "
        "Direct payment (its share of the cost) £60.00 a week "
        "less the person's contribution − £20.00 a week "
        "Direct payment paid to the person £40.00 a week "
        "Council-managed £40.00 a week "
        "Individual service fund held by a provider £15.65 a week"
    )

    plan_authorise(actor=manager_a, plan=plan)
    client.force_login(manager_a)
    page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).text
    statement = page.split('id="agreed-budget"')[1].split("</dl>")[0]
    assert "£40.00 a week paid to the person</strong> after their £20.00 contribution" in statement
    assert "Council-managed £40.00 a week" in statement and "£15.65 a week" in statement
    assert "£40.00 a week" in _managed_table(page)  # the plan and its statement agree


def test_a_plan_without_a_direct_payment_says_where_the_contribution_goes(
    client, submitted_a, person_a, worker_a
):
    plan = _mixed_plan(person_a, worker_a)
    plan_update(actor=worker_a, plan=plan, data={"management": "council_managed"})
    client.force_login(worker_a)
    page = client.get(reverse("allocations:plan_detail", args=[plan.pk])).text
    assert _managed_table(page) == (
        "Managed as Council-managed Council-managed £115.65 a week "
        "The person's contribution, paid towards the support arranged for them £20.00 a week"
    )


def test_the_statement_letter_gives_the_direct_payment_net_beside_the_gross(
    submitted_a, person_a, worker_a, manager_a
):
    plan = plan_submit(actor=worker_a, plan=_mixed_plan(person_a, worker_a))
    plan_authorise(actor=manager_a, plan=plan)

    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="statement")

    text = text_of(letter.read_pdf())
    assert "Direct payment: its share of the cost £60.00 a week" in text
    assert "− £20.00 a week" in text and "Direct payment we pay to you £40.00 a week" in text
    assert "Managed by the council £40.00 a week" in text
    assert "Individual service fund held by a provider £15.65 a week" in text
    assert "we pay you £40.00 a week and you add your contribution of £20.00 a week" in text
    assert "14 hours × £8.00" in text and "2 nights × £95.00" in text
    assert letter.figures["direct_payment_net_weekly_gbp"] == "40.00"
    assert letter.figures["lines"] == [
        ["14 hours × £8.00", "£112.00 per week"],
        ["2 nights × £95.00", "£190.00 per year ÷ 52 = £3.65 a week"],
    ]


def test_a_contribution_larger_than_the_direct_payment_is_explained_in_the_letter(
    submitted_a, person_a, worker_a, manager_a
):
    plan = _mixed_plan(person_a, worker_a)
    plan_update(
        actor=worker_a,
        plan=plan,
        data={
            "direct_payment_weekly_gbp": Decimal("10.00"),
            "council_managed_weekly_gbp": Decimal("90.00"),
            "contribution_weekly_gbp": Decimal("25.50"),
        },
    )
    plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan))

    content = letter_content("statement", person_a)
    html = " ".join(
        re.sub(r"<[^>]+>", " ", render_html(content, person_a, datetime.date.today())).split()
    )

    assert "Direct payment we pay to you £0.00 a week" in html
    assert "You pay the rest of your contribution, £15.50 a week" in html
    assert content.figures["direct_payment_net_weekly_gbp"] == "0.00"


def test_the_panels_snapshot_reads_each_lines_amount(submitted_a, person_a, worker_a):
    from panels.services import plan_snapshot

    snapshot = plan_snapshot(_mixed_plan(person_a, worker_a))

    assert [line["amount"] for line in snapshot["lines"]] == [
        "14 hours × £8.00 per week",
        "2 nights × £95.00 per year",
    ]
