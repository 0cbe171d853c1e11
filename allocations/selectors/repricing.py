"""Re-pricing's reads: every current budget not yet on a policy, with its new figure; and a
policy version's impact (issue 11): everyone's current budget beside their figure under any
version — a draft, a future one or the one in force — the same rows, counted the same way.

On PostgreSQL the rows come a page at a time, one query a page of 5,000 people in person id
order (points summed from the page's answers in SQL, the informal-support facts and the
person's circumstances joined in; the next page read ahead by a second connection while this
one calculates); the engine runs in Python. Memory holds a page or two, whatever the number
of people. The preview counts them in one pass, and exports them as CSV; a re-pricing run
reads the pages of each of its parts (`repricing_parts`). Also whether a policy may be applied
now, who may see an impact preview, and a run for the user following it.

A questionnaire version's impact (issue 11) is the same preview with each person's answers
scored by that version instead (`questionnaire_impact`): the policy in force, everyone's other
facts as now, their points from the version's options for the same answers (same question
code, option at the same order). The scoring is passed into each page's query as arrays."""

from __future__ import annotations

import csv
import dataclasses
import heapq
import io
import json
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from itertools import chain

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from allocations.adapter import case_from_facts, engine_policy
from allocations.engine import Case, RasInputError, Result, calculate, validate_policy
from allocations.models import IndicativeBudget, RasPolicy, RepricingPreviewRun, RepricingRun
from allocations.permissions import POLICY_REPRICE, POLICY_VIEW
from allocations.reports.exports import safe_text
from allocations.selectors.budgets import is_silent_reduction
from allocations.selectors.policies import policy_in_force_on
from assessments.models import (
    Answer,
    AnswerOption,
    ClientGroup,
    Person,
    Question,
    QuestionnaireVersion,
    Section,
    Team,
)
from assessments.roles import PEOPLE_ALL_TEAMS

# The current budgets (b) a re-pricing to %(policy)s changes: not on it already, nor with a
# lower figure on it waiting for, or having had, a manager's decision.
_TODO = """b.status = 'current' AND b.policy_id IS DISTINCT FROM %(policy)s
      AND NOT EXISTS (
          SELECT 1 FROM allocations_indicativebudget q
          WHERE q.person_id = b.person_id AND q.policy_id = %(policy)s
            AND q.status IN ('awaiting_decision', 'not_adopted'))"""

# %(policy)s is the policy whose budgets are left out (re-pricing: the one being applied);
# NULL leaves nobody out (an impact preview: everyone with a current budget). {points} is one of
# the two points CTEs below: the answers' points as they are (_ROWS_SQL), or as a
# questionnaire version would score them (_ROWS_SQL_DRAFT).
_ROWS_TEMPLATE = """
WITH current_budget AS MATERIALIZED (
    SELECT b.* FROM allocations_indicativebudget b
    WHERE {todo}{page}
    ORDER BY b.person_id{limit}
), points AS ({points}
)
SELECT b.id, b.person_id, b.assessment_id, p.reference, p.given_name, p.family_name, t.name,
       p.client_group, b.indicative_weekly_gbp, b.annual_gbp, b.raw_points,
       a.informal_support, a.carer_assessed, a.carer_able_and_willing, a.carer_impact,
       p.existing_weekly_cost_gbp, p.needs_increased, b.triggers,
       b.breakdown -> 'points_by_section', a.assessment_date, COALESCE(points.total, 0),
       COALESCE(points.unmapped, 0), points.first_problem, points.last_problem,
       COALESCE(points.in_draft, 0)
FROM current_budget b
JOIN assessments_person p ON p.id = b.person_id
JOIN assessments_team t ON t.id = p.team_id
JOIN assessments_assessment a ON a.id = b.assessment_id
LEFT JOIN points ON points.assessment_id = b.assessment_id
ORDER BY b.person_id
"""

# One page of the rows (keyset pagination by person id): the next %(limit)s people after
# %(after)s, up to %(upto)s. The partial unique index of current budgets (budget_one_current,
# on person) serves the order and the range; each page's points are summed from its own
# answers only (the answers' index on assessment), so a page costs the same however many
# people there are, and memory holds one page at a time.
_PAGE = "\n      AND b.person_id > %(after)s AND b.person_id <= %(upto)s"
_LIMIT = " LIMIT %(limit)s"

# Each listed assessment's points, summed from its answers: a page's own answers, found by the
# answers' index on assessment (the whole caseload at once: one pass with hash joins).
_POINTS_NOW = """
    SELECT ans.assessment_id, SUM(o.points) AS total, 0 AS unmapped,
           NULL::integer AS first_problem, NULL::integer AS last_problem, 0 AS in_draft
    FROM assessments_answer ans
    JOIN assessments_answeroption o ON o.id = ans.option_id
    WHERE ans.assessment_id = ANY(ARRAY(SELECT assessment_id FROM current_budget))
    GROUP BY ans.assessment_id"""

