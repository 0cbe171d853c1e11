"""The reports (issue 12) with 50,000 people: each report section, the dashboard page and the
PDF pack, for a senior manager (every team) and a team manager (one team of ten).

    python -m benchmarks.reports_50k [PEOPLE]
    BENCH_REUSE=1 python -m benchmarks.reports_50k   # time again on the last run's data

Uses its own database (BENCH_DATABASE_NAME, default ras_bench_reports, on the server of
BENCH_DATABASE_URL, default the local server), dropped and created afresh. Seeds, in bulk SQL,
18 months of history: people in ten teams with equality data (some not recorded) and
traditional package costs; submitted assessments with eligibility decisions; current
indicative budgets; support plans at every stage; agreed budgets (direct payment,
council-managed, ISF and mixes; some different from the indicative figure, with a reason; some
ended); panel referrals, decided and waiting. Answers are not seeded (no report reads them).

Targets (issue 12): the dashboard and each report under 1 s; the PDF pack under 5 s. Prints
each figure in seconds with its query count; a section, the dashboard or the pack not built
yet is reported as skipped.
"""

from __future__ import annotations

import os
import sys
import time

from benchmarks.database import recreate_database, use_bench_database

BENCH_DB = use_bench_database("ras_bench_reports")
# The dashboard is fetched with Django's test client, whose host is "testserver".
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

TEAMS = 10
HISTORY_DAYS = 548
REPORT_TARGET_S = 1.0
PACK_TARGET_S = 5.0


