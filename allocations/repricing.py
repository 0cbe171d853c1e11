"""Re-pricing: applying a newly approved policy to everyone's current indicative budget.

The preview reads every current budget with ONE query (points summed from the answers in SQL,
the informal-support facts and the person's circumstances joined in), runs the engine in
Python, and summarises. Applying does the same in chunks, each chunk one transaction: new
budget versions with bulk_create, the old ones superseded with one UPDATE, and the audit
(history) rows for both written in bulk with INSERT … SELECT, so no write skips the history.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django_tasks import task

from allocations.adapter import case_from_facts, engine_policy
from allocations.engine import Case, RasInputError, Result, calculate, validate_policy
from allocations.models import IndicativeBudget, RasPolicy, RepricingRun
from allocations.permissions import POLICY_REPRICE
from allocations.plans import OPEN_STATUSES, plan_follow_budget
from allocations.services import (
    breakdown_for,
    budget_fields,
    budget_place,
    is_silent_reduction,
    policy_breakdown,
)
from assessments.models import ClientGroup

CHUNK = 10_000
REASON = "Re-priced: {policy} takes effect"

_ROWS_SQL = """
WITH current_budget AS (
    SELECT b.* FROM allocations_indicativebudget b
    WHERE b.status = 'current' AND b.policy_id <> %(policy)s
      -- A lower figure on this policy waits for, or has had, a manager's decision.
      AND NOT EXISTS (
          SELECT 1 FROM allocations_indicativebudget q
          WHERE q.person_id = b.person_id AND q.policy_id = %(policy)s
            AND q.status IN ('awaiting_decision', 'not_adopted'))
), points AS (
    -- Each current assessment's points, summed from its answers: one pass over the answers
    -- with hash joins (an IN (…) here tempts the planner into 100,000 index look-ups).
    SELECT ans.assessment_id, SUM(o.points) AS total
    FROM assessments_answer ans
    JOIN assessments_answeroption o ON o.id = ans.option_id
    JOIN allocations_indicativebudget cb
      ON cb.assessment_id = ans.assessment_id AND cb.status = 'current'
    GROUP BY ans.assessment_id
)
SELECT b.id, b.person_id, b.assessment_id, p.reference, p.given_name, p.family_name, t.name,
       p.client_group, b.indicative_weekly_gbp, b.annual_gbp, b.raw_points,
       a.informal_support, a.carer_assessed, a.carer_able_and_willing, a.carer_impact,
       p.existing_weekly_cost_gbp, p.needs_increased, b.triggers,
       b.breakdown -> 'points_by_section', a.assessment_date, COALESCE(points.total, 0)
