"""Take-up (issue 12; the old national indicator NI 130): month by month, the people receiving
community-based support, how many of them have an agreed personal budget in force, and how
many take some of it as a direct payment, against the council's target.

One SQL query for the whole period (PostgreSQL): each person's facts are intervals — the time
each submitted assessment's eligibility decision stood (until their next submitted assessment),
and the overlap of an eligible one with the time an agreed budget was in force — counted at
each month end as the intervals begun before it less those ended before it. Plus one query
for the target (report_targets).

Without PostgreSQL (the SQLite file `make run` uses with no DATABASE_URL) the same figures come
from take_up_counts_portable: the same intervals read through the ORM and counted in Python,
for a demo-sized caseload."""

from __future__ import annotations

import datetime

from django.db import connection

from allocations.models import AgreedBudget
from allocations.reports.money import TOOK_EFFECT
from allocations.reports.scope import ReportScope, day_after
from allocations.reports.tables import Column, Kind, ReportSection, Table, percent
from allocations.reports.targets import report_targets
from assessments.models import Assessment, Person

TAKE_UP_NOTES = (
    "Receiving community-based support: people who, by the month's end, had an assessment "
    "submitted and whose latest submitted assessment found them eligible — whether their "
    "support is a personal budget or a traditional package.",
    "Agreed budget: of those, people with an agreed personal budget in force at the month's "
    "end (agreed on or before it, and not ended by then; a lower budget that waited for a "
    "manager counts from the day it was adopted). Take-up = agreed ÷ receiving support.",
    "Direct payment: of those, people whose budget in force pays some of it as a direct "
    "payment (more than £0 a week); its share is of everyone receiving support.",
    "Each month is counted as at its last day, or at the end of the period for a month the "
    "period ends in. The target is the one the RAS administrators have set.",
)


def month_ends(
    start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, datetime.date]]:
    """(first day, the day it is counted at) for each calendar month overlapping [start, end],
    oldest first: the month's last day, or `end` for the month the period ends in."""
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        months.append((first, min(following - datetime.timedelta(days=1), end)))
        first = following
    return months


def scoped_people_sql(scope: ReportScope, column: str, prefix: str) -> tuple[str, dict]:
    """`AND <column> IN (the people in scope)` with its named parameters; nothing when the
    scope is everyone (each table is then read once, without a semi-join)."""
    if scope.team_ids is None and scope.client_group is None:
        return "", {}
    people = Person.objects.filter(scope.people()).order_by().values("pk")
    sql, params = people.query.sql_with_params()
    named = {f"{prefix}{i}": value for i, value in enumerate(params)}
    # The ORM's query uses %s placeholders; the report's queries name their parameters.
    sql = sql % tuple(f"%({name})s" for name in named)
    return f"AND {column} IN ({sql})", named


# For the rest of the transaction, sent in the same round trip (so still one query): no JIT
# (PostgreSQL's compiler costs seconds on these queries and saves nothing at this size), and
# room to sort a whole caseload in memory.
LOCAL_SETTINGS = "SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true);\n"

