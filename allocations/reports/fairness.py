"""Fairness (issue 12): for each client group, age band, sex and ethnicity, how many people,
their average points, indicative and agreed budgets, agreed ÷ indicative, the RAS figure ÷ the
traditional package cost, and the shares referred to the panel and declined by it; the groups
that differ markedly from the whole service are marked, and small numbers are held back.

One query for the four tables. ORM querysets give one row per person counted (their
budget's figures and their groups), each person's agreed budget in force, and the people
referred and declined in the period; one SQL statement joins them by person (hash joins, not a
look-up per person) and aggregates with GROUPING SETS, a set per table and one for the whole
service. No Python loop over people: the loops below run over the few grouped rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    F,
    Q,
    Value,
    When,
)

from allocations.engine.calculate import round2
from allocations.models import PANEL_DECLINED_COMMENT, IndicativeBudget, SupportPlan
from allocations.reports.money import in_force_at
from allocations.reports.scope import ReportScope, day_after
from allocations.reports.tables import (
    SMALL_NUMBER,
    SUPPRESSED,
    Column,
    Kind,
    Marked,
    ReportSection,
    Table,
    percent,
)
from assessments.models import AGE_BANDS, UNDER_18_BAND, ClientGroup, Ethnicity, Sex
from ras_site.forms import years_after

WHOLE_SERVICE = "Whole service"
NOT_RECORDED = "Not recorded"

# How allocations knows the panel declined a plan without asking panels (which sits above it):
# the panel's "declined" decision returns the plan (at_panel → returned) with comments that
# start with PANEL_DECLINED_COMMENT, which panels writes. A deferral, "more information
# needed", returns it too, but is not a decline.
PANEL_DECLINED_PREFIX = PANEL_DECLINED_COMMENT

# A group's figure is marked when it differs from the whole service's by more than this share
# of the whole service's figure (averages and ratios) ...
MARK_RELATIVE = Decimal("0.10")
# ... or by more than this many percentage points (shares).
MARK_POINTS = Decimal("5")

COLUMNS = (
    Column("group", "Group", Kind.TEXT),
    Column("people", "People", Kind.COUNT),
    Column("avg_points", "Average points", Kind.RATIO),
    Column("avg_indicative", "Average indicative budget (a week)", Kind.MONEY),
    Column("avg_agreed", "Average agreed budget (a week)", Kind.MONEY),
    Column("agreed_to_indicative", "Average agreed ÷ indicative", Kind.RATIO),
    Column("ras_to_traditional", "Average RAS figure ÷ traditional cost", Kind.RATIO),
    Column("referred_percent", "Referred to panel", Kind.PERCENT),
    Column("declined_percent", "Declined by panel", Kind.PERCENT),
)
KEYS = tuple(c.key for c in COLUMNS)
# Columns compared with the whole service by a share of its figure, and by percentage points.
RELATIVE_MARKED = (
    "avg_points",
    "avg_indicative",
    "avg_agreed",
    "agreed_to_indicative",
    "ras_to_traditional",
)
POINTS_MARKED = ("referred_percent", "declined_percent")

NOTES = (
    "Who is counted: the people in scope (team, client group) with an indicative budget in "
    "force at the end of the period: the version that was current then (a lower figure a "
    "manager adopted counts from the decision). Each person is counted once.",
    "Average points: the raw points of that indicative budget. Average indicative budget: its "
    "weekly figure.",
    "Average agreed budget: over the people with an agreed budget in force at the end of the "
    "period, counted as the money report counts them (agreed, or for a lower budget adopted "
    "by a manager, on or before it and not ended by then; a lower budget waiting for, or "
    "refused at, a manager's decision is not in force).",
    "Average agreed ÷ indicative: the average of each person's agreed ÷ indicative weekly "
    "figure, over the people with both (not the ratio of the averages).",
    "Average RAS figure ÷ traditional cost: the average of each person's RAS figure (what the "
    "RAS calculation gives a week, before any protection of an existing package) ÷ their "
    "traditional package cost (their current weekly package cost), over the people whose "
    "traditional cost is above £0.",
    "Referred to panel: the share of the group whose support plan was referred to the risk "
    "enablement panel during the period. Declined by panel: the share of the group whose plan "
    "the panel declined during the period. A deferral (more information needed) is not a "
    "decline; nor is a plan closed because no budget was due any more, or a lower figure a "
    "manager did not adopt (the person kept the higher one).",
    "Marked higher or lower: the group's figure, as shown, differs from the whole service's by "
    "more than 10% of the whole service's figure (averages and ratios) or by more than 5 "
    "percentage points (shares).",
    "Held back [c]: every figure of a group of fewer than 5 people; and, when that leaves "
    "exactly one group held back in a table, the next-smallest group too, so that neither can "
    "be worked out from the whole service's row. An average (and a ratio worked out from it) "
    "over fewer than 5 people is held back; the number it is taken over is not shown, so it "
    "cannot be worked out from the others.",
)


@dataclass(frozen=True)
class Dimension:
    slug: str
    caption: str
    field: str  # the column of the per-person rows that names the person's group
    groups: tuple[tuple[str, str], ...]  # (value, label) in the order the table shows them
    note: str


DIMENSIONS = (
    Dimension(
        "fairness-client-group",
        "Fairness by client group",
        "g_client_group",
        tuple(ClientGroup.choices),
        "Client group: the person's client group now.",
    ),
    Dimension(
        "fairness-age-band",
        "Fairness by age band",
        "g_age_band",
        ((UNDER_18_BAND, UNDER_18_BAND),) + tuple((label, label) for _, _, label in AGE_BANDS),
        "Age band: the person's age on the last day of the period.",
    ),
    Dimension(
        "fairness-sex",
        "Fairness by sex",
        "g_sex",
        tuple(Sex.choices) + (("", NOT_RECORDED),),
        f"Sex as recorded; '{NOT_RECORDED}': nothing was recorded (not the same as 'Prefers "
        "not to say').",
    ),
    Dimension(
        "fairness-ethnicity",
        "Fairness by ethnicity",
        "g_ethnicity",
        tuple(Ethnicity.choices) + (("", NOT_RECORDED),),
        f"Ethnicity (the 2021 Census's high-level groups) as recorded; '{NOT_RECORDED}': "
        "nothing was recorded (not the same as 'Prefers not to say').",
    ),
)


def age_band_on(day: datetime.date, path: str = "") -> Case:
    """The age band (assessments.models.age_band_for) of a person's age on `day`, worked out in
    the database from the date of birth (`path` reaches Person). Someone is at least n years
    old on `day` when born on or before `day` n years earlier (a 29 February birthday counts
    from 1 March, as age_on does): so each band is a range of birth dates."""
    dob = f"{path}date_of_birth"
    first = AGE_BANDS[0][0]
    whens = [When(**{f"{dob}__gt": years_after(day, -first)}, then=Value(UNDER_18_BAND))]
    for _lower, upper, label in AGE_BANDS:
        if upper is not None:
            whens.append(When(**{f"{dob}__gt": years_after(day, -(upper + 1))}, then=Value(label)))
    return Case(*whens, default=Value(AGE_BANDS[-1][2]), output_field=CharField())


def indicative_in_force_at(day: datetime.date):
    """The indicative budgets in force at the end of `day` (London time): at most one a person
    (as the workflow keeps them), by the rule money.in_force_at applies to agreed budgets.

    A version is in force from the moment it took effect until it ended (`ended_at`). It took
    effect when calculated or, for a lower figure that waited for a manager, when the manager
    adopted it (`decided_at`). One waiting for a decision, or not adopted, never took effect;
    nor did a lower one whose wait was cut short by a newer version (ended, never decided,
    while the version it would have replaced stayed in force after it was made)."""
    until = day_after(day)
    took_effect = (
        Q(decided_at__isnull=False)
        | Q(replaces__isnull=True)
        | Q(replaces__ended_at__lte=F("created_at"))
    )
    return IndicativeBudget.objects.filter(
        took_effect,
        # Said without Coalesce, so that PostgreSQL can estimate how many rows pass.
        Q(decided_at__isnull=True, created_at__lt=until) | Q(decided_at__lt=until),
        Q(ended_at__isnull=True) | Q(ended_at__gte=until),
        status__in=[
            IndicativeBudget.Status.CURRENT,
            IndicativeBudget.Status.SUPERSEDED,
            IndicativeBudget.Status.ENDED,
        ],
    )


def counted_people(scope: ReportScope):
    """One row per person counted, as a values() queryset: their groups (age on the last day
    of the period) and the figures of their indicative budget in force at its end."""
    return (
        indicative_in_force_at(scope.end)
        .filter(scope.people("person__"))
        .annotate(
            g_client_group=F("person__client_group"),
            g_age_band=age_band_on(scope.end, "person__"),
            g_sex=F("person__sex"),
            g_ethnicity=F("person__ethnicity"),
            v_points=F("raw_points"),
            v_indicative=F("indicative_weekly_gbp"),
            v_ras=F("ras_weekly_gbp"),
            v_traditional=F("person__existing_weekly_cost_gbp"),
        )
        .order_by()
        .values(
            "person_id",
            "g_client_group",
            "g_age_band",
            "g_sex",
            "g_ethnicity",
            "v_points",
            "v_indicative",
            "v_ras",
            "v_traditional",
        )
    )


def plan_events(scope: ReportScope) -> tuple:
    """The people (person_id, once each) whose support plan was referred to the panel during
    the period, and those whose plan the panel declined during it, read from the plans'
    history (allocations' own record; panels sits above allocations and is not asked).

    Referred: a history row of the plan at the panel. Declined: a row of the plan returned to
    the worker with the panel's decline (its comments start PANEL_DECLINED_PREFIX) after a
    submission the panel rules routed there (routing reasons recorded)."""
    start, until = scope.instants()
    rows = SupportPlan.history.model.objects.filter(
        history_date__gte=start, history_date__lt=until
    ).order_by()
    referred = rows.filter(status=SupportPlan.Status.AT_PANEL)
    declined = rows.filter(
        status=SupportPlan.Status.RETURNED, returned_comments__startswith=PANEL_DECLINED_PREFIX
    ).exclude(routing_reasons=[])
    return (
        referred.values("person_id").distinct(),
        declined.values("person_id").distinct(),
    )


def agreed_in_force(scope: ReportScope):
    """(person_id, weekly_gbp) of each person's agreed budget in force at the end of the
    period, as the money report counts them (money.in_force_at). Joined to counted_people by
    person (a hash join, not a look-up per person)."""
    return in_force_at(scope.end).order_by().values("person_id", "weekly_gbp")


_FIELDS = tuple(d.field for d in DIMENSIONS)
_TOTALS = (
    "people",
    "sum_points",
    "sum_indicative",
    "n_agreed",
    "sum_agreed",
    "n_agreed_to_indicative",
    "sum_agreed_to_indicative",
    "n_ras_to_traditional",
    "sum_ras_to_traditional",
    "referred",
    "declined",
)
_AGGREGATES = """
    COUNT(*),
    SUM(v_points),
    SUM(v_indicative),
    COUNT(v_agreed),
    SUM(v_agreed),
    COUNT(*) FILTER (WHERE v_agreed IS NOT NULL AND v_indicative > 0),
    SUM(v_agreed / v_indicative) FILTER (WHERE v_agreed IS NOT NULL AND v_indicative > 0),
    COUNT(*) FILTER (WHERE v_traditional > 0),
    SUM(v_ras / v_traditional) FILTER (WHERE v_traditional > 0),
    COUNT(*) FILTER (WHERE v_referred),
    COUNT(*) FILTER (WHERE v_declined)"""
_ROWS_SQL = """
    SELECT counted.*,
        agreed.weekly_gbp AS v_agreed,
        referred.person_id IS NOT NULL AS v_referred,
        declined.person_id IS NOT NULL AS v_declined
    FROM ({counted}) AS counted
    LEFT JOIN ({agreed}) AS agreed ON agreed.person_id = counted.person_id
    LEFT JOIN ({referred}) AS referred ON referred.person_id = counted.person_id
    LEFT JOIN ({declined}) AS declined ON declined.person_id = counted.person_id"""
# PostgreSQL: every table's groups and the whole service in one pass. (Only this module's
# constants and field names are joined into the SQL; every value goes as a parameter.)
_GROUPED_SQL = (
    "SELECT {groupings}, {fields}, "  # noqa: S608
    + _AGGREGATES
    + " FROM ("
    + _ROWS_SQL
    + ") AS counted GROUP BY GROUPING SETS ({sets}, ())"
)


def _portable_sql(rows_sql: str) -> str:
    """The same result without GROUPING SETS (SQLite, for `make run`): the rows once, as a
    CTE, grouped by each field in turn and once as a whole, with GROUPING()'s flags written
    out (1: this field is not what the row is grouped by)."""
    parts = []
    for grouped in (*_FIELDS, None):
        flags = ", ".join("0" if f == grouped else "1" for f in _FIELDS)
        values = ", ".join(f if f == grouped else "NULL" for f in _FIELDS)
        by = f" GROUP BY {grouped}" if grouped else ""
        parts.append(f"SELECT {flags}, {values}, {_AGGREGATES} FROM counted_rows{by}")  # noqa: S608
    return f"WITH counted_rows AS ({rows_sql}) " + " UNION ALL ".join(parts)


def fairness_totals(scope: ReportScope) -> dict[tuple[str, str] | None, dict]:
    """The totals per group, in one query: {(dimension field, group value): totals}, and
    {None: totals} for the whole service (there even when nobody is counted)."""
    parts = {"counted": counted_people(scope), "agreed": agreed_in_force(scope)}
    parts["referred"], parts["declined"] = plan_events(scope)
    sql, params = {}, []
    for name, queryset in parts.items():  # in the order they appear in _GROUPED_SQL
        sql[name], part_params = queryset.query.sql_with_params()
        params.extend(part_params)
    if connection.vendor == "postgresql":
        grouped = _GROUPED_SQL.format(
            groupings=", ".join(f"GROUPING({f})" for f in _FIELDS),
            fields=", ".join(_FIELDS),
            sets=", ".join(f"({f})" for f in _FIELDS),
            **sql,
        )
    else:
        grouped = _portable_sql(_ROWS_SQL.format(**sql))
    out: dict[tuple[str, str] | None, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(grouped, params)
        for row in cursor.fetchall():
            groupings, values, totals = (
                row[: len(_FIELDS)],
                row[len(_FIELDS) : 2 * len(_FIELDS)],
                row[2 * len(_FIELDS) :],
            )
            totals = dict(zip(_TOTALS, totals, strict=True))
            if all(groupings):
                out[None] = totals
                continue
            i = groupings.index(0)
            out[(_FIELDS[i], values[i])] = totals
    return out


def _mean(total, n: int, rounding=round2):
    """total ÷ n, rounded; None over nobody; held back over fewer than SMALL_NUMBER."""
    if not n:
        return None
    if n < SMALL_NUMBER:
        return SUPPRESSED
    return rounding(Decimal(str(total)) / n)


def _figures(label: str, t: dict) -> list:
    """A row's cells before suppression between rows and marks (the small-number rules for
    the row and for each average are applied here)."""
    people = t["people"]
    if not people:  # the whole service, with nobody counted: nothing to hide
        return [label, 0] + [None] * (len(KEYS) - 2)
    if people < SMALL_NUMBER:
        return [label] + [SUPPRESSED] * (len(KEYS) - 1)
    agreed = _mean(t["sum_agreed"], t["n_agreed"])
    ratio = _mean(t["sum_agreed_to_indicative"], t["n_agreed_to_indicative"])
    return [
        label,
        people,
        _mean(t["sum_points"], people),
        _mean(t["sum_indicative"], people),
        agreed,
        SUPPRESSED if agreed is SUPPRESSED else ratio,
        _mean(t["sum_ras_to_traditional"], t["n_ras_to_traditional"]),
        percent(t["referred"], people),
        percent(t["declined"], people),
    ]


def _suppress_secondary(rows: list[list], people: list[int]) -> None:
    """When exactly one group's row is held back, hold back the next-smallest group's row too
    (the first of equals), so the one cannot be worked out from the whole service's row."""
    held = [i for i, row in enumerate(rows) if row[1] is SUPPRESSED]
    shown = [i for i, row in enumerate(rows) if row[1] is not SUPPRESSED]
    if len(held) == 1 and shown:
        smallest = min(shown, key=lambda i: (people[i], i))
        rows[smallest][1:] = [SUPPRESSED] * (len(KEYS) - 1)


