"""Re-pricing: applying a newly approved policy to everyone's current indicative budget, as a
background job, in parts that several workers share.

A run is cut into parts of CHUNK people by person id (RepricingChunk, one row each, planned
once). The run's own task (`apply_repricing`, on one worker) enqueues one task per part
(`apply_repricing_chunk`) for the other workers, then applies parts itself until none is left
to take, and waits for those other workers hold; the run is done when every part is. Each part
is one transaction: its rows read (allocations.selectors.repricing, by person id), its row
locked (a worker skips parts another holds), the new budget versions written with COPY, the old
ones superseded with one UPDATE, the audit (history) rows for both written with INSERT …
SELECT (no write skips the history), and the part marked done with its counts. A part whose
worker died rolls back and is taken by another; a part is never applied twice, and a person
already re-priced by the run is skipped under their row lock in any case. Elsewhere (the
SQLite file of `make run`) each budget is placed through the ORM.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Model, Q, Sum
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
from allocations.models import (
    BackgroundJob,
    IndicativeBudget,
    RasPolicy,
    RepricingChunk,
    RepricingRun,
    RunPart,
)
from allocations.permissions import POLICY_REPRICE
from allocations.selectors.plans import OPEN_STATUSES
from allocations.selectors.repricing import (
    Row,
    repricing_pages,
    repricing_parts,
    repricing_refusal,
    repricing_session,
)
from allocations.services.budgets import (
    breakdown_for,
    budget_fields,
    budget_place,
    policy_breakdown,
)
from allocations.services.plans import plan_follow_budget

# Seconds between two looks at parts other workers hold, while the run's task waits for them.
WAIT = 0.2
# People named in a run's error when their figure cannot be calculated (the rest counted).
NAMED_FAILURES = 50


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


_NO_SECTIONS = '"points_by_section":[]'


def _breakdown_json(policy_data: dict, row: Row) -> str:
    """_breakdown as compact JSON, with the points by section the current budget recorded
    copied in as they are (text, never parsed again). The key's pattern can only be the key:
    inside a JSON string every quote is escaped."""
    text = json.dumps(
        breakdown_for(
            policy_data=policy_data,
            case=row.case,
            result=row.result,
            sections=[],
            assessment_id=row.assessment_id,
            assessment_date=row.assessment_date,
        ),
        separators=(",", ":"),
    )
    return text.replace(_NO_SECTIONS, f'"points_by_section":{row.sections_json}', 1)


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
        _breakdown_json(policy_data, r),
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
        repricing_session(cursor)
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
        # This transaction's own new versions: other workers' parts of the run, committed
        # meanwhile, have ids above `before` too.
        cursor.execute(
            "SELECT id FROM allocations_indicativebudget "
            "WHERE id > %s AND repricing_run_id = %s AND person_id = ANY(%s)",
            [before, run.pk, [r.person_id for r in todo]],
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


def repricing_apply(
    run: RepricingRun, *, chunk: int | None = None, spread: bool = False
) -> RepricingRun:
    """Run a re-pricing job (allocations.jobs.job_run: running → done, or failed with the
    error). Safe to run again: people already on the policy (or with a lower figure awaiting a
    decision) are skipped, and so is anyone this run has re-priced. People whose figure cannot
    be calculated are named in `run.error` and the run still finishes. Fails
    (PermissionDenied) when whoever started the run may no longer apply policies.

    The first time, the run is cut into parts of `chunk` people (settings.REPRICING_CHUNK by
    default); with `spread` (the background task), each part's task is enqueued for other
    workers to share. Then this process applies parts until none is left to take, waits for
    those other workers hold (taking over any whose worker died), and the run is done when
    every part is. Resumable: each part and its counts commit together, and the run's counts
    are the sums of its parts', saved with the lease renewed after each; asked to stop, it
    stops after the part in hand, queued to resume."""
    chunk = chunk or settings.REPRICING_CHUNK
    return job_run(run, lambda job: _reprice(job, chunk=chunk, spread=spread))


def run_in_parts(run, parts, *, size: int, enqueue, work, count, spread: bool) -> None:
    """The body shared by a run cut into parts (a re-pricing run, a background preview), for
    whoever may still apply policies (PermissionDenied otherwise): the first time, its parts
    (`parts`, the run's related manager) are planned, `size` people each, over the current
    budgets of the run's policy; with `spread`, each part not done yet is enqueued
    (`enqueue(pk)`) for other workers. Then
    `work(parts)` takes and does one part at a time (None when none is left to take), the
    run's progress (`count(run)`, True when it changed) saved with the lease renewed after
    each, waiting for the parts other workers hold until every part is done."""
    if not run.created_by.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    with transaction.atomic():
        if not parts.exists():
            parts.model.objects.bulk_create(
                parts.model(
                    run=run,
                    number=number,
                    first_person_id=first,
                    last_person_id=last,
                    total=people,
                )
                for number, (first, last, people) in enumerate(
                    repricing_parts(run.policy, chunk=size), start=1
                )
            )
        if spread:  # the first time, or resumed: the tasks of parts not done yet (again)
            for pk in parts.filter(done_at__isnull=True).values_list("pk", flat=True):
                transaction.on_commit(lambda pk=pk: enqueue(pk))
        count(run)
        job_checkpoint(run, stop=False)
    job_tick(run)
    while True:
        done = work(parts.all())
        if done is None and not parts.filter(done_at__isnull=True).exists():
            break
        with transaction.atomic():
            if count(run):
                job_checkpoint(run, stop=False)
        job_tick(run)
        if done is None:  # the rest are held by other workers: wait for them
            time.sleep(WAIT)
    count(run)


def _reprice(run: RepricingRun, *, chunk: int, spread: bool) -> None:
    """The body of a re-pricing run's own task (see repricing_apply)."""
    run_in_parts(
        run,
        run.chunks,
        size=chunk,
        enqueue=apply_repricing_chunk.enqueue,
        work=lambda parts: _apply_part(run, run.policy, parts),
        count=_count,
        spread=spread,
    )
    failed = run.chunks.aggregate(failed=Sum("failed"))["failed"] or 0
    if failed:
        named = [
            line
            for part in run.chunks.exclude(failures="").values_list("failures", flat=True)
            for line in part.splitlines()
        ][:NAMED_FAILURES]
        run.error = f"{failed} could not be calculated: " + "; ".join(named)


def _count(run: RepricingRun) -> bool:
    """Set the run's counts to the sums of its parts' (the people of a part not done yet as
    planned); True when they changed."""
    sums = run.chunks.aggregate(
        total=Sum("total"),
        processed=Sum("processed", filter=Q(done_at__isnull=False)),
        changed=Sum("changed"),
        flagged=Sum("flagged"),
    )
    return progress_set(run, sums)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def part_take(parts) -> RunPart | None:
    """The first part of `parts` not done and not held by another worker, its row locked
    for the caller's transaction (parts another worker holds are skipped); None when there
    is no such part."""
    return (
        parts.select_for_update(skip_locked=True)
        .filter(done_at__isnull=True)
        .order_by("number")
        .first()
    )


def part_finish(part: RunPart) -> None:
    """Mark a part taken by part_take done by this worker, with whatever its caller set."""
    part.done_at, part.done_by = timezone.now(), _worker_name()
    part.save()


def part_to_work(parts, part_id: int) -> RunPart | None:
    """A part's task's part (with its run, the run's policy and its starter), or None when
    there is nothing for the task to do: its run has finished or failed, or whoever started
    the run may no longer apply policies (the run's own task waits for, or takes over, every
    part, and fails saying why)."""
    part = parts.select_related("run__policy", "run__created_by").get(pk=part_id)
    if part.run.status not in (BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING):
        return None
    if not part.run.created_by.has_perm(POLICY_REPRICE):
        return None
    return part


def progress_set(run, counts: dict) -> bool:
    """Set the run's progress `counts` (None counted as 0); True when any changed."""
    counts = {name: value or 0 for name, value in counts.items()}
    changed = any(getattr(run, name) != value for name, value in counts.items())
    for name, value in counts.items():
        setattr(run, name, value)
    return changed


def _apply_part(run: RepricingRun, policy: RasPolicy, parts) -> RepricingChunk | None:
    """Apply the first part of `parts` not done and not held by another worker, in one
    transaction with its row locked: its people's rows read and re-priced, the part marked
    done with its counts. None when there is no such part."""
    apply = _apply_chunk if connection.vendor == "postgresql" else _apply_chunk_portable
    with transaction.atomic():
        part = part_take(parts)
        if part is None:
            return None
        rows = [
            row
            for page in repricing_pages(
                policy, first=part.first_person_id, last=part.last_person_id
            )
            for row in page
        ]
        failed = [r for r in rows if r.result is None]
        created, flagged = apply(run, policy, rows)
        part.total = part.processed = len(rows)
        part.changed, part.flagged, part.failed = created, flagged, len(failed)
        part.failures = "\n".join(f"{r.reference} ({r.error})" for r in failed[:NAMED_FAILURES])
        part_finish(part)
    return part


@task()
def apply_repricing(run_id: int) -> int:
    """The background job (django-tasks; `manage.py db_worker` runs it): apply a re-pricing
    run, its parts shared with other workers; returns how many budget versions it created (0
    for a run already finished). Defined beside its body so that repricing_start enqueues it
    without importing allocations.tasks."""
    run = job_to_run(RepricingRun.objects.select_related("policy", "created_by"), run_id)
    return 0 if run is None else repricing_apply(run, spread=True).changed


@task()
def apply_repricing_chunk(chunk_id: int) -> int:
    """One part of a re-pricing run, for whichever worker is free (see repricing_apply);
    returns how many budget versions it created: 0 when the part is done already or another
    worker holds it, or when the run has finished or failed (its own task waits for, or takes
    over, every part)."""
    part = part_to_work(RepricingChunk.objects, chunk_id)
    if part is None:
        return 0
    done = _apply_part(part.run, part.run.policy, RepricingChunk.objects.filter(pk=chunk_id))
    return 0 if done is None else done.changed


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
