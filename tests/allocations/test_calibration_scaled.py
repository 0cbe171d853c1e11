"""Calibration scaled up to the whole caseload (issue 11): the affordability solver given the
caseload's weekly budget, and the sensitivity rows projected to the caseload beside the
sample's, on the run page and in its chart's data table — worked by hand on the spec policy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from allocations.services.calibration import calibration_run, sample_load

# One older person (10 points, £30 a week now) and one person with a learning disability (20
# points, £57 now). The `caseload` fixture has two older people and one person with a learning
# disability with a current budget: so A stands for 2 ÷ 1 = 2 people and B for 1 ÷ 1 = 1.
#
# Under the spec policy (learning disability × 1.10, 5% contingency under £100 a week), at £3.00:
#   A: 10 × 3.00 = 30.00 − 5% 1.50 = 28.50 a week (× 52 = 1482.00 a year)
#   B: 20 × 3.00 = 60.00 × 1.10 = 66.00 − 5% 3.30 = 62.70 a week (× 52 = 3260.40 a year)
#   the sample: 28.50 + 62.70 = 91.20 a week
#   the caseload: 28.50 × 2 + 62.70 × 1 = 119.70 a week; 1482.00 × 2 + 3260.40 = 6224.40 a
#   year; contingency 1.50 × 2 + 3.30 = 6.30 a week.
# At £3.01: A 30.10 − 1.51 = 28.59, B 66.22 − 3.31 = 62.91; caseload 57.18 + 62.91 = 120.09,
# over a budget of 119.70: so £3.00 is the price that meets it to the penny.
# The sensitivity runs at 80%–120% of £3.00: 2.40, 2.70, 3.00, 3.30, 3.60. At £2.40:
#   A 24.00 − 1.20 = 22.80; B 52.80 − 2.64 = 50.16; caseload 22.80 × 2 + 50.16 = 95.76.
TWO_CSV = (
    b"reference,client_group,points,weekly_cost\n"
    b"A,older_people,10,30.00\n"
    b"B,learning_disability,20,57.00\n"
)
CASELOAD_BUDGET = Decimal("119.70")


@pytest.fixture
def scaled_run(caseload, ras_admin, policy):
    sample = sample_load(actor=ras_admin, name="Two", data=TWO_CSV, filename="two.csv")
    return calibration_run(
        actor=ras_admin,
        sample=sample,
        method="ratio",
        policy=policy,
        budget=CASELOAD_BUDGET,
        scale=True,
    )


@pytest.mark.django_db
def test_the_solver_takes_the_whole_caseloads_budget(scaled_run):
    solved = scaled_run.results["affordability"]

    assert solved["scaled"] is True
    assert solved["price_per_point"] == "3.00"
    assert solved["total_weekly"] == "119.70"  # the caseload's projected spend: the budget
    assert solved["sample_total_weekly"] == "91.20"


@pytest.mark.django_db
def test_the_sensitivity_rows_are_projected_to_the_caseload(scaled_run):
    rows = scaled_run.results["affordability"]["sensitivity"]

    assert [row["price"] for row in rows] == ["2.40", "2.70", "3.00", "3.30", "3.60"]
    at_3 = rows[2]
    assert (at_3["total_weekly"], at_3["contingency_weekly"]) == ("91.20", "4.80")
    assert (
        at_3["projected_weekly"],
        at_3["projected_annual"],
        at_3["projected_contingency_weekly"],
    ) == ("119.70", "6224.40", "6.30")
    assert rows[0]["projected_weekly"] == "95.76"


@pytest.mark.django_db
def test_an_unscaled_run_projects_nothing(ras_admin, policy):
    sample = sample_load(actor=ras_admin, name="Two", data=TWO_CSV, filename="two.csv")
    run = calibration_run(
        actor=ras_admin, sample=sample, method="ratio", policy=policy, budget=Decimal("91.20")
    )

    solved = run.results["affordability"]
    assert (solved["scaled"], solved["price_per_point"]) == (False, "3.00")
    assert solved["sensitivity"][2]["projected_weekly"] is None


@pytest.mark.django_db
def test_the_run_page_shows_the_caseloads_sensitivity_and_charts_it(client, ras_admin, scaled_run):
    client.force_login(ras_admin)
    page = client.get(reverse("allocations:calibration_run", args=[scaled_run.pk])).content.decode()

    assert "<caption>Sensitivity scaled up: the whole caseload" in page
    # Price, projected weekly, annual, contingency, and the weekly total against the budget.
    assert (
        '<th scope="row">3.00</th><td class="text-end">119.70</td>'
        '<td class="text-end">6224.40</td><td class="text-end">6.30</td>'
        '<td class="text-end">0.00</td>'
    ) in page
    assert '<th scope="row">2.40</th><td class="text-end">95.76</td>' in page
    # The sensitivity chart draws the caseload's spend, as its budget is the caseload's:
    # its data table has £119.70 at £3.00, £0.00 against the budget.
    assert (
        '<th scope="row">3.00</th><td class="text-end">119.70</td><td class="text-end">0.00</td>'
    ) in page
    assert "Line chart of the caseload&#x27;s projected total weekly spend" in page


@pytest.mark.django_db
def test_the_sensitivity_chart_of_a_scaled_run_says_whose_spend(client, ras_admin, scaled_run):
    client.force_login(ras_admin)
    url = reverse("allocations:calibration_chart", args=[scaled_run.pk, "sensitivity"])
    svg = client.get(url).content.decode()

    assert "How the caseload's projected weekly spend moves" in svg
    assert "Weekly budget £119.70" in svg


@pytest.mark.django_db
def test_each_fitted_prices_spend_is_projected_to_the_caseload(client, ras_admin, scaled_run):
    # The ratio of totals: (30 + 57) ÷ (10 + 20) = £2.90 a point. As the spec policy pays:
    # A 10 × 2.90 = 29.00 − 5% 1.45 = 27.55; B 20 × 2.90 × 1.10 = 63.80 − 5% 3.19 = 60.61.
    # The sample: 27.55 + 60.61 = 88.16 a week; the caseload: 27.55 × 2 + 60.61 = 115.71.
    assert scaled_run.results["scale_up"]["by_method"] == [
        {
            "method": "ratio",
            "price_per_point": "2.9000",
            "sample_weekly": "88.16",
            "projected_weekly": "115.71",
        }
    ]
    client.force_login(ras_admin)
    page = client.get(reverse("allocations:calibration_run", args=[scaled_run.pk])).content.decode()
    assert (
        '<th scope="row">Ratio of totals (total cost ÷ total points)</th>'
        '<td class="text-end">2.9000</td><td class="text-end">88.16</td>'
        '<td class="text-end">115.71</td>'
    ) in page


# A sensitivity table over the prices a person chooses, with or without a budget.


@pytest.mark.django_db
def test_a_sensitivity_table_over_the_prices_chosen_through_the_form(client, ras_admin, policy):
    # As worked above: at £3.00 the sample's 28.50 + 62.70 = 91.20 a week, 4742.40 a year,
    # contingency 4.80; at £2.40 22.80 + 50.16 = 72.96; at £3.60 A 36.00 − 1.80 = 34.20 and
    # B 72 × 1.10 = 79.20 − 3.96 = 75.24: 109.44 (both get more than now: 34.20 > 30).
    sample = sample_load(actor=ras_admin, name="Two", data=TWO_CSV, filename="two.csv")
    client.force_login(ras_admin)
    response = client.post(
        reverse("allocations:calibration_sample", args=[sample.pk]),
        {
            "method": "ratio",
            "policy": policy.pk,
            "sensitivity_from": "2.40",
            "sensitivity_to": "3.60",
            "sensitivity_step": "0.60",
        },
    )
    from allocations.models import CalibrationRun

    run = CalibrationRun.objects.get()
    assert response.url == reverse("allocations:calibration_run", args=[run.pk])
    rows = run.results["sensitivity"]["rows"]
    assert [(r["price"], r["total_weekly"]) for r in rows] == [
        ("2.40", "72.96"),
        ("3.00", "91.20"),
        ("3.60", "109.44"),
    ]
    assert (rows[1]["total_annual"], rows[1]["contingency_weekly"]) == ("4742.40", "4.80")
    assert (rows[0]["fewer"], rows[2]["fewer"]) == (2, 0)
    assert run.results["affordability"] is None

    page = client.get(response.url).content.decode()
    assert "Sensitivity over the prices chosen" in page
    assert '<th scope="row">3.00</th><td class="text-end">91.20</td>' in page
    # The chart draws the same prices, with no budget to compare against.
    assert (
        '<th scope="row">3.60</th><td class="text-end">109.44</td><td class="text-end">—</td>'
    ) in page
    svg = client.get(reverse("allocations:calibration_chart", args=[run.pk, "sensitivity"]))
    assert svg.status_code == 200 and b'id="budget"' not in svg.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (("2.40", "", "0.60"), "Give the sensitivity"),
        (("3.60", "2.40", "0.60"), "must be above its lowest"),
        (("0", "10", "0.01"), "from 1 to 41 prices"),
    ],
)
def test_a_sensitivity_range_that_cannot_be_used_is_refused(
    client, ras_admin, policy, bounds, message
):
    from allocations.models import CalibrationRun

    sample = sample_load(actor=ras_admin, name="Two", data=TWO_CSV, filename="two.csv")
    client.force_login(ras_admin)
    response = client.post(
        reverse("allocations:calibration_sample", args=[sample.pk]),
        {
            "method": "ratio",
            "sensitivity_from": bounds[0],
            "sensitivity_to": bounds[1],
            "sensitivity_step": bounds[2],
        },
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CalibrationRun.objects.exists()