# The same, each answer scored as a questionnaire version would (DraftScoring, as four arrays
# of one element per option): the points summed; how many answers cannot be scored (an option
# missing from the arrays cannot be scored either: nothing is guessed) and the first and last
# of their reasons (numbers, DraftScoring.problem_names); how many answers are to questions
# the version has. Plain counts and MIN/MAX: an array_agg here makes PostgreSQL expect big
# groups, spill the aggregate to disk and repeat it in every parallel worker (twice as slow).
_POINTS_DRAFT = """
    SELECT ans.assessment_id, SUM(m.points) AS total,
           COUNT(*) FILTER (WHERE m.points IS NULL) AS unmapped,
           MIN(COALESCE(m.problem, 0)) FILTER (WHERE m.points IS NULL) AS first_problem,
           MAX(COALESCE(m.problem, 0)) FILTER (WHERE m.points IS NULL) AS last_problem,
           COUNT(*) FILTER (WHERE m.in_draft) AS in_draft
    FROM assessments_answer ans
    LEFT JOIN unnest(%(ids)s::bigint[], %(points)s::numeric[], %(in_draft)s::boolean[],
                     %(problems)s::integer[]) AS m(option_id, points, in_draft, problem)
      ON m.option_id = ans.option_id
    WHERE ans.assessment_id = ANY(ARRAY(SELECT assessment_id FROM current_budget))
    GROUP BY ans.assessment_id"""

# Every row at once (the portable path's twin, see _rows_portable), and one page of them.
_ROWS_SQL = _ROWS_TEMPLATE.format(todo=_TODO, points=_POINTS_NOW, page="", limit="")
_ROWS_SQL_DRAFT = _ROWS_TEMPLATE.format(todo=_TODO, points=_POINTS_DRAFT, page="", limit="")
_PAGE_SQL = _ROWS_TEMPLATE.format(todo=_TODO, points=_POINTS_NOW, page=_PAGE, limit=_LIMIT)
_PAGE_SQL_DRAFT = _ROWS_TEMPLATE.format(todo=_TODO, points=_POINTS_DRAFT, page=_PAGE, limit=_LIMIT)

# Where each part of a run ends: every %(chunk)s-th person to re-price, and the last one,
# with how many come up to them (from the index of current budgets, no rows read).
_BOUNDS_TEMPLATE = """
SELECT person_id, n FROM (
    SELECT b.person_id, row_number() OVER (ORDER BY b.person_id) AS n, count(*) OVER () AS total
    FROM allocations_indicativebudget b
    WHERE {todo}
) todo
WHERE n %% %(chunk)s = 0 OR n = total
ORDER BY n"""
_BOUNDS_SQL = _BOUNDS_TEMPLATE.format(todo=_TODO)

# Rows read at a time, and the most any person id can be (PostgreSQL's bigint).
PAGE = 5_000
LAST_ID = 2**63 - 1

# What each transaction reading or re-pricing rows asks of PostgreSQL (README, deployment):
# enough memory for a page's hash joins and sorts not to spill to disk (the server's default
# of 4 MB does); no JIT compilation (about a second for these joins, gaining nothing); and the
# cost of a random read as on SSDs with the data cached, so that a page looks its people,
# assessments and answers up by index (at the default, 4, the planner reads whole tables for
# every page, and the time grows with the caseload).
REPRICING_SESSION = (
    "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; SET LOCAL random_page_cost = 1.1"
)


def repricing_session(cursor) -> None:
    """Apply REPRICING_SESSION to the transaction `cursor` is in (PostgreSQL only; one round
    trip)."""
    cursor.execute(REPRICING_SESSION)


NEEDS_REASSESSMENT = "needs reassessment: {problems}"
AND_MORE = "{problems} and {more} more"
QUESTION_NOT_IN_DRAFT = "question {code} is not in the draft"
ANSWER_NOT_IN_DRAFT = "their answer to question {code} (option {order}) is not in the draft"
UNKNOWN_ANSWER = "an answer is not in a version the draft was compared with"


@dataclass(frozen=True)
class DraftScoring:
    """How a questionnaire version would score the answers of everyone with a current budget:
    for each option of every version their assessments used, its points under `version` (the
    option at the same order of the question with the same code) or, when there is none, why
    not (in `problems`, the number of a reason in `problem_names`, in alphabetical order, 0
    for UNKNOWN_ANSWER; the points None). `question_count` is the version's questions;
    `new_questions` are its codes no version in use has, `removed_questions` the codes in use
    it lacks, `missing_options` the (code, order) pairs in use it lacks."""

    version: QuestionnaireVersion
    option_ids: list[int]
    points: list[Decimal | None]
    in_draft: list[bool]
    problems: list[int | None]
    problem_names: list[str]
    question_count: int
    new_questions: list[str]
    removed_questions: list[str]
    missing_options: list[tuple[str, int]]

    def sql_params(self) -> dict:
        return {
            "ids": self.option_ids,
            "points": self.points,
            "in_draft": self.in_draft,
            "problems": self.problems,
        }

    def reassessment_error(self, unmapped: int, first: int, last: int) -> str:
        """A row's error: the first and last reasons its answers cannot be scored, and how
        many more there are."""
        names = [self.problem_names[first]] + ([self.problem_names[last]] if last != first else [])
        problems = "; ".join(names)
        if unmapped > len(names):
            problems = AND_MORE.format(problems=problems, more=unmapped - len(names))
        return NEEDS_REASSESSMENT.format(problems=problems)

    @cached_property
    def by_option(self) -> dict[int, tuple[Decimal | None, bool, int | None]]:
        return {
            option_id: (points, in_draft, problem)
            for option_id, points, in_draft, problem in zip(
                self.option_ids, self.points, self.in_draft, self.problems, strict=True
            )
        }


