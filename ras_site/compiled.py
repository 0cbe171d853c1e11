"""Queries compiled once a process. The ORM builds and compiles a query's SQL in Python, and
for a page's small queries that costs several times what PostgreSQL spends answering them: the
"plans returned to me" query takes about 2.8 ms to build and compile and 0.4 ms to run
(benchmarks/page_cost.py shows the pages' share). `fetch(queryset, key)` evaluates a queryset
with the SQL and parameters compiled the first time `key` was seen in this process (and,
given a function that builds the queryset, without building it again).

`key` must name everything the SQL depends on: the user's id, team and permissions
(`user_key`), the day when the query has dates in it, a page number. A key that misses
something would run another user's SQL, so with COMPILED_QUERIES_CHECK on (DEBUG, and the
whole test suite) every call compiles afresh as well and refuses to run when the SQL or its
parameters differ from what the key found.

The compiled query is reused through Django's own iterables (ModelIterable, ValuesIterable,
…): they ask the query for a compiler, and get the one compiled first, with its SQL pinned and
this thread's connection; select_related and prefetch_related work as ever.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

_COMPILED: dict[tuple, object] = {}
# Cleared when full: a process serves a few hundred users a day, each with a few keys.
_COMPILED_MAX = 8192


class CompiledQueryMismatch(AssertionError):
    """A key that does not name everything its query's SQL depends on."""


def user_key(user) -> tuple:
    """What a query built for `user` may depend on: who they are, their team, their permissions
    and the day (dates in the query: reviews' cut-off, coming meetings)."""
    return (
        user.pk,
        getattr(user, "team_id", None),  # none for an anonymous user
        user.is_active,
        user.is_superuser,
        frozenset(user.get_all_permissions()),
        timezone.localdate(),
    )


def fetch_for_person(build: Callable[[int], QuerySet], name: str, person) -> list:
    """`fetch` for a queryset of one person's rows, built by `build(person_id)` (by the id:
    see `fetch` on related managers), each row given the `person` instance, as
    person.<rows> would. Compiled once for everyone."""
    rows = fetch(build, (name,), args=(person.pk,))
    for row in rows:
        row.person = person
    return rows


# Stand-ins for `args` while a query is compiled: numbers no id or amount here takes.
_PLACEHOLDERS = tuple(-1_999_999_000 - i for i in range(8))


def _build(queryset, args: tuple) -> QuerySet | None:
    built = queryset(*args) if callable(queryset) else queryset
    if built is not None and built._known_related_objects:
        # A related manager's queryset (person.budgets) hands its rows that request's
        # instance: kept, it would hand later requests a stale one. Filter by the id.
        raise ValueError("fetch() takes a model's queryset, not a related manager's.")
    return built


def _compiled(built: QuerySet | None):
    """(template queryset, compiler, SQL, parameters), or None for a queryset known to be
    empty (EmptyResultSet)."""
    if built is None:  # the builder says there is nothing to ask
        return (None, None, None, ())
    template = built._chain()
    compiler = template._chain().query.get_compiler(using=template.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None
    return (template, compiler, sql, tuple(params))


def fetch(queryset: QuerySet | Callable[..., QuerySet], key: tuple, *, args: tuple = ()) -> list:
    """The rows (model instances, or values for a values() queryset) of `queryset`, or of the
    queryset `queryset(*args)` builds (no rows when it returns None), with its SQL compiled the
    first time `key` was seen (see the module's doc string). A builder is called only to
    compile (and to check): building a query with subqueries costs about as much as compiling
    it. `args` (numbers, such as a person's id) are the parameters that vary under one key:
    the query is compiled with stand-ins for them, put in their places at each call."""
    found = _COMPILED.get(key)
    if found is None:
        stand_ins = _PLACEHOLDERS[: len(args)]
        found = _compiled(_build(queryset, stand_ins))
        if found is None:  # known to be empty: nothing to run, nothing to keep
            return list(_build(queryset, args))
        template, compiler, sql, params = found
        slots = tuple(
            (i, stand_ins.index(param)) for i, param in enumerate(params) if param in stand_ins
        )
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        found = _COMPILED[key] = (template, compiler, sql, params, slots)
    template, compiler, sql, params, slots = found
    if slots:
        params = list(params)
        for i, arg in slots:
            params[i] = args[arg]
        params = tuple(params)
    if settings.COMPILED_QUERIES_CHECK:
        fresh = _compiled(_build(queryset, args))
        if fresh is None or fresh[2:] != (sql, params):
            raise CompiledQueryMismatch(
                f"fetch(): the key {key!r} found SQL compiled for other values; the key must "
                "name everything the query depends on, and `args` every number that varies."
            )
    if template is None:
        return []
    queryset = template._chain()
    connection = connections[queryset.db]

    def get_compiler(*_args, **_kwargs):
        # A copy for this evaluation, on this thread's connection, with its SQL pinned.
        own = copy.copy(compiler)
        own.connection = connection
        own.as_sql = lambda *_a, **_k: (sql, params)
        return own

    queryset.query.get_compiler = get_compiler
    return list(queryset)
