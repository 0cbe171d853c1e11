"""Calibration's pages make the same number of queries however large the samples and however
many samples and runs there are (issue 11), and a run keeps the differences its spread chart
draws, so neither its page nor its chart works them out again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from allocations.services.calibration import calibration_run, sample_load
from tests.allocations.test_calibration_services import GOOD_CSV


def _csv(n: int) -> bytes:
    """n cases with points by section: case k has k points (k ÷ 2 in each of two sections),
    costs £10.50 a point ± a little, half older people, half with a learning disability."""
    rows = [b"reference,client_group,points,weekly_cost,points_s1,points_s2"]
    for k in range(1, n + 1):
        group = "older_people" if k % 2 else "learning_disability"
        cost = Decimal(k) * Decimal("10.5") + (k % 3)
        rows.append(f"C{k},{group},{k},{cost},{Decimal(k) / 2},{Decimal(k) / 2}".encode())
    return b"\n".join(rows) + b"\n"


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _pages(run) -> list[str]:
    return [
        reverse("allocations:calibration_samples"),
        reverse("allocations:calibration_sample", args=[run.sample.pk]),
        reverse("allocations:calibration_run", args=[run.pk]),
        *(
            reverse("allocations:calibration_chart", args=[run.pk, name])
            for name in ("fit", "spread", "sensitivity")
        ),
    ]


@pytest.mark.django_db
def test_every_calibration_page_makes_constant_queries_as_samples_grow(
    client, ras_admin, senior_manager, policy
):
    def fitted(n: int):
        sample = sample_load(actor=ras_admin, name=f"{n}", data=_csv(n), filename=f"{n}.csv")
        return calibration_run(
            actor=ras_admin, sample=sample, method="all", policy=policy, budget=Decimal(n * 50)
        )

    client.force_login(ras_admin)
    small = fitted(6)
    before = [_queries(client, url) for url in _pages(small)]

    # Many more cases, more samples and more runs (by another person) on the same sample.
    large = fitted(300)
    for _ in range(3):
        calibration_run(actor=senior_manager, sample=large.sample, method="ratio")
    after = [_queries(client, url) for url in _pages(large)]

    assert after == before


@pytest.mark.django_db
def test_a_run_keeps_the_differences_its_spread_draws_by_hand(client, ras_admin):
    # The ratio of totals: 630 ÷ 60 = £10.50 a point, so R1 (10 points, £100) gets 105.00,
    # +5.00; R2 (20, £200) 210.00, +10.00; R3 (30, £330, learning disability) 315.00, −15.00.
    sample = sample_load(actor=ras_admin, name="Desk", data=GOOD_CSV, filename="desk.csv")
    run = calibration_run(actor=ras_admin, sample=sample, method="all")

    assert run.results["spread"] == {
        "method": "ratio",
        "by_group": {"learning_disability": ["-15.00"], "older_people": ["5.00", "10.00"]},
        "by_band": {"0–49": ["5.00", "10.00", "-15.00"], "50–99": [], "100–199": [], "200+": []},
    }
    # The page's spread table reads them as kept: no query of the sample's cases.
    client.force_login(ras_admin)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("allocations:calibration_run", args=[run.pk])).content.decode()
    assert not any("allocations_calibrationcase" in q["sql"] for q in captured)
    # Learning disability: one case, −15.00 every figure; older people 5.00 … 10.00, median 7.50.
    assert (
        '<th scope="row">Client group: Learning disability</th><td class="text-end">1</td>'
        + '<td class="text-end">-15.00</td>' * 5
    ) in page
    assert (
        '<th scope="row">Client group: Older people</th><td class="text-end">2</td>'
        '<td class="text-end">5.00</td><td class="text-end">6.25</td>'
        '<td class="text-end">7.50</td><td class="text-end">8.75</td>'
        '<td class="text-end">10.00</td>'
    ) in page


@pytest.mark.django_db
def test_a_run_kept_before_the_spread_was_still_draws_it_from_its_sample(client, ras_admin):
    from allocations.models import CalibrationRun

    sample = sample_load(actor=ras_admin, name="Desk", data=GOOD_CSV, filename="desk.csv")
    fitted = calibration_run(actor=ras_admin, sample=sample, method="ratio")
    # A run as an older version kept it, without the spread (runs are never changed, so it is
    # written as a new run).
    run = CalibrationRun.objects.create(
        sample=sample,
        method="ratio",
        results={k: v for k, v in fitted.results.items() if k != "spread"},
        created_by=ras_admin,
    )

    client.force_login(ras_admin)
    page = client.get(reverse("allocations:calibration_run", args=[run.pk])).content.decode()
    spread = client.get(reverse("allocations:calibration_chart", args=[run.pk, "spread"]))

    assert (
        '<th scope="row">Client group: Learning disability</th><td class="text-end">1</td>'
        + '<td class="text-end">-15.00</td>' * 5
    ) in page
    assert spread.status_code == 200 and b"Learning disability" in spread.content