def draft_scoring(version: QuestionnaireVersion) -> DraftScoring:
    """The scoring of `version` for everyone with a current budget, in two queries whatever
    the number of people: the version's questions and options, and every option of the
    versions the current budgets' assessments used."""
    draft_codes: set[str] = set()
    draft_points: dict[tuple[str, int], Decimal] = {}
    for code, order, points in Question.objects.filter(version=version).values_list(
        "code", "options__order", "options__points"
    ):
        draft_codes.add(code)
        if order is not None:
            draft_points[code, order] = points
    in_use = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT).values(
        "assessment__questionnaire_id"
    )
    ids, points, in_draft, problems = [], [], [], []
    codes_in_use: set[str] = set()
    missing: set[tuple[str, int]] = set()
    for option_id, code, order in AnswerOption.objects.filter(
        question__version_id__in=in_use
    ).values_list("id", "question__code", "order"):
        codes_in_use.add(code)
        ids.append(option_id)
        in_draft.append(code in draft_codes)
        if (code, order) in draft_points:
            points.append(draft_points[code, order])
            problems.append(None)
            continue
        points.append(None)
        if code in draft_codes:
            missing.add((code, order))
            problems.append(ANSWER_NOT_IN_DRAFT.format(code=code, order=order))
        else:
            problems.append(QUESTION_NOT_IN_DRAFT.format(code=code))
    # Number the reasons in alphabetical order (0 for an answer not in the arrays at all), so
    # the query's MIN and MAX name the alphabetically first and last of a person's reasons.
    names = [UNKNOWN_ANSWER, *sorted({p for p in problems if p is not None})]
    number = {name: index for index, name in enumerate(names)}
    return DraftScoring(
        version=version,
        option_ids=ids,
        points=points,
        in_draft=in_draft,
        problems=[None if p is None else number[p] for p in problems],
        problem_names=names,
        question_count=len(draft_codes),
        new_questions=sorted(draft_codes - codes_in_use),
        removed_questions=sorted(codes_in_use - draft_codes),
        missing_options=sorted(missing),
    )


class _once:  # noqa: N801 - used as a decorator, as cached_property is
    """functools.cached_property without its lock (Python 3.11 takes one on each first read:
    a tenth of a preview's time, three reads a row)."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


@dataclass
class Row:
    budget_id: int
    person_id: int
    assessment_id: int
    reference: str
    name: str
    team: str
    client_group: str
    current_weekly: Decimal
    current_annual: Decimal
    current_points: Decimal
    case: Case
    # The points by section the current budget recorded, as JSON text: re-pricing copies it
    # into the new version's breakdown as it is, never parsing it (see `sections`).
    sections_json: str
    assessment_date: object
    result: Result | None = None
    error: str = ""
    # A questionnaire version's impact only: the version's questions this person never
    # answered (scored 0), and whether some answer could not be scored at all.
    unanswered: int = 0
    needs_reassessment: bool = False

    @property
    def sections(self) -> list:
        return json.loads(self.sections_json)

    @property
    def new_weekly(self) -> Decimal | None:
        return self.result.indicative_weekly if self.result else None

    @_once  # asked for by the tallies, the CSV and the page
    def change(self) -> Decimal:
        return self.result.indicative_weekly - self.current_weekly if self.result else Decimal(0)

    @_once
    def flagged(self) -> bool:
        return self.result is not None and is_silent_reduction(
            new_weekly=self.result.indicative_weekly,
            new_points=self.result.raw_points,
            current_weekly=self.current_weekly,
            current_points=self.current_points,
        )

    @_once
    def direction(self) -> str:
        if self.result is None:
            return "error"
        return "up" if self.change > 0 else "down" if self.change < 0 else "same"


def _rows_portable(policy: RasPolicy | None, scoring: DraftScoring | None = None) -> list[tuple]:
    """The same rows as _ROWS_SQL through the ORM (two queries, whatever the number of
    people), for the SQLite file `make run` uses when no PostgreSQL is configured. `policy`
    as in _ROWS_SQL: None leaves nobody out; `scoring` as _POINTS_DRAFT."""
    budgets = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
    if policy is not None:
        skip = IndicativeBudget.objects.filter(
            policy=policy, status__in=["awaiting_decision", "not_adopted"]
        ).values("person_id")
        budgets = budgets.exclude(policy=policy).exclude(person_id__in=skip)
    answers = Answer.objects.filter(assessment_id__in=budgets.values("assessment_id"))
    scored: dict[int, tuple] = {}
    if scoring is None:
        for assessment_id, total in (
            answers.values("assessment_id")
            .annotate(total=Sum("option__points"))
            .values_list("assessment_id", "total")
        ):
            scored[assessment_id] = (total, 0, None, None, 0)
    else:
        unknown = (None, False, 0)
        for assessment_id, option_id in answers.values_list("assessment_id", "option_id"):
            points, in_draft, problem = scoring.by_option.get(option_id, unknown)
            total, unmapped, first, last, answered = scored.get(
                assessment_id, (None, 0, None, None, 0)
            )
            if points is None:
                unmapped += 1
                first = problem if first is None else min(first, problem)
                last = problem if last is None else max(last, problem)
            else:
                total = points if total is None else total + points
            scored[assessment_id] = (total, unmapped, first, last, answered + in_draft)
    rows = []
    for b in budgets.select_related("person__team", "assessment").order_by("person_id"):
        total, unmapped, first, last, answered = scored.get(
            b.assessment_id, (None, 0, None, None, 0)
        )
        p, a = b.person, b.assessment
        rows.append(
            (b.id, b.person_id, b.assessment_id, p.reference, p.given_name, p.family_name,
             p.team.name, p.client_group, b.indicative_weekly_gbp, b.annual_gbp, b.raw_points,
             a.informal_support, a.carer_assessed, a.carer_able_and_willing, a.carer_impact,
             p.existing_weekly_cost_gbp, p.needs_increased, b.triggers,
             b.breakdown.get("points_by_section", []), a.assessment_date,
             total or Decimal(0), unmapped, first, last, answered)
        )  # fmt: skip
    return rows


def repricing_parts(policy: RasPolicy, *, chunk: int) -> list[tuple[int, int, int]]:
    """A re-pricing run to `policy` cut into parts of `chunk` people (the last one smaller):
    (first person id, last person id, people) of each, covering every id from 0 to LAST_ID,
    so that people who come to need re-pricing later are in a part too. One query."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            repricing_session(cursor)
            cursor.execute(_BOUNDS_SQL, {"policy": policy.pk, "chunk": chunk})
            bounds = cursor.fetchall()
    else:
        people = [r[1] for r in _rows_portable(policy)]
        bounds = [
            (person_id, n)
            for n, person_id in enumerate(people, start=1)
            if n % chunk == 0 or n == len(people)
        ]
    parts, first, before = [], 0, 0
    for index, (person_id, n) in enumerate(bounds):
        last = LAST_ID if index == len(bounds) - 1 else person_id
        parts.append((first, last, n - before))
        first, before = person_id + 1, n
    return parts


