"""Re-pricing 100,000 people (about 33 answers each) in PostgreSQL: a draft's impact, preview
and apply, each beside the set-based SQL floor measured in the same run.

    python -m benchmarks.repricing_100k [PEOPLE] [--workers 1,2,4] [--reuse] [--no-impacts]
                                        [--no-inline] [--no-apply]

PEOPLE is 100,000 by default; 300000 or 1000000 run by hand (seeding a million people, 33
million answers, takes a long time: --reuse keeps a database seeded before with as many
people). Uses its own database (BENCH_DATABASE_NAME, default ras_bench, on the server of
BENCH_DATABASE_URL, default the local server), dropped and created afresh unless --reuse.

Prints, for each step, its time and the floor's: a set-based SQL statement doing the same
arithmetic for everyone (the preview's: one SELECT counting the same tallies; the apply's: the
new versions, the old ones superseded and the history rows of both, written by three
statements with every foreign key checked, then rolled back). Targets (issue 15): preview and
apply within 3× their floor; at 1,000,000 people, preview under 60 s and apply under 5
minutes. The apply runs once in this process (its peak memory printed: the same at any number
of people) and then through the job queue with 1, 2 and 4 `manage.py db_worker` processes
sharing the run's parts (each time to a new policy, so everyone is re-priced again). The
preview, worked out in one process, is also worked out as a background job with 1, 2 and 4
`db_worker`s sharing its parts (allocations.services.repricing_preview), each checked to give
exactly the same figures; --no-apply stops after the previews. Each
step prints the WAL written and the checkpoints made meanwhile (server-wide).

Measured at 100,000 people since migration 0023 (1 December 2026, the machine busy with other
benchmarks, so the seconds vary): two workers apply in 154 s and 111 s, the floor 153 s and
98 s (before it: 200 s and 178 s, 155 s and 135 s), their PostgreSQL sessions using 46 CPU
seconds instead of 49-54; see the README. On a quiet, faster machine the same day: 100,000
people apply in 13.8 s with two workers (the floor 13.0 s); a million preview in 31.2 s with
two workers (40.1 s in one process, the floor 14.0 s) and apply in 141.9 s with two workers
(the floor 108.9 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.database import recreate_database, use_bench_database

BENCH_DB = use_bench_database("ras_bench")
ROOT = Path(__file__).resolve().parent.parent
WORKER_NAME = "repricing-bench-worker-"


def peak_mb() -> float:
    """Peak resident memory (MB) of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(people: int) -> None:
    """Teams, users, the default questionnaire and policy through the services; then people,
    submitted assessments, answers and current budgets (placeholder figures of £0, so that
    every figure changes when a policy is applied, with their points by section, as real
    budgets carry them: a re-priced version copies them, and they make up half its
    explanation) in bulk SQL."""
    import datetime

    from django.core.management import call_command
    from django.db import connection

    from allocations.demo import POLICY_2026
    from allocations.services.policies import policy_approve, policy_create_draft
    from assessments.demo import _questionnaire, _teams, _users
    from assessments.notifications import notifications_paused
    from assessments.roles import roles_sync

    call_command("migrate", verbosity=0)
    with notifications_paused():  # no e-mails about the drafts among the figures
        roles_sync()
        users = _users(_teams())
        questionnaire = _questionnaire(users["ras.admin"])
        policy = policy_approve(
            actor=users["senior.manager"],
            policy=policy_create_draft(actor=users["ras.admin"], data=POLICY_2026),
        )
    worker = users["sw.north"].pk
    today = datetime.date(2026, 11, 1)
    sql = [
        # The benchmark's own database, its rows valid by construction: no foreign-key or
        # guard triggers while seeding (a million people's 33 million answers, otherwise slow).
        "SET session_replication_role = replica",
        """INSERT INTO assessments_person (reference, title, given_name, family_name,
               preferred_name, date_of_birth, client_group, team_id, address_line_1,
               address_line_2, town, postcode,
               existing_weekly_cost_gbp, needs_increased, sex, ethnicity, created_at, updated_at,
               lock_version)
           SELECT 'B-' || g, '', 'Given' || g, 'Family' || (g %% 997), '',
               DATE '1940-01-01' + (g %% 20000),
               (ARRAY['older_people','physical_disability','learning_disability','mental_health',
                      'sensory_impairment'])[1 + g %% 5],
               (SELECT id FROM assessments_team ORDER BY id LIMIT 1 OFFSET (g %% 2)),
               g || ' High Street', '', 'Benchtown', 'BT1 1AA',
               CASE WHEN g %% 4 = 0 THEN 100 + (g %% 400) END, g %% 7 = 0, '', '', now(), now(), 1
           FROM generate_series(1, %(people)s) AS g""",
        """INSERT INTO assessments_assessment (person_id, questionnaire_id, status, supported_by,
               assessment_date, informal_support, carer_assessed, carer_able_and_willing,
               carer_impact, started_at, started_by_id, updated_at, updated_by_id, lock_version,
               submitted_at, submitted_by_id, withdrawn_reason)
           SELECT p.id, %(questionnaire)s, 'draft', 'self', %(today)s,
               (ARRAY['none','some','substantial','most'])[1 + p.id %% 4],
               CASE WHEN p.id %% 4 = 0 THEN NULL ELSE p.id %% 3 <> 0 END,
               CASE WHEN p.id %% 4 = 0 THEN NULL ELSE p.id %% 5 <> 0 END,
               CASE WHEN p.id %% 4 = 0 THEN ''
                    ELSE (ARRAY['low','moderate','high'])[1 + p.id %% 3] END,
               now(), %(worker)s, now(), %(worker)s, 1, now(), %(worker)s, ''
           FROM assessments_person p""",
        """WITH opts AS (
               SELECT q.id AS question_id, array_agg(o.id ORDER BY o."order") AS ids
               FROM assessments_question q JOIN assessments_answeroption o ON o.question_id = q.id
               WHERE q.version_id = %(questionnaire)s GROUP BY q.id)
           INSERT INTO assessments_answer (assessment_id, question_id, option_id, evidence,
               answered_at, answered_by_id)
           SELECT a.id, opts.question_id,
               opts.ids[1 + (a.id * 7 + opts.question_id * 13) %% cardinality(opts.ids)],
               '', now(), %(worker)s
           FROM assessments_assessment a CROSS JOIN opts""",
        # Answered as drafts, then submitted: a submitted assessment's answers are locked.
        "UPDATE assessments_assessment SET status = 'submitted'",
        """INSERT INTO allocations_indicativebudget (person_id, assessment_id, policy_id, status,
               reason, calculated_on, raw_points, reduction_percent, adjusted_points,
               gross_weekly_gbp, contingency_weekly_gbp, ras_weekly_gbp, indicative_weekly_gbp,
               annual_gbp, basis, panel_required, triggers, breakdown, created_at, created_by_id,
               decision_reason, end_reason)
           SELECT a.person_id, a.id, %(policy)s, 'current', 'Benchmark seed', %(today)s,
               pts.total, 0, pts.total, 0, 0, 0, 0, 0, 'ras', false, '[]'::jsonb,
               jsonb_build_object('points_by_section', pts.sections, 'inputs',
                                  '{"points": []}'::jsonb),
               now(), %(worker)s, '', ''
           FROM assessments_assessment a
           JOIN (SELECT assessment_id, SUM(points) AS total,
                        jsonb_agg(jsonb_build_object('code', code, 'title', title,
                                                     'points', points::text) ORDER BY "order")
                            AS sections
                 FROM (SELECT ans.assessment_id, s."order", s.code, s.title,
                              SUM(o.points) AS points
                       FROM assessments_answer ans
                       JOIN assessments_answeroption o ON o.id = ans.option_id
                       JOIN assessments_question q ON q.id = ans.question_id
                       JOIN assessments_section s ON s.id = q.section_id
                       GROUP BY 1, 2, 3, 4) by_section
                 GROUP BY assessment_id) pts ON pts.assessment_id = a.id""",
        "SET session_replication_role = DEFAULT",
        "ANALYZE",
    ]
    params = {
        "people": people,
        "questionnaire": questionnaire.pk,
        "today": today,
        "worker": worker,
        "policy": policy.pk,
    }
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement, params if "%(" in statement else None)


