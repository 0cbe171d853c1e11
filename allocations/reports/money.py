"""Money (issue 12): what the council has committed to agreed personal budgets against the
budget it sets, the contingency it keeps back, how budgets are managed, indicative vs agreed vs
traditional package cost for the same people (the seeds' £294.55, £300.94 and £310.84 a week),
and the people whose agreed budget differs most from their indicative one.

Every figure is of the agreed budgets in force at the end of the scope's period (see
`in_force_at`), for the people in scope (team, client group). Sums are made in the database;
the section makes four queries (the report settings and three aggregates) whatever the number
of people.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Abs, Coalesce

from allocations.engine import round2
from allocations.models import AgreedBudget
from allocations.reports.scope import ReportScope, day_after
from allocations.reports.tables import Column, Kind, ReportSection, Table, percent
from allocations.reports.targets import report_targets
from assessments.models import ClientGroup

NOT_SET = "not set"
LARGEST_DIFFERENCES = 10
ZERO = Decimal("0")
_MONEY = DecimalField(max_digits=20, decimal_places=6)

# The rows of money-commitment, top to bottom (tests and the pack read them by these labels).
COMMITTED = "Committed by the council"
CONTRIBUTIONS = "People's assessed contributions"
AGREED_TOTAL = "Agreed budgets in total"
CONTINGENCY = "Contingency retained"
BUDGET = "Annual budget set by the council"
HEADROOM = "Headroom: the budget less the council's commitment"
SHARE_COMMITTED = "Share of the annual budget committed"
WHOLE_SCOPE = "Everyone counted"
OPTIONS = (
    ("Direct payment", "direct_payment_weekly_gbp"),
    ("Council-managed", "council_managed_weekly_gbp"),
    ("Individual service fund", "isf_weekly_gbp"),
)
ALL_OPTIONS = "All agreed budgets"


# The agreed budgets that took effect (see in_force_at): the ORM form of TAKE_UP_SQL's in_force
# in allocations/reports/takeup.py, used by take-up's and the pipeline's portable paths.
TOOK_EFFECT = Q(status__in=[AgreedBudget.Status.CURRENT, AgreedBudget.Status.ENDED]) & (
    Q(decided_at__isnull=False)
    | Q(replaces__isnull=True)
    | Q(replaces__ended_at__lte=F("agreed_at"))
)


def in_force_at(day: datetime.date) -> QuerySet:
    """The agreed budgets in force at the end of `day` (London time): at most one a person
    (as the workflow keeps them).

    A budget is in force from the moment it took effect until it ended (`ended_at`). It took
    effect when agreed or, for a lower budget that waited for a manager, when the manager
    adopted it (`decided_at`). A budget waiting for a decision, or not adopted, never took
    effect; nor did a lower one whose wait was cut short by a newer plan (it is ended, never
    having been decided, while the budget it would have replaced stayed in force after it was
    agreed): counting it would count that person twice."""
    boundary = day_after(day)
    return AgreedBudget.objects.annotate(took_effect_at=Coalesce("decided_at", "agreed_at")).filter(
        TOOK_EFFECT,
        Q(took_effect_at__lt=boundary),
        Q(ended_at__isnull=True) | Q(ended_at__gte=boundary),
    )


def _in_scope(scope: ReportScope) -> QuerySet:
    """The agreed budgets in force at the end of the period, of the people in scope."""
    return in_force_at(scope.end).filter(scope.people("person__"))


def _people(n: int) -> str:
    return f"{n} person" if n == 1 else f"{n} people"


def _sum(expression) -> Coalesce:
    return Coalesce(Sum(expression, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def _a_year(field: str) -> ExpressionWrapper:
    """A weekly amount × the weeks a year of the policy the budget was worked out under."""
    return ExpressionWrapper(
        F(field) * F("plan__indicative_budget__policy__weeks_per_year"), output_field=_MONEY
    )


def _totals(budgets: QuerySet) -> dict:
    """Every sum the commitment and management tables need, in one query; each annual sum is
    exact until this rounds it to the penny (half up)."""
    sums = {
        "people": Count("pk"),
        "weekly": _sum("weekly_gbp"),
        "annual": _sum("annual_gbp"),
        "council_weekly": _sum("council_weekly_gbp"),
        "council_annual": _sum(_a_year("council_weekly_gbp")),
        "contribution_weekly": _sum("contribution_weekly_gbp"),
        "contingency_weekly": _sum("plan__indicative_budget__contingency_weekly_gbp"),
        "contingency_annual": _sum(_a_year("plan__indicative_budget__contingency_weekly_gbp")),
    }
    for _, field in OPTIONS:
        sums[f"{field}_weekly"] = _sum(field)
        sums[f"{field}_annual"] = _sum(_a_year(field))
    totals = budgets.aggregate(**sums)
    # Pounds and pence, however the database scaled them (a sum × weeks a year has 4 places).
    return {key: value if key == "people" else round2(value) for key, value in totals.items()}


def commitment_table(scope: ReportScope, totals: dict) -> Table:
    settings = report_targets()
    council_annual = totals["council_annual"]
    budget = settings.annual_budget_gbp
    rows = [
        (COMMITTED, totals["council_weekly"], council_annual),
        (
            CONTRIBUTIONS,
            totals["contribution_weekly"],
            totals["annual"] - council_annual,
        ),
        (AGREED_TOTAL, totals["weekly"], totals["annual"]),
        (CONTINGENCY, totals["contingency_weekly"], totals["contingency_annual"]),
    ]
    if budget is None:
        rows += [
            (BUDGET, None, NOT_SET),
            (HEADROOM, None, NOT_SET),
            (SHARE_COMMITTED, None, NOT_SET),
        ]
    else:
        share = percent(council_annual, budget)
        rows += [
            (BUDGET, None, budget),
            (HEADROOM, None, budget - council_annual),
            (SHARE_COMMITTED, None, NOT_SET if share is None else f"{share}%"),
        ]
    return Table(
        slug="money-commitment",
        caption=f"Spend committed to agreed personal budgets in force on {scope.end:%-d %B %Y}",
        columns=(
            Column("measure", "Measure"),
            Column("weekly", "A week", Kind.MONEY),
            Column("annual", "A year", Kind.MONEY),
        ),
        rows=rows,
        notes=(
            f"{_people(totals['people'])} had an agreed personal budget in force at the end of "
            f"{scope.end:%-d %B %Y}: agreed (or, for a lower budget that waited for a manager, "
            "adopted) by then and not ended by then.",
            "Committed: the council's share of those budgets, that is each agreed budget less "
            "the person's assessed contribution (from the financial assessment), which is shown "
            "as its own row. The two add up to the agreed budgets in total.",
            "A year: each budget's weekly figure × the weeks a year of the policy it was worked "
            "out under, as if every budget in force ran for a whole year. One-off items in "
            "the plans are not included.",
            "Contingency retained: what the RAS kept back from the indicative budgets those "
            "budgets were agreed against (its contingency bands), not paid to anyone.",
            "Headroom and the share committed compare the council's commitment a year with "
            "the annual budget a RAS administrator sets on the report settings page"
            + ("; no budget has been set yet." if budget is None else "."),
        ),
    )


def by_option_table(scope: ReportScope, totals: dict) -> Table:
    whole = totals["weekly"]
    rows = [
        (
            label,
            totals[f"{field}_weekly"],
            totals[f"{field}_annual"],
            percent(totals[f"{field}_weekly"], whole),
        )
        for label, field in OPTIONS
    ]
    rows.append((ALL_OPTIONS, whole, totals["annual"], percent(whole, whole)))
    return Table(
        slug="money-by-option",
        caption=f"Agreed personal budgets in force on {scope.end:%-d %B %Y}, by how they are "
        "managed",
        columns=(
            Column("option", "How the budget is managed"),
            Column("weekly", "A week", Kind.MONEY),
            Column("annual", "A year", Kind.MONEY),
            Column("share_percent", "Share", Kind.PERCENT),
        ),
        rows=rows,
        notes=(
            "The whole agreed budget (the person's contribution included), split as the "
            "agreed plan says: a budget managed in a mix of ways counts in each row for its "
            "part.",
            "Share: of the weekly total of the agreed budgets in force.",
        ),
    )


def _average(total: Decimal, people: int) -> Decimal | None:
    return round2(total / people) if people else None


def comparison_table(scope: ReportScope, budgets: QuerySet, in_force_people: int) -> Table:
    """Average indicative, agreed and traditional weekly cost of the same people: one query
    grouped by client group; the whole scope's row is summed from the groups'."""
    groups = {
        row["person__client_group"]: row
        for row in budgets.filter(person__existing_weekly_cost_gbp__isnull=False)
        .values("person__client_group")
        .order_by("person__client_group")
        .annotate(
            people=Count("pk"),
            indicative=_sum("indicative_weekly_gbp"),
            agreed=_sum("weekly_gbp"),
            traditional=_sum("person__existing_weekly_cost_gbp"),
        )
    }
    shown = [
        (value, label)
        for value, label in ClientGroup.choices
        if scope.client_group is None or value == scope.client_group
    ]
    empty = {"people": 0, "indicative": ZERO, "agreed": ZERO, "traditional": ZERO}

    def row(label: str, figures: dict) -> tuple:
        n = figures["people"]
        return (
            label,
            n,
            _average(figures["indicative"], n),
            _average(figures["agreed"], n),
            _average(figures["traditional"], n),
        )

    whole = {
        key: sum((g[key] for g in groups.values()), 0 if key == "people" else ZERO) for key in empty
    }
    rows = [row(WHOLE_SCOPE, whole)]
    rows += [row(label, groups.get(value, empty)) for value, label in shown]
    left_out = in_force_people - whole["people"]
    return Table(
        slug="money-comparison",
        caption="Indicative budget, agreed budget and traditional package cost for the same "
        f"people: averages a week, {scope.end:%-d %B %Y}",
        columns=(
            Column("group", "Client group"),
            Column("people", "People", Kind.COUNT),
            Column("indicative", "Indicative budget", Kind.MONEY),
            Column("agreed", "Agreed budget", Kind.MONEY),
            Column("traditional", "Traditional package", Kind.MONEY),
        ),
        rows=rows,
        notes=(
            "Counted: the people in scope with an agreed personal budget in force at the end of "
            "the period and a traditional package cost recorded; each of them counts in all "
            "three columns, so the averages compare the same people.",
            "Indicative budget: the one the agreed budget was agreed against. Agreed budget: "
            "the whole weekly budget, the person's contribution included. Traditional package: "
            "the weekly cost of the person's traditional care package as their record now "
            "holds it.",
            f"Left out: {_people(left_out)} with an agreed budget in force but no traditional "
            "package cost recorded (there is nothing to compare with), and everyone without "
            "an agreed budget in force (no agreed figure).",
            "Where the transitional rule set the indicative budget at the cost of the current "
            "package (needs not increased), the indicative and traditional figures are the "
            "same for that person.",
            "Averages are rounded to the penny, half up.",
        ),
    )


def largest_differences_table(scope: ReportScope, budgets: QuerySet) -> Table:
    difference = ExpressionWrapper(
        F("weekly_gbp") - F("indicative_weekly_gbp"), output_field=_MONEY
    )
    largest = (
        budgets.annotate(difference=difference, size=Abs(difference))
        .exclude(weekly_gbp=F("indicative_weekly_gbp"))
        .order_by("-size", "person__reference")
        .values_list(
            "person__reference",
            "person__team__name",
            "indicative_weekly_gbp",
            "weekly_gbp",
            "difference",
            "difference_reason",
        )[:LARGEST_DIFFERENCES]
    )
    rows = [
        (reference, team, indicative, agreed, round2(diff), reason)
        for reference, team, indicative, agreed, diff, reason in largest
    ]
    return Table(
        slug="money-largest-differences",
        names_people=True,
        caption=f"The {LARGEST_DIFFERENCES} agreed budgets that differ most from the indicative "
        f"budget, in force on {scope.end:%-d %B %Y}",
        columns=(
            Column("reference", "Reference"),
            Column("team", "Team"),
            Column("indicative", "Indicative a week", Kind.MONEY),
            Column("agreed", "Agreed a week", Kind.MONEY),
            Column("difference", "Difference a week", Kind.MONEY),
            Column("reason", "Reason recorded"),
        ),
        rows=rows,
        notes=(
            "People in scope whose agreed budget in force at the end of the period differs "
            "from the indicative budget it was agreed against, largest difference (either way) "
            f"first, at most {LARGEST_DIFFERENCES}. Difference: agreed less indicative, so a "
            "negative figure is an agreed budget below the indicative one.",
            "Reason recorded: why the support plan differs from the indicative budget, as the "
            "worker gave it.",
        ),
    )


def money_tables(scope: ReportScope) -> list[Table]:
    budgets = _in_scope(scope)
    totals = _totals(budgets)
    return [
        commitment_table(scope, totals),
        by_option_table(scope, totals),
        comparison_table(scope, budgets, totals["people"]),
        largest_differences_table(scope, budgets),
    ]


SECTION = ReportSection(slug="money", title="Money", order=30, tables=money_tables)