def repricing_rows(
    policy: RasPolicy, *, everyone: bool = False, scoring: DraftScoring | None = None
) -> list[Row]:
    """Every row of repricing_pages at once, in person order: for a small caseload (a test, a
    team); pages and runs of any size read repricing_pages."""
    return [
        row for page in repricing_pages(policy, everyone=everyone, scoring=scoring) for row in page
    ]


def repricing_pages(
    policy: RasPolicy,
    *,
    everyone: bool = False,
    scoring: DraftScoring | None = None,
    page: int = PAGE,
    first: int = 0,
    last: int = LAST_ID,
    read_ahead: bool = False,
) -> Iterator[list[Row]]:
    """Every current budget not yet on `policy` (with `everyone`, every current budget) of the
    people with ids from `first` to `last`, with its figure under `policy` worked out: a list
    of at most `page` rows at a time, in person order. One query a page (keyset pagination:
    each page starts after the last person of the one before), each in its own transaction
    unless the caller's, so memory holds one page whatever the number of people; `policy` may
    be a draft.

    With `scoring` (draft_scoring: a questionnaire version's points for every option in use),
    each person's points are their answers as that version scores them; a person with an
    answer it cannot score gets no figure but an error (NEEDS_REASSESSMENT), and each row
    counts the version's questions the person never answered (scored 0).

    With `read_ahead`, the next page is read ahead by a connection of its own even inside
    the caller's transaction (see _read_ahead): for a caller whose transaction holds a lock
    but writes nothing the pages read (a preview's part)."""
    rules = engine_policy(policy)
    validate_policy(rules)
    left_out = None if everyone else policy
    if connection.vendor != "postgresql":
        raw = [r for r in _rows_portable(left_out, scoring) if first <= r[1] <= last]
        for start in range(0, len(raw), page):
            yield _rows(rules, raw[start : start + page], scoring)
        return
    sql = _PAGE_SQL if scoring is None else _PAGE_SQL_DRAFT
    params = {
        "policy": left_out.pk if left_out else None,
        "after": first - 1,
        "upto": last,
        "limit": page,
    }
    if scoring is not None:
        params.update(scoring.sql_params())
    for raw in _read_ahead(_raw_pages(sql, params), always=read_ahead):
        yield _rows(rules, raw, scoring)


def _raw_pages(sql: str, params: dict) -> Iterator[list[tuple]]:
    """The query's pages, each in its own transaction (or savepoint of the caller's)."""
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            repricing_session(cursor)
            cursor.execute(sql, params)
            raw = cursor.fetchall()
        if raw:
            yield raw
        if len(raw) < params["limit"]:
            return
        params["after"] = raw[-1][1]


_END = object()


