"""Laws of spec/ras-calculation.md that hold for every policy and every case (hypothesis).

Policies are generated too: increasing bands with rates 0–99.99, prices 0–20, factors 0–3,
reductions 0–100 %, carer multipliers 0–1, either transitional rule. Decimal only, 2 places,
never a float.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from allocations.engine import (
    STANDARD_CLIENT_GROUPS,
    TRANSITIONAL_RULES,
    Band,
    Case,
    Policy,
    calculate,
    policy_from_dict,
    policy_to_dict,
    result_to_dict,
    round2,
)

LEVELS = ("none", "some", "substantial", "most")
IMPACTS = ("low", "moderate", "high")
TRIGGERS = ("nhs_chc", "access_to_work", "disabled_facilities_grant", "supporting_people")
GROUPS = (*sorted(STANDARD_CLIENT_GROUPS), "acquired_brain_injury")


def decimals(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )


@st.composite
def policies(draw, *, protect: bool | None = None, minimum: Decimal | None = None) -> Policy:
    edges = sorted(draw(st.sets(decimals("0.01", "2000"), max_size=4)))
    rates = draw(st.lists(decimals("0", "99.99"), min_size=len(edges) + 1, max_size=len(edges) + 1))
    bands = tuple(Band(up_to=u, rate=r) for u, r in zip([*edges, None], rates, strict=True))
    return Policy(
        price_per_point=draw(decimals("0", "20")),
        weeks_per_year=draw(decimals("1", "53")),
        client_group_factors=draw(st.dictionaries(st.sampled_from(GROUPS), decimals("0", "3"))),
        informal_support_reductions={level: draw(decimals("0", "100")) for level in LEVELS},
        carer_impact_multipliers={impact: draw(decimals("0", "1")) for impact in IMPACTS},
        contingency_bands=bands,
        minimum_weekly=draw(decimals("0", "200")) if minimum is None else minimum,
        panel_threshold_weekly=draw(decimals("0", "2000")),
        protect_existing_packages=draw(st.booleans()) if protect is None else protect,
        transitional_rule=draw(st.sampled_from(TRANSITIONAL_RULES)),
    )


@st.composite
def cases(draw, policy: Policy) -> Case:
    return Case(
        ref="case",
        points=tuple(draw(st.lists(decimals("0", "60"), max_size=12))),
        client_group=draw(st.sampled_from(sorted(policy.client_groups))),
        informal_support=draw(st.none() | st.sampled_from(LEVELS)),
        carer_assessed=draw(st.booleans()),
        carer_able_and_willing=draw(st.booleans()),
        carer_impact=draw(st.sampled_from(IMPACTS)),
        existing_weekly_cost=draw(st.none() | decimals("0", "2000")),
        needs_increased=draw(st.booleans()),
        triggers=tuple(draw(st.lists(st.sampled_from(TRIGGERS), max_size=6))),
    )


@st.composite
def policy_and_case(draw, **policy_options) -> tuple[Policy, Case]:
    policy = draw(policies(**policy_options))
    return policy, draw(cases(policy))


@given(policy_and_case(protect=False), decimals("0", "60"), st.data())
def test_more_points_never_give_less_money(policy_case, extra, data):
    policy, case = policy_case
    # One more answer, or one answer worth more.
    more = data.draw(
        st.just(case.points + (extra,))
        | st.integers(0, max(len(case.points) - 1, 0)).map(
            lambda i: tuple(p + extra if j == i else p for j, p in enumerate(case.points))
        )
    )
    before = calculate(policy, case)
    after = calculate(policy, replace(case, points=more))

    assert after.gross_weekly >= before.gross_weekly
    assert after.ras_weekly >= before.ras_weekly
    assert after.indicative_weekly >= before.indicative_weekly
    assert after.annual >= before.annual


@given(policy_and_case())
def test_contingency_never_exceeds_the_highest_rate(policy_case):
    policy, case = policy_case
    result = calculate(policy, case)
    highest = max(band.rate for band in policy.contingency_bands)

    # Exact retained amount within the bound; the rounded total within the rounded bound
    # (round2 is monotone, so it cannot cross it).
    assert (
        sum(s.retained for s in result.contingency_by_band) <= highest / 100 * result.gross_weekly
    )
    assert Decimal(0) <= result.contingency_weekly <= round2(highest / 100 * result.gross_weekly)
    assert result.contingency_weekly <= result.gross_weekly


@given(policy_and_case(minimum=Decimal("0")))
def test_gross_less_contingency_is_the_ras_figure_to_the_penny(policy_case):
    policy, case = policy_case
    result = calculate(policy, case)

    assert result.gross_weekly - result.contingency_weekly == result.ras_weekly
    assert result.ras_weekly == round2(result.ras_weekly)  # whole pennies, nothing beyond


@given(policy_and_case())
def test_the_floor_is_never_undercut(policy_case):
    policy, case = policy_case
    result = calculate(policy, case)

    assert result.ras_weekly == max(
        policy.minimum_weekly, result.gross_weekly - result.contingency_weekly
    )
    assert result.ras_weekly >= policy.minimum_weekly


@given(policy_and_case())
def test_carer_reduction_only_when_assessed_and_able_and_willing(policy_case):
    policy, case = policy_case
    result = calculate(policy, case)

    if case.carer_assessed and case.carer_able_and_willing and case.informal_support:
        expected = (
            policy.informal_support_reductions[case.informal_support]
            * policy.carer_impact_multipliers[case.carer_impact]
        )
    else:
        expected = Decimal(0)
    assert result.reduction_percent == expected
    assert result.adjusted_points == result.raw_points * (1 - expected / 100)
    assert result.adjusted_points <= result.raw_points


@given(policy_and_case(), st.data())
def test_results_do_not_depend_on_the_order_of_answers(policy_case, data):
    policy, case = policy_case
    shuffled = replace(
        case,
        points=tuple(data.draw(st.permutations(case.points))),
        triggers=tuple(data.draw(st.permutations(case.triggers))),
    )

    before, after = calculate(policy, case), calculate(policy, shuffled)

    assert after == before
    assert result_to_dict(after) == result_to_dict(before)
    assert list(after.triggers) == sorted(set(case.triggers))


@given(policy_and_case())
def test_the_indicative_amount_follows_step_7(policy_case):
    policy, case = policy_case
    result = calculate(policy, case)

    protected = (
        policy.protect_existing_packages
        and case.existing_weekly_cost is not None
        and not case.needs_increased
    )
    # existing_package takes the existing cost; higher_of only when it is strictly higher.
    takes_existing = protected and (
        policy.transitional_rule == "existing_package"
        or case.existing_weekly_cost > result.ras_weekly
    )
    if takes_existing:
        expected = (case.existing_weekly_cost, "existing_package")
    else:
        expected = (result.ras_weekly, "ras")
    assert (result.indicative_weekly, result.basis) == expected
    if protected and policy.transitional_rule == "higher_of":
        # No one loses money at transition.
        assert result.indicative_weekly >= max(result.ras_weekly, case.existing_weekly_cost)
    assert result.annual == round2(result.indicative_weekly * policy.weeks_per_year)
    assert result.panel_required == (result.indicative_weekly >= policy.panel_threshold_weekly)


@given(policies())
def test_a_policy_reads_back_from_its_dict_unchanged(policy):
    assert policy_from_dict(policy_to_dict(policy)) == policy