FROM current_budget b
JOIN assessments_person p ON p.id = b.person_id
JOIN assessments_team t ON t.id = p.team_id
JOIN assessments_assessment a ON a.id = b.assessment_id
LEFT JOIN points ON points.assessment_id = b.assessment_id
ORDER BY b.id
"""


@dataclass
class Row:
    budget_id: int
    person_id: int
    assessment_id: int
    reference: str
    name: str
    team: str
    client_group: str
    current_weekly: Decimal
    current_annual: Decimal
    current_points: Decimal
    case: Case
    sections: list
    assessment_date: object
    result: Result | None = None
    error: str = ""

    @property
    def change(self) -> Decimal:
        return self.result.indicative_weekly - self.current_weekly if self.result else Decimal(0)

    @property
    def flagged(self) -> bool:
        return self.result is not None and is_silent_reduction(
            new_weekly=self.result.indicative_weekly,
            new_points=self.result.raw_points,
            current_weekly=self.current_weekly,
            current_points=self.current_points,
        )

    @property
    def direction(self) -> str:
        if self.result is None:
            return "error"
        return "up" if self.change > 0 else "down" if self.change < 0 else "same"


def _rows_portable(policy: RasPolicy) -> list[tuple]:
    """The same rows as _ROWS_SQL through the ORM, for the SQLite file `make run` uses when no
    PostgreSQL is configured (a demo's few dozen people, not a council's caseload)."""
    from django.db.models import Sum

    from assessments.models import Answer

    skip = IndicativeBudget.objects.filter(
        policy=policy, status__in=["awaiting_decision", "not_adopted"]
    ).values("person_id")
    budgets = (
        IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
        .exclude(policy=policy)
        .exclude(person_id__in=skip)
        .select_related("person__team", "assessment")
        .order_by("id")
    )
    rows = []
    for b in budgets:
        total = Answer.objects.filter(assessment_id=b.assessment_id).aggregate(
            total=Sum("option__points")
        )["total"] or Decimal(0)
        p, a = b.person, b.assessment
        rows.append(
            (b.id, b.person_id, b.assessment_id, p.reference, p.given_name, p.family_name,
             p.team.name, p.client_group, b.indicative_weekly_gbp, b.annual_gbp, b.raw_points,
             a.informal_support, a.carer_assessed, a.carer_able_and_willing, a.carer_impact,
             p.existing_weekly_cost_gbp, p.needs_increased, b.triggers,
             b.breakdown.get("points_by_section", []), a.assessment_date, total)
        )  # fmt: skip
    return rows


def repricing_rows(policy: RasPolicy) -> list[Row]:
    """Every current budget not yet on `policy`, with its new figure worked out."""
    rules = engine_policy(policy)
    validate_policy(rules)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # PostgreSQL's JIT compiles this big join for about a second and gains nothing.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(_ROWS_SQL, {"policy": policy.pk})
            raw = cursor.fetchall()
    else:
        raw = _rows_portable(policy)
    rows = []
    for r in raw:
        # Django reads jsonb from a raw cursor as text: decode the triggers and sections.
        r = list(r)
        r[17], r[18] = (json.loads(v) if isinstance(v, str) else v for v in (r[17], r[18]))
        # The points summed in SQL, and the triggers the current budget recorded (the engine
        # keeps each trigger once, sorted, whatever order the answers gave them in).
        case = case_from_facts(
            ref=r[3],
            points=(r[20],),
            client_group=r[7],
            informal_support=r[11],
            carer_assessed=r[12],
            carer_able_and_willing=r[13],
            carer_impact=r[14],
            existing_weekly_cost=r[15],
            needs_increased=r[16],
            triggers=r[17],
        )
        row = Row(
            budget_id=r[0],
            person_id=r[1],
            assessment_id=r[2],
            reference=r[3],
            name=f"{r[4]} {r[5]}",
            team=r[6],
            client_group=r[7],
            current_weekly=r[8],
            current_annual=r[9],
            current_points=r[10],
            case=case,
            sections=r[18] or [],
            assessment_date=r[19],
        )
        try:
            row.result = calculate(rules, case, policy_checked=True)
        except RasInputError as problem:
            row.error = str(problem)
        rows.append(row)
    return rows


@dataclass
class Tally:
    people: int = 0
    up: int = 0
    down: int = 0
    same: int = 0
    flagged: int = 0
    errors: int = 0
    weekly_change: Decimal = Decimal("0")  # of the figures that take effect at once
    annual_change: Decimal = Decimal("0")
    flagged_weekly_change: Decimal = Decimal("0")  # lower figures awaiting a manager

    def add(self, row: Row) -> None:
        self.people += 1
        if row.result is None:
            self.errors += 1
            return
        setattr(self, row.direction, getattr(self, row.direction) + 1)
        if row.flagged:
            self.flagged += 1
            self.flagged_weekly_change += row.change
        else:
            self.weekly_change += row.change
            self.annual_change += row.result.annual - row.current_annual


@dataclass
class Preview:
    policy: RasPolicy
    rows: list[Row]
    total: Tally = field(default_factory=Tally)
    by_client_group: dict[str, Tally] = field(default_factory=dict)
    by_team: dict[str, Tally] = field(default_factory=dict)


def repricing_preview(policy: RasPolicy) -> Preview:
    rows = repricing_rows(policy)
    preview = Preview(policy=policy, rows=rows)
    groups: dict[str, Tally] = defaultdict(Tally)
    teams: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        preview.total.add(row)
        groups[ClientGroup(row.client_group).label].add(row)
        teams[row.team].add(row)
    preview.by_client_group = dict(sorted(groups.items()))
    preview.by_team = dict(sorted(teams.items()))
    return preview


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def repricing_csv(preview: Preview) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "reference",
            "name",
            "team",
            "client_group",
            "current_weekly",
            "new_weekly",
            "weekly_change",
            "change",
            "needs_manager_decision",
            "error",
        ]
    )
    for row in preview.rows:
        new = row.result.indicative_weekly if row.result else ""
        writer.writerow(
            [
                _cell(row.reference),
                _cell(row.name),
                _cell(row.team),
                row.client_group,
                row.current_weekly,
                new,
                row.change if row.result else "",
                row.direction,
                "yes" if row.flagged else "no",
                _cell(row.error),
            ]
        )
    return out.getvalue()


# --- Applying --------------------------------------------------------------------------------


def _snapshot_history(
    model: type[Model], ids: list[int], *, history_type: str, user_id: int, when, reason: str
) -> None:
    """Write one history row per id, copying the current row, in one INSERT … SELECT (a bulk
    write must not skip the audit trail)."""
    if not ids:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
    history_table = quote(model.history.model._meta.db_table)
    # Identifiers come from model metadata, quoted; every value is a bound parameter.
    table = quote(model._meta.db_table)
    insert = f"INSERT INTO {history_table} ({columns}, history_date, history_change_reason, "
    select = f"history_type, history_user_id) SELECT {columns}, %s, %s, %s, %s FROM {table} "  # noqa: S608
    sql = insert + select + "WHERE id = ANY(%s)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [when, reason, history_type, user_id, list(ids)])


def _breakdown(policy_data: dict, row: Row) -> dict:
    return breakdown_for(
        policy_data=policy_data,
        case=row.case,
        result=row.result,
        sections=row.sections,
        assessment_id=row.assessment_id,
        assessment_date=row.assessment_date,
    )


_COPY_NULL = "\\N"
_COPY_COLUMNS = (
    "person_id",
    "assessment_id",
    "policy_id",
    "status",
    "reason",
    "calculated_on",
    "raw_points",
    "reduction_percent",
    "adjusted_points",
    "gross_weekly_gbp",
    "contingency_weekly_gbp",
    "ras_weekly_gbp",
    "indicative_weekly_gbp",
    "annual_gbp",
    "basis",
    "panel_required",
    "triggers",
    "breakdown",
    "repricing_run_id",
    "replaces_id",
    "created_at",
    "created_by_id",
    "decision_reason",
    "end_reason",
)  # ended_at, decided_at and decided_by_id stay NULL


def _copy_budgets(rows: list[tuple[str, ...]]) -> None:
    """Insert budget rows (strings in _COPY_COLUMNS order) with COPY: an order of magnitude
    faster than INSERTs through the ORM for tens of thousands of rows. The caller writes the
    history rows in the same transaction."""
    if not rows:
        return
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    quote = connection.ops.quote_name
    table = quote(IndicativeBudget._meta.db_table)
    columns = ", ".join(quote(c) for c in _COPY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{_COPY_NULL}')", buffer
        )


def _copy_row(r: Row, *, policy, policy_data, run, reason, now, user_id) -> tuple[str, ...]:
    result = r.result
    status = (
        IndicativeBudget.Status.AWAITING_DECISION if r.flagged else IndicativeBudget.Status.CURRENT
    )
    return (
        str(r.person_id),
        str(r.assessment_id),
        str(policy.pk),
        status.value,
        reason,
        policy.effective_from.isoformat(),
        str(result.raw_points),
        str(result.reduction_percent),
        str(result.adjusted_points),
        str(result.gross_weekly),
        str(result.contingency_weekly),
        str(result.ras_weekly),
        str(result.indicative_weekly),
        str(result.annual),
        result.basis,
        "t" if result.panel_required else "f",
        json.dumps(list(result.triggers)),
        json.dumps(_breakdown(policy_data, r), separators=(",", ":")),
        str(run.pk),
        str(r.budget_id),
        now,
        str(user_id),
        "",
        "",
    )


def _apply_chunk(run: RepricingRun, policy: RasPolicy, rows: list[Row]) -> tuple[int, int]:
    """One transaction: new versions for `rows`, old ones superseded (unless the new one is a
    lower figure awaiting a manager), history for all. Returns (created, flagged)."""
    now = timezone.now()
    user_id = run.created_by_id
    reason = REASON.format(policy=policy)
    policy_data = policy_breakdown(policy)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        # Safe to lose the last chunk's commit in a crash: the run is resumable (idempotent).
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Lock the people first, as every other change of a budget does (services._lock_person),
        # then the budgets, skipping any that stopped being current since the rows were read.
        cursor.execute(
            "SELECT id FROM assessments_person WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [sorted({r.person_id for r in rows})],
        )
        cursor.execute(
            "SELECT id FROM allocations_indicativebudget "
            "WHERE id = ANY(%s) AND status = 'current' FOR UPDATE",
            [[r.budget_id for r in rows]],
        )
        still_current = {row_id for (row_id,) in cursor.fetchall()}
        todo = [r for r in rows if r.budget_id in still_current and r.result is not None]
        stamp = now.isoformat()
        new = [
            _copy_row(
                r,
                policy=policy,
                policy_data=policy_data,
                run=run,
                reason=reason,
                now=stamp,
                user_id=user_id,
            )
            for r in todo
        ]
        # Lower figures still waiting from an earlier policy are stale now: close them.
        cursor.execute(
            "UPDATE allocations_indicativebudget SET status = 'superseded', ended_at = %s "
            "WHERE person_id = ANY(%s) AND status = 'awaiting_decision' AND policy_id <> %s "
            "RETURNING id",
            [now, [r.person_id for r in todo], policy.pk],
        )
        stale = [row_id for (row_id,) in cursor.fetchall()]
        _snapshot_history(
            IndicativeBudget, stale, history_type="~", user_id=user_id, when=now, reason=reason
        )
        superseded = [r.budget_id for r in todo if not r.flagged]
        if superseded:
            cursor.execute(
                "UPDATE allocations_indicativebudget SET status = 'superseded', "
                "ended_at = %s WHERE id = ANY(%s)",
                [now, superseded],
            )
            _snapshot_history(
                IndicativeBudget,
                superseded,
                history_type="~",
                user_id=user_id,
                when=now,
                reason=reason,
            )
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM allocations_indicativebudget")
        (before,) = cursor.fetchone()
        _copy_budgets(new)
        cursor.execute(
            "SELECT id FROM allocations_indicativebudget WHERE id > %s AND repricing_run_id = %s",
            [before, run.pk],
        )
        created = [row_id for (row_id,) in cursor.fetchall()]
        _snapshot_history(
            IndicativeBudget, created, history_type="+", user_id=user_id, when=now, reason=reason
        )
        # An open support plan follows its person's new current figure (a few people at most).
        for budget in IndicativeBudget.objects.filter(
            pk__in=created,
            status=IndicativeBudget.Status.CURRENT,
            person__plans__status__in=OPEN_STATUSES,
        ).distinct():
            plan_follow_budget(actor=run.created_by, budget=budget)
        return len(created), sum(1 for r in todo if r.flagged)


def _apply_chunk_portable(run: RepricingRun, policy: RasPolicy, rows: list[Row]):
    """_apply_chunk through the ORM, one row at a time (see _rows_portable)."""
    now, created, flagged = timezone.now(), 0, 0
    policy_data = policy_breakdown(policy)
    with transaction.atomic():
        for r in rows:
            if r.result is None:
                continue
            budget = IndicativeBudget(
                person_id=r.person_id,
                assessment_id=r.assessment_id,
                policy=policy,
                reason=REASON.format(policy=policy),
                calculated_on=policy.effective_from,
                breakdown=_breakdown(policy_data, r),
                repricing_run=run,
                created_at=now,
                created_by_id=run.created_by_id,
                **budget_fields(r.result),
            )
            budget = budget_place(budget, actor=run.created_by, now=now)
            created += 1
            flagged += budget.status == IndicativeBudget.Status.AWAITING_DECISION
    return created, flagged


def repricing_apply(run: RepricingRun, *, chunk: int = CHUNK) -> RepricingRun:
    """Apply the run's policy to every current budget not yet on it. Safe to run again: people
    already on the policy (or with a lower figure awaiting a decision) are skipped."""
    policy = run.policy
    # The worker has no request: every progress save's history row names who started the run.
    run._history_user = run.created_by
    run.status, run.started_at = RepricingRun.Status.RUNNING, timezone.now()
    run.save()
    try:
        rows = repricing_rows(policy)
        run.total, run.processed = len(rows), 0
        failed = [r for r in rows if r.result is None]
        if failed:
            run.error = f"{len(failed)} could not be calculated: " + "; ".join(
                f"{r.reference} ({r.error})" for r in failed[:50]
            )
        run.save()
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            apply = _apply_chunk if connection.vendor == "postgresql" else _apply_chunk_portable
            created, flagged = apply(run, policy, part)
            run.processed += len(part)
            run.changed += created
            run.flagged += flagged
            run.save()
    except Exception as problem:
        run.status, run.error = RepricingRun.Status.FAILED, str(problem)[:2000]
        run.finished_at = timezone.now()
        run.save()
        raise
    run.status, run.finished_at = RepricingRun.Status.DONE, timezone.now()
    run.save()
    return run


@task()
def apply_repricing(run_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): apply a re-pricing
    run; returns how many budget versions it created. Defined beside its body so that
    repricing_start enqueues it without importing allocations.tasks."""
    run = RepricingRun.objects.select_related("policy").get(pk=run_id)
    if run.status == RepricingRun.Status.DONE:
        return 0
    return repricing_apply(run).changed