def _read_ahead(pages: Iterator[list[tuple]], *, always: bool = False) -> Iterator[list[tuple]]:
    """`pages`, read one page ahead by a thread of its own (with its own database connection),
    so that PostgreSQL works the next page out while this thread calculates the one in hand:
    on two cores, the slower of the two rather than their sum. Holds two pages at most. Not
    inside a transaction: another connection could not see the caller's uncommitted rows,
    nor keep its locks, so there the pages are read in turn (unless `always`: the caller's
    transaction writes nothing the pages read)."""
    if connection.in_atomic_block and not always:
        yield from pages
        return
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            for raw in pages:
                hand_over(raw)
                if stop.is_set():
                    return
            hand_over(_END)
        except BaseException as problem:  # noqa: BLE001 - raised again in the reading thread
            hand_over(problem)
        finally:
            connection.close()  # this thread's own

    reader = threading.Thread(target=read, name="repricing-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _rows(rules, raw: list[tuple], scoring: DraftScoring | None) -> list[Row]:
    """A page's Rows from the query's tuples, each person's figure worked out."""
    # Django reads jsonb from a raw cursor as text. The triggers of a page are a handful of
    # lists, each decoded once; the sections stay text (copied as they are into re-pricing's
    # new versions).
    triggers_of: dict[str, tuple[str, ...]] = {}
    rows = []
    for r in raw:
        triggers = r[17]
        if isinstance(triggers, str):
            if triggers not in triggers_of:
                triggers_of[triggers] = tuple(json.loads(triggers))
            triggers = triggers_of[triggers]
        sections = r[18]
        if sections is None:
            sections = "[]"
        elif not isinstance(sections, str):
            sections = json.dumps(sections)
        # The points summed in SQL, and the triggers the current budget recorded (the engine
        # keeps each trigger once, sorted, whatever order the answers gave them in).
        case = case_from_facts(
            ref=r[3],
            points=(r[20],),
            client_group=r[7],
            informal_support=r[11],
            carer_assessed=r[12],
            carer_able_and_willing=r[13],
            carer_impact=r[14],
            existing_weekly_cost=r[15],
            needs_increased=r[16],
            triggers=triggers,
        )
        row = Row(
            budget_id=r[0],
            person_id=r[1],
            assessment_id=r[2],
            reference=r[3],
            name=f"{r[4]} {r[5]}",
            team=r[6],
            client_group=r[7],
            current_weekly=r[8],
            current_annual=r[9],
            current_points=r[10],
            case=case,
            sections_json=sections,
            assessment_date=r[19],
        )
        if scoring is not None:
            row.unanswered = scoring.question_count - r[24]
        if r[21]:  # answers the questionnaire version cannot score
            row.needs_reassessment = True
            row.error = scoring.reassessment_error(*r[21:24])
        else:
            try:
                row.result = calculate(rules, case, policy_checked=True)
            except RasInputError as problem:
                row.error = str(problem)
        rows.append(row)
    return rows


@dataclass
class Tally:
    people: int = 0
    up: int = 0
    down: int = 0
    same: int = 0
    flagged: int = 0
    errors: int = 0
    weekly_change: Decimal = Decimal("0")  # of the figures that take effect at once
    annual_change: Decimal = Decimal("0")
    flagged_weekly_change: Decimal = Decimal("0")  # lower figures awaiting a manager
    # Totals now and under the policy, of everyone who could be calculated (each lower figure
    # counted in full, whether or not a manager would have to decide on it first).
    weekly_now: Decimal = Decimal("0")
    weekly_new: Decimal = Decimal("0")
    annual_now: Decimal = Decimal("0")
    annual_new: Decimal = Decimal("0")
    weekly_gain: Decimal = Decimal("0")  # of those who go up
    weekly_loss: Decimal = Decimal("0")  # of those who go down (a negative sum)

    def add(self, row: Row) -> None:
        self.people += 1
        if row.result is None:
            self.errors += 1
            return
        # Work the row's change out once here, not per use.
        change, direction = row.change, row.direction
        setattr(self, direction, getattr(self, direction) + 1)
        self.weekly_now += row.current_weekly
        self.weekly_new += row.result.indicative_weekly
        self.annual_now += row.current_annual
        self.annual_new += row.result.annual
        if change > 0:
            self.weekly_gain += change
        else:
            self.weekly_loss += change
        if row.flagged:
            self.flagged += 1
            self.flagged_weekly_change += change
        else:
            self.weekly_change += change
            self.annual_change += row.result.annual - row.current_annual

    def plus(self, other: Tally) -> Tally:
        """This tally and `other` counted together (a preview's parts merged)."""
        return Tally(
            **{
                f.name: getattr(self, f.name) + getattr(other, f.name)
                for f in dataclasses.fields(self)
            }
        )

    def as_json(self) -> dict:
        """Numbers as JSON: counts as they are, amounts as text (exact)."""
        return {
            f.name: value if isinstance(value, int) else str(value)
            for f in dataclasses.fields(self)
            for value in [getattr(self, f.name)]
        }

    @classmethod
    def from_json(cls, data: dict) -> Tally:
        return cls(
            **{
                f.name: int(data[f.name]) if f.type == "int" else Decimal(data[f.name])
                for f in dataclasses.fields(cls)
            }
        )

    @property
    def weekly_difference(self) -> Decimal:
        return self.weekly_new - self.weekly_now

    @property
    def annual_difference(self) -> Decimal:
        return self.annual_new - self.annual_now


def _summed(tallies: Iterable[Tally]) -> Tally:
    """The tallies counted together (exact: Decimals)."""
    total = Tally()
    for tally in tallies:
        total = total.plus(tally)
    return total


def _summed_by(labelled: Iterable[tuple[str, Tally]]) -> dict[str, Tally]:
    """(label, tally) pairs counted together by label, in the labels' order."""
    by_label: dict[str, list[Tally]] = defaultdict(list)
    for label, tally in labelled:
        by_label[label].append(tally)
    return {label: _summed(by_label[label]) for label in sorted(by_label)}


# The people a preview page lists, whose weekly figure would change most.
LARGEST = 50


@dataclass
class _Counts:
    total: Tally
    by_client_group: dict[str, Tally]
    by_team: dict[str, Tally]
    needs_reassessment: int
    with_unanswered: int
    largest: list[Row]
    rows: list[Row] | None  # every row, when there were at most KEEP_ROWS


# A preview keeps its rows (for `rows`) when there are at most this many: one page.
KEEP_ROWS = PAGE
TOO_MANY_TO_KEEP = "A preview of more than {keep} people keeps its tallies, not its rows."


class Preview:
    """A preview's tallies (in total, by client group and by team) and its biggest changes,
    counted in one pass over the rows, a page at a time, when the preview is made (it says
    what the rows were then): memory holds a page and the LARGEST biggest changes, whatever
    the number of people. `pages` reads the rows afresh each time it is called. With `count`
    False nothing is read until asked for (the CSV reads the rows once, a page at a time)."""

    def __init__(
        self,
        *,
        policy: RasPolicy,
        pages: Callable[[], Iterable[list[Row]]],
        scoring: DraftScoring | None = None,
        count: bool = True,
    ):
        self.policy = policy
        # A questionnaire version's impact: how its answers were scored (None for a policy's).
        self.scoring = scoring
        self.pages = pages
        if count:
            self._counts  # noqa: B018 - worked out now, as the rows are now

    def __repr__(self) -> str:
        return f"Preview(policy={self.policy!r}, scoring={self.scoring!r})"

    def __eq__(self, other: object) -> bool:
        """The same policy, scoring and rows (see `rows`)."""
        if not isinstance(other, Preview):
            return NotImplemented
        return (self.policy, self.scoring, self.rows) == (other.policy, other.scoring, other.rows)

    __hash__ = None

    @property
    def rows(self) -> list[Row]:
        """Every row, as counted; for a preview of at most KEEP_ROWS people (ValueError for a
        bigger one: read iter_rows, or the tallies)."""
        if self._counts.rows is None:
            raise ValueError(TOO_MANY_TO_KEEP.format(keep=KEEP_ROWS))
        return self._counts.rows

    def iter_rows(self) -> Iterator[Row]:
        """Every row: those kept, or read again a page at a time."""
        if "_counts" in self.__dict__ and self._counts.rows is not None:
            yield from self._counts.rows
            return
        for page in self.pages():
            yield from page

    @cached_property
    def _counts(self) -> _Counts:
        # Each row counted once, in the tally of its client group and team; those tallies
        # summed at the end into the total, each group's and each team's (exact: Decimals).
        cells: dict[tuple[str, str], Tally] = {}
        needs_reassessment = with_unanswered = 0
        largest: list[Row] = []
        kept: list[Row] | None = []
        for page in self.pages():
            for row in page:
                cell = cells.get((row.client_group, row.team))
                if cell is None:
                    cell = cells[row.client_group, row.team] = Tally()
                cell.add(row)
                needs_reassessment += row.needs_reassessment
                with_unanswered += row.unanswered > 0
            if kept is not None:
                kept.extend(page)
                if len(kept) > KEEP_ROWS:
                    kept = None
            # The biggest so far come before this page's rows, so ties keep person order as
            # one sort of every row would (heapq.nlargest is a stable sort's first n).
            largest = heapq.nlargest(
                LARGEST,
                chain(largest, (r for r in page if r.result)),
                key=lambda r: abs(r.change),
            )
        labels = dict(ClientGroup.choices)
        return _Counts(
            total=_summed(cells.values()),
            by_client_group=_summed_by(
                (labels.get(group, group), cell) for (group, _), cell in cells.items()
            ),
            by_team=_summed_by((team, cell) for (_, team), cell in cells.items()),
            needs_reassessment=needs_reassessment,
            with_unanswered=with_unanswered,
            largest=largest,
            rows=kept,
        )

    @property
    def total(self) -> Tally:
        return self._counts.total

    @property
    def by_client_group(self) -> dict[str, Tally]:
        return self._counts.by_client_group

    @property
    def by_team(self) -> dict[str, Tally]:
        return self._counts.by_team

    @property
    def needs_reassessment(self) -> int:
        """People with an answer the questionnaire version cannot score (no figure for them)."""
        return self._counts.needs_reassessment

    @property
    def with_unanswered(self) -> int:
        """People who never answered some of the questionnaire version's questions."""
        return self._counts.with_unanswered

    def largest_changes(self, count: int = LARGEST) -> list[Row]:
        """The `count` people (at most LARGEST) whose weekly figure would change most, either
        way."""
        return self._counts.largest[:count]


@dataclass(frozen=True)
class Change:
    """One of a preview's biggest changes, as its page shows it (a Row's figures, kept)."""

    person_id: int
    reference: str
    name: str
    team: str
    current_weekly: Decimal
    new_weekly: Decimal
    change: Decimal
    flagged: bool

    @classmethod
    def of(cls, row: Row) -> Change:
        return cls(
            person_id=row.person_id,
            reference=row.reference,
            name=row.name,
            team=row.team,
            current_weekly=row.current_weekly,
            new_weekly=row.result.indicative_weekly,
            change=row.change,
            flagged=row.flagged,
        )

    def as_json(self) -> dict:
        return {
            **dataclasses.asdict(self),
            **{name: str(getattr(self, name)) for name in _CHANGE_AMOUNTS},
        }

    @classmethod
    def from_json(cls, data: dict) -> Change:
        return cls(**{**data, **{name: Decimal(data[name]) for name in _CHANGE_AMOUNTS}})


_CHANGE_AMOUNTS = ("current_weekly", "new_weekly", "change")


@dataclass(frozen=True)
class PreviewSummary:
    """Everything a preview's page shows of it (its tallies, counts and biggest changes), for
    a preview worked out in parts (a background preview run, one part of it a summary) and
    kept: the parts' summaries merged (`merge`) are exactly the summary of one Preview of
    all their people (`of`). Kept as JSON (`as_json`, `from_json`)."""

    total: Tally
    by_client_group: dict[str, Tally]
    by_team: dict[str, Tally]
    needs_reassessment: int
    with_unanswered: int
    largest: list[Change]

    @classmethod
    def of(cls, preview: Preview) -> PreviewSummary:
        return cls(
            total=preview.total,
            by_client_group=preview.by_client_group,
            by_team=preview.by_team,
            needs_reassessment=preview.needs_reassessment,
            with_unanswered=preview.with_unanswered,
            largest=[Change.of(row) for row in preview.largest_changes()],
        )

    @classmethod
    def merge(cls, parts: Iterable[PreviewSummary]) -> PreviewSummary:
        """The summaries of parts of a caseload (in person order, each person in one part)
        counted together: a tally's sums, and the LARGEST biggest changes of all (every one
        of them is among its own part's; a stable sort of the parts' in person order keeps
        ties in person order, as Preview does)."""
        parts = list(parts)
        largest = heapq.nlargest(
            LARGEST, chain.from_iterable(p.largest for p in parts), key=lambda c: abs(c.change)
        )
        return cls(
            total=_summed(p.total for p in parts),
            by_client_group=_summed_by(item for p in parts for item in p.by_client_group.items()),
            by_team=_summed_by(item for p in parts for item in p.by_team.items()),
            needs_reassessment=sum(p.needs_reassessment for p in parts),
            with_unanswered=sum(p.with_unanswered for p in parts),
            largest=largest,
        )

    def largest_changes(self, count: int = LARGEST) -> list[Change]:
        return self.largest[:count]

    def as_json(self) -> dict:
        return {
            "total": self.total.as_json(),
            "by_client_group": {k: t.as_json() for k, t in self.by_client_group.items()},
            "by_team": {k: t.as_json() for k, t in self.by_team.items()},
            "needs_reassessment": self.needs_reassessment,
            "with_unanswered": self.with_unanswered,
            "largest": [c.as_json() for c in self.largest],
        }

    @classmethod
    def from_json(cls, data: dict) -> PreviewSummary:
        return cls(
            total=Tally.from_json(data["total"]),
            # jsonb keeps its own order of keys: the labels are sorted again.
            by_client_group=_tallies(data["by_client_group"]),
            by_team=_tallies(data["by_team"]),
            needs_reassessment=data["needs_reassessment"],
            with_unanswered=data["with_unanswered"],
            largest=[Change.from_json(c) for c in data["largest"]],
        )


def _tallies(data: dict) -> dict[str, Tally]:
    return {label: Tally.from_json(data[label]) for label in sorted(data)}


def repricing_preview(policy: RasPolicy, *, everyone: bool = False, count: bool = True) -> Preview:
    """What applying `policy` would do: repricing_pages, counted in total, by client group and
    by team (with `count` False, when first asked for)."""
    return Preview(
        policy=policy, pages=lambda: repricing_pages(policy, everyone=everyone), count=count
    )


def repricing_csv(preview: Preview, shown: list[int] | None = None) -> str:
    """The preview's rows as CSV, read a page at a time; each person's id is added to
    `shown`, when given (for the access log)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "reference",
            "name",
            "team",
            "client_group",
            "current_weekly",
            "new_weekly",
            "weekly_change",
            "change",
            "needs_manager_decision",
            "error",
        ]
    )
    for row in preview.iter_rows():
        if shown is not None:
            shown.append(row.person_id)
        new = row.result.indicative_weekly if row.result else ""
        writer.writerow(
            [
                safe_text(row.reference),
                safe_text(row.name),
                safe_text(row.team),
                row.client_group,
                row.current_weekly,
                new,
                row.change if row.result else "",
                row.direction,
                "yes" if row.flagged else "no",
                safe_text(row.error),
            ]
        )
    return out.getvalue()


NOT_IMPACT_READER = (
    "Only RAS administrators, senior managers and auditors see a policy's impact on everyone's "
    "budget."
)


def policy_impact_visible(user) -> bool:
    """An impact preview names every person with a current budget, in every team: it is for
    the roles that see policies and every team's people (PEOPLE_ALL_TEAMS: RAS
    administrators, senior managers, auditors), not for team or panel roles."""
    return user.has_perm(POLICY_VIEW) and user.has_perm(PEOPLE_ALL_TEAMS)


def policy_impact(*, user, policy: RasPolicy, count: bool = True) -> Preview:
    """A policy version's impact (any status, any date): everyone's current budget beside
    their figure under `policy` — the re-pricing preview's rows and tallies, leaving nobody
    out. Reads only. PermissionDenied (NOT_IMPACT_READER) unless policy_impact_visible."""
    if not policy_impact_visible(user):
        raise PermissionDenied(NOT_IMPACT_READER)
    return repricing_preview(policy, everyone=True, count=count)


NOT_QUESTIONNAIRE_IMPACT_READER = (
    "Only RAS administrators, senior managers and auditors see a questionnaire's impact on "
    "everyone's budget."
)
NO_POLICY_FOR_IMPACT = (
    "No RAS policy is in force today, so a questionnaire's impact on budgets cannot be worked out."
)


class ImpactUnavailable(ValueError):
    """A questionnaire's impact cannot be worked out (NO_POLICY_FOR_IMPACT)."""