TAKE_UP_SQL = """
WITH months (k, month_start) AS (
    SELECT k::int, month_start FROM unnest(%(months)s::date[]) WITH ORDINALITY AS m(month_start, k)
),
decisions AS (
    -- Each submitted assessment's decision stands from its submission until the next one.
    SELECT a.person_id,
           a.submitted_at AS from_at,
           lead(a.submitted_at) OVER (
               PARTITION BY a.person_id ORDER BY a.submitted_at, a.id
           ) AS until_at,
           coalesce(e.eligible, false) AS eligible
    FROM assessments_assessment a
    LEFT JOIN assessments_eligibilitydetermination e ON e.assessment_id = a.id
    WHERE a.submitted_at IS NOT NULL AND a.submitted_at < %(last)s {people_a}
),
in_force AS (
    -- Agreed budgets while in force: from agreement, or from adoption for a lower one that
    -- waited for a manager. One that waited and was overtaken by a newer agreement (ended,
    -- never decided, its predecessor not ended when it was agreed) was never in force. The
    -- same rule as the money report's (allocations.reports.money.in_force_at).
    SELECT b.person_id,
           coalesce(b.decided_at, b.agreed_at) AS from_at,
           b.ended_at AS until_at,
           b.direct_payment_weekly_gbp > 0 AS direct_payment
    FROM allocations_agreedbudget b
    LEFT JOIN allocations_agreedbudget r ON r.id = b.replaces_id
    WHERE b.status IN ('current', 'ended')
      AND (b.decided_at IS NOT NULL OR b.replaces_id IS NULL OR r.ended_at <= b.agreed_at)
      {people_b}
),
covered AS (
    -- While a person was eligible AND had an agreed budget in force: the overlap of the two
    -- intervals (least() ignores NULL, the open end).
    SELECT greatest(d.from_at, f.from_at) AS from_at,
           least(d.until_at, f.until_at) AS until_at, f.direct_payment
    FROM decisions d
    JOIN in_force f ON f.person_id = d.person_id
    WHERE d.eligible
      AND (d.until_at IS NULL OR f.from_at < d.until_at)
      AND (f.until_at IS NULL OR d.from_at < f.until_at)
),
events (t, supported, agreed, direct_payment) AS (
    -- A person's intervals of each kind never overlap, so the people in them at a moment c
    -- are those that started before c less those that ended before c.
    SELECT from_at, 1, 0, 0 FROM decisions WHERE eligible
    UNION ALL SELECT until_at, -1, 0, 0 FROM decisions WHERE eligible AND until_at IS NOT NULL
    UNION ALL SELECT from_at, 0, 1, direct_payment::int FROM covered
    UNION ALL
    SELECT until_at, 0, -1, -(direct_payment::int) FROM covered WHERE until_at IS NOT NULL
),
buckets AS (
    -- width_bucket: how many month ends are at or before t (t counts for the later ones).
    SELECT width_bucket(t, %(cutoffs)s::timestamptz[]) AS bucket,
           sum(supported) AS supported, sum(agreed) AS agreed,
           sum(direct_payment) AS direct_payment
    FROM events
    GROUP BY 1
)
SELECT m.month_start,
       coalesce(sum(b.supported), 0)::int,
       coalesce(sum(b.agreed), 0)::int,
       coalesce(sum(b.direct_payment), 0)::int
FROM months m
LEFT JOIN buckets b ON b.bucket < m.k
GROUP BY m.month_start
ORDER BY m.month_start
"""


