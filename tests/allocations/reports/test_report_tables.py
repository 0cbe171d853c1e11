"""report_tables reads the sections in parallel threads on PostgreSQL outside a transaction —
the dashboard's and the pack's way to answer in half the time — with the same tables, in the
same order, as one after another, and leaves no connection open behind it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from allocations.reports import tables as registry
from allocations.reports.scope import ReportScope
from allocations.reports.tables import Column, ReportSection, Table, report_tables
from tests.allocations.reports.test_report_packs import WHOLE

pytestmark = pytest.mark.django_db(transaction=True)


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.fixture
def threads_seen(monkeypatch):
    """Two fake sections that note the thread they were read on."""
    seen: dict[str, str] = {}

    def section(slug: str, order: int) -> ReportSection:
        def tables(scope: ReportScope) -> list[Table]:
            seen[slug] = threading.current_thread().name
            return [Table(f"{slug}-t", slug, (Column("a", "A"),), [(scope.end.isoformat(),)])]

        return ReportSection(slug, slug, order, tables)

    for fake in (section("fake-a", 1), section("fake-b", 2)):
        monkeypatch.setitem(registry._sections, fake.slug, fake)
    return seen


def test_outside_a_transaction_the_sections_are_read_in_parallel_threads(threads_seen):
    before = _backends()

    read = report_tables(WHOLE)

    # Every section, in the registry's order, with its tables (the real ones included).
    assert [s.slug for s, _ in read] == [s.slug for s in registry.report_sections()]
    assert [t.slug for t in {s.slug: t for s, t in read}["fake-a"]] == ["fake-a-t"]
    assert {s.slug for s, tables in read if tables} >= {"fake-a", "take-up", "fairness"}
    main = threading.current_thread().name
    assert threads_seen["fake-a"] != main and threads_seen["fake-b"] != main
    # Each thread closed the connection it opened (the server notices within moments).
    for _ in range(50):
        if _backends() == before:
            break
        time.sleep(0.1)
    assert _backends() == before


def test_the_threads_give_the_same_tables_as_one_after_another(threads_seen):
    parallel = report_tables(WHOLE)
    with transaction.atomic():
        in_order = report_tables(WHOLE)
    main = threading.current_thread().name

    assert threads_seen["fake-a"] == main  # inside a transaction: this connection, in turn
    assert [(s.slug, [(t.slug, t.rows) for t in ts]) for s, ts in parallel] == [
        (s.slug, [(t.slug, t.rows) for t in ts]) for s, ts in in_order
    ]