def questionnaire_impact(*, user, version: QuestionnaireVersion, count: bool = True) -> Preview:
    """A questionnaire version's impact (a draft's, before it is published): everyone's current
    budget beside their figure if they were reassessed on `version` giving the same answers —
    the policy in force today, every other fact as now (informal support, carer, client group,
    existing package, the triggers their budget recorded), their points as `version` scores
    their answers (draft_scoring). Reads only, a query a page of people.
    PermissionDenied (NOT_QUESTIONNAIRE_IMPACT_READER) unless policy_impact_visible;
    ImpactUnavailable when no policy is in force."""
    if not policy_impact_visible(user):
        raise PermissionDenied(NOT_QUESTIONNAIRE_IMPACT_READER)
    policy = policy_in_force_on(timezone.localdate())
    if policy is None:
        raise ImpactUnavailable(NO_POLICY_FOR_IMPACT)
    scoring = draft_scoring(version)
    return Preview(
        policy=policy,
        pages=lambda: repricing_pages(policy, everyone=True, scoring=scoring),
        scoring=scoring,
        count=count,
    )


@dataclass(frozen=True)
class ImpactSummary:
    """What a draft's page shows of its impact (the fields _impact_summary.html and
    _impact_notes.html read of a Preview): small enough to keep in the cache."""

    policy: RasPolicy
    total: Tally
    by_client_group: dict[str, Tally]
    scoring: DraftScoring | None
    needs_reassessment: int
    with_unanswered: int

    @classmethod
    def of(cls, preview: Preview) -> ImpactSummary:
        scoring = preview.scoring
        if scoring is not None:  # the per-option arrays are the query's, not the page's
            scoring = dataclasses.replace(
                scoring, option_ids=[], points=[], in_draft=[], problems=[]
            )
        return cls(
            policy=preview.policy,
            total=preview.total,
            by_client_group=preview.by_client_group,
            scoring=scoring,
            needs_reassessment=preview.needs_reassessment,
            with_unanswered=preview.with_unanswered,
        )


