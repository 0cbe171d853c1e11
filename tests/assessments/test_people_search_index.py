"""People search is answered from indexes (pg_trgm), not by reading the whole person table, and
still finds by part of a name, a reference or a date of birth, within the user's team."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from assessments.models import Person
from assessments.selectors.people import person_list
from tests.factories import make_person

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def caseload(worker_a, worker_b):
    """Edith among 20,000 people in two teams (copies of her with other names and references),
    with fresh statistics, so the planner chooses as it would on a council's caseload."""
    edith = make_person(
        actor=worker_a, given_name="Edith", family_name="Atkinson", reference="R-0042"
    )
    make_person(actor=worker_b, given_name="Edie", family_name="Atkins", reference="R-0043")
    copied = [
        f.column
        for f in Person._meta.concrete_fields
        if f.column not in ("id", "reference", "given_name", "family_name")
    ]
    columns = ", ".join(copied)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO assessments_person (reference, given_name, family_name, {columns}) "  # noqa: S608
            f"SELECT 'B-' || id || '-' || g, 'Given' || g, 'Family' || g, {columns} "
            "FROM assessments_person, generate_series(1, 10000) AS g",
        )
    # As autovacuum would on a live database: GIN indexes' statistics come from VACUUM.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE assessments_person")
    return edith


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query", ["atkin", "dith atk", "R-0042"])
def test_search_across_every_team_reads_the_trigram_indexes(auditor, caseload, query):
    plan = plan_of(person_list(user=auditor, query=query))
    assert "Seq Scan on assessments_person" not in plan, plan
    assert "_trgm" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_a_teams_search_does_not_scan_people_either(worker_a, caseload):
    plan = plan_of(person_list(user=worker_a, query="atkin"))
    assert "Seq Scan on assessments_person" not in plan, plan


def test_search_finds_part_of_a_name_a_reference_and_a_date_of_birth_in_the_team_only(
    worker_a, worker_b, auditor
):
    edith = make_person(
        actor=worker_a,
        given_name="Edith",
        family_name="Atkinson",
        reference="R-0042",
        date_of_birth=datetime.date(1941, 3, 9),
    )
    other_team = make_person(actor=worker_b, given_name="Edie", family_name="Atkins")

    def found(user, query):
        return list(person_list(user=user, query=query))

    assert found(worker_a, "TKINS") == [edith]
    assert found(worker_a, "edi atk") == [edith]
    assert found(worker_a, "r-004") == [edith]
    assert found(worker_a, "09/03/1941") == [edith]
    assert found(worker_b, "atkins") == [other_team]
    assert set(found(auditor, "atkins")) == {edith, other_team}


def test_search_indexes_keep_no_pending_list():
    """A person added is in the search indexes at once (GIN fastupdate off): a search never
    reads an unmerged pending list, which made it 20 times slower until autovacuum ran."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'person_%%_trgm'"
        )
        options = dict(cursor.fetchall())
    assert set(options) == {
        "person_given_name_trgm",
        "person_family_name_trgm",
        "person_reference_trgm",
    }
    assert all(opts == ["fastupdate=off"] for opts in options.values()), options
