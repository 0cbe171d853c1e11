"""What the models declare, PostgreSQL holds: every constraint and index is in the database's
own catalogue, two people recalculating one budget at once never make two current versions,
and migration 0007 repairs the rows that would break the constraints it restores.

The catalogue test exists because migration 0002's AlterField(person, db_index=False) dropped
the partial unique index `budget_one_current` on PostgreSQL while `makemigrations --check`
(which compares migrations with models, never with the database) saw nothing wrong.
"""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import CheckConstraint, UniqueConstraint
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, Letter
from allocations.services.budgets import budget_recalculate
from assessments.models import Assessment, Person, QuestionnaireVersion, User
from assessments.roles import Role
from tests.factories import make_person, make_user

PROJECT_APPS = ("assessments", "allocations", "panels")
REPAIRED = "Repaired by migration 0007"


# --- The catalogue -----------------------------------------------------------------------------


def _declared(model):
    """(kind, item) for every constraint and index a model declares in its Meta."""
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint):
            yield "unique", constraint
        elif isinstance(constraint, CheckConstraint):
            yield "check", constraint
    for index in model._meta.indexes:
        yield "index", index


def _columns(model, item) -> list[str] | None:
    """The columns an item covers, in order (None for expression-based items)."""
    if not getattr(item, "fields", None):
        return None
    return [model._meta.get_field(name.lstrip("-")).column for name in item.fields]


def _pg_index(cursor, table: str, name: str) -> tuple[bool, str | None] | None:
    """(unique, predicate) of the index `name` on `table`, read from pg_index."""
    cursor.execute(
        """
        SELECT i.indisunique, pg_get_expr(i.indpred, i.indrelid)
        FROM pg_index i
        JOIN pg_class ix ON ix.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE ix.relname = %s AND t.relname = %s AND n.nspname = current_schema()
        """,
        [name, table],
    )
    return cursor.fetchone()


def declared_but_missing(conn) -> tuple[list[str], set[str]]:
    """(problems, the names of the declared items checked) for every model of the project's apps,
    historical and auto-created models included, against the PostgreSQL catalogue."""
    problems: list[str] = []
    checked: set[str] = set()
    with conn.cursor() as cursor:
        for label in PROJECT_APPS:
            for model in apps.get_app_config(label).get_models(include_auto_created=True):
                if not model._meta.managed or model._meta.proxy:
                    continue
                table = model._meta.db_table
                catalogue = conn.introspection.get_constraints(cursor, table)
                for kind, item in _declared(model):
                    checked.add(item.name)
                    where = f"{label}.{model.__name__} ({table}): {kind} {item.name!r}"
                    found = catalogue.get(item.name)
                    if found is None:
                        problems.append(f"{where} is not in the database")
                        continue
                    columns = _columns(model, item)
                    if columns is not None and found["columns"] != columns:
                        problems.append(f"{where} covers {found['columns']}, not {columns}")
                    if kind == "check":
                        if not found["check"]:
                            problems.append(f"{where} is not a CHECK constraint")
                        continue
                    if kind == "unique" and not found["unique"]:
                        problems.append(f"{where} is not unique")
                    if getattr(item, "condition", None) is not None:
                        pg = _pg_index(cursor, table, item.name)
                        if pg is None or pg[1] is None:
                            problems.append(f"{where} is not a partial index")
                        elif kind == "unique" and not pg[0]:
                            problems.append(f"{where} is a partial index but not unique")
    return problems, checked


def test_every_declared_constraint_and_index_is_in_postgresql(db):
    assert connection.vendor == "postgresql"
    problems, checked = declared_but_missing(connection)
    assert problems == []
    # The check really looked: at every app, and at the index migration 0002 lost.
    assert {
        "budget_one_current",
        "letter_once_per_figures",
        "agreed_difference_has_reason",
        "questionnaire_one_published_version",
        "person_dob_idx",
        "referral_one_waiting_per_plan",
    } <= checked


