"""The pipeline (issue 12): where each person in scope has got to, as at the end of the period
(or today, if the period runs on past it), and how long the oldest have waited there.

Each person is in at most one stage, their furthest: agreed (an agreed budget in force) beats
at panel, which beats awaiting authorisation, then plan in progress, indicative budget issued,
awaiting eligibility and assessment in progress. People in none of these (nothing started, or
found not eligible) are not in the pipeline.

Everything is worked out from the records' own timestamps, so a period that ended in the past
shows the pipeline as it stood then. One SQL query (PostgreSQL) gives the dashboard's two
tables; the click-through list (allocations.views.report_pipeline) pages the same query.
Without PostgreSQL (the SQLite file `make run` uses with no DATABASE_URL) staged_portable
works out the same stages from ORM queries in Python, for a demo-sized caseload."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min, Q
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
from allocations.reports.money import TOOK_EFFECT
from allocations.reports.scope import ReportScope, day_after
from allocations.reports.tables import Column, Kind, ReportSection, Table
from allocations.reports.takeup import LOCAL_SETTINGS, scoped_people_sql
from assessments.models import Assessment, Person


@dataclass(frozen=True)
class Stage:
    slug: str
    label: str
    since: str  # what "since" means for this stage, for the notes


STAGES: tuple[Stage, ...] = (
    Stage(
        "assessment-in-progress",
        "Assessment in progress",
        "since the assessment was started",
    ),
    Stage(
        "awaiting-eligibility",
        "Awaiting eligibility",
        "since the assessment was submitted without an eligibility decision",
    ),
    Stage(
        "indicative-budget-issued",
        "Indicative budget issued",
        "since the first indicative budget for their latest assessment was worked out",
    ),
    Stage(
        "plan-in-progress",
        "Plan in progress",
        "since the support plan was started (a returned plan counts from its start)",
    ),
    Stage(
        "awaiting-authorisation",
        "Awaiting authorisation",
        "since the plan was last submitted to a team manager",
    ),
    Stage("at-panel", "At panel", "since the plan was last referred to the panel"),
    Stage("agreed", "Agreed", "since the agreed budget now in force was agreed (or adopted)"),
)
STAGE_BY_SLUG = {stage.slug: stage for stage in STAGES}
# The dashboard links each row of pipeline-by-stage (its `stage` cell is the label) to
# allocations:report_pipeline_list with the stage's slug.
STAGE_BY_LABEL = {stage.label: stage for stage in STAGES}
OLDEST_PER_STAGE = 3

PIPELINE_NOTES = (
    "Each person is counted once, in the furthest stage they had reached at the end of the "
    "period (or today, if the period has not ended): an agreed budget in force; a support plan "
    "at the panel, waiting for a team manager, or being written or returned to the worker; a "
    "current indicative budget and no open plan; a submitted assessment with no eligibility "
    "decision; an assessment in progress. People found not eligible, or with nothing started, "
    "are in no stage.",
    "Since: "
    + "; ".join(f"{stage.label.lower()}, {stage.since}" for stage in STAGES)
    + ". Days are counted to the end of the period (or today).",
)

# Each person in scope with the stage (1–7, STAGES order) and the moment they reached it, as
# at %(cutoff)s (facts stamped before it). Each {in_scope_*} keeps the scope's people (from
# ReportScope.people(), through the ORM), or is empty for everyone.
STAGED_SQL = """
WITH drafts AS (
    SELECT a.person_id, min(a.started_at) AS since
    FROM assessments_assessment a
    WHERE a.started_at < %(cutoff)s
      AND (a.submitted_at IS NULL OR a.submitted_at >= %(cutoff)s)
      AND (a.withdrawn_at IS NULL OR a.withdrawn_at >= %(cutoff)s)
      {in_scope_a}
    GROUP BY a.person_id
),
undecided AS (
    -- Their assessment standing at the cutoff (submitted, not yet superseded) has no
    -- eligibility decision.
    SELECT a.person_id, max(a.submitted_at) AS since
    FROM assessments_assessment a
    LEFT JOIN assessments_eligibilitydetermination e ON e.assessment_id = a.id
    WHERE e.id IS NULL
      AND a.submitted_at < %(cutoff)s
      AND (a.superseded_at IS NULL OR a.superseded_at >= %(cutoff)s)
      {in_scope_a}
    GROUP BY a.person_id
),
indicative AS (
    -- The budget in force, with when the first budget for its assessment was worked out.
    SELECT DISTINCT ON (b.person_id) b.person_id, b.first_at
    FROM (
        SELECT b.*, min(b.created_at) OVER (PARTITION BY b.assessment_id) AS first_at
        FROM allocations_indicativebudget b
        WHERE b.created_at < %(cutoff)s {in_scope_b}
    ) b
    WHERE (b.ended_at IS NULL OR b.ended_at >= %(cutoff)s)
      AND b.status NOT IN ('awaiting_decision', 'not_adopted')
    ORDER BY b.person_id, b.created_at DESC, b.id DESC
),
plans AS (
    -- An open plan: submitted (and not since returned) counts where it was sent.
    SELECT DISTINCT ON (pl.person_id) pl.person_id,
        CASE
            WHEN pl.submitted_at < %(cutoff)s
                 AND (pl.decided_at IS NULL OR pl.decided_at < pl.submitted_at
                      OR pl.decided_at >= %(cutoff)s)
            THEN CASE WHEN jsonb_array_length(pl.routing_reasons) > 0 THEN 6 ELSE 5 END
            ELSE 4
        END AS stage,
        CASE
            WHEN pl.submitted_at < %(cutoff)s
                 AND (pl.decided_at IS NULL OR pl.decided_at < pl.submitted_at
                      OR pl.decided_at >= %(cutoff)s)
            THEN pl.submitted_at
            ELSE pl.created_at
        END AS since
    FROM allocations_supportplan pl
    WHERE pl.created_at < %(cutoff)s
      AND NOT (pl.status = 'agreed' AND pl.decided_at < %(cutoff)s)
      AND (pl.closed_at IS NULL OR pl.closed_at >= %(cutoff)s)
      {in_scope_pl}
    ORDER BY pl.person_id, pl.created_at DESC, pl.id DESC
),
agreed AS (
    -- In force as take-up counts it (allocations.reports.takeup).
    SELECT b.person_id, max(coalesce(b.decided_at, b.agreed_at)) AS since
    FROM allocations_agreedbudget b
    LEFT JOIN allocations_agreedbudget r ON r.id = b.replaces_id
    WHERE b.status IN ('current', 'ended')
      AND (b.decided_at IS NOT NULL OR b.replaces_id IS NULL OR r.ended_at <= b.agreed_at)
      AND coalesce(b.decided_at, b.agreed_at) < %(cutoff)s
      AND (b.ended_at IS NULL OR b.ended_at >= %(cutoff)s)
      {in_scope_b}
    GROUP BY b.person_id
),
staged AS (
    SELECT p.id,
        CASE
            WHEN ag.person_id IS NOT NULL THEN 7
            WHEN pl.person_id IS NOT NULL THEN pl.stage
            WHEN ind.person_id IS NOT NULL THEN 3
            WHEN un.person_id IS NOT NULL THEN 2
            WHEN dr.person_id IS NOT NULL THEN 1
        END AS stage,
        CASE
            WHEN ag.person_id IS NOT NULL THEN ag.since
            WHEN pl.person_id IS NOT NULL THEN pl.since
            WHEN ind.person_id IS NOT NULL THEN ind.first_at
            WHEN un.person_id IS NOT NULL THEN un.since
            WHEN dr.person_id IS NOT NULL THEN dr.since
        END AS since
    FROM assessments_person p
    LEFT JOIN agreed ag ON ag.person_id = p.id
    LEFT JOIN plans pl ON pl.person_id = p.id
    LEFT JOIN indicative ind ON ind.person_id = p.id
    LEFT JOIN undecided un ON un.person_id = p.id
    LEFT JOIN drafts dr ON dr.person_id = p.id
    WHERE TRUE {in_scope_p}
),
ranked AS (
    SELECT s.id, s.stage, (s.since AT TIME ZONE %(tz)s)::date AS since_date,
           row_number() OVER (PARTITION BY s.stage ORDER BY s.since, s.id) AS place,
           count(*) OVER (PARTITION BY s.stage) AS people_in_stage
    FROM staged s
    WHERE s.stage IS NOT NULL
)
"""


def pipeline_as_at(scope: ReportScope) -> datetime.date:
    """The day the pipeline is shown as at: the end of the period, or today if sooner."""
    return min(scope.end, timezone.localdate())


def _staged(scope: ReportScope) -> tuple[str, dict]:
    """STAGED_SQL for `scope`, and its parameters."""
    params = {"cutoff": day_after(pipeline_as_at(scope)), "tz": settings.TIME_ZONE}
    fragments = {}
    for name, column in (
        ("in_scope_a", "a.person_id"),
        ("in_scope_b", "b.person_id"),
        ("in_scope_pl", "pl.person_id"),
        ("in_scope_p", "p.id"),
    ):
        fragments[name], named = scoped_people_sql(scope, column, name)
        params.update(named)
    return LOCAL_SETTINGS + STAGED_SQL.format(**fragments), params


@dataclass(frozen=True)
class PipelineRow:
    """One person in a stage (the oldest table, the click-through list)."""

    person_id: int
    reference: str
    name: str
    team: str
    stage: Stage
    since: datetime.date
    days: int


def _row(record: tuple, as_at: datetime.date) -> PipelineRow:
    person_id, reference, given, family, team, stage, since = record
    return PipelineRow(
        person_id=person_id,
        reference=reference,
        name=f"{given} {family}",
        team=team,
        stage=STAGES[stage - 1],
        since=since,
        days=(as_at - since).days,
    )


# What follows STAGED_SQL: the oldest few in every stage with each stage's count; one stage's
# people, oldest first.
# The people's names and teams are joined last, to the few rows shown.
OLDEST_SQL = """
SELECT r.id, p.reference, p.given_name, p.family_name, t.name, r.stage, r.since_date,
       r.people_in_stage