# Each person g has a day of first assessment `d` days before today (d = g % 548, so the
# assessments spread evenly over 18 months) and a fate decided by g:
#   g % 50 = 0         assessment in progress (draft, no eligibility decision)
#   g % 50 = 1         answers done, eligibility still to record (draft)
#   g % 20 = 2         assessed, not eligible
#   otherwise eligible, with a current indicative budget; then, by `slot` = (g * 7) % 100,
#   a plan agreed when slot < 30 + 55 * (548 - d) / 548 (later months agree more often, so
#   take-up rises) — unless the agreement would fall after today — else by g % 4: no plan yet
#   (a traditional package), a plan being written, awaiting authorisation, at the panel.
SQL = [
    """INSERT INTO assessments_team (code, name)
       SELECT 'team' || t, 'Bench team ' || t FROM generate_series(3, %(teams)s) AS t""",
    """CREATE TEMP TABLE bench_person AS
       SELECT g, g %% 548 AS d, (g * 7) %% 100 AS slot,
           now() - make_interval(days => g %% 548) - interval '3 hours' AS assessed_at
       FROM generate_series(1, %(people)s) AS g""",
    "ANALYZE bench_person",
    """INSERT INTO assessments_person (reference, given_name, family_name, date_of_birth,
           client_group, team_id, address_line_1, address_line_2, town, postcode,
           existing_weekly_cost_gbp, needs_increased, sex, ethnicity, created_at, updated_at,
           lock_version)
       SELECT 'R-' || g, 'Given' || g, 'Family' || (g %% 997), DATE '1930-01-01' + (g %% 25000),
           (ARRAY['older_people','physical_disability','learning_disability','mental_health',
                  'sensory_impairment'])[1 + g %% 5],
           (SELECT id FROM assessments_team ORDER BY id LIMIT 1 OFFSET (g %% %(teams)s)),
           g || ' High Street', '', 'Benchtown', 'BT1 1AA',
           CASE WHEN g %% 3 <> 0 THEN 120 + (g %% 500) END, false,
           (ARRAY['female','male','female','male','not_stated',''])[1 + (g / 7) %% 6],
           (ARRAY['white','white','white','white','asian','black','mixed','other','',
                  'not_stated'])[1 + (g / 3) %% 10],
           assessed_at, assessed_at, 1
       FROM bench_person""",
    """INSERT INTO assessments_assessment (person_id, questionnaire_id, status, supported_by,
           assessment_date, informal_support, carer_assessed, carer_able_and_willing,
           carer_impact, started_at, started_by_id, updated_at, updated_by_id, lock_version,
           submitted_at, submitted_by_id, withdrawn_reason)
       SELECT p.id, %(questionnaire)s, 'draft', 'self',
           b.assessed_at::date, 'none', NULL, NULL, '', b.assessed_at - interval '5 days',
           %(worker)s, b.assessed_at, %(worker)s, 1,
           CASE WHEN b.g %% 50 IN (0, 1) THEN NULL ELSE b.assessed_at END,
           CASE WHEN b.g %% 50 IN (0, 1) THEN NULL ELSE %(worker)s END, ''
       FROM bench_person b JOIN assessments_person p ON p.reference = 'R-' || b.g""",
    """INSERT INTO assessments_eligibilitydetermination (assessment_id, impairment_or_illness,
           significant_impact, eligible, reasons, decided_at, decided_by_id)
       SELECT a.id, true, p.id %% 20 <> 2, p.id %% 20 <> 2, 'Benchmark seed',
           a.submitted_at - interval '1 hour', %(worker)s
       FROM assessments_assessment a JOIN assessments_person p ON p.id = a.person_id
       WHERE a.submitted_at IS NOT NULL""",
    # Decided as drafts, then submitted: a submitted assessment's parts are locked.
    "UPDATE assessments_assessment SET status = 'submitted' WHERE submitted_at IS NOT NULL",
    "ANALYZE",
    """CREATE TEMP TABLE bench_eligible AS
       SELECT p.id AS person_id, a.id AS assessment_id, p.team_id, b.g, b.d, b.slot,
           a.submitted_at, 40 + b.g %% 90 AS points,
           b.submitted_at_plus AS agreed_at
       FROM (SELECT *, assessed_at + make_interval(days => 20 + (g * 13) %% 150)
                 AS submitted_at_plus FROM bench_person) b
       JOIN assessments_person p ON p.reference = 'R-' || b.g
       JOIN assessments_assessment a ON a.person_id = p.id
       JOIN assessments_eligibilitydetermination e ON e.assessment_id = a.id
       WHERE e.eligible""",
    """INSERT INTO allocations_indicativebudget (person_id, assessment_id, policy_id, status,
           reason, calculated_on, raw_points, reduction_percent, adjusted_points,
           gross_weekly_gbp, contingency_weekly_gbp, ras_weekly_gbp, indicative_weekly_gbp,
           annual_gbp, basis, panel_required, triggers, breakdown, created_at, created_by_id,
           decision_reason, end_reason)
       SELECT person_id, assessment_id, %(policy)s, 'current', 'Benchmark seed',
           submitted_at::date, points, 0, points, points * 4.88, round(points * 0.2, 2),
           points * 4.88, points * 4.88, round(points * 4.88 * 52, 2), 'ras',
           points * 4.88 >= 600, '[]'::jsonb,
           '{"points_by_section": [], "inputs": {"points": []}}'::jsonb, submitted_at,
           %(worker)s, '', ''
       FROM bench_eligible""",
    """ALTER TABLE bench_eligible ADD COLUMN stage text""",
    """UPDATE bench_eligible SET stage = CASE
           WHEN slot < 30 + 55 * (548 - d) / 548 AND agreed_at < now() THEN 'agreed'
           ELSE (ARRAY['none', 'draft', 'awaiting_authorisation', 'at_panel'])[1 + g %% 4]
       END""",
    "ANALYZE",
    """INSERT INTO allocations_supportplan (person_id, indicative_budget_id, status, management,
           direct_payment_weekly_gbp, council_managed_weekly_gbp, isf_weekly_gbp,
           contribution_weekly_gbp, difference_reason, risk_referral, risk_reasons,
           review_date, created_at, updated_at, submitted_at, routing_reasons,
           returned_comments, decided_at, created_by_id, decided_by_id, submitted_by_id,
           updated_by_id, closed_reason)
       SELECT e.person_id, ib.id, e.stage,
           (ARRAY['direct_payment','council_managed','council_managed',
                  'individual_service_fund','mixed'])[1 + e.g %% 5],
           0, 0, 0, 0, '', false, '', NULL, e.submitted_at + interval '7 days',
           e.submitted_at + interval '8 days',
           CASE WHEN e.stage <> 'draft' THEN LEAST(e.agreed_at - interval '2 days', now()) END,
           '[]'::jsonb, '',
           CASE WHEN e.stage = 'agreed' THEN e.agreed_at END,
           %(worker)s, CASE WHEN e.stage = 'agreed' THEN %(manager)s END,
           CASE WHEN e.stage <> 'draft' THEN %(worker)s END, %(worker)s, ''
       FROM bench_eligible e JOIN allocations_indicativebudget ib
           ON ib.person_id = e.person_id AND ib.status = 'current'
       WHERE e.stage <> 'none'""",
    # The agreed figure is the indicative one, or 10% below / 5% or 15% above it (with a
    # reason); its management split follows the plan's option (a mix: 60% direct payment).
    """INSERT INTO allocations_agreedbudget (person_id, plan_id, status, weekly_gbp, annual_gbp,
           one_off_gbp, direct_payment_weekly_gbp, council_managed_weekly_gbp, isf_weekly_gbp,
           contribution_weekly_gbp, council_weekly_gbp, indicative_weekly_gbp,
           difference_reason, conditions, review_date, agreed_at, agreed_how, ended_at,
           agreed_by_id, decided_at, decided_by_id, decision_reason, replaces_id)
       SELECT x.person_id, x.plan_id, CASE WHEN x.g %% 97 = 0 THEN 'ended' ELSE 'current' END,
           x.weekly, round(x.weekly * 52, 2), 0,
           CASE x.management WHEN 'direct_payment' THEN x.weekly
               WHEN 'mixed' THEN round(x.weekly * 0.6, 2) ELSE 0 END,
           CASE x.management WHEN 'council_managed' THEN x.weekly
               WHEN 'mixed' THEN x.weekly - round(x.weekly * 0.6, 2) ELSE 0 END,
           CASE x.management WHEN 'individual_service_fund' THEN x.weekly ELSE 0 END,
           0, x.weekly, x.indicative,
           CASE WHEN x.weekly <> x.indicative THEN 'Costed with the person from local prices'
               ELSE '' END,
           '', (x.agreed_at + interval '365 days')::date, x.agreed_at,
           CASE WHEN x.weekly >= 600 THEN 'panel' ELSE 'team manager' END,
           CASE WHEN x.g %% 97 = 0 THEN LEAST(x.agreed_at + interval '120 days', now()) END,
           %(manager)s, NULL, NULL, '', NULL
       FROM (SELECT e.person_id, e.g, e.agreed_at, sp.id AS plan_id, sp.management,
                 ib.indicative_weekly_gbp AS indicative,
                 round(ib.indicative_weekly_gbp
                       * (ARRAY[1, 1, 0.9, 1.05, 1.15])[1 + (e.g / 5) %% 5], 2) AS weekly
             FROM bench_eligible e
             JOIN allocations_supportplan sp ON sp.person_id = e.person_id
             JOIN allocations_indicativebudget ib ON ib.id = sp.indicative_budget_id
             WHERE e.stage = 'agreed') x""",
    """INSERT INTO panels_panelmeeting (date, created_at, chair_id, created_by_id)
       SELECT (now() - make_interval(days => 30 * m))::date, now(), %(chair)s, %(chair)s
       FROM generate_series(0, 18) AS m""",
    # Referrals: every plan at the panel (waiting) and every agreed budget over £600 a week
    # (decided: one in six recorded as declined, so the shares declined have something to count).
    """INSERT INTO panels_panelreferral (plan_id, status, reasons, referred_at, meeting_id,
           referred_by_id, plan_snapshot, withdrawn_at, withdrawn_reason)
       SELECT sp.id, 'waiting',
           '["Over the panel threshold"]'::jsonb, sp.submitted_at,
           (SELECT id FROM panels_panelmeeting m
            WHERE m.date >= sp.submitted_at::date ORDER BY m.date LIMIT 1),
           %(worker)s, '{}'::jsonb, NULL, ''
       FROM allocations_supportplan sp
       LEFT JOIN allocations_agreedbudget ab ON ab.plan_id = sp.id
       WHERE sp.status = 'at_panel' OR ab.agreed_how = 'panel'""",
    """UPDATE panels_panelreferral r SET status = 'decided' FROM allocations_supportplan sp
       WHERE sp.id = r.plan_id AND sp.status = 'agreed'""",
    """INSERT INTO panels_paneldecision (referral_id, outcome, reasons, conditions,
           information_needed, review_date, decided_at, present, decided_by_id)
       SELECT r.id, CASE WHEN r.id %% 6 = 0 THEN 'declined' ELSE 'approved_with_conditions' END,
           'Benchmark seed', CASE WHEN r.id %% 6 = 0 THEN '' ELSE 'Review in 90 days' END, '',
           CASE WHEN r.id %% 6 = 0 THEN NULL ELSE (ab.agreed_at + interval '90 days')::date END,
           ab.agreed_at, '[]'::jsonb, %(chair)s
       FROM panels_panelreferral r JOIN allocations_agreedbudget ab ON ab.plan_id = r.plan_id
       WHERE r.status = 'decided'""",
    "ANALYZE",
]


