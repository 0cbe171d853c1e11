"""Re-pricing: applying a newly approved policy to everyone's current indicative budget, as a
background job.

The rows come from allocations.selectors.repricing. On PostgreSQL each chunk is one
transaction: the new budget versions written with COPY, the old ones superseded with one
UPDATE, and the audit (history) rows for both written with INSERT … SELECT, so no write skips
the history. Elsewhere (the SQLite file of `make run`) each budget is placed through the ORM.
"""

from __future__ import annotations

import csv
import io
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django_tasks import task

from allocations.jobs import (
    job_checkpoint,
    job_queue,
    job_register,
    job_resume,
    job_run,
    job_tick,
    job_to_run,
)
from allocations.models import IndicativeBudget, RasPolicy, RepricingRun
from allocations.permissions import POLICY_REPRICE
from allocations.selectors.plans import OPEN_STATUSES
from allocations.selectors.repricing import Row, repricing_refusal, repricing_rows
from allocations.services.budgets import (
    breakdown_for,
    budget_fields,
    budget_place,
    policy_breakdown,
)
from allocations.services.plans import plan_follow_budget

CHUNK = 10_000


REASON = "Re-priced: {policy} takes effect"


NOT_REPRICER = "Only RAS administrators apply a policy to current budgets."
ALREADY_APPLYING = "This policy is already being applied."


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
    lower figure awaiting a manager), history for all. Returns (created, flagged). A person
    this run has already re-priced is skipped (checked once their row is locked), so a chunk
    applied twice, by a resumed run or by two workers at once, re-prices each person once."""
    now = timezone.now()
    user_id = run.created_by_id
    reason = REASON.format(policy=policy)
    policy_data = policy_breakdown(policy)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        # Safe to lose the last chunk's commit in a crash: the run is resumable (idempotent).
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Lock the people first, as every other change of a budget does (decisions.lock_person),
        # then the budgets, skipping any that stopped being current since the rows were read.
        cursor.execute(
            "SELECT id FROM assessments_person WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [sorted({r.person_id for r in rows})],
        )
        cursor.execute(
            "SELECT DISTINCT person_id FROM allocations_indicativebudget "
            "WHERE person_id = ANY(%s) AND repricing_run_id = %s",
            [[r.person_id for r in rows], run.pk],
        )
        done = {person_id for (person_id,) in cursor.fetchall()}
        cursor.execute(
            "SELECT id FROM allocations_indicativebudget "
            "WHERE id = ANY(%s) AND status = 'current' FOR UPDATE",
            [[r.budget_id for r in rows]],
        )
        still_current = {row_id for (row_id,) in cursor.fetchall()}
        todo = [
            r
            for r in rows
            if r.budget_id in still_current and r.result is not None and r.person_id not in done
        ]
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
    """_apply_chunk through the ORM, one row at a time (see selectors.repricing._rows_portable)."""
    now, created, flagged = timezone.now(), 0, 0
    policy_data = policy_breakdown(policy)
    with transaction.atomic():
        done = set(
            IndicativeBudget.objects.filter(
                repricing_run=run, person_id__in=[r.person_id for r in rows]
            ).values_list("person_id", flat=True)
        )
        for r in rows:
            if r.result is None or r.person_id in done:
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
    """Run a re-pricing job (allocations.jobs.job_run: running → done, or failed with the
    error). Safe to run again: people already on the policy (or with a lower figure awaiting a
    decision) are skipped, and so is anyone this run has re-priced. People whose figure cannot
    be calculated are named in `run.error` and the run still finishes. Fails
    (PermissionDenied) when whoever started the run may no longer apply policies.

    Resumable: each chunk and the counts of it commit together, with the lease renewed, so a
    run resumed after its worker stopped or died carries on from the last chunk committed;
    asked to stop, it stops after the chunk in hand."""
    return job_run(run, lambda job: _reprice(job, chunk=chunk))


def _reprice(run: RepricingRun, *, chunk: int) -> None:
    """The body of a re-pricing run: apply the run's policy to every current budget not yet
    on it, a chunk at a time, counting as it goes."""
    if not run.created_by.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    policy = run.policy
    rows = repricing_rows(policy)  # without those re-priced already, when resumed
    failed = [r for r in rows if r.result is None]
    todo = [r for r in rows if r.result is not None]
    # Resumed: the people this run re-priced already are done (its counts of them were
    # committed with them, chunk by chunk).
    resumed = run.attempts > 1 or run.processed
    done = run.budgets.values("person_id").distinct().count() if resumed else 0
    run.processed = len(failed) + done
    run.total = run.processed + len(todo)
    if failed:
        run.error = f"{len(failed)} could not be calculated: " + "; ".join(
            f"{r.reference} ({r.error})" for r in failed[:50]
        )
    job_checkpoint(run)
    apply = _apply_chunk if connection.vendor == "postgresql" else _apply_chunk_portable
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        with transaction.atomic():
            created, flagged = apply(run, policy, part)
            run.processed += len(part)
            run.changed += created
            run.flagged += flagged
            job_checkpoint(run, stop=False)  # the chunk and its counts commit together
        job_tick(run)


@task()
def apply_repricing(run_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): apply a re-pricing
    run; returns how many budget versions it created (0 for a run already finished). Defined
    beside its body so that repricing_start enqueues it without importing allocations.tasks."""
    run = job_to_run(RepricingRun.objects.select_related("policy", "created_by"), run_id)
    return 0 if run is None else repricing_apply(run).changed


job_register(RepricingRun, apply_repricing)


def repricing_resume(*, actor, run: RepricingRun) -> RepricingRun:
    """Resume a stalled run (its worker died) from where it stopped, for whoever may apply
    policies (PermissionDenied otherwise). ValidationError when it is not stalled."""
    if not actor.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    return job_resume(actor=actor, job=run)


@transaction.atomic
def repricing_start(*, actor, policy: RasPolicy, reason: str = "") -> RepricingRun:
    """Queue a background run applying an approved policy. One run at a time per policy: when
    a run of it is stalled (its worker died), that run resumes instead and is returned."""
    if not actor.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    policy = RasPolicy.objects.select_for_update().get(pk=policy.pk)
    problem = repricing_refusal(policy)
    if problem:
        raise ValidationError(problem)
    unfinished = list(
        policy.runs.filter(status__in=[RepricingRun.Status.QUEUED, RepricingRun.Status.RUNNING])
    )
    stalled = [run for run in unfinished if run.is_stalled]
    if stalled:
        return job_resume(actor=actor, job=stalled[0])
    if unfinished:
        raise ValidationError(ALREADY_APPLYING)
    run = RepricingRun(
        policy=policy, created_by=actor, reason=reason or REASON.format(policy=policy)
    )
    return job_queue(run, apply_repricing)