def _differs(value, whole, key: str) -> str | None:
    """ "higher" or "lower" when `value` differs markedly from the whole service's `whole`."""
    if not isinstance(value, Decimal) or not isinstance(whole, Decimal):
        return None
    if key in POINTS_MARKED:
        margin = MARK_POINTS
    elif key in RELATIVE_MARKED:
        margin = abs(whole) * MARK_RELATIVE
    else:
        return None
    if value - whole > margin:
        return "higher"
    if whole - value > margin:
        return "lower"
    return None


def _mark(rows: list[list], whole: list) -> None:
    for row in rows:
        for i, key in enumerate(KEYS):
            direction = _differs(row[i], whole[i], key)
            if direction:
                row[i] = Marked(row[i], direction)


def fairness_table(dimension: Dimension, totals: dict) -> Table:
    """One dimension's table from fairness_totals: a row per group with anyone in it, in the
    dimension's order (any value it does not know comes last, as stored), then the whole
    service."""
    labels = dict(dimension.groups)
    order = {value: i for i, (value, _) in enumerate(dimension.groups)}
    present = sorted(
        (
            value
            for field, value in (k for k in totals if k is not None)
            if field == dimension.field
        ),
        key=lambda v: (order.get(v, len(order)), v),
    )
    group_totals = [totals[(dimension.field, v)] for v in present]
    rows = [
        _figures(labels.get(v, v or NOT_RECORDED), t)
        for v, t in zip(present, group_totals, strict=True)
    ]
    _suppress_secondary(rows, [t["people"] for t in group_totals])
    # GROUPING SETS' empty set always gives the whole service a row, even over nobody.
    whole = _figures(WHOLE_SERVICE, totals[None])
    _mark(rows, whole)
    rows.append(whole)
    return Table(
        slug=dimension.slug,
        caption=dimension.caption,
        columns=COLUMNS,
        rows=[tuple(row) for row in rows],
        notes=(dimension.note,) + NOTES,
    )


def fairness_tables(scope: ReportScope) -> list[Table]:
    """The four fairness tables (client group, age band, sex, ethnicity), in one query."""
    totals = fairness_totals(scope)
    return [fairness_table(d, totals) for d in DIMENSIONS]


SECTION = ReportSection(slug="fairness", title="Fairness", order=50, tables=fairness_tables)
