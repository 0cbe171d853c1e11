"""Every step of spec/ras-calculation.md, in order. Decimal only; rounding as the spec says."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from allocations.engine.types import (
    BandShare,
    Case,
    InvalidCase,
    InvalidPolicy,
    Policy,
    Result,
)

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0")


def round2(value: Decimal) -> Decimal:
    """Round to pennies, half up (never Python's default banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def validate_policy(policy: Policy) -> None:
    """Raise InvalidPolicy listing every problem, each naming its field."""
    errors: list[tuple[str, str]] = []

    def not_negative(name: str, value: Decimal) -> None:
        if value < 0:
            errors.append((name, f"must not be negative (got {value})"))

    not_negative("price_per_point", policy.price_per_point)
    if policy.weeks_per_year <= 0:
        errors.append(("weeks_per_year", f"must be more than 0 (got {policy.weeks_per_year})"))
    not_negative("minimum_weekly", policy.minimum_weekly)
    not_negative("panel_threshold_weekly", policy.panel_threshold_weekly)
    for group, factor in policy.client_group_factors.items():
        not_negative(f"client_group_factors.{group}", factor)
    for level, percent in policy.informal_support_reductions.items():
        name = f"informal_support_reductions.{level}"
        not_negative(name, percent)
        if percent > HUNDRED:
            errors.append((name, f"is a percentage and cannot exceed 100 (got {percent})"))
    for impact, multiplier in policy.carer_impact_multipliers.items():
        name = f"carer_impact_multipliers.{impact}"
        not_negative(name, multiplier)
        if multiplier > 1:
            errors.append((name, f"cannot exceed 1 (got {multiplier})"))
    bands = policy.contingency_bands
    if not bands:
        errors.append(("contingency_bands", "at least one band is needed"))
    previous = ZERO
    for index, band in enumerate(bands):
        name = f"contingency_bands[{index}]"
        not_negative(f"{name}.rate", band.rate)
        if band.rate >= HUNDRED:
            errors.append((f"{name}.rate", f"must be less than 100 (got {band.rate})"))
        last = index == len(bands) - 1
        if band.up_to is None and not last:
            errors.append((f"{name}.up_to", "only the last band may be unbounded (null)"))
        elif band.up_to is not None and last:
            errors.append((f"{name}.up_to", "the last band must be unbounded (null)"))
        elif band.up_to is not None:
            if band.up_to <= previous:
                errors.append((f"{name}.up_to", f"must be more than the band before ({previous})"))
            previous = band.up_to
    if errors:
        raise InvalidPolicy(errors)


def validate_case(policy: Policy, case: Case) -> None:
    """Raise InvalidCase listing every problem, each naming its field."""
    errors: list[tuple[str, str]] = []
    for index, points in enumerate(case.points):
        if points < 0:
            errors.append((f"points[{index}]", f"must not be negative (got {points})"))
    if case.client_group not in policy.client_groups:
        errors.append(("client_group", f"'{case.client_group}' is not known to the policy"))
    if (
        case.informal_support is not None
        and case.informal_support not in policy.informal_support_reductions
    ):
        errors.append(
            ("informal_support", f"'{case.informal_support}' is not a level the policy knows")
        )
    if case.carer_impact is not None and case.carer_impact not in policy.carer_impact_multipliers:
        errors.append(("carer_impact", f"'{case.carer_impact}' is not a level the policy knows"))
    if _reduction_applies(case) and case.carer_impact is None:
        errors.append(
            ("carer_impact", "is needed when the carer was assessed and is able and willing")
        )
    if case.existing_weekly_cost is not None and case.existing_weekly_cost < 0:
        errors.append(
            ("existing_weekly_cost", f"must not be negative (got {case.existing_weekly_cost})")
        )
    if errors:
        raise InvalidCase(errors)


def _reduction_applies(case: Case) -> bool:
    # National guidance: adjust for informal support only once the carer's own situation has
    # been assessed and they are able and willing to continue.
    return bool(case.informal_support) and case.carer_assessed and case.carer_able_and_willing


def _contingency(policy: Policy, gross: Decimal) -> tuple[tuple[BandShare, ...], Decimal]:
    """Marginal bands, like income tax: each rate applies only to the part of gross inside
    its band, so more need never yields less money."""
    shares = []
    lower = ZERO
    for band in policy.contingency_bands:
        top = gross if band.up_to is None else min(gross, band.up_to)
        amount = max(ZERO, top - lower)
        shares.append(BandShare(lower, band.up_to, band.rate, amount, band.rate / HUNDRED * amount))
        if band.up_to is None:
            break
        lower = band.up_to
    return tuple(shares), round2(sum((s.retained for s in shares), ZERO))


def calculate(policy: Policy, case: Case, *, policy_checked: bool = False) -> Result:
    """One case → its indicative budget. Raises InvalidPolicy / InvalidCase before any step.

    Pass policy_checked=True when validate_policy(policy) has already passed (a batch checks
    its policy once)."""
    if not policy_checked:
        validate_policy(policy)
    validate_case(policy, case)

    # 1. Raw points.
    raw_points = sum(case.points, ZERO)

    # 2. Informal support reduction, in percent.
    if _reduction_applies(case):
        reduction = (
            policy.informal_support_reductions[case.informal_support]
            * policy.carer_impact_multipliers[case.carer_impact]
        )
        because = "carer assessed, able and willing"
    else:
        reduction = ZERO
        if not case.informal_support:
            because = "no informal support recorded"
        elif not case.carer_assessed:
            because = "carer not assessed"
        else:
            because = "carer not able and willing to continue"

    # 3. Adjusted points, kept exact.
    adjusted_points = raw_points * (1 - reduction / HUNDRED)

    # 4. Gross weekly amount.
    factor = policy.factor_for(case.client_group)
    gross = round2(adjusted_points * policy.price_per_point * factor)

    # 5. Contingency retained by the council, marginally by band.
    shares, contingency = _contingency(policy, gross)

    # 6. The RAS figure, never below the floor.
    ras_weekly = max(policy.minimum_weekly, gross - contingency)

    # 7. Transitional protection of an existing package.
    if (
        policy.protect_existing_packages
        and case.existing_weekly_cost is not None
        and not case.needs_increased
    ):
        indicative, basis = case.existing_weekly_cost, "existing_package"
    else:
        indicative, basis = ras_weekly, "ras"

    # 8. Annual figure; 9. panel; 10. triggers.
    return Result(
        ref=case.ref,
        raw_points=raw_points,
        reduction_percent=reduction,
        reduction_applied_because=because,
        adjusted_points=adjusted_points,
        price_per_point=policy.price_per_point,
        client_group=case.client_group,
        client_group_factor=factor,
        gross_weekly=gross,
        contingency_by_band=shares,
        contingency_weekly=contingency,
        minimum_weekly=policy.minimum_weekly,
        ras_weekly=ras_weekly,
        indicative_weekly=indicative,
        basis=basis,
        weeks_per_year=policy.weeks_per_year,
        annual=round2(indicative * policy.weeks_per_year),
        panel_threshold_weekly=policy.panel_threshold_weekly,
        panel_required=indicative >= policy.panel_threshold_weekly,
        triggers=tuple(sorted(set(case.triggers))),
    )