FROM ranked r
JOIN assessments_person p ON p.id = r.id
JOIN assessments_team t ON t.id = p.team_id
WHERE r.place <= %(oldest)s
ORDER BY r.stage, r.place
"""
STAGE_SQL = "SELECT id, since_date FROM ranked WHERE stage = %(stage)s ORDER BY place"


def pipeline_summary(
    scope: ReportScope,
) -> tuple[dict[str, tuple[int, list[PipelineRow]]], datetime.date]:
    """{stage slug: (people in it, its oldest few rows)} with the day it is as at. One query on
    PostgreSQL (pipeline_summary_portable elsewhere)."""
    if connection.vendor != "postgresql":
        return pipeline_summary_portable(scope)
    sql, params = _staged(scope)
    sql += OLDEST_SQL
    params["oldest"] = OLDEST_PER_STAGE
    as_at = pipeline_as_at(scope)
    summary: dict[str, tuple[int, list[PipelineRow]]] = {s.slug: (0, []) for s in STAGES}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for *record, people_in_stage in cursor.fetchall():
            row = _row(tuple(record), as_at)
            summary[row.stage.slug] = (people_in_stage, [*summary[row.stage.slug][1], row])
    return summary, as_at


# --- the same on any database (staged_portable), for the SQLite file `make run` uses ----------

Since = tuple[datetime.datetime, int]  # (the moment, the record's id): the latest of several


def _latest(found: dict[int, tuple], person_id: int, key: Since, value) -> None:
    """Keep, for each person, the value of the record latest by `key` (DISTINCT ON … DESC)."""
    if person_id not in found or key > found[person_id][0]:
        found[person_id] = (key, value)


def _staged_people(scope: ReportScope) -> dict[int, tuple[int, datetime.datetime]]:
    """STAGED_SQL's staged, through the ORM: {person: (stage 1–7, the moment they reached it)}
    for each person in scope in a stage, as at the cutoff. Five queries, one per kind of
    record."""
    cutoff = day_after(pipeline_as_at(scope))

    def not_yet(field: str) -> Q:  # not stamped by the cutoff
        return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": cutoff})

    assessments = Assessment.objects.filter(scope.people("person__")).order_by()
    drafts = dict(
        assessments.filter(not_yet("submitted_at"), not_yet("withdrawn_at"), started_at__lt=cutoff)
        .values("person_id")
        .annotate(since=Min("started_at"))
        .values_list("person_id", "since")
    )
    undecided = dict(
        assessments.filter(
            not_yet("superseded_at"), eligibility__isnull=True, submitted_at__lt=cutoff
        )
        .values("person_id")
        .annotate(since=Max("submitted_at"))
        .values_list("person_id", "since")
    )

    # The indicative budget in force, with when the first for its assessment was worked out.
    first_at: dict[int, datetime.datetime] = {}
    standing: dict[int, tuple] = {}
    budgets = (
        IndicativeBudget.objects.filter(scope.people("person__"), created_at__lt=cutoff)
        .order_by()
        .values_list("pk", "person_id", "assessment_id", "created_at", "ended_at", "status")
    )
    waiting = (IndicativeBudget.Status.AWAITING_DECISION, IndicativeBudget.Status.NOT_ADOPTED)
    for pk, person_id, assessment_id, created_at, ended_at, status in budgets:
        first_at[assessment_id] = min(created_at, first_at.get(assessment_id, created_at))
        if (ended_at is None or ended_at >= cutoff) and status not in waiting:
            _latest(standing, person_id, (created_at, pk), assessment_id)
    indicative = {
        person_id: first_at[assessment] for person_id, (_, assessment) in standing.items()
    }

    # The latest open plan: submitted (and not since returned) counts where it was sent.
    plans: dict[int, tuple] = {}
    open_plans = (
        SupportPlan.objects.filter(not_yet("closed_at"), scope.people("person__"))
        .filter(created_at__lt=cutoff)
        .order_by()
        .values_list(
            "pk", "person_id", "created_at", "status", "submitted_at", "decided_at",
            "routing_reasons",
        )
    )  # fmt: skip
    for pk, person_id, created_at, status, submitted_at, decided_at, reasons in open_plans:
        # NOT (agreed AND decided before the cutoff), as SQL's three-valued logic has it.
        if status == SupportPlan.Status.AGREED and (decided_at is None or decided_at < cutoff):
            continue
        if (
            submitted_at is not None
            and submitted_at < cutoff
            and (decided_at is None or decided_at < submitted_at or decided_at >= cutoff)
        ):
            reached = (6 if reasons else 5, submitted_at)
        else:
            reached = (4, created_at)
        _latest(plans, person_id, (created_at, pk), reached)

    # In force as take-up counts it.
    agreed: dict[int, datetime.datetime] = {}
    in_force = (
        AgreedBudget.objects.filter(TOOK_EFFECT, not_yet("ended_at"), scope.people("person__"))
        .order_by()
        .values_list("person_id", "decided_at", "agreed_at")
    )
    for person_id, decided_at, agreed_at in in_force:
        took_effect = decided_at or agreed_at
        if took_effect < cutoff:
            agreed[person_id] = max(took_effect, agreed.get(person_id, took_effect))

    # Each person's furthest stage.
    staged: dict[int, tuple[int, datetime.datetime]] = {}
    for person_id in {*drafts, *undecided, *indicative, *plans, *agreed}:
        if person_id in agreed:
            staged[person_id] = (7, agreed[person_id])
        elif person_id in plans:
            staged[person_id] = plans[person_id][1]
        elif person_id in indicative:
            staged[person_id] = (3, indicative[person_id])
        elif person_id in undecided:
            staged[person_id] = (2, undecided[person_id])
        else:
            staged[person_id] = (1, drafts[person_id])
    return staged


def staged_portable(scope: ReportScope) -> dict[int, list[tuple[int, datetime.date]]]:
    """STAGED_SQL's ranked on any database: {stage 1–7: [(person id, in the stage since)]},
    each stage's people oldest first (by the moment, then the id), the day in local time."""
    local = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    ranked: dict[int, list[tuple[int, datetime.date]]] = {n: [] for n in range(1, len(STAGES) + 1)}
    staged = _staged_people(scope)
    for person_id, (stage, since) in sorted(staged.items(), key=lambda item: (item[1][1], item[0])):
        ranked[stage].append((person_id, since.astimezone(local).date()))
    return ranked


