"""Re-pricing: preview, apply as a background job, idempotence and no silent reductions."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from allocations.models import IndicativeBudget, RepricingRun
from allocations.selectors.repricing import repricing_preview
from allocations.services.repricing import repricing_apply, repricing_start
from assessments.services.assessments import assessment_start, assessment_submit
from tests.factories import (
    complete_assessment,
    make_person,
    make_policy,
)

pytestmark = pytest.mark.django_db
Status = IndicativeBudget.Status


def _new_policy(ras_admin, senior_manager, price):
    import datetime

    return make_policy(
        ras_admin,
        senior_manager,
        name=f"£{price}",
        effective_from=datetime.date(2026, 10, 1),
        price_per_point_gbp=Decimal(price),
    )


def test_preview_counts_and_totals(caseload, ras_admin, senior_manager):
    # 8 points: at £4.88 gross 39.04 → 37.09; LD ×1.10 gross 42.94 → contingency 2.147 → 40.79.
    # At £5.00: gross 40.00 → 38.00; LD 44.00 → 41.80.
    new = _new_policy(ras_admin, senior_manager, "5.00")
    preview = repricing_preview(new)
    assert (preview.total.people, preview.total.up, preview.total.down) == (3, 3, 0)
    assert preview.total.weekly_change == Decimal("0.91") * 2 + Decimal("1.01")
    assert preview.total.annual_change == (Decimal("0.91") * 2 + Decimal("1.01")) * 52
    assert preview.by_team["North Locality Team"].people == 2
    assert preview.by_team["South Locality Team"].weekly_change == Decimal("0.91")
    assert preview.by_client_group["Learning disability"].weekly_change == Decimal("1.01")
    assert IndicativeBudget.objects.filter(policy=new).count() == 0  # nothing written


def test_apply_creates_versions_with_history_and_is_idempotent(caseload, ras_admin, senior_manager):
    new = _new_policy(ras_admin, senior_manager, "5.00")
    old_ids = set(IndicativeBudget.objects.values_list("id", flat=True))
    run = RepricingRun.objects.create(policy=new, created_by=ras_admin, reason="test")
    repricing_apply(run, chunk=2)  # two chunks
    run.refresh_from_db()
    assert (run.status, run.total, run.processed, run.changed) == ("done", 3, 3, 3)
    current = IndicativeBudget.objects.filter(status=Status.CURRENT)
    assert {b.policy_id for b in current} == {new.pk}
    assert sorted(b.indicative_weekly_gbp for b in current) == [
        Decimal("38.00"),
        Decimal("38.00"),
        Decimal("41.80"),
    ]
    for budget in current:
        (created,) = budget.history.all()
        assert (created.history_type, created.history_user) == ("+", ras_admin)
        assert created.indicative_weekly_gbp == budget.indicative_weekly_gbp
    for old in IndicativeBudget.objects.filter(id__in=old_ids):
        assert old.status == Status.SUPERSEDED and old.ended_at is not None
        latest = old.history.latest()
        assert (latest.history_type, latest.status, latest.history_user) == (
            "~",
            "superseded",
            ras_admin,
        )
    # Running it again does nothing more.
    again = RepricingRun.objects.create(policy=new, created_by=ras_admin, reason="again")
    repricing_apply(again)
    again.refresh_from_db()
    assert (again.total, again.changed) == (0, 0)
    assert IndicativeBudget.objects.count() == 6


def test_a_lower_price_flags_reductions_instead_of_applying_them(
    caseload, ras_admin, senior_manager
):
    cheaper = _new_policy(ras_admin, senior_manager, "4.50")
    preview = repricing_preview(cheaper)
    assert (preview.total.down, preview.total.flagged, preview.total.weekly_change) == (3, 3, 0)
    run = RepricingRun.objects.create(policy=cheaper, created_by=ras_admin, reason="test")
    repricing_apply(run)
    run.refresh_from_db()
    assert run.flagged == 3
    assert IndicativeBudget.objects.filter(status=Status.AWAITING_DECISION).count() == 3
    current = IndicativeBudget.objects.filter(status=Status.CURRENT)
    assert {b.policy.price_per_point_gbp for b in current} == {Decimal("4.88")}
    # Applying again neither duplicates the pending figures nor changes the current ones.
    repricing_apply(RepricingRun.objects.create(policy=cheaper, created_by=ras_admin, reason="x"))
    assert IndicativeBudget.objects.filter(status=Status.AWAITING_DECISION).count() == 3


@pytest.mark.django_db(transaction=True)
def test_apply_runs_as_a_background_job(caseload, ras_admin, senior_manager):
    # A real commit, so the job is queued on commit and the worker (which manages its own
    # database connection) picks it up.
    new = _new_policy(ras_admin, senior_manager, "5.00")
    run = repricing_start(actor=ras_admin, policy=new)
    run.refresh_from_db()
    assert run.status == "queued"
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    run.refresh_from_db()
    assert (run.status, run.changed) == ("done", 3)


def test_preview_page_csv_and_run_page(client, caseload, ras_admin, senior_manager):
    new = _new_policy(ras_admin, senior_manager, "5.00")
    client.force_login(ras_admin)
    page = client.get(reverse("allocations:repricing", args=[new.pk]))
    assert page.status_code == 200
    assert 'id="count-up">3<' in page.text
    assert "Apply to 3 current budgets" in page.text
    download = client.get(reverse("allocations:repricing", args=[new.pk]), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == 3 and {r["change"] for r in rows} == {"up"}
    response = client.post(reverse("allocations:repricing", args=[new.pk]))
    run = RepricingRun.objects.get()
    assert response.url == reverse("allocations:repricing_run", args=[run.pk])
    status = client.get(reverse("allocations:repricing_run_status", args=[run.pk])).json()
    assert status["status"] == "queued" and status["total"] == 0
    assert "<progress" in client.get(response.url).text


def test_the_preview_and_its_csv_log_everyone_they_show(
    client, caseload, ras_admin, senior_manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assessments.models import PersonAccess

    new = _new_policy(ras_admin, senior_manager, "5.00")
    everyone = sorted(p.pk for p in caseload)
    client.force_login(ras_admin)

    def logged(page):
        return sorted(
            PersonAccess.objects.filter(user=ras_admin, page=page).values_list(
                "person_id", flat=True
            )
        )

    client.get(reverse("allocations:repricing", args=[new.pk]))
    assert logged(PersonAccess.Page.REPRICING_PREVIEW) == everyone  # the biggest changes
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("allocations:repricing", args=[new.pk]), {"format": "csv"})
    assert logged(PersonAccess.Page.REPRICING_EXPORT) == everyone
    inserts = [
        q for q in queries.captured_queries if "INSERT INTO assessments_personaccess" in q["sql"]
    ]
    assert len(inserts) == 1  # an export of any size is one statement
    client.get(reverse("allocations:policy_impact", args=[new.pk]), {"format": "csv"})
    assert logged(PersonAccess.Page.REPRICING_EXPORT) == sorted(everyone * 2)


@pytest.mark.parametrize("role", ["worker_a", "manager_a", "senior_manager", "auditor"])
def test_only_ras_administrators_reprice(
    client, caseload, ras_admin, senior_manager, role, request
):
    new = _new_policy(ras_admin, senior_manager, "5.00")
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("allocations:repricing", args=[new.pk])).status_code == 403
    assert client.post(reverse("allocations:repricing", args=[new.pk])).status_code == 403
    assert not RepricingRun.objects.exists()


def test_only_the_policy_in_force_today_can_be_applied(caseload, ras_admin, senior_manager):
    import datetime

    from django.core.exceptions import ValidationError

    from allocations.selectors.repricing import repricing_refusal

    future = make_policy(
        ras_admin, senior_manager, name="Future", effective_from=datetime.date(2099, 4, 1)
    )
    assert "takes effect on 01 April 2099" in repricing_refusal(future)
    with pytest.raises(ValidationError):
        repricing_start(actor=ras_admin, policy=future)
    older = IndicativeBudget.objects.first().policy
    _new_policy(ras_admin, senior_manager, "5.00")
    assert "A newer policy is in force" in repricing_refusal(older)


def test_a_kept_figure_is_not_flagged_again(caseload, ras_admin, senior_manager, manager_a):
    from allocations.decisions import KEEP
    from allocations.services.budgets import budget_decide

    cheaper = _new_policy(ras_admin, senior_manager, "4.50")
    repricing_apply(RepricingRun.objects.create(policy=cheaper, created_by=ras_admin, reason="x"))
    pending = IndicativeBudget.objects.filter(
        status=Status.AWAITING_DECISION, person__team=manager_a.team
    ).first()
    budget_decide(actor=manager_a, budget=pending, decision=KEEP, reason="Keep it")
    again = RepricingRun.objects.create(policy=cheaper, created_by=ras_admin, reason="again")
    repricing_apply(again)
    again.refresh_from_db()
    assert again.total == 0  # the other two still wait; the kept one is not asked again
    assert IndicativeBudget.objects.filter(status=Status.AWAITING_DECISION).count() == 2


def test_the_portable_path_gives_the_same_rows_as_the_sql(caseload, ras_admin, senior_manager):
    from django.db import connection

    from allocations.selectors.repricing import _ROWS_SQL, _rows_portable

    new = _new_policy(ras_admin, senior_manager, "5.00")
    with connection.cursor() as cursor:
        cursor.execute(_ROWS_SQL, {"policy": new.pk})
        by_sql = cursor.fetchall()
    decoded = [(*r[:17], json.loads(r[17]), json.loads(r[18]), *r[19:]) for r in by_sql]
    assert decoded == [tuple(r) for r in _rows_portable(new)]


def test_repricing_keeps_triggers_and_sections(
    caseload, ras_admin, senior_manager, worker_a, questionnaire
):
    """A regression: jsonb read through a raw cursor arrives as text."""
    from tests.factories import answer_everything

    person = make_person(actor=worker_a, existing_weekly_cost_gbp=None)
    draft = assessment_start(actor=worker_a, person=person, supported_by="self")
    ready = answer_everything(complete_assessment(draft, worker_a), worker_a, option_index=2)
    assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
    before = IndicativeBudget.objects.get(person=person, status=Status.CURRENT)
    assert before.triggers == ["dfg"]
    new = _new_policy(ras_admin, senior_manager, "5.00")
    repricing_apply(RepricingRun.objects.create(policy=new, created_by=ras_admin, reason="x"))
    after = IndicativeBudget.objects.get(person=person, status=Status.CURRENT)
    assert after.triggers == ["dfg"]
    assert after.breakdown["points_by_section"] == before.breakdown["points_by_section"]


def test_the_portable_apply_writes_versions_with_history(caseload, ras_admin, senior_manager):
    from allocations.selectors.repricing import repricing_rows
    from allocations.services.repricing import _apply_chunk_portable

    new = _new_policy(ras_admin, senior_manager, "5.00")
    run = RepricingRun.objects.create(policy=new, created_by=ras_admin, reason="x")
    created, flagged = _apply_chunk_portable(run, new, repricing_rows(new))
    assert (created, flagged) == (3, 0)
    for budget in IndicativeBudget.objects.filter(status=Status.CURRENT):
        assert budget.policy == new
        assert budget.history.get().history_user == ras_admin


def test_people_who_cannot_be_calculated_are_named_and_the_run_still_finishes(
    caseload, ras_admin, senior_manager, monkeypatch
):
    from allocations.engine import RasInputError
    from allocations.selectors import repricing as selectors

    refused = caseload[0].reference
    calculate = selectors.calculate

    def refusing(rules, case, **kwargs):
        if case.ref == refused:
            raise RasInputError([("points", "must not be negative")])
        return calculate(rules, case, **kwargs)

    monkeypatch.setattr(selectors, "calculate", refusing)
    new = _new_policy(ras_admin, senior_manager, "5.00")
    run = repricing_apply(RepricingRun.objects.create(policy=new, created_by=ras_admin, reason="x"))
    run.refresh_from_db()
    assert (run.status, run.total, run.processed, run.changed) == ("done", 3, 3, 2)
    assert run.error == f"1 could not be calculated: {refused} (points: must not be negative)"


def test_a_run_whose_creator_may_no_longer_reprice_fails_saying_why(
    caseload, ras_admin, senior_manager
):
    from django.core.exceptions import PermissionDenied

    from allocations.services.repricing import NOT_REPRICER

    new = _new_policy(ras_admin, senior_manager, "5.00")
    run = RepricingRun.objects.create(policy=new, created_by=senior_manager, reason="x")
    with pytest.raises(PermissionDenied):
        repricing_apply(run)
    run.refresh_from_db()
    assert (run.status, run.error, run.changed) == ("failed", NOT_REPRICER, 0)
    assert not IndicativeBudget.objects.filter(policy=new).exists()
