"""Re-pricing in parts (issue 15): a run cut into parts of a few people gives exactly the budget
versions and history rows one part for everyone gives, and the ORM's one-at-a-time path; a
run shared by two real `db_worker` processes, one killed mid-part, completes exactly once."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import psycopg2
import pytest
from django.db import connection, connections, transaction

from allocations.models import IndicativeBudget, RepricingRun
from allocations.selectors.repricing import LAST_ID, repricing_rows
from allocations.services.repricing import (
    _apply_chunk_portable,
    apply_repricing_chunk,
    repricing_apply,
    repricing_start,
)
from assessments.models import ClientGroup
from tests.allocations.test_jobs_recovery import (  # noqa: F401 - the workers fixture
    _database_url,
    _wait_for,
    workers,
)
from tests.factories import make_budgeted_person, make_policy_from_today

Status = IndicativeBudget.Status


@pytest.fixture
def varied(policy, worker_a, worker_b, questionnaire):
    """Eight people of both teams: every client group, with and without an existing package
    (kept, or not when their needs have increased), so that figures, bases and breakdowns
    differ from one person to the next."""
    groups = list(ClientGroup.values)
    people = []
    for n in range(8):
        people.append(
            make_budgeted_person(
                actor=worker_a if n % 2 else worker_b,
                client_group=groups[n % len(groups)],
                existing_weekly_cost_gbp=None if n % 3 else "45.00",
                needs_increased=n % 4 == 3,
            )
        )
    return people


def _budgets() -> list[tuple]:
    """Every budget version as a person would see it: all figures, status, reason, breakdown,
    triggers and the version it replaces (by its person and policy: the ids of new versions,
    and times, differ from one run to the next)."""
    return sorted(
        (
            b.person_id,
            b.policy_id,
            b.status,
            b.reason,
            b.calculated_on,
            b.raw_points,
            b.reduction_percent,
            b.adjusted_points,
            b.gross_weekly_gbp,
            b.contingency_weekly_gbp,
            b.ras_weekly_gbp,
            b.indicative_weekly_gbp,
            b.annual_gbp,
            b.basis,
            b.panel_required,
            tuple(b.triggers),
            repr(b.breakdown),
            b.replaces and (b.replaces.person_id, b.replaces.policy_id),
            b.ended_at is not None,
            b.created_by_id,
        )
        for b in IndicativeBudget.objects.select_related("replaces")
    )


def _history(*, reasons: bool = True) -> list[tuple]:
    rows = IndicativeBudget.history.model.objects.all()
    return sorted(
        (
            h.person_id,
            h.policy_id,
            h.history_type,
            h.status,
            h.indicative_weekly_gbp,
            repr(h.breakdown),
            h.history_user_id,
            h.history_change_reason if reasons else None,
        )
        for h in rows
    )


def _apply(policy, ras_admin, **kwargs) -> RepricingRun:
    run = RepricingRun.objects.create(policy=policy, created_by=ras_admin, reason="x")
    repricing_apply(run, **kwargs)
    run.refresh_from_db()
    return run


def _outcome(apply) -> tuple[list, list, list]:
    """What `apply` leaves (budgets, history, the runs' counts), then undone."""
    with transaction.atomic():
        counts = apply()
        outcome = (_budgets(), _history(), counts)
        transaction.set_rollback(True)
    return outcome


@pytest.mark.django_db
def test_parts_of_three_give_the_same_versions_and_history_as_one_part_for_everyone(
    varied, ras_admin, senior_manager
):
    # A lower price first (every figure waits for a manager), then a higher one: the current
    # versions are superseded and the waiting lower figures, stale now, closed.
    cheaper = make_policy_from_today(ras_admin, senior_manager, price="4.50")
    dearer = make_policy_from_today(ras_admin, senior_manager, price="5.10")

    def both(chunk):
        def apply():
            runs = [_apply(p, ras_admin, chunk=chunk) for p in (cheaper, dearer)]
            return [(r.status, r.total, r.processed, r.changed, r.flagged) for r in runs]

        return apply

    budgets, history, counts = _outcome(both(3))
    assert (budgets, history, counts) == _outcome(both(1_000))
    assert counts == [("done", 8, 8, 8, 6), ("done", 8, 8, 8, 0)]  # the two kept packages
    # The first versions, superseded by either run; the cheaper run's two current versions
    # (the kept packages) superseded, and its six waiting lower figures closed as stale.
    assert Counter(b[2] for b in budgets) == {Status.SUPERSEDED: 8 + 2 + 6, Status.CURRENT: 8}
    # A history row for every version made (+) and every one superseded or closed (~).
    assert Counter(h[2] for h in history) == {"+": 8 + 8 + 8, "~": 8 + 2 + 6}


@pytest.mark.django_db
def test_parts_give_what_placing_each_budget_through_the_orm_gives(
    varied, ras_admin, senior_manager
):
    """The same new versions, breakdown included, as budget_place one person at a time (the
    portable path): the breakdown's points by section are copied as text in the SQL path."""
    dearer = make_policy_from_today(ras_admin, senior_manager, price="5.10")

    def portable():
        run = RepricingRun.objects.create(policy=dearer, created_by=ras_admin, reason="x")
        return list(_apply_chunk_portable(run, dearer, repricing_rows(dearer)))

    def parts():
        run = _apply(dearer, ras_admin, chunk=3)
        return [run.changed, run.flagged]

    with transaction.atomic():
        counts = portable()
        expected = (_budgets(), _history(reasons=False), counts)
        transaction.set_rollback(True)
    with transaction.atomic():
        counts = parts()
        assert (_budgets(), _history(reasons=False), counts) == expected
        transaction.set_rollback(True)
    assert expected[2] == [8, 0]
    assert any(b[13] == "existing_package" for b in expected[0])


@pytest.mark.django_db
def test_a_run_is_cut_into_parts_covering_every_person(varied, ras_admin, senior_manager):
    dearer = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    run = _apply(dearer, ras_admin, chunk=3)
    parts = list(run.chunks.order_by("number"))
    ids = sorted(p.pk for p in varied)
    assert [(p.first_person_id, p.last_person_id, p.total) for p in parts] == [
        (0, ids[2], 3),
        (ids[2] + 1, ids[5], 3),
        (ids[5] + 1, LAST_ID, 2),
    ]
    assert all(p.done_at and p.done_by for p in parts)
    assert sum(p.changed for p in parts) == run.changed == 8
    # A part's task delivered again (or late) changes nothing.
    assert apply_repricing_chunk.call(parts[0].pk) == 0
    assert IndicativeBudget.objects.filter(policy=dearer).count() == 8


# --- two real workers, one killed mid-part -----------------------------------------------------


def _hold_person(person_id: int):
    """Lock a person's row from another connection (as a colleague's change of their budget
    would), so that the part re-pricing them waits inside its transaction."""
    holder = psycopg2.connect(_database_url())
    holder.autocommit = False
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM assessments_person WHERE id = %s FOR UPDATE", [person_id])
    return holder


def _waiting_on(holder) -> int:
    """How many other sessions wait for the holder's lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            [holder.get_backend_pid()],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_run_shared_by_two_workers_one_killed_mid_part_completes_exactly_once(
    varied,
    ras_admin,
    senior_manager,
    workers,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("REPRICING_CHUNK", "2")  # four parts of two people
    dearer = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    ids = sorted(p.pk for p in varied)
    holder = _hold_person(ids[4])  # the third part will wait for this lock
    try:
        first = workers()
        run = repricing_start(actor=ras_admin, policy=dearer)
        # The first worker takes the run, applies parts 1 and 2 and waits inside part 3.
        _wait_for(lambda: _waiting_on(holder) == 1, 60, "the first worker to reach part 3", first)
        assert run.chunks.filter(done_at__isnull=False).count() == 2
        second = workers()  # takes the parts' tasks: part 4 (part 3 is held: skipped)
        _wait_for(
            lambda: run.chunks.filter(number=4, done_at__isnull=False).exists(),
            60,
            "the second worker to apply part 4",
            second,
        )
        first.signal(signal.SIGKILL)  # dies mid-part: its transaction never commits
        first.process.wait(10)
    finally:
        holder.rollback()
        holder.close()
    # The second worker finds the run stalled once its lease runs out, resumes it and applies
    # the part the first one died in.
    _wait_for(lambda: RepricingRun.objects.get().status == "done", 60, "the run", second)

    run.refresh_from_db()
    assert (run.status, run.total, run.processed, run.changed, run.flagged) == (
        "done",
        8,
        8,
        8,
        0,
    )
    assert run.attempts == 2
    new = IndicativeBudget.objects.filter(policy=dearer)
    assert Counter(new.values_list("person_id", flat=True)) == Counter(ids)  # once each
    assert set(new.values_list("status", flat=True)) == {Status.CURRENT}
    assert IndicativeBudget.objects.filter(status=Status.CURRENT).count() == len(ids)
    history = IndicativeBudget.history.model.objects.filter(policy=dearer)
    assert Counter(history.values_list("person_id", "history_type")) == Counter(
        (person_id, "+") for person_id in ids
    )
    superseded = IndicativeBudget.history.model.objects.filter(
        history_type="~", status=Status.SUPERSEDED
    )
    assert sorted(superseded.values_list("person_id", flat=True)) == ids
    parts = {part.number: part for part in run.chunks.all()}
    assert [parts[n].changed for n in sorted(parts)] == [2, 2, 2, 2]
    workers_of = {parts[n].done_by for n in (1, 2)}, {parts[n].done_by for n in (3, 4)}
    assert len(workers_of[0]) == 1 and len(workers_of[1]) == 1
    assert workers_of[0] != workers_of[1]  # parts 1-2 by the first, 3-4 by the second


@pytest.mark.django_db(transaction=True)
def test_two_parts_applied_at_once_each_write_their_own_history_rows_once(
    varied, ras_admin, senior_manager, monkeypatch
):
    """Part 1's worker has copied its new versions in when part 2's worker commits its own:
    each writes the history of its own versions, never the other's (both have ids above
    the highest id part 1 saw before copying)."""
    from allocations.models import RepricingChunk
    from allocations.services import repricing

    dearer = make_policy_from_today(ras_admin, senior_manager, price="5.10")
    run = RepricingRun.objects.create(policy=dearer, created_by=ras_admin, reason="x")
    ids = sorted(p.pk for p in varied)
    for number, (first, last) in enumerate([(0, ids[3]), (ids[3] + 1, LAST_ID)], start=1):
        RepricingChunk.objects.create(
            run=run, number=number, first_person_id=first, last_person_id=last, total=4
        )
    copied, committed = threading.Event(), threading.Event()
    real_copy = repricing._copy_budgets

    def copy_then_wait(rows):
        real_copy(rows)
        if threading.current_thread().name == "part-1":
            copied.set()
            assert committed.wait(30)

    monkeypatch.setattr(repricing, "_copy_budgets", copy_then_wait)
    made = {}

    def apply(number, after=None):
        try:
            if after is not None:
                assert after.wait(30)
            made[number] = apply_repricing_chunk.call(run.chunks.get(number=number).pk)
        finally:
            if number == 2:
                committed.set()
            connections.close_all()

    threads = [
        threading.Thread(target=apply, args=(1,), name="part-1"),
        threading.Thread(target=apply, args=(2, copied), name="part-2"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert made == {1: 4, 2: 4}
    history = IndicativeBudget.history.model.objects.filter(policy=dearer)
    assert Counter(history.values_list("person_id", "history_type")) == Counter(
        (person_id, "+") for person_id in ids
    )