def pipeline_summary_portable(
    scope: ReportScope,
) -> tuple[dict[str, tuple[int, list[PipelineRow]]], datetime.date]:
    """pipeline_summary on any database: staged_portable's stages, and one more query for the
    names and teams of the oldest few in each."""
    as_at = pipeline_as_at(scope)
    ranked = staged_portable(scope)
    oldest = {n: people[:OLDEST_PER_STAGE] for n, people in ranked.items()}
    named = {
        pk: rest
        for pk, *rest in Person.objects.filter(
            pk__in=[pk for people in oldest.values() for pk, _ in people]
        ).values_list("pk", "reference", "given_name", "family_name", "team__name")
    }
    summary = {
        STAGES[n - 1].slug: (
            len(ranked[n]),
            [_row((pk, *named[pk], n, since), as_at) for pk, since in people],
        )
        for n, people in oldest.items()
    }
    return summary, as_at


class StagePeople:
    """The people in one stage, oldest first, for a Paginator: the stage's people (ids and
    dates) in one query (staged_portable's queries without PostgreSQL), then each page's names
    and teams in one more."""

    def __init__(self, scope: ReportScope, stage: Stage):
        self.scope, self.stage = scope, stage
        self.as_at = pipeline_as_at(scope)
        self._people: list[tuple[int, datetime.date]] | None = None

    def _all(self) -> list[tuple[int, datetime.date]]:
        if self._people is None and connection.vendor != "postgresql":
            self._people = staged_portable(self.scope)[STAGES.index(self.stage) + 1]
        if self._people is None:
            sql, params = _staged(self.scope)
            params["stage"] = STAGES.index(self.stage) + 1
            with connection.cursor() as cursor:
                cursor.execute(sql + STAGE_SQL, params)
                self._people = cursor.fetchall()
        return self._people

    def count(self) -> int:
        return len(self._all())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[PipelineRow]:
        chosen = self._all()[page]
        people = Person.objects.select_related("team").in_bulk([pk for pk, _ in chosen])
        return [
            PipelineRow(
                person_id=pk,
                reference=people[pk].reference,
                name=people[pk].full_name,
                team=people[pk].team.name,
                stage=self.stage,
                since=since,
                days=(self.as_at - since).days,
            )
            for pk, since in chosen
        ]


