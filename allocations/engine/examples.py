"""The policy of the worked examples in spec/ras-calculation.md ("as in the table above"):
Leicestershire's £4.88 a point, a contingency of 5% to 26% by package size. Written once:
the engine's tests, the batch command's tests, the benchmark and the demo's 2026/27 policy
(through `allocations.adapter.policy_fields`) all start from it."""

from __future__ import annotations

from decimal import Decimal

from allocations.engine.types import Band, Policy

SPEC_POLICY = Policy(
    price_per_point=Decimal("4.88"),
    weeks_per_year=Decimal("52"),
    client_group_factors={"learning_disability": Decimal("1.10")},
    informal_support_reductions={
        "none": Decimal("0"),
        "some": Decimal("10"),
        "substantial": Decimal("20"),
        "most": Decimal("30"),
    },
    carer_impact_multipliers={
        "low": Decimal("1"),
        "moderate": Decimal("0.5"),
        "high": Decimal("0"),
    },
    contingency_bands=(
        Band(up_to=Decimal("100"), rate=Decimal("5")),
        Band(up_to=Decimal("300"), rate=Decimal("10")),
        Band(up_to=None, rate=Decimal("26")),
    ),
    minimum_weekly=Decimal("0"),
    panel_threshold_weekly=Decimal("600"),
    protect_existing_packages=True,
)
