"""Queries compiled once a process (ras_site.compiled): the rows are those of the queryset,
the SQL is reused for the same key, and a key that misses something is refused under the
check the suite runs with."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.models import Person
from assessments.roles import Role
from ras_site.compiled import CompiledQueryMismatch, fetch, user_key
from tests.factories import make_person, make_user

pytestmark = pytest.mark.django_db


def named(family: str):
    return Person.objects.filter(family_name=family).select_related("team").order_by("pk")


def test_the_rows_are_the_querysets_own_related_objects_included(worker_a):
    make_person(actor=worker_a, given_name="Ann", family_name="Able")
    make_person(actor=worker_a, given_name="Bea", family_name="Able")
    with CaptureQueriesContext(connection) as queries:
        people = fetch(named("Able"), ("test-named", "Able"))
    assert [p.given_name for p in people] == ["Ann", "Bea"]
    assert people[0].team.name == worker_a.team.name
    assert len(queries) == 1  # the team came with its person
    assert fetch(named("Able").values_list("given_name", flat=True), ("test-v", "Able")) == [
        "Ann",
        "Bea",
    ]


def test_the_same_key_runs_the_sql_compiled_first_and_the_check_refuses_it(worker_a, settings):
    make_person(actor=worker_a, given_name="Ann", family_name="Able")
    make_person(actor=worker_a, given_name="Cal", family_name="Baker")
    assert [p.given_name for p in fetch(named("Able"), ("test-missing",))] == ["Ann"]
    # A key that does not name the family name: without the check, the first SQL runs again
    # (this is what the key is for) ...
    settings.COMPILED_QUERIES_CHECK = False
    assert [p.given_name for p in fetch(named("Baker"), ("test-missing",))] == ["Ann"]
    # ... and with it, as in DEBUG and the test suite, it is refused.
    settings.COMPILED_QUERIES_CHECK = True
    with pytest.raises(CompiledQueryMismatch):
        fetch(named("Baker"), ("test-missing",))
    assert [p.given_name for p in fetch(named("Baker"), ("test-named", "Baker"))] == ["Cal"]


@pytest.mark.django_db(transaction=True)
def test_a_query_compiled_on_one_thread_runs_on_anothers_connection(worker_a, settings):
    settings.COMPILED_QUERIES_CHECK = False
    make_person(actor=worker_a, given_name="Ann", family_name="Able")
    assert len(fetch(named("Able"), ("test-thread", "Able"))) == 1
    found = []

    def read():
        try:
            found.append(len(fetch(named("Able"), ("test-thread", "Able"))))
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert found == [1]


def test_a_users_key_changes_with_the_day_and_the_roles(worker_a, time_machine):
    today = user_key(worker_a)
    time_machine.move_to(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1))
    assert user_key(worker_a) != today
    other = make_user("other.worker", Role.TEAM_MANAGER, worker_a.team)
    assert user_key(other)[4] != user_key(type(worker_a).objects.get(pk=worker_a.pk))[4]


def test_a_related_managers_queryset_is_refused(worker_a):
    """Its rows would be handed the first request's instance for ever after."""
    person = make_person(actor=worker_a)
    with pytest.raises(ValueError, match="related manager"):
        fetch(person.budgets.all(), ("test-related", person.pk))


def test_numbers_that_vary_are_put_in_their_places_under_one_key(worker_a, settings):
    """Compiled once for everyone, with each call's own id."""
    ann = make_person(actor=worker_a, given_name="Ann", family_name="Able")
    cal = make_person(actor=worker_a, given_name="Cal", family_name="Baker")

    def by_id(pk):
        return Person.objects.filter(pk=pk, team_id=worker_a.team_id).select_related("team")

    settings.COMPILED_QUERIES_CHECK = False
    for person in (ann, cal, ann):
        assert [p.given_name for p in fetch(by_id, ("test-by-id",), args=(person.pk,))] == [
            person.given_name
        ]
    assert fetch(by_id, ("test-by-id",), args=(cal.pk + 1000,)) == []
    # A value the key and `args` leave out is caught by the check.
    settings.COMPILED_QUERIES_CHECK = True

    def named_as(person):
        return lambda pk: by_id(pk).filter(given_name=person.given_name)

    assert len(fetch(named_as(ann), ("test-by-id-2",), args=(ann.pk,))) == 1
    with pytest.raises(CompiledQueryMismatch):
        fetch(named_as(cal), ("test-by-id-2",), args=(cal.pk,))