def pipeline_tables(scope: ReportScope) -> list[Table]:
    summary, as_at = pipeline_summary(scope)
    by_stage = []
    oldest = []
    for stage in STAGES:
        people, rows = summary[stage.slug]
        first = rows[0] if rows else None
        by_stage.append(
            (
                stage.label,
                people,
                first.since if first else None,
                first.days if first else None,
            )
        )
        oldest.extend((stage.label, r.reference, r.team, r.since, r.days) for r in rows)
    notes = (*PIPELINE_NOTES, f"As at {as_at:%-d %B %Y}.")
    return [
        Table(
            slug="pipeline-by-stage",
            caption="People by stage",
            columns=(
                Column("stage", "Stage", Kind.TEXT),
                Column("people", "People", Kind.COUNT),
                Column("oldest_since", "Oldest in the stage since", Kind.DATE),
                Column("oldest_days", "Oldest has waited (days)", Kind.DAYS),
            ),
            rows=by_stage,
            notes=notes,
        ),
        Table(
            slug="pipeline-oldest",
            names_people=True,
            caption=f"The {OLDEST_PER_STAGE} who have been longest in each stage",
            columns=(
                Column("stage", "Stage", Kind.TEXT),
                Column("reference", "Reference", Kind.TEXT),
                Column("team", "Team", Kind.TEXT),
                Column("since", "In the stage since", Kind.DATE),
                Column("days", "Days", Kind.DAYS),
            ),
            rows=oldest,
            notes=notes,
        ),
    ]


SECTION = ReportSection(slug="pipeline", title="Pipeline", order=20, tables=pipeline_tables)