def test_budget_history_keeps_only_the_indexes_read_by_and_its_user_key(db, submitted_a):
    """Migration 0023: the budget history table is indexed by its primary key and the recorded
    budget's id only (a budget's page reads its history by that id), so each of the two
    history rows re-pricing writes a person updates two indexes, not eleven; the history
    user's foreign key stays, and a budget's page still finds its history by index."""
    table = IndicativeBudget.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(pg_get_indexdef(i.indexrelid)) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass",
            [table],
        )
        (definitions,) = cursor.fetchone()
        columns = sorted(d.rsplit("(", 1)[1].rstrip(")") for d in definitions)
        assert columns == ["history_id", "id"]
        cursor.execute(
            "SELECT confrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
            [table],
        )
        assert cursor.fetchall() == [("assessments_user", "history_user_id")]
        budget = IndicativeBudget.objects.get(assessment=submitted_a)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT * FROM {table} WHERE id = %s",  # noqa: S608 (model metadata)
            [budget.pk],
        )
        plan = " ".join(line for (line,) in cursor.fetchall())
    assert "allocations_historicalindicativebudget_id_" in plan
    assert budget.history.count() == 1


def test_budget_explanations_are_compressed_with_lz4(db):
    """Migration 0023: a budget's explanation, when PostgreSQL compresses it (a row over about
    2 kB), is compressed with lz4, in the budgets and in their history."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
            "WHERE attname = 'breakdown' AND attrelid = ANY(%s::regclass[]) ORDER BY 1",
            [["allocations_indicativebudget", IndicativeBudget.history.model._meta.db_table]],
        )
        assert cursor.fetchall() == [
            ("allocations_historicalindicativebudget", "l"),
            ("allocations_indicativebudget", "l"),
        ]


def test_the_partial_unique_index_refuses_a_second_current_budget(submitted_a, person_a):
    """The restored index does its job (the service's lock is not the only guard)."""
    budget = IndicativeBudget.objects.get(person=person_a, status="current")
    second = IndicativeBudget(
        **{
            f.attname: getattr(budget, f.attname)
            for f in IndicativeBudget._meta.concrete_fields
            if f.attname != "id"
        }
    )
    second.reason = "A second current version, written directly"
    with pytest.raises(IntegrityError, match="budget_one_current"), transaction.atomic():
        second.save()


# --- Two recalculations at once ----------------------------------------------------------------

SLOW_INSERTS = """
CREATE OR REPLACE FUNCTION test_slow_budget_insert() RETURNS trigger AS $$
BEGIN
    PERFORM pg_sleep(0.05);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER test_slow_budget_insert BEFORE INSERT ON allocations_indicativebudget
    FOR EACH ROW EXECUTE FUNCTION test_slow_budget_insert();
"""
FAST_INSERTS = """
DROP TRIGGER IF EXISTS test_slow_budget_insert ON allocations_indicativebudget;
DROP FUNCTION IF EXISTS test_slow_budget_insert();
"""


def _at_once(work, *args_per_thread):
    """Run work(*args) in one thread per args, released together; (results, errors)."""
    barrier = threading.Barrier(len(args_per_thread))
    results, errors = [], []

    def run(*args):
        try:
            barrier.wait(timeout=10)
            results.append(work(*args))
        except Exception as problem:
            errors.append(problem)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a recalculation never finished (deadlock?)"
    return results, errors


@pytest.fixture
def slow_budget_inserts(transactional_db):
    """Each new budget version takes 50 ms to write, so that two recalculations released at
    once really overlap: the second reads the person's budgets while the first is writing."""
    with connection.cursor() as cursor:
        cursor.execute(SLOW_INSERTS)
    yield
    with connection.cursor() as cursor:
        cursor.execute(FAST_INSERTS)


def _assert_one_current_chain(person: Person, versions: int) -> None:
    # In the order they were written (created_at is taken before the person is locked).
    budgets = list(IndicativeBudget.objects.filter(person=person).order_by("id"))
    assert len(budgets) == versions
    assert [b.status for b in budgets].count("current") == 1
    assert budgets[-1].status == "current"
    assert {b.status for b in budgets[:-1]} == {"superseded"}
    # Each version replaced exactly the one before it: nobody read a stale "current".
    assert [b.replaces_id for b in budgets[1:]] == [b.pk for b in budgets[:-1]]


@pytest.mark.django_db(transaction=True)
def test_two_recalculations_at_once_leave_one_current_budget(
    submitted_a, person_a, manager_a, slow_budget_inserts
):
    other = make_user("manager.a2", Role.TEAM_MANAGER, person_a.team)

    def recalculate(user_pk: int, reason: str):
        actor = User.objects.get(pk=user_pk)
        person = Person.objects.get(pk=person_a.pk)
        return budget_recalculate(actor=actor, person=person, reason=reason)

    rounds = 10
    for n in range(rounds):
        results, errors = _at_once(
            recalculate, (manager_a.pk, f"Round {n}, first"), (other.pk, f"Round {n}, second")
        )
        assert not [e for e in errors if isinstance(e, IntegrityError)], (
            f"round {n}: the losing recalculation reached the user as an IntegrityError "
            f"(a 500): {errors}"
        )
        assert errors == [], f"round {n}: {errors!r}"
        assert len(results) == 2
        assert IndicativeBudget.objects.filter(person=person_a, status="current").count() == 1, (
            f"round {n}: two current budgets"
        )
    _assert_one_current_chain(person_a, versions=1 + 2 * rounds)


@pytest.mark.django_db(transaction=True)
def test_two_recalculate_posts_at_once_are_both_answered_without_an_error(
    submitted_a, person_a, manager_a, slow_budget_inserts
):
    other = make_user("manager.a2", Role.TEAM_MANAGER, person_a.team)
    url = reverse("allocations:budget_recalculate", args=[person_a.pk])
    clients = []
    for user in (manager_a, other):
        client = Client()
        client.force_login(user)
        clients.append(client)

    def post(client, reason):
        return client.post(url, {"reason": reason}).status_code

    rounds = 5
    for n in range(rounds):
        results, errors = _at_once(post, (clients[0], f"Post {n}, first"), (clients[1], "2nd"))
        assert errors == [], f"round {n}: {errors!r}"
        assert results == [302, 302]
        assert IndicativeBudget.objects.filter(person=person_a, status="current").count() == 1
    _assert_one_current_chain(person_a, versions=1 + 2 * rounds)


# --- Migration 0007 repairs the data -----------------------------------------------------------

BEFORE_0007 = [("allocations", "0006_exact_adjusted_points")]


def _close_abandoned_migration() -> None:
    """A migration whose deferred SQL fails leaves its transaction open and aborted (the schema
    editor then skips its atomic block's exit): roll it back, so that migrating can go on."""
    if connection.in_atomic_block:
        transaction.atomic().__exit__(RuntimeError, RuntimeError(), None)


def _migrate(targets=None) -> MigrationExecutor:
    """Migrate to `targets` (by default: fully); the executor, for the state reached."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    if executor.migration_plan(targets):
        executor.migrate(targets)
        executor.loader.build_graph()  # it has to see what was just applied
    return executor


def _old_rows(old_apps, *, person, other, assessment, users):
    """Rows as they could be before 0007, written with the models of 0006."""
    worker, manager, admin, senior = users
    OldPolicy = old_apps.get_model("allocations", "RasPolicy")
    OldBudget = old_apps.get_model("allocations", "IndicativeBudget")
    OldPlan = old_apps.get_model("allocations", "SupportPlan")
    OldAgreed = old_apps.get_model("allocations", "AgreedBudget")
    OldLetter = old_apps.get_model("allocations", "Letter")

    now = timezone.now()
    policy = OldPolicy.objects.create(
        name="Old policy",
        effective_from=datetime.date(2026, 4, 1),
        status="approved",
        price_per_point_gbp=Decimal("4.88"),
        informal_support_reductions={},
        carer_impact_multipliers={},
        contingency_bands=[],
        panel_threshold_weekly_gbp=Decimal("500"),
        residential_benchmark_annual_gbp=Decimal("40000"),
        created_by_id=admin.pk,
        updated_by_id=admin.pk,
        approved_by_id=senior.pk,
        approved_at=now,
    )
    figures = {
        "reason": "Submitted",
        "calculated_on": datetime.date(2026, 5, 1),
        "raw_points": Decimal("8"),
        "reduction_percent": Decimal("0"),
        "adjusted_points": Decimal("8"),
        "gross_weekly_gbp": Decimal("39.04"),
        "contingency_weekly_gbp": Decimal("1.95"),
        "ras_weekly_gbp": Decimal("37.09"),
        "indicative_weekly_gbp": Decimal("120.00"),
        "annual_gbp": Decimal("6240.00"),
        "basis": "existing_package",
        "panel_required": False,
        "breakdown": {},
        "created_by_id": worker.pk,
    }

    def budget(for_person, when, for_assessment):
        return OldBudget.objects.create(
            person_id=for_person.pk,
            assessment_id=for_assessment.pk,
            policy_id=policy.pk,
            status="current",
            created_at=when,
            **figures,
        )

    # Two current budgets for one person, saved at the same moment by two clicks.
    older = budget(person, now - datetime.timedelta(seconds=2), assessment["person"])
    newer = budget(person, now - datetime.timedelta(seconds=1), assessment["person"])
    # Someone else's single current budget is left alone.
    alone = budget(other, now, assessment["other"])

    def agreed(for_person, indicative, weekly):
        plan = OldPlan.objects.create(
            person_id=for_person.pk,
            indicative_budget_id=indicative.pk,
            status="agreed",
            created_by_id=worker.pk,
            updated_by_id=worker.pk,
        )
        return OldAgreed.objects.create(
            person_id=for_person.pk,
            plan_id=plan.pk,
            status="current",
            weekly_gbp=Decimal(weekly),
            annual_gbp=Decimal(weekly) * 52,
            direct_payment_weekly_gbp=Decimal(weekly),
            council_managed_weekly_gbp=Decimal("0"),
            isf_weekly_gbp=Decimal("0"),
            contribution_weekly_gbp=Decimal("0"),
            council_weekly_gbp=Decimal(weekly),
            indicative_weekly_gbp=Decimal("120.00"),
            difference_reason="",
            review_date=datetime.date(2027, 5, 1),
            agreed_by_id=manager.pk,
            agreed_how="team manager",
        )

    # Agreed at £110 against an indicative £120, with no reason: the new CHECK would fail.
    differing = agreed(person, newer, "110.00")
    # Agreed at exactly the indicative figure: no reason needed, nothing to repair.
    matching = agreed(other, alone, "120.00")

    def letter(for_person, key, when):
        return OldLetter.objects.create(
            person_id=for_person.pk,
            kind="indicative",
            source_id=newer.pk,
            figures={"indicative_weekly": "120.00"},
            figures_sha256=key * 64,
            pdf=b"%PDF-1.7 test",
            sha256="0" * 64,
            size_bytes=13,
            issued_at=when,
            issued_by_id=worker.pk,
        )

    # One letter issued twice for the same figures (two clicks), and one different letter.
    first = letter(person, "a", now - datetime.timedelta(minutes=2))
    duplicate = letter(person, "a", now - datetime.timedelta(minutes=1))
    different = letter(person, "b", now)
    return {
        "older": older.pk,
        "newer": newer.pk,
        "alone": alone.pk,
        "differing": differing.pk,
        "matching": matching.pk,
        "first": first.pk,
        "duplicate": duplicate.pk,
        "different": different.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_migration_0007_repairs_rows_that_break_the_restored_constraints(
    worker_a, manager_a, ras_admin, senior_manager
):
    person = make_person(actor=worker_a)
    other = make_person(actor=worker_a)
    draft = QuestionnaireVersion.objects.create(title="Old SAQ", number=1, created_by=ras_admin)
    assessment = {
        who: Assessment.objects.create(
            person=someone,
            questionnaire=draft,
            supported_by="self",
            started_by=worker_a,
            updated_by=worker_a,
        )
        for who, someone in (("person", person), ("other", other))
    }
    users = (worker_a, manager_a, ras_admin, senior_manager)
    try:
        executor = _migrate(BEFORE_0007)
        # As on every PostgreSQL database migrated forwards: 0002 dropped the index (going
        # backwards through 0007 has just made it again).
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS budget_one_current")
        problems, _ = declared_but_missing(connection)
        assert any("'budget_one_current' is not in the database" in p for p in problems)
        old_apps = executor.loader.project_state(BEFORE_0007).apps
        ids = _old_rows(old_apps, person=person, other=other, assessment=assessment, users=users)
        _migrate()
    finally:
        _close_abandoned_migration()
        _migrate()  # whatever happened, leave the database fully migrated

    assert declared_but_missing(connection)[0] == []

    # 1. The newer current budget stays current; the older is superseded, with the reason.
    older, newer, alone = (
        IndicativeBudget.objects.get(pk=ids[k]) for k in ("older", "newer", "alone")
    )
    assert (newer.status, alone.status) == ("current", "current")
    assert older.status == "superseded" and older.ended_at is not None
    assert older.end_reason.startswith(REPAIRED) and f"#{newer.pk}" in older.end_reason
    assert older.indicative_weekly_gbp == Decimal("120.00")  # figures untouched
    repaired = older.history.get()
    assert (repaired.history_type, repaired.history_change_reason) == ("~", REPAIRED)
    assert repaired.status == "superseded" and repaired.end_reason == older.end_reason
    assert not newer.history.exists() and not alone.history.exists()

    # 2. The agreed budget that differs from the indicative figure now says why.
    differing = AgreedBudget.objects.get(pk=ids["differing"])
    matching = AgreedBudget.objects.get(pk=ids["matching"])
    assert differing.difference_reason.startswith("(No reason was recorded")
    assert differing.weekly_gbp == Decimal("110.00")  # the money is untouched
    assert matching.difference_reason == ""
    row = differing.history.get()
    assert (row.history_type, row.history_change_reason) == ("~", REPAIRED)
    assert row.difference_reason == differing.difference_reason
    assert not matching.history.exists()

    # 3. The duplicate letter is withdrawn, naming the first; every letter has its issue.
    first, duplicate, different = (
        Letter.objects.get(pk=ids[k]) for k in ("first", "duplicate", "different")
    )
    assert first.withdrawn_at is None and different.withdrawn_at is None
    assert duplicate.withdrawn_at is not None
    assert duplicate.withdrawn_reason.startswith(REPAIRED)
    assert f"#{first.pk}" in duplicate.withdrawn_reason
    for letter in (first, duplicate, different):
        issued = letter.history.filter(history_type="+").get()
        assert issued.history_change_reason == "issued"
        assert issued.history_date == letter.issued_at
        assert issued.history_user == worker_a
    assert not first.history.filter(history_type="~").exists()
    withdrawn = duplicate.history.filter(history_type="~").get()
    assert withdrawn.history_change_reason == REPAIRED
    assert withdrawn.withdrawn_reason == duplicate.withdrawn_reason

    # The restored index and the triggers of 0008 are back in force.
    assert IndicativeBudget.objects.filter(person=person, status="current").count() == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'allocations_indicativebudget_guard'"
        )
        assert cursor.fetchone() == (1,)