def _literal(value) -> str:
    """A number of our own policy as an SQL literal (Decimals and ints only)."""
    from decimal import Decimal

    assert isinstance(value, (Decimal, int)) and not isinstance(value, bool)  # noqa: S101
    return f"{value}::numeric"


def _case(column: str, mapping: dict, default: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {_literal(v)}" for k, v in sorted(mapping.items()))
    return f"(CASE {column} {whens} ELSE {default} END)" if whens else default


def calc_sql(policy) -> str:
    """Every to-do row's new figure under `policy`, as the engine works it out (spec steps
    1-9), in one SELECT: the floor's arithmetic."""
    from allocations.adapter import engine_policy

    rules = engine_policy(policy)
    factor = _case("p.client_group", dict(rules.client_group_factors), "1::numeric")
    reduction = (
        "(CASE WHEN a.carer_assessed AND a.carer_able_and_willing AND a.informal_support <> '' "
        f"THEN {_case('a.informal_support', dict(rules.informal_support_reductions), '0')} * "
        f"{_case('a.carer_impact', dict(rules.carer_impact_multipliers), '0')} ELSE 0 END)"
    )
    lower, bands, shares = "0::numeric", [], []
    for band in rules.contingency_bands:
        upper = "c.gross" if band.up_to is None else f"LEAST(c.gross, {_literal(band.up_to)})"
        amount = f"GREATEST(0, {upper} - {lower})"
        bands.append(f"{_literal(band.rate)} / 100 * {amount}")
        shares.append(
            f"jsonb_build_object('lower', {lower}::text, 'upper', "
            f"{'NULL' if band.up_to is None else _literal(band.up_to)}::text, 'rate', "
            f"{_literal(band.rate)}::text, 'amount_in_band', ({amount})::text, 'retained', "
            f"({bands[-1]})::text)"
        )
        lower = _literal(band.up_to) if band.up_to is not None else lower
    protect = "true" if rules.protect_existing_packages else "false"
    keep = "GREATEST(c.ras, c.existing)" if rules.transitional_rule == "higher_of" else "c.existing"
    policy_json = (
        f"jsonb_build_object('id', {policy.pk}, 'name', 'bench', 'price_per_point', "
        f"'{rules.price_per_point}', 'weeks_per_year', '{rules.weeks_per_year}')"
    )
    # Numbers of our own policy (Decimals) and ids only: no outside text reaches the SQL.
    return f"""
WITH points AS (
    SELECT ans.assessment_id, SUM(o.points) AS total
    FROM assessments_answer ans
    JOIN assessments_answeroption o ON o.id = ans.option_id
    JOIN allocations_indicativebudget cb
      ON cb.assessment_id = ans.assessment_id AND cb.status = 'current'
    GROUP BY ans.assessment_id
), facts AS (
    SELECT b.id, b.person_id, b.assessment_id, p.client_group, t.name AS team,
           b.indicative_weekly_gbp AS now_weekly, b.annual_gbp AS now_annual,
           b.raw_points AS now_points, b.triggers, b.breakdown -> 'points_by_section' AS sections,
           COALESCE(points.total, 0) AS raw, {factor} AS factor, {reduction} AS reduction,
           p.existing_weekly_cost_gbp AS existing, p.needs_increased, a.assessment_date
    FROM allocations_indicativebudget b
    JOIN assessments_person p ON p.id = b.person_id
    JOIN assessments_team t ON t.id = p.team_id
    JOIN assessments_assessment a ON a.id = b.assessment_id
    LEFT JOIN points ON points.assessment_id = b.assessment_id
    WHERE b.status = 'current' AND b.policy_id <> {policy.pk}
), gross AS (
    SELECT f.*, f.raw * (1 - f.reduction / 100) AS adjusted,
           round(f.raw * (1 - f.reduction / 100) * {_literal(rules.price_per_point)} * f.factor,
                 2) AS gross
    FROM facts f
), c AS (
    SELECT g.*, round({" + ".join(b.replace("c.gross", "g.gross") for b in bands)}, 2)
           AS contingency,
           GREATEST({_literal(rules.minimum_weekly)}, g.gross - round({
        " + ".join(b.replace("c.gross", "g.gross") for b in bands)
    }, 2)) AS ras
    FROM gross g
), calc AS (
    SELECT c.*, new.weekly AS new_weekly, round(new.weekly * {_literal(rules.weeks_per_year)}, 2)
           AS new_annual, new.basis,
           new.weekly < c.now_weekly AND c.raw >= c.now_points AS flagged,
           jsonb_build_object(
               'policy', {policy_json},
               'inputs', jsonb_build_object('client_group', c.client_group,
                   'existing_weekly_cost', c.existing::text,
                   'needs_increased', c.needs_increased, 'assessment_id', c.assessment_id,
                   'assessment_date', c.assessment_date::text),
               'points_by_section', c.sections,
               'client_group_factor', c.factor::text,
               'bands', jsonb_build_array({", ".join(shares)})) AS breakdown
    FROM c, LATERAL (
        SELECT CASE WHEN {protect} AND c.existing IS NOT NULL AND NOT c.needs_increased
                    THEN {keep} ELSE c.ras END AS weekly,
               CASE WHEN {protect} AND c.existing IS NOT NULL AND NOT c.needs_increased
                         AND {keep} <> c.ras THEN 'existing_package' ELSE 'ras' END AS basis
    ) new
)"""  # noqa: S608


def preview_floor(policy) -> float:
    """The preview's tallies (in total, by client group, by team) in one SELECT."""
    from django.db import connection, transaction

    from allocations.selectors.repricing import repricing_session

    sql = (
        calc_sql(policy)
        + """
SELECT client_group, team, count(*), count(*) FILTER (WHERE new_weekly > now_weekly),
       count(*) FILTER (WHERE new_weekly < now_weekly), count(*) FILTER (WHERE flagged),
       sum(now_weekly), sum(new_weekly), sum(now_annual), sum(new_annual),
       sum(new_weekly - now_weekly) FILTER (WHERE NOT flagged)
FROM calc GROUP BY GROUPING SETS ((), (client_group), (team))"""
    )
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        repricing_session(cursor)
        cursor.execute(sql)
        cursor.fetchall()
    return time.perf_counter() - start


def apply_floor(policy, user_id: int) -> float:
    """The apply's writes, set-based: the new figures worked out once into a temporary table,
    the old versions superseded and the new ones inserted, each with its history rows, every
    foreign key checked as it goes; then rolled back."""
    from django.db import connection, transaction

    from allocations.models import IndicativeBudget
    from allocations.selectors.repricing import repricing_session

    quote = connection.ops.quote_name
    fields = [f.column for f in IndicativeBudget._meta.concrete_fields]
    columns = ", ".join(quote(c) for c in fields)
    history = quote(IndicativeBudget.history.model._meta.db_table)
    audit = "history_date, history_change_reason, history_type, history_user_id"
    new_columns = [c for c in fields if c != "id"]
    values = {
        "person_id": "person_id", "assessment_id": "assessment_id", "policy_id": str(policy.pk),
        "status": "CASE WHEN flagged THEN 'awaiting_decision' ELSE 'current' END",
        "reason": "'bench floor'", "calculated_on": "current_date", "raw_points": "raw",
        "reduction_percent": "reduction", "adjusted_points": "adjusted",
        "gross_weekly_gbp": "gross", "contingency_weekly_gbp": "contingency",
        "ras_weekly_gbp": "ras", "indicative_weekly_gbp": "new_weekly",
        "annual_gbp": "new_annual", "basis": "basis",
        "panel_required": f"new_weekly >= {_literal(policy.panel_threshold_weekly_gbp)}",
        "triggers": "triggers", "breakdown": "breakdown", "repricing_run_id": "NULL",
        "replaces_id": "id", "created_at": "now()", "created_by_id": str(user_id),
        "ended_at": "NULL", "end_reason": "''", "decided_at": "NULL", "decided_by_id": "NULL",
        "decision_reason": "''",
    }  # fmt: skip
    select_new = ", ".join(values[c] for c in new_columns)
    calc = calc_sql(policy)
    create = f"CREATE TEMPORARY TABLE floor_calc ON COMMIT DROP AS {calc} SELECT * FROM calc"  # noqa: S608
    statements = [
        "SET CONSTRAINTS ALL IMMEDIATE",
        create,
        f"""WITH old AS (
            UPDATE allocations_indicativebudget b SET status = 'superseded', ended_at = now()
            FROM floor_calc f WHERE b.id = f.id AND NOT f.flagged RETURNING b.*)
        INSERT INTO {history} ({columns}, {audit})
        SELECT {columns}, now(), 'bench floor', '~', {user_id} FROM old""",  # noqa: S608
        f"""WITH new AS (
            INSERT INTO allocations_indicativebudget ({", ".join(quote(c) for c in new_columns)})
            SELECT {select_new} FROM floor_calc RETURNING *)
        INSERT INTO {history} ({columns}, {audit})
        SELECT {columns}, now(), 'bench floor', '+', {user_id} FROM new""",  # noqa: S608
    ]
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        repricing_session(cursor)
        for statement in statements:
            cursor.execute(statement)
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def new_policy(price: str):
    """A policy at `price` a point, approved today: the one in force, for everyone."""
    import datetime
    from decimal import Decimal

    from allocations.demo import POLICY_2026
    from allocations.models import RasPolicy
    from allocations.services.policies import policy_approve, policy_create_draft
    from assessments.models import User
    from assessments.notifications import notifications_paused

    with notifications_paused():
        draft = policy_create_draft(
            actor=User.objects.get(username="ras.admin"),
            data={
                **POLICY_2026,
                "name": f"Uplift to £{price}",
                "effective_from": datetime.date.today(),  # noqa: DTZ011
                "price_per_point_gbp": Decimal(price),
            },
        )
        policy_approve(actor=User.objects.get(username="senior.manager"), policy=draft)
    return RasPolicy.objects.get(pk=draft.pk)


class Workers:
    """`manage.py db_worker` processes on the benchmark's database, stopped (SIGTERM) on exit."""

    def __init__(self, count: int):
        command = [sys.executable, "manage.py", "db_worker", "--no-reload"]
        command += ["--no-startup-delay", "--interval", "0.1", "--verbosity", "0"]
        # Each worker's connections carry its name (libpq's PGAPPNAME), for _wait_ready.
        self.processes = [
            subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "PGAPPNAME": f"{WORKER_NAME}{n}"},
                stdout=subprocess.DEVNULL,
            )
            for n in range(count)
        ]
        time.sleep(4)  # Django started in each

    def peak_mb(self) -> float:
        """The largest peak resident memory (VmHWM, Linux) of the workers, while they run."""
        peaks = [0.0]
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(60)


