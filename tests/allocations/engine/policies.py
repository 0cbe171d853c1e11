"""The spec's worked-example policy as the engine takes it, shared by the engine's tests."""

from decimal import Decimal

from allocations.engine import Band, Policy

D = Decimal

# The policy "as in the table above" in spec/ras-calculation.md (transitional rule: the default).
SPEC_POLICY = Policy(
    price_per_point=D("4.88"),
    weeks_per_year=D("52"),
    client_group_factors={"learning_disability": D("1.10")},
    informal_support_reductions={
        "none": D("0"),
        "some": D("10"),
        "substantial": D("20"),
        "most": D("30"),
    },
    carer_impact_multipliers={"low": D("1"), "moderate": D("0.5"), "high": D("0")},
    contingency_bands=(
        Band(up_to=D("100"), rate=D("5")),
        Band(up_to=D("300"), rate=D("10")),
        Band(up_to=None, rate=D("26")),
    ),
    minimum_weekly=D("0"),
    panel_threshold_weekly=D("600"),
    protect_existing_packages=True,
)