def take_up_counts(scope: ReportScope) -> list[tuple[datetime.date, int, int, int]]:
    """(first day of the month, supported, agreed, direct payment) for each month of the
    scope's period, oldest first. One query on PostgreSQL (take_up_counts_portable elsewhere)."""
    if connection.vendor != "postgresql":
        return take_up_counts_portable(scope)
    months = month_ends(scope.start, scope.end)
    cutoffs = [day_after(as_at) for _, as_at in months]
    people_a, params_a = scoped_people_sql(scope, "a.person_id", "a")
    people_b, params_b = scoped_people_sql(scope, "b.person_id", "b")
    sql = LOCAL_SETTINGS + TAKE_UP_SQL.format(people_a=people_a, people_b=people_b)
    params = {
        "months": [first for first, _ in months],
        "cutoffs": cutoffs,
        "last": cutoffs[-1],
        **params_a,
        **params_b,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# An interval: (from, until), until None while it has not ended.
Interval = tuple[datetime.datetime, datetime.datetime | None]


def _eligibility_intervals(
    scope: ReportScope, before: datetime.datetime
) -> dict[int, list[tuple[datetime.datetime, datetime.datetime | None, bool]]]:
    """TAKE_UP_SQL's decisions: {person: [(from, until, eligible)]} — each assessment submitted
    before `before` holds from its submission until the person's next one (None: still)."""
    submitted = (
        Assessment.objects.filter(
            scope.people("person__"), submitted_at__isnull=False, submitted_at__lt=before
        )
        .order_by("person_id", "submitted_at", "pk")
        .values_list("person_id", "submitted_at", "eligibility__eligible")
    )
    decisions: dict[int, list] = {}
    for person_id, submitted_at, eligible in submitted:
        mine = decisions.setdefault(person_id, [])
        if mine:
            mine[-1] = (mine[-1][0], submitted_at, mine[-1][2])
        mine.append((submitted_at, None, bool(eligible)))
    return decisions


def _in_force_intervals(scope: ReportScope) -> dict[int, list[tuple[Interval, bool]]]:
    """TAKE_UP_SQL's in_force: {person: [((from, until), takes a direct payment)]}."""
    budgets = (
        AgreedBudget.objects.filter(TOOK_EFFECT, scope.people("person__"))
        .order_by()
        .values_list(
            "person_id", "decided_at", "agreed_at", "ended_at", "direct_payment_weekly_gbp"
        )
    )
    in_force: dict[int, list] = {}
    for person_id, decided_at, agreed_at, ended_at, direct_payment in budgets:
        interval = (decided_at or agreed_at, ended_at)
        in_force.setdefault(person_id, []).append((interval, direct_payment > 0))
    return in_force


def _at(intervals: list[tuple[Interval, int]], cutoff: datetime.datetime) -> int:
    """TAKE_UP_SQL's sum over events before `cutoff`: each interval's weight once begun, less
    it once ended."""
    return sum(weight for (start, _), weight in intervals if start < cutoff) - sum(
        weight for (_, end), weight in intervals if end is not None and end < cutoff
    )


def take_up_counts_portable(scope: ReportScope) -> list[tuple[datetime.date, int, int, int]]:
    """take_up_counts on any database (two ORM queries, counted in Python): the same rows as
    TAKE_UP_SQL, for the SQLite file `make run` uses with no PostgreSQL."""
    months = month_ends(scope.start, scope.end)
    cutoffs = [day_after(as_at) for _, as_at in months]
    decisions = _eligibility_intervals(scope, cutoffs[-1])
    in_force = _in_force_intervals(scope)
    supported: list[tuple[Interval, int]] = []
    covered: list[tuple[Interval, int]] = []
    for person_id, intervals in decisions.items():
        for d_from, d_until, eligible in intervals:
            if not eligible:
                continue
            supported.append(((d_from, d_until), 1))
            # Eligible while a budget was in force: the overlap of the two intervals.
            for (f_from, f_until), direct_payment in in_force.get(person_id, ()):
                if (d_until is None or f_from < d_until) and (f_until is None or d_from < f_until):
                    ends = [end for end in (d_until, f_until) if end is not None]
                    overlap = (max(d_from, f_from), min(ends) if ends else None)
                    covered.append((overlap, int(direct_payment)))
    agreed = [(interval, 1) for interval, _ in covered]
    return [
        (first, _at(supported, cutoff), _at(agreed, cutoff), _at(covered, cutoff))
        for (first, _), cutoff in zip(months, cutoffs, strict=True)
    ]


def takeup_tables(scope: ReportScope) -> list[Table]:
    target = report_targets().take_up_target_percent
    rows = [
        (
            f"{first:%Y-%m}",
            supported,
            agreed,
            percent(agreed, supported),
            direct,
            percent(direct, supported),
            target,
        )
        for first, supported, agreed, direct in take_up_counts(scope)
    ]
    return [
        Table(
            slug="take-up-by-month",
            caption="Take-up of personal budgets, month by month",
            columns=(
                Column("month", "Month", Kind.TEXT),
                Column("supported", "Receiving community-based support", Kind.COUNT),
                Column("agreed", "With an agreed personal budget", Kind.COUNT),
                Column("take_up_percent", "Take-up", Kind.PERCENT),
                Column("direct_payment", "Taking a direct payment", Kind.COUNT),
                Column("direct_payment_percent", "Direct payment share", Kind.PERCENT),
                Column("target_percent", "Target", Kind.PERCENT),
            ),
            rows=rows,
            notes=TAKE_UP_NOTES,
        )
    ]


SECTION = ReportSection(slug="take-up", title="Take-up", order=10, tables=takeup_tables)
