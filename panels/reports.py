"""The panel's report section (issue 12): its referrals, its decisions by outcome with the
median days from referral to decision, and the conditions whose review dates are coming up.

Registered with allocations' report registry in PanelsConfig.ready (order 40), so allocations
never names panels. A referral is in scope when its plan's person is (their team and client
group). Events (referred, decided, withdrawn) count when they fall in the period, by their
date in the council's time zone; "waiting" is as at the period's last day. Four queries,
whatever the number of referrals.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from statistics import median

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Func, IntegerField, Q
from django.db.models.functions import TruncDate

from allocations.reports.scope import ReportScope
from allocations.reports.tables import Column, Kind, ReportSection, Table
from panels.models import PanelDecision, PanelReferral

REVIEW_WINDOW = datetime.timedelta(weeks=8)


class DaysBetween(Func):
    """later − earlier, two dates, as a whole number of days (PostgreSQL: date − date)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps dates as text: count the days between their Julian day numbers.
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class Median(Aggregate):
    """The median of an expression over a group (PostgreSQL's percentile_cont(0.5))."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _days_to_decision():
    return DaysBetween(TruncDate("decision__decided_at"), TruncDate("referred_at"))


def _median_days(value: float | None) -> int | float | None:
    """A whole number of days, or a half day when the median falls between two."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 1)


def _in(field: str, scope: ReportScope) -> Q:
    first, after = scope.instants()
    return Q(**{f"{field}__gte": first, f"{field}__lt": after})


def _by_end(field: str, scope: ReportScope) -> Q:
    return Q(**{f"{field}__lt": scope.instants()[1]})


def referral_table(scope: ReportScope) -> Table:
    referrals = PanelReferral.objects.filter(scope.people("plan__person__"))
    counts = referrals.aggregate(
        referred=Count("pk", filter=_in("referred_at", scope)),
        decided=Count("pk", filter=_in("decision__decided_at", scope)),
        withdrawn=Count("pk", filter=_in("withdrawn_at", scope)),
        waiting=Count(
            "pk",
            filter=_by_end("referred_at", scope)
            & ~_by_end("decision__decided_at", scope)
            & ~_by_end("withdrawn_at", scope),
        ),
    )
    return Table(
        slug="panel-referrals",
        caption="Referrals to the risk enablement panel",
        columns=(Column("measure", "Referrals"), Column("referrals", "Number", Kind.COUNT)),
        rows=[
            ("Referred in the period", counts["referred"]),
            ("Decided in the period", counts["decided"]),
            ("Withdrawn in the period (the plan left the panel)", counts["withdrawn"]),
            ("Waiting for a decision at the end of the period", counts["waiting"]),
        ],
        notes=(
            "A plan goes to the panel when it is over the panel's thresholds or the worker "
            "refers it for risk; a deferred plan sent back makes a new referral.",
            "Referred, decided and withdrawn count the referrals whose date falls in the "
            "period; waiting counts those referred by its last day and neither decided nor "
            "withdrawn by then.",
        ),
    )


def decision_table(scope: ReportScope) -> Table:
    decided = PanelReferral.objects.filter(
        _in("decision__decided_at", scope),
        scope.people("plan__person__"),
    )
    if connection.vendor == "postgresql":
        by_outcome = {
            row["decision__outcome"]: row
            for row in decided.values("decision__outcome")
            .annotate(decisions=Count("pk"), median=Median(_days_to_decision()))
            .order_by()
        }
        overall = decided.aggregate(decisions=Count("pk"), median=Median(_days_to_decision()))
    else:
        by_outcome, overall = _medians_portable(decided)
    rows = [
        (
            label,
            by_outcome.get(outcome, {}).get("decisions", 0),
            _median_days(by_outcome.get(outcome, {}).get("median")),
        )
        for outcome, label in PanelDecision.Outcome.choices
    ]
    rows.append(("All decisions", overall["decisions"], _median_days(overall["median"])))
    return Table(
        slug="panel-decisions",
        caption="The panel's decisions in the period, by outcome",
        columns=(
            Column("outcome", "Outcome"),
            Column("decisions", "Decisions", Kind.COUNT),
            Column("median_days", "Median days from referral to decision", Kind.DAYS),
        ),
        rows=rows,
        notes=(
            "Decisions made in the period. Days run from the day the plan was referred to the "
            "day the panel decided (calendar days); the median is the middle figure, or "
            "halfway between the two middle ones.",
        ),
    )


def _medians_portable(decided) -> tuple[dict, dict]:
    """decision_table's counts and medians where the database has no percentile_cont (the
    SQLite file `make run` uses with no PostgreSQL): one query, the median taken in Python."""
    days: dict[str, list[int]] = defaultdict(list)
    rows = decided.annotate(days=_days_to_decision()).values_list("decision__outcome", "days")
    for outcome, waited in rows:
        days[outcome].append(waited)
    every = [d for waits in days.values() for d in waits]
    by_outcome = {
        outcome: {"decisions": len(waits), "median": median(waits)}
        for outcome, waits in days.items()
    }
    return by_outcome, {"decisions": len(every), "median": median(every) if every else None}


def reviews_due_table(scope: ReportScope) -> Table:
    """Conditions the panel set (approved with conditions), decided by the period's end, whose
    review date falls from its last day to 8 weeks after, on plans whose agreed budget is
    still in force then."""
    last = scope.end + REVIEW_WINDOW
    due = (
        PanelDecision.objects.filter(
            scope.people("referral__plan__person__"),
            _by_end("decided_at", scope),
            outcome=PanelDecision.Outcome.APPROVED_WITH_CONDITIONS,
            review_date__range=(scope.end, last),
        )
        .filter(
            Q(referral__plan__agreed__ended_at__isnull=True)
            | ~_by_end("referral__plan__agreed__ended_at", scope)
        )
        .order_by("review_date", "referral__plan__person__reference")
        .values_list(
            "referral__plan__person__reference",
            "referral__plan__person__team__name",
            "review_date",
            "conditions",
        )
    )
    return Table(
        slug="panel-reviews-due",
        names_people=True,
        caption=(f"Conditions with a review due from {scope.end:%-d %B %Y} to {last:%-d %B %Y}"),
        columns=(
            Column("reference", "Reference"),
            Column("team", "Team"),
            Column("review_date", "Review date", Kind.DATE),
            Column("conditions", "Conditions"),
        ),
        rows=list(due),
        notes=(
            "Plans the panel approved with conditions by the end of the period, whose agreed "
            "budget is still in force then, with the review date the panel set falling in the "
            "8 weeks from the period's last day. The review date is the one the panel set in "
            "its decision; the agreed budget carries the same date.",
        ),
    )


def panel_tables(scope: ReportScope) -> list[Table]:
    return [referral_table(scope), decision_table(scope), reviews_due_table(scope)]


SECTION = ReportSection(slug="panel", title="Risk enablement panel", order=40, tables=panel_tables)