# How long a summary is kept at most. Its key changes whenever anything it reads changes (see
# _inputs_mark); the time limit only bounds the one thing the mark can miss, a transaction
# that took its history id before, and committed after, the one the mark saw.
SUMMARY_SECONDS = 600

# Every change to what an impact reads writes a history row of one of these (services save
# through simple-history; re-pricing's bulk writes snapshot history in the same transaction):
# budgets (who has one, their figures, triggers, facts), people (group, package, team), team
# names, policies (a draft's edits, approvals: the one in force) and questionnaire versions
# and their parts (a draft's title, points and questions). Assessments and answers are locked
# once submitted: a reassessment shows as a new budget.
_MARKED = (
    IndicativeBudget,
    Person,
    Team,
    RasPolicy,
    QuestionnaireVersion,
    Section,
    Question,
    AnswerOption,
)


def _inputs_mark() -> tuple:
    """The newest history row id of each of _MARKED, in one query."""
    # Identifiers from model metadata, quoted; no value comes from outside.
    tables = [connection.ops.quote_name(m.history.model._meta.db_table) for m in _MARKED]
    newest = ", ".join(f"(SELECT MAX(history_id) FROM {table})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {newest}")
        return tuple(cursor.fetchone())


def inputs_mark() -> str:
    """_inputs_mark as text: it changes whenever anything a preview reads changes."""
    return "-".join(str(newest) for newest in _inputs_mark())