def seed(people: int) -> float:
    """Migrations, users, the default questionnaire and a policy through the services; the
    rest in bulk SQL (see SQL above). Returns the moment the bulk SQL started."""
    import datetime

    from django.core.management import call_command
    from django.db import connection

    from allocations.demo import POLICY_2026
    from allocations.services.policies import policy_approve, policy_create_draft
    from assessments.demo import _questionnaire, _teams, _users, demo_clock, demo_moment
    from assessments.roles import roles_sync

    call_command("migrate", verbosity=0)
    roles_sync()
    users = _users(_teams())
    questionnaire = _questionnaire(users["ras.admin"])
    # In force from the start of the history (approved then, on the demo's clock).
    start = datetime.date.today() - datetime.timedelta(days=HISTORY_DAYS + 1)  # noqa: DTZ011
    with demo_clock(demo_moment(start, 9)):
        policy = policy_approve(
            actor=users["senior.manager"],
            policy=policy_create_draft(
                actor=users["ras.admin"], data={**POLICY_2026, "effective_from": start}
            ),
        )
    params = {
        "people": people,
        "teams": TEAMS,
        "questionnaire": questionnaire.pk,
        "worker": users["sw.north"].pk,
        "manager": users["tm.north"].pk,
        "chair": users["panel.chair"].pk,
        "policy": policy.pk,
    }
    migrated = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in SQL:
            cursor.execute(statement, params)
    return migrated


