"""Every step of spec/ras-calculation.md, in order. Decimal only; rounding as the spec says."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, getcontext, localcontext

from allocations.engine.types import (
    NUMBER_LIMIT,
    TRANSITIONAL_RULES,
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
# The arithmetic context of every step: wide enough that the steps are exact for any numbers the
# validators accept (each under NUMBER_LIMIT) with any sensible number of decimal places, and
# the same whatever context the caller has set. Division is only ever by 100, which is exact.
EXACT = Context(prec=100)
_BELOW_LIMIT = -NUMBER_LIMIT


def round2(value: Decimal) -> Decimal:
    """Round a finite Decimal to pennies, half up (never Python's default banker's rounding).

    Works however large the value: when the pennies would not fit in the current precision
    (28 digits by default, so from about 10^26 up) the precision is widened just for this."""
    digits = value.adjusted() + 3  # the digits before the point, and two after it
    if digits <= getcontext().prec:
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=Context(prec=digits))


def _shown(value: Decimal) -> str:
    """The value for a message: as written, unless that would be very long."""
    text = str(value)
    return text if len(text) <= 30 else f"{value:.6E}"


def number_problem(value: object) -> str | None:
    """Why `value` cannot be one of the engine's numbers, or None when it can.

    An engine number is a Decimal (or an int, which is exact), finite (not NaN, sNaN, Infinity
    or -Infinity) and less than NUMBER_LIMIT in size. Never raises: NaN and infinities are
    recognised before anything compares them, which would raise decimal.InvalidOperation."""
    if isinstance(value, Decimal) and value.is_finite() and _BELOW_LIMIT < value < NUMBER_LIMIT:
        return None  # the usual case, answered quickly (every answer's points come here)
    if isinstance(value, float):
        return f"must be an exact decimal number, not a float (got {value!r})"
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        return f"must be a number (got {value!r})"
    number = Decimal(value)
    if not number.is_finite():
        return f"must be a finite number (got {number})"
    if number.copy_abs() >= NUMBER_LIMIT:  # copy_abs is exact; abs() could overflow
        return f"is too large (got {_shown(number)}; it must be less than 1,000,000,000 in size)"
    return None


def transitional_rule_problem(rule: object) -> str | None:
    """Why `rule` is not a transitional rule the engine knows, or None when it is."""
    if isinstance(rule, str) and rule in TRANSITIONAL_RULES:
        return None
    return f"must be {' or '.join(TRANSITIONAL_RULES)} (got {rule!r})"


def validate_policy(policy: Policy) -> None:
    """Raise InvalidPolicy listing every problem, each naming its field; return None if the
    policy is fit to calculate with (see Policy for what that means). Never raises anything
    else, whatever Decimals the policy holds."""
    errors: list[tuple[str, str]] = []

    def number(name: str, value: object) -> bool:
        """A finite number of sane size? Records the problem if not."""
        problem = number_problem(value)
        if problem is not None:
            errors.append((name, problem))
        return problem is None

    def not_negative(name: str, value: object) -> bool:
        """A sane number and not negative? Records the problem if not."""
        if not number(name, value):
            return False
        if value < 0:
            errors.append((name, f"must not be negative (got {value})"))
            return False
        return True

    not_negative("price_per_point", policy.price_per_point)
    if number("weeks_per_year", policy.weeks_per_year) and policy.weeks_per_year <= 0:
        errors.append(("weeks_per_year", f"must be more than 0 (got {policy.weeks_per_year})"))
    not_negative("minimum_weekly", policy.minimum_weekly)
    not_negative("panel_threshold_weekly", policy.panel_threshold_weekly)
    for group, factor in policy.client_group_factors.items():
        not_negative(f"client_group_factors.{group}", factor)
    for level, percent in policy.informal_support_reductions.items():
        name = f"informal_support_reductions.{level}"
        if not_negative(name, percent) and percent > HUNDRED:
            errors.append((name, f"is a percentage and cannot exceed 100 (got {percent})"))
    for impact, multiplier in policy.carer_impact_multipliers.items():
        name = f"carer_impact_multipliers.{impact}"
        if not_negative(name, multiplier) and multiplier > 1:
            errors.append((name, f"cannot exceed 1 (got {multiplier})"))
    bands = policy.contingency_bands
    if not bands:
        errors.append(("contingency_bands", "at least one band is needed"))
    previous = ZERO
    for index, band in enumerate(bands):
        name = f"contingency_bands[{index}]"
        if not_negative(f"{name}.rate", band.rate) and band.rate >= HUNDRED:
            errors.append((f"{name}.rate", f"must be less than 100 (got {band.rate})"))
        last = index == len(bands) - 1
        if band.up_to is None and not last:
            errors.append((f"{name}.up_to", "only the last band may be unbounded (null)"))
        elif band.up_to is not None and last:
            errors.append((f"{name}.up_to", "the last band must be unbounded (null)"))
        elif band.up_to is not None and number(f"{name}.up_to", band.up_to):
            if band.up_to <= previous:
                errors.append((f"{name}.up_to", f"must be more than the band before ({previous})"))
            previous = band.up_to
    rule_problem = transitional_rule_problem(policy.transitional_rule)
    if rule_problem is not None:
        errors.append(("transitional_rule", rule_problem))
    if errors:
        raise InvalidPolicy(errors)


def validate_case(policy: Policy, case: Case) -> None:
    """Raise InvalidCase listing every problem, each naming its field; return None if the case
    can be calculated under the policy (see Case). Never raises anything else, whatever
    Decimals the case holds. Does not check the policy itself (validate_policy does)."""
    errors: list[tuple[str, str]] = []

    def not_negative(name: str, value: object) -> None:
        problem = number_problem(value)
        if problem is None and value < 0:
            problem = f"must not be negative (got {value})"
        if problem is not None:
            errors.append((name, problem))

    for index, points in enumerate(case.points):
        # Most cases have dozens of answers: the usual good value is passed over quickly.
        if not (
            isinstance(points, Decimal) and points.is_finite() and ZERO <= points < NUMBER_LIMIT
        ):
            not_negative(f"points[{index}]", points)
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
    if case.existing_weekly_cost is not None:
        not_negative("existing_weekly_cost", case.existing_weekly_cost)
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
    """One case → its indicative budget, every step shown (spec steps 1–10).

    Raises InvalidPolicy / InvalidCase before any step. Any policy and case the validators
    accept is calculated: no number they let through can make a step raise.

    Pass policy_checked=True when validate_policy(policy) has already passed (a batch checks
    its policy once). The steps run in the EXACT context, not the caller's."""
    if not policy_checked:
        validate_policy(policy)
    validate_case(policy, case)

    with localcontext(EXACT):
        return _steps(policy, case)


def _steps(policy: Policy, case: Case) -> Result:
    """Steps 1–10 for a policy and case already validated."""
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
        existing = case.existing_weekly_cost
        if policy.transitional_rule == "higher_of":
            # No one loses money at transition. The existing cost only when strictly higher.
            if existing > ras_weekly:
                indicative, basis = existing, "existing_package"
            else:
                indicative, basis = ras_weekly, "ras"
        else:
            # "existing_package": the existing cost, even when it is below the RAS figure.
            indicative, basis = existing, "existing_package"
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