def apply_with_workers(count: int, price: str) -> tuple[float, object, float]:
    """Start `count` workers, queue a run applying a new policy, and time it to done; with
    the workers' largest peak memory."""

    from allocations.models import RepricingRun
    from allocations.services.repricing import repricing_start
    from assessments.models import User

    policy = new_policy(price)
    workers = Workers(count)
    try:
        start = time.perf_counter()
        run = repricing_start(actor=User.objects.get(username="ras.admin"), policy=policy)
        _until_finished(run, poll=0.2)
        elapsed = time.perf_counter() - start
        peak = workers.peak_mb()
    finally:
        workers.stop()
    return elapsed, RepricingRun.objects.get(pk=run.pk), peak


def _cpu_seconds(processes) -> float:
    """CPU time (user + system, every thread) the processes have used so far (Linux)."""
    total = 0
    for process in processes:
        stat = Path(f"/proc/{process.pid}/stat")
        if stat.exists():  # the fields after the command's name, which may hold spaces
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _until_finished(run, *, poll: float) -> None:
    """Until the background job `run` is done or has failed (read again every `poll` s)."""
    from django.db import close_old_connections

    while True:
        time.sleep(poll)
        close_old_connections()
        run.refresh_from_db()
        if run.status in ("done", "failed"):
            return