def timed(what: str, target: float, fn) -> None:
    """Run fn once, print its time and query count against the target."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        try:
            fn()
        except Exception as error:  # reported; the other figures are still measured
            print(f"  {what}: FAILED ({type(error).__name__}: {error})")
            return
        seconds = time.perf_counter() - start
    verdict = "ok" if seconds < target else "OVER TARGET"
    print(f"  {what}: {seconds:.3f} s, {len(queries)} queries (target {target:g} s: {verdict})")


def main(people: int = 50_000) -> None:
    # BENCH_REUSE=1 times the reports again on the database the last run seeded.
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        recreate_database(BENCH_DB)
    import django

    django.setup()
    import datetime
    import inspect
    import logging

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
    from allocations.reports.scope import report_scope_for_user
    from allocations.reports.tables import report_sections
    from assessments.models import Person, User
    from panels.models import PanelReferral

    settings.DEBUG = False
    # A failing page is reported in one line by timed(), not with Django's whole traceback.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    start = time.perf_counter()
    bulk = done = start
    if not reuse:
        bulk = seed(people)
        done = time.perf_counter()
    print(
        f"seed: migrate and services {bulk - start:.1f} s, bulk SQL {done - bulk:.1f} s: "
        f"{Person.objects.count():,} people, "
        f"{IndicativeBudget.objects.count():,} indicative budgets, "
        f"{SupportPlan.objects.count():,} plans, {AgreedBudget.objects.count():,} agreed "
        f"budgets, {PanelReferral.objects.count():,} panel referrals "
        f"in {done - start:.1f} s"
    )

    today = datetime.date.today()  # noqa: DTZ011 - the benchmark's own day
    period = {"start": today - datetime.timedelta(days=365), "end": today}
    try:
        url = reverse("allocations:reports")
    except NoReverseMatch:
        url = None
    try:
        from allocations.services.report_packs import report_pack_issue
    except ImportError:
        report_pack_issue = None

    for username, who in (
        ("senior.manager", "senior manager, every team"),
        ("tm.north", "team manager, one team"),
    ):
        user = User.objects.get(username=username)
        scope = report_scope_for_user(user, **period)
        print(f"{who} ({scope.describe()}):")
        sections = report_sections()
        if not sections:
            print("  no report sections registered: skipped")
        for section in sections:
            tables = section.tables
            timed(f"report {section.slug}", REPORT_TARGET_S, lambda t=tables, sc=scope: t(sc))
        if url is None:
            print("  dashboard: skipped (allocations:reports does not resolve on this branch)")
        else:
            client = Client(raise_request_exception=True)
            client.force_login(user)

            def dashboard(client=client):
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            timed(f"dashboard GET {url} (first, loading templates)", REPORT_TARGET_S, dashboard)
            timed(f"dashboard GET {url}", REPORT_TARGET_S, dashboard)
        if report_pack_issue is None:
            print("  PDF pack: skipped (allocations.services.report_packs does not exist yet)")
        elif username == "senior.manager":
            names = inspect.signature(report_pack_issue).parameters
            kwargs = {"actor": user}
            if "scope" in names:
                kwargs["scope"] = scope
            else:
                kwargs.update({k: v for k, v in period.items() if k in names})
            timed("PDF pack", PACK_TARGET_S, lambda kwargs=kwargs: report_pack_issue(**kwargs))
    connection.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