def repricing_refusal(policy: RasPolicy) -> str | None:
    """Why this policy cannot be applied to current budgets now (None when it can): only the
    approved policy in force today is applied, never a future one or one already replaced."""
    from allocations.selectors import policy_in_force_on

    if policy.status != RasPolicy.Status.APPROVED:
        return "Only an approved policy can be applied."
    today = timezone.localdate()
    if policy.effective_from > today:
        return f"This policy takes effect on {policy.effective_from:%d %B %Y}: apply it then."
    if policy_in_force_on(today) != policy:
        return "A newer policy is in force: only the policy in force today can be applied."
    return None


@transaction.atomic
def repricing_start(*, actor, policy: RasPolicy, reason: str = "") -> RepricingRun:
    """Queue a background run applying an approved policy. One run at a time per policy."""
    from django.core.exceptions import PermissionDenied, ValidationError

    if not actor.has_perm(POLICY_REPRICE):
        raise PermissionDenied("Only RAS administrators apply a policy to current budgets.")
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    problem = repricing_refusal(policy)
    if problem:
        raise ValidationError(problem)
    if policy.runs.filter(status__in=[RepricingRun.Status.QUEUED, RepricingRun.Status.RUNNING]):
        raise ValidationError("This policy is already being applied.")
    run = RepricingRun(
        policy=policy, created_by=actor, reason=reason or REASON.format(policy=policy)
    )
    run._history_user = actor
    run.save()
    transaction.on_commit(lambda: apply_repricing.enqueue(run.pk))
    return run
