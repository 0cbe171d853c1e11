"""Re-pricing 100,000 people (about 33 answers each) in PostgreSQL: a draft's impact, preview
and apply.

    python -m benchmarks.repricing_100k [PEOPLE]

Uses its own database (BENCH_DATABASE_NAME, default ras_bench, on the server of
BENCH_DATABASE_URL, default the local server), dropped and created afresh. Targets (issue 4):
preview within 10 s, apply — new budget versions and their history rows — within 30 s on a
2-core machine; (issue 11) a draft policy's impact preview within 10 s, and a draft
questionnaire version's.
"""

from __future__ import annotations

import sys
import time

from benchmarks.database import recreate_database, use_bench_database

BENCH_DB = use_bench_database("ras_bench")


def seed(people: int) -> None:
    """Teams, users, the default questionnaire and policy through the services; then people,
    submitted assessments, answers and current budgets (placeholder figures of £0, so that
    every figure changes when a policy is applied) in bulk SQL."""
    import datetime

    from django.core.management import call_command
    from django.db import connection

    from allocations.demo import POLICY_2026
    from allocations.services.policies import policy_approve, policy_create_draft
    from assessments.demo import _questionnaire, _teams, _users
    from assessments.roles import roles_sync

    call_command("migrate", verbosity=0)
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
               '{"points_by_section": [], "inputs": {"points": []}}'::jsonb, now(), %(worker)s,
               '', ''
           FROM assessments_assessment a
           JOIN (SELECT ans.assessment_id, SUM(o.points) AS total FROM assessments_answer ans
                 JOIN assessments_answeroption o ON o.id = ans.option_id
                 GROUP BY ans.assessment_id) pts ON pts.assessment_id = a.id""",
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


def main(people: int = 100_000) -> None:
    recreate_database(BENCH_DB)
    import django

    django.setup()
    import datetime
    from decimal import Decimal

    from django.db import connection

    from allocations.demo import POLICY_2026
    from allocations.models import IndicativeBudget, RasPolicy, RepricingRun
    from allocations.selectors.repricing import (
        policy_impact,
        questionnaire_impact,
        repricing_preview,
    )
    from allocations.services.policies import policy_approve, policy_create_draft
    from allocations.services.repricing import repricing_apply
    from assessments.models import Answer, AnswerOption, QuestionnaireVersion, User
    from assessments.services.questionnaires import questionnaire_copy_to_draft

    start = time.perf_counter()
    seed(people)
    print(
        f"seed: {people:,} people, {Answer.objects.count():,} answers "
        f"in {time.perf_counter() - start:.1f} s"
    )

    admin = User.objects.get(username="ras.admin")
    senior = User.objects.get(username="senior.manager")
    draft = policy_create_draft(
        actor=admin,
        data={
            **POLICY_2026,
            "name": "Uplift",
            # Approved today, so in force from today (never before its approval).
            "effective_from": datetime.date.today(),  # noqa: DTZ011
            "price_per_point_gbp": Decimal("5.03"),
        },
    )

    # What the approver sees before approving: the draft's impact on everyone.
    start = time.perf_counter()
    impact = policy_impact(user=senior, policy=RasPolicy.objects.get(pk=draft.pk))
    impact_s = time.perf_counter() - start
    print(
        f"impact of a draft: {impact.total.people:,} people ({impact.total.up:,} gain, "
        f"{impact.total.down:,} lose), weekly {impact.total.weekly_now:,} → "
        f"{impact.total.weekly_new:,} in {impact_s:.1f} s (target 10 s)"
    )

    # What the publisher sees before publishing a questionnaire draft: a copy with every
    # question's second option worth one point more.
    published = QuestionnaireVersion.objects.get(status=QuestionnaireVersion.Status.PUBLISHED)
    questionnaire_draft = questionnaire_copy_to_draft(actor=admin, version=published)
    for option in AnswerOption.objects.filter(question__version=questionnaire_draft, order=2):
        option.points += 1
        option.save()
    start = time.perf_counter()
    impact = questionnaire_impact(user=senior, version=questionnaire_draft)
    questionnaire_s = time.perf_counter() - start
    print(
        f"impact of a questionnaire draft: {impact.total.people:,} people "
        f"({impact.total.up:,} gain, {impact.total.down:,} lose), weekly "
        f"{impact.total.weekly_now:,} → {impact.total.weekly_new:,} in {questionnaire_s:.1f} s "
        f"(target 10 s)"
    )

    policy_approve(actor=senior, policy=draft)
    new_policy = RasPolicy.objects.get(pk=draft.pk)

    start = time.perf_counter()
    preview = repricing_preview(new_policy)
    preview_s = time.perf_counter() - start
    print(
        f"preview: {preview.total.people:,} people ({preview.total.up:,} up, "
        f"{preview.total.down:,} down, {preview.total.flagged:,} flagged) in {preview_s:.1f} s "
        f"(target 10 s)"
    )

    history = IndicativeBudget.history.model
    before = history.objects.count()
    run = RepricingRun.objects.create(policy=new_policy, created_by=admin, reason="bench")
    start = time.perf_counter()
    repricing_apply(run)
    apply_s = time.perf_counter() - start
    run.refresh_from_db()
    written = history.objects.count() - before
    print(
        f"apply: {run.changed:,} new budget versions, {written:,} history rows in "
        f"{apply_s:.1f} s (target 30 s)"
    )

    start = time.perf_counter()
    again = RepricingRun.objects.create(policy=new_policy, created_by=admin, reason="bench 2")
    repricing_apply(again)
    print(f"apply again: {again.changed} new versions in {time.perf_counter() - start:.1f} s")
    connection.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
