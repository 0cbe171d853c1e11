"""Reads for indicative and agreed budgets, scoped to the user asking, and the plain-English
explanation of a budget (read from its stored breakdown only)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404

from allocations.engine import round2
from allocations.models import AgreedBudget, IndicativeBudget, TransitionalRule
from allocations.permissions import AGREED_BUDGET_VIEW, BUDGET_DECIDE, BUDGET_VIEW
from assessments.models import ClientGroup, FundingTrigger, InformalSupport, Person
from assessments.selectors.people import people_visible_to
from ras_site.compiled import fetch, fetch_for_person, user_key


def budgets_for_person(*, user, person: Person) -> list[IndicativeBudget]:
    """Every version of the person's indicative budget, newest first (person already checked
    with person_get_for_user)."""
    if not user.has_perm(BUDGET_VIEW):
        return []
    return fetch_for_person(
        lambda person_id: IndicativeBudget.objects.filter(person_id=person_id).select_related(
            "policy", "created_by", "decided_by"
        ),
        "budgets_for_person",
        person,
    )


def budget_get_for_user(*, user, pk: int) -> IndicativeBudget:
    # Compiled once a day for each user (ras_site.compiled): PostgreSQL answers it in a
    # fraction of the time the ORM takes to build it.
    found = fetch(
        lambda pk: (
            IndicativeBudget.objects.select_related("person__team", "policy", "assessment")
            .filter(pk=pk, person__in=people_visible_to(user))
            .order_by("pk")[:1]
        ),
        ("budget_get_for_user", *user_key(user)),
        args=(int(pk),),
    )
    budget = found[0] if found else None
    if budget is None or not user.has_perm(BUDGET_VIEW):
        raise Http404("No such budget on your caseload.")
    return budget


def _awaiting_decision(model, *, user, related: tuple[str, ...], order: str) -> QuerySet:
    """Lower figures of `model` waiting for this manager: their team's, or all for
    whole-service roles; none for a role that does not decide."""
    if not user.has_perm(BUDGET_DECIDE):
        return model.objects.none()
    return (
        model.objects.filter(
            status=model.Status.AWAITING_DECISION, person__in=people_visible_to(user)
        )
        .select_related("person__team", *related)
        .order_by(order)
    )


def budgets_awaiting_decision(*, user) -> QuerySet[IndicativeBudget]:
    """Lower indicative figures waiting for this manager."""
    return _awaiting_decision(
        IndicativeBudget, user=user, related=("policy", "replaces"), order="created_at"
    )


def is_silent_reduction(
    *, new_weekly: Decimal, new_points: Decimal, current_weekly: Decimal, current_points: Decimal
) -> bool:
    """Less money while needs (points) have not reduced: a manager must decide first. The one
    rule for indicative figures, re-pricing and agreed budgets."""
    return new_weekly < current_weekly and new_points >= current_points


def agreed_awaiting_decision(*, user) -> QuerySet[AgreedBudget]:
    """Lower agreed budgets waiting for this manager."""
    return _awaiting_decision(
        AgreedBudget, user=user, related=("replaces", "agreed_by"), order="agreed_at"
    )


def agreed_get_for_user(*, user, pk: int) -> AgreedBudget:
    agreed = (
        AgreedBudget.objects.select_related("person__team", "replaces", "agreed_by", "plan")
        .filter(pk=pk, person__in=people_visible_to(user))
        .first()
    )
    if agreed is None or not user.has_perm(AGREED_BUDGET_VIEW):
        raise Http404("No such agreed budget on your caseload.")
    return agreed


@dataclass(frozen=True)
class ExplanationRow:
    step: str
    detail: str
    amount: str


def gbp(value) -> str:
    """£1,234.56 (or −£1,234.56): pounds as people read them."""
    amount = round2(Decimal(value))
    return f"−£{-amount:,}" if amount < 0 else f"£{amount:,}"


def _pts(value) -> str:
    return f"{round2(Decimal(value))}"


def budget_explanation(budget: IndicativeBudget) -> list[ExplanationRow]:
    """'How this figure was worked out', in plain English, from the stored breakdown only
    (so it can be shown, or printed in a letter, exactly the same years later)."""
    b = budget.breakdown
    policy, inputs = b["policy"], b["inputs"]
    result = {
        "raw_points": budget.raw_points,
        "reduction_percent": budget.reduction_percent,
        "adjusted_points": budget.adjusted_points,
        "gross_weekly": budget.gross_weekly_gbp,
        "contingency_weekly": budget.contingency_weekly_gbp,
        "ras_weekly": budget.ras_weekly_gbp,
        "indicative_weekly": budget.indicative_weekly_gbp,
        "annual": budget.annual_gbp,
        "basis": budget.basis,
    }
    rows = [
        ExplanationRow(
            "Points from the answers",
            "; ".join(f"{s['title']} {s['points']}" for s in b["points_by_section"]) or "No points",
            f"{_pts(result['raw_points'])} points",
        )
    ]
    reduction = Decimal(result["reduction_percent"])
    if reduction:
        rows.append(
            ExplanationRow(
                "Informal support",
                f"{InformalSupport(inputs['informal_support']).label} from an unpaid carer who "
                f"has been assessed and is able and willing to continue; impact on the carer "
                f"{inputs['carer_impact']}: points reduced by {reduction.normalize():f}%",
                f"{_pts(result['adjusted_points'])} points",
            )
        )
    else:
        rows.append(
            ExplanationRow(
                "Informal support",
                f"No reduction ({b['reduction_because']})",
                f"{_pts(result['adjusted_points'])} points",
            )
        )
    factor = Decimal(b["client_group_factor"])
    factor_text = (
        f" × {factor.normalize():f} market cost factor for "
        f"{ClientGroup(inputs['client_group']).label.lower()}"
        if factor != 1
        else ""
    )
    rows.append(
        ExplanationRow(
            "Weekly amount before contingency",
            f"{_pts(result['adjusted_points'])} points × {gbp(policy['price_per_point'])} a "
            f"point{factor_text}",
            gbp(result["gross_weekly"]),
        )
    )
    for band in b["bands"]:
        if Decimal(band["amount_in_band"]) == 0:
            continue
        where = (
            f"above {gbp(band['lower'])}"
            if band["upper"] is None
            else f"between {gbp(band['lower'])} and {gbp(band['upper'])}"
        )
        rows.append(
            ExplanationRow(
                "Contingency kept by the council",
                f"{Decimal(band['rate']).normalize():f}% of the {gbp(band['amount_in_band'])} "
                f"{where}",
                f"− {gbp(round2(Decimal(band['retained'])))}",
            )
        )
    rows.append(
        ExplanationRow(
            "Contingency in total",
            "Kept for packages that cost more, and changes in need. The bands are added "
            "exactly and the total rounded once, so the lines above may differ from it by a "
            "penny",
            f"− {gbp(result['contingency_weekly'])}",
        )
    )
    floor = Decimal(policy["minimum_weekly"])
    ras_detail = "Weekly amount less contingency"
    if floor and Decimal(result["ras_weekly"]) == floor:
        ras_detail += f" (raised to the minimum of {gbp(floor)})"
    rows.append(ExplanationRow("RAS figure", ras_detail, gbp(result["ras_weekly"])))
    transitional = transitional_row(budget)
    if transitional is not None:
        rows.append(transitional)
    rows.append(ExplanationRow("Indicative weekly budget", "", gbp(result["indicative_weekly"])))
    rows.append(
        ExplanationRow(
            "Indicative yearly budget",
            f"{gbp(result['indicative_weekly'])} × "
            f"{Decimal(policy['weeks_per_year']).normalize():f} weeks",
            gbp(result["annual"]),
        )
    )
    return rows


def budget_triggers(budget: IndicativeBudget) -> list[FundingTrigger]:
    """The funding triggers the answers flagged, with what to consider (one query)."""
    return list(FundingTrigger.objects.filter(code__in=budget.triggers).order_by("name"))


def _rule(budget: IndicativeBudget) -> str:
    # Budgets stored before the rule could be chosen used today's default.
    return budget.breakdown["policy"].get("transitional_rule", TransitionalRule.EXISTING_PACKAGE)


def transitional_row(budget: IndicativeBudget) -> ExplanationRow | None:
    """Step 7 in words that say what it did: the cost of the current support is used while
    needs have not increased — lower than the RAS figure or higher — and only 'whichever is
    higher' is called protection."""
    if budget.basis != IndicativeBudget.Basis.EXISTING_PACKAGE:
        return None
    existing, ras = budget.indicative_weekly_gbp, budget.ras_weekly_gbp
    if _rule(budget) == TransitionalRule.HIGHER_OF:
        return ExplanationRow(
            "Current support kept",
            f"The person's current support costs {gbp(existing)} a week, more than the RAS "
            f"figure of {gbp(ras)}; under the council's rule no one gets less than their "
            "current support while their needs have not increased",
            gbp(existing),
        )
    if existing < ras:
        compared = f"{gbp(ras - existing)} less than the RAS figure of {gbp(ras)}"
    elif existing > ras:
        compared = f"{gbp(existing - ras)} more than the RAS figure of {gbp(ras)}"
    else:
        compared = "the same as the RAS figure"
    return ExplanationRow(
        "Based on the cost of the current support",
        f"The person's needs have not increased, so the indicative budget is the cost of their "
        f"current support, {gbp(existing)} a week: {compared}",
        gbp(existing),
    )


def basis_note(budget: IndicativeBudget) -> str:
    """One plain sentence on what the figure is based on, for pages and letters."""
    row = transitional_row(budget)
    if row is None:
        return "Based on the RAS calculation."
    if _rule(budget) == TransitionalRule.HIGHER_OF:
        return (
            "Based on the cost of the current support, which is more than the RAS figure: no "
            "one gets less than their current support while their needs have not increased."
        )
    return (
        "Based on the cost of the current support, because the person's needs have not "
        f"increased (the RAS figure is {gbp(budget.ras_weekly_gbp)})."
    )