def _summary(key: str, work: Callable[[], Preview]) -> ImpactSummary:
    mark = inputs_mark()
    key = f"ras:impact:{key}:{timezone.localdate()}:{mark}"
    summary = cache.get(key)
    if summary is None:
        summary = ImpactSummary.of(work())
        cache.set(key, summary, SUMMARY_SECONDS)
    return summary


def policy_impact_summary(*, user, policy: RasPolicy) -> ImpactSummary:
    """policy_impact's summary for a draft's page, worked out again only when something it
    reads has changed since (a draft's approver may come back to it many times; at 100,000
    people the preview takes seconds). Same permission as policy_impact."""
    if not policy_impact_visible(user):
        raise PermissionDenied(NOT_IMPACT_READER)
    return _summary(f"policy:{policy.pk}", lambda: policy_impact(user=user, policy=policy))


def questionnaire_impact_summary(*, user, version: QuestionnaireVersion) -> ImpactSummary:
    """questionnaire_impact's summary for a draft's page, kept as policy_impact_summary's.
    Same permission and refusal as questionnaire_impact."""
    if not policy_impact_visible(user):
        raise PermissionDenied(NOT_QUESTIONNAIRE_IMPACT_READER)
    return _summary(
        f"questionnaire:{version.pk}", lambda: questionnaire_impact(user=user, version=version)
    )


def repricing_refusal(policy: RasPolicy) -> str | None:
    """Why this policy cannot be applied to current budgets now (None when it can): only the
    approved policy in force today is applied, never a future one or one already replaced."""
    if not policy.is_approved:
        return "Only an approved policy can be applied."
    today = timezone.localdate()
    if policy.effective_from > today:
        return f"This policy takes effect on {policy.effective_from:%d %B %Y}: apply it then."
    if policy_in_force_on(today) != policy:
        return "A newer policy is in force: only the policy in force today can be applied."
    return None


def repricing_run_get_for_user(*, user, pk: int) -> RepricingRun:
    """A re-pricing run, for RAS administrators (403 for other roles, 404 for no such run)."""
    if not user.has_perm(POLICY_REPRICE):
        raise PermissionDenied("Only RAS administrators follow re-pricing runs.")
    return get_object_or_404(RepricingRun.objects.select_related("policy", "created_by"), pk=pk)


def repricing_preview_in_background(policy: RasPolicy) -> bool:
    """Whether the preview of applying `policy` is worked out by a background job, in parts
    (allocations.services.repricing_preview), rather than in the page's request: when
    more people have a current budget than settings.REPRICING_PREVIEW_IN_REQUEST_MAX
    (one count, from the index of current budgets)."""
    limit = settings.REPRICING_PREVIEW_IN_REQUEST_MAX
    current = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
    return current[: limit + 1].count() > limit


def repricing_preview_run_latest(policy: RasPolicy) -> RepricingPreviewRun | None:
    """The newest background preview of applying `policy`, if any."""
    return policy.preview_runs.select_related("created_by").order_by("-created_at", "-pk").first()


def repricing_preview_summary(run: RepricingPreviewRun) -> PreviewSummary | None:
    """What a finished preview run found (None until it has finished)."""
    if not run.is_done or run.summary is None:
        return None
    return PreviewSummary.from_json(run.summary)


def repricing_preview_run_get_for_user(*, user, pk: int) -> RepricingPreviewRun:
    """A background preview, for RAS administrators (403 for other roles, 404 for none)."""
    if not user.has_perm(POLICY_REPRICE):
        raise PermissionDenied("Only RAS administrators follow re-pricing previews.")
    return get_object_or_404(RepricingPreviewRun.objects.select_related("policy"), pk=pk)