def _wait_ready(count: int, *, timeout: float = 120) -> None:
    """Until `count` workers have connected to poll the queue (Django loaded in each): on a
    busy machine that takes longer than Workers allows, and their start must not count as the
    preview's. A worker is known by its connections' name (Workers), not by the statement it
    ran last: between polls that is COMMIT."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE datname = "
                "current_database() AND application_name LIKE %s",
                [f"{WORKER_NAME}%"],
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.2)


def preview_with_workers(count: int, policy, admin) -> tuple[float, object, float, float]:
    """Start `count` workers, queue a background preview of `policy` and time it to done;
    with the workers' largest peak memory and the CPU time they used for it."""

    from allocations.models import RepricingPreviewRun
    from allocations.services.repricing_preview import repricing_preview_start

    workers = Workers(count)
    try:
        _wait_ready(count)
        cpu = _cpu_seconds(workers.processes)
        start = time.perf_counter()
        run = repricing_preview_start(actor=admin, policy=policy)
        _until_finished(run, poll=0.1)
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(workers.processes) - cpu
        peak = workers.peak_mb()
    finally:
        workers.stop()
    return elapsed, RepricingPreviewRun.objects.get(pk=run.pk), peak, cpu


def previews_with_workers(workers: list[int], policy, admin, preview) -> None:
    """The preview as a background job shared by each number of workers, beside its floor
    (measured again just before each: the machine may be shared) and the preview in one
    process (`preview`), whose figures each must give exactly."""
    from allocations.selectors.repricing import PreviewSummary, repricing_preview_summary

    expected = PreviewSummary.of(preview)
    one = None
    for count in workers:
        floor = preview_floor(policy)
        elapsed, run, peak, cpu = preview_with_workers(count, policy, admin)
        same = run.status == "done" and repricing_preview_summary(run) == expected
        one = one or (elapsed if count == 1 else None)
        speedup = f", {one / elapsed:.2f}× one worker's speed" if one and count > 1 else ""
        by = {part.done_by for part in run.parts.all()}
        print(
            f"preview, {count} db_worker{'s' if count > 1 else ''}: {run.processed:,} people "
            f"({run.status}) in {ratio(elapsed, floor)}{speedup}; {run.parts_done} parts done by "
            f"{len(by)} worker{'s' if len(by) > 1 else ''}, the same figures as in one process: "
            f"{'yes' if same else 'NO'}; the workers' CPU {cpu:.1f} s; peak memory of a worker "
            f"{peak:.0f} MB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )


def apply_here(policy, admin, floor: float) -> None:
    """Apply `policy` in this process (its peak memory printed), then again (nothing to do)."""
    from allocations.models import IndicativeBudget, RepricingRun
    from allocations.services.repricing import repricing_apply

    history = IndicativeBudget.history.model
    before = history.objects.count()
    run = RepricingRun.objects.create(policy=policy, created_by=admin, reason="bench")
    wal = Wal()
    wal.start()
    start = time.perf_counter()
    repricing_apply(run)
    apply_s = time.perf_counter() - start
    wal_written = wal.end()
    run.refresh_from_db()
    written = history.objects.count() - before
    print(
        f"apply, in this process: {run.changed:,} new budget versions, {written:,} history rows "
        f"in {ratio(apply_s, floor)} ({floor:.1f} s, set-based SQL; target 3×); {wal_written}"
    )
    print(f"  peak memory of this process: {peak_mb():.0f} MB")

    start = time.perf_counter()
    again = RepricingRun.objects.create(policy=policy, created_by=admin, reason="bench 2")
    repricing_apply(again)
    print(f"apply again: {again.changed} new versions in {time.perf_counter() - start:.1f} s")


def ratio(seconds: float, floor: float) -> str:
    return f"{seconds:.1f} s, {seconds / floor:.1f}× the floor"


class Wal:
    """The WAL the server writes and the checkpoints it makes between `start` and `end`
    (server-wide: another database's writes meanwhile count too)."""

    def start(self) -> None:
        self.lsn, self.checkpoints = self._now()

    def _now(self) -> tuple[str, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_current_wal_lsn(), checkpoints_timed + checkpoints_req "
                "FROM pg_stat_bgwriter"
            )
            return cursor.fetchone()

    def end(self) -> str:
        from django.db import connection

        lsn, checkpoints = self._now()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(%s, %s)", [lsn, self.lsn])
            (written,) = cursor.fetchone()
        return f"WAL {written / 2**20:,.0f} MB, {checkpoints - self.checkpoints} checkpoints"


def main(
    people: int, *, workers: list[int], reuse: bool, impacts: bool, inline: bool, apply: bool
) -> None:
    if not reuse:
        recreate_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from allocations.models import RasPolicy
    from allocations.selectors.repricing import (
        policy_impact,
        questionnaire_impact,
        repricing_preview,
    )
    from assessments.models import Answer, AnswerOption, Person, QuestionnaireVersion, User
    from assessments.services.questionnaires import questionnaire_copy_to_draft

    start = time.perf_counter()
    if reuse and Person.objects.count() == people:
        call_command("migrate", verbosity=0)
        print(f"seed: reusing {people:,} people, {Answer.objects.count():,} answers")
    else:
        seed(people)
        print(
            f"seed: {people:,} people, {Answer.objects.count():,} answers "
            f"in {time.perf_counter() - start:.1f} s"
        )
    admin = User.objects.get(username="ras.admin")
    senior = User.objects.get(username="senior.manager")

    if impacts:
        from decimal import Decimal

        draft = new_policy("5.02")  # approved, then read as a draft would be: the same rows
        start = time.perf_counter()
        impact = policy_impact(user=senior, policy=RasPolicy.objects.get(pk=draft.pk))
        print(
            f"impact of a draft: {impact.total.people:,} people ({impact.total.up:,} gain, "
            f"{impact.total.down:,} lose) in {time.perf_counter() - start:.1f} s (target 10 s)"
        )
        published = QuestionnaireVersion.objects.get(status=QuestionnaireVersion.Status.PUBLISHED)
        questionnaire_draft = questionnaire_copy_to_draft(actor=admin, version=published)
        for option in AnswerOption.objects.filter(question__version=questionnaire_draft, order=2):
            option.points += Decimal(1)
            option.save()
        start = time.perf_counter()
        impact = questionnaire_impact(user=senior, version=questionnaire_draft)
        print(
            f"impact of a questionnaire draft: {impact.total.people:,} people "
            f"({impact.total.up:,} gain) in {time.perf_counter() - start:.1f} s (target 10 s)"
        )

    policy = new_policy("5.03")
    floor = preview_floor(policy)
    start, cpu = time.perf_counter(), time.process_time()
    preview = repricing_preview(policy)
    preview_s, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"preview: {preview.total.people:,} people ({preview.total.up:,} up, "
        f"{preview.total.down:,} down, {preview.total.flagged:,} flagged) in "
        f"{ratio(preview_s, floor)} ({floor:.1f} s, one SELECT; target 3×); this process's "
        f"CPU {cpu:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"  peak memory of this process so far: {peak_mb():.0f} MB")
    previews_with_workers(workers, policy, admin, preview)
    if not apply:
        connection.close()
        return

    wal = Wal()
    wal.start()
    floor = apply_floor(policy, admin.pk)
    print(f"apply's floor: {floor:.1f} s (set-based SQL, rolled back; {wal.end()})")
    if inline:
        apply_here(policy, admin, floor)
    for index, count in enumerate(workers):
        price = f"5.{4 + index:02d}"
        wal.start()
        elapsed, run, peak = apply_with_workers(count, price)
        written = wal.end()
        parts = run.chunks.all()
        by = {part.done_by for part in parts}
        print(
            f"apply, {count} db_worker{'s' if count > 1 else ''}: {run.changed:,} new versions "
            f"({run.status}) in {ratio(elapsed, floor)}; {len(parts)} parts done by "
            f"{len(by)} worker{'s' if len(by) > 1 else ''}, peak memory of a worker {peak:.0f} MB; "
            f"{written}"
        )
    connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("people", nargs="?", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4", help="db_worker counts, e.g. 1,2,4")
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded before")
    parser.add_argument("--no-impacts", action="store_true", help="skip the draft impacts")
    parser.add_argument("--no-inline", action="store_true", help="apply through workers only")
    parser.add_argument("--no-apply", action="store_true", help="stop after the previews")
    args = parser.parse_args()
    main(
        args.people,
        workers=[int(n) for n in args.workers.split(",") if n],
        reuse=args.reuse,
        impacts=not args.no_impacts,
        inline=not args.no_inline,
        apply=not args.no_apply,
    )
