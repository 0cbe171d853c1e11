"""Load (issue 14): logged-in social workers using the service at once, on loopback, against
gunicorn, on 20,000 people in one team.

    python -m benchmarks.load
    BENCH_SECONDS=30 BENCH_USERS=20 python -m benchmarks.load   # shorter, fewer users
    BENCH_REUSE=1 python -m benchmarks.load                     # again on the last run's data

Each virtual user signs in once (GET the login page for its CSRF cookie, POST the form; not
timed), then, until the time is up, goes round: the people list, a search, a person's page,
a save of the first section of its own draft assessment (POST, with the draft's lock_version,
so no save is a conflict), that person's budget explanation page, My work and /healthz —
with a pause between requests (BENCH_THINK_SECONDS, mean of a uniform 0.5×–1.5× pause;
0 sends the next request at once, which measures capacity rather than a working morning).
Prints, per page: requests, requests/s, p50/p95/p99 in ms, errors (a status other than 2xx/3xx,
or no answer) and p50 as a multiple of /healthz's p50 in the same run; then whether the target
(p95 < 150 ms on every page, 0 errors) is met.

The server: `gunicorn ras_site.wsgi` with BENCH_WORKERS sync workers (default 4: two per core
so one worker's database wait overlaps another's Python, but not 2×cores+1, because the load
client and PostgreSQL run on the same two cores), DEBUG off, a fixed DJANGO_SECRET_KEY (a key
generated per process would log everyone out at every other request), DJANGO_ALLOWED_HOSTS
127.0.0.1. The client is the standard library's http.client, one thread per virtual user:
nothing to install, and cheap, since it shares the CPUs with the server.

Uses its own database (BENCH_DATABASE_NAME, default ras_bench_load, on the server of
BENCH_DATABASE_URL, default the local server), dropped and created afresh. A small core is
made through the services (eight people assessed, eligible and given budgets by the RAS
engine); the bulk is copied from it in SQL: 20,000 people in the north team, each with a
submitted assessment (answers, eligibility and findings copied from a core person's) and that
person's current indicative budget, breakdown included, so the explanation page shows real
working; one in five with an agreed budget and a review date within the coming year (My work
lists those due); a draft reassessment for each bench account and for one person in forty.
"""

from __future__ import annotations

import datetime
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.database import recreate_database, use_bench_database

PEOPLE = 20_000
ACCOUNTS = 50
CORE_PEOPLE = 8
TARGET_P95_MS = 150.0
PASSWORD = "load-benchmark-password"
# Fixed for the run, shared by the server's workers (a throwaway key: benchmark data only).
SECRET_KEY = "load-benchmark-key-not-secret-" + "x" * 40
HOST = "127.0.0.1"
PAGES = (
    "sign in",
    "people list",
    "people search",
    "person page",
    "section save",
    "budget explanation",
    "my work",
    "healthz",
)


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        sys.exit(f"{name} must be a number; got {value!r}.")


# --- Seeding ---------------------------------------------------------------------------------


def _columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column != "id"]


def _copy(cursor, model, *, source: str, overrides: dict[str, str], params=None) -> None:
    """INSERT one row of `model` per row of `source` (SQL from FROM on, the template row as
    `t`), each column copied from the template unless `overrides` gives its expression. Every
    column is listed from the model, so a column added later is copied too."""
    columns = _columns(model)
    select = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {select} {source}",
        params,
    )


def _core(users, team) -> list[int]:
    """Eight people assessed through the services (the RAS engine prices them on
    submission); returns their assessments' ids, the templates of the bulk."""
    from decimal import Decimal

    from assessments.demo import _FAMILY, _GIVEN, _complete, demo_addressing
    from assessments.models import ClientGroup
    from assessments.services.assessments import assessment_start
    from assessments.services.people import person_create

    worker = users["sw.north"]
    rng = random.Random(14)
    groups = list(ClientGroup)
    templates = []
    for index in range(CORE_PEOPLE):
        person = person_create(
            actor=worker,
            data={
                "reference": f"LT-{index + 1}",
                **demo_addressing(index, _GIVEN[index]),
                "given_name": _GIVEN[index],
                "family_name": _FAMILY[index],
                "date_of_birth": datetime.date(1940 + index * 5, 1 + index, 10 + index),
                "client_group": groups[index % len(groups)],
                "team": team,
                "address_line_1": f"{index + 1} Mill Lane",
                "town": "Northby",
                "postcode": "NB1 4AB",
                "existing_weekly_cost_gbp": Decimal("180.00") if index % 3 == 0 else None,
                "needs_increased": False,
            },
        )
        assessment = assessment_start(actor=worker, person=person, supported_by="self")
        need = 0.2 + 0.6 * index / (CORE_PEOPLE - 1)
        templates.append(_complete(assessment, worker, rng, need=need).pk)
    return templates


def _accounts(team, count: int) -> None:
    """`count` social workers of the team, load.sw01 …, sharing one password (hashed once)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from assessments.models import User
    from assessments.roles import Role

    password = make_password(PASSWORD)
    group = Group.objects.get(name=Role.SOCIAL_WORKER.label)
    for n in range(1, count + 1):
        user = User.objects.create(
            username=f"load.sw{n:02d}",
            first_name="Load",
            last_name=f"Worker {n:02d}",
            email=f"load.sw{n:02d}@example.org",
            team=team,
            password=password,
        )
        user.groups.add(group)


def seed(people: int, accounts: int) -> None:
    """Migrations, demo users, questionnaire, policy and the core through the services; the
    bench accounts in bulk; then the people and their records copied in SQL."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from allocations.demo import POLICY_2026
    from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
    from allocations.services.policies import policy_approve, policy_create_draft
    from assessments.demo import (
        _FAMILY,
        _GIVEN,
        _STREETS,
        _questionnaire,
        _teams,
        _users,
        demo_clock,
        demo_moment,
    )
    from assessments.models import (
        Answer,
        Assessment,
        EligibilityDetermination,
        OutcomeFinding,
        Person,
    )
    from assessments.notifications import notifications_paused
    from assessments.roles import roles_sync

    call_command("migrate", verbosity=0)
    with notifications_paused(), transaction.atomic():
        roles_sync()
        teams = _teams()
        users = _users(teams)
        _questionnaire(users["ras.admin"])
        start = datetime.date.today() - datetime.timedelta(days=400)  # noqa: DTZ011
        with demo_clock(demo_moment(start, 9)):
            policy_approve(
                actor=users["senior.manager"],
                policy=policy_create_draft(
                    actor=users["ras.admin"], data={**POLICY_2026, "effective_from": start}
                ),
            )
        templates = _core(users, teams["north"])
        _accounts(teams["north"], accounts)

    params = {
        "templates": templates,
        "people": people - CORE_PEOPLE,
        "given": _GIVEN,
        "family": _FAMILY,
        "streets": _STREETS,
        "accounts": accounts,
        "worker": users["sw.north"].pk,
        "manager": users["tm.north"].pk,
    }
    with connection.cursor() as cursor:
        # g: the bulk person's number; their template is core assessment g mod 8.
        cursor.execute(
            """CREATE TEMP TABLE bench_person AS
               SELECT g, (%(templates)s::bigint[])[1 + g %% cardinality(%(templates)s::bigint[])]
                   AS template_assessment_id, NULL::bigint AS person_id,
                   NULL::bigint AS assessment_id
               FROM generate_series(1, %(people)s) AS g""",
            params,
        )
        cursor.execute(
            """ALTER TABLE bench_person ADD COLUMN template_person_id bigint;
               UPDATE bench_person b SET template_person_id = a.person_id
               FROM assessments_assessment a WHERE a.id = b.template_assessment_id"""
        )
        # Names from the demo's lists: 1,600 combinations, so a search finds a dozen people.
        _copy(
            cursor,
            Person,
            source="FROM bench_person b JOIN assessments_person t ON t.id = b.template_person_id",
            overrides={
                "reference": "'L-' || (100000 + b.g)",
                "given_name": "(%(given)s::text[])[1 + b.g %% cardinality(%(given)s::text[])]",
                "family_name": "(%(family)s::text[])[1 + (b.g / 40) %% "
                "cardinality(%(family)s::text[])]",
                "preferred_name": "''",
                "date_of_birth": "DATE '1930-01-01' + (b.g * 7) %% 25000",
                "address_line_1": "(1 + b.g %% 180) || ' ' || "
                "(%(streets)s::text[])[1 + b.g %% cardinality(%(streets)s::text[])]",
                "created_at": "now() - interval '30 days'",
                "updated_at": "now() - interval '30 days'",
                "lock_version": "1",
            },
            params=params,
        )
        cursor.execute(
            """UPDATE bench_person b SET person_id = p.id FROM assessments_person p
               WHERE p.reference = 'L-' || (100000 + b.g)"""
        )
        # Copied as drafts, then submitted: a submitted assessment's parts are locked.
        _copy(
            cursor,
            Assessment,
            source="FROM bench_person b "
            "JOIN assessments_assessment t ON t.id = b.template_assessment_id",
            overrides={"person_id": "b.person_id", "status": "'draft'"},
        )
        cursor.execute(
            """UPDATE bench_person b SET assessment_id = a.id FROM assessments_assessment a
               WHERE a.person_id = b.person_id"""
        )
        _copy(
            cursor,
            Answer,
            source="FROM bench_person b "
            "JOIN assessments_answer t ON t.assessment_id = b.template_assessment_id",
            overrides={"assessment_id": "b.assessment_id"},
        )
        _copy(
            cursor,
            EligibilityDetermination,
            source="FROM bench_person b JOIN assessments_eligibilitydetermination t "
            "ON t.assessment_id = b.template_assessment_id",
            overrides={"assessment_id": "b.assessment_id"},
        )
        _copy(
            cursor,
            OutcomeFinding,
            source=f"""FROM bench_person b
                JOIN {EligibilityDetermination._meta.db_table} d
                    ON d.assessment_id = b.assessment_id
                JOIN {EligibilityDetermination._meta.db_table} td
                    ON td.assessment_id = b.template_assessment_id
                JOIN {OutcomeFinding._meta.db_table} t ON t.determination_id = td.id""",
            overrides={"determination_id": "d.id"},
        )
        cursor.execute(
            """UPDATE assessments_assessment a SET status = t.status FROM bench_person b
               JOIN assessments_assessment t ON t.id = b.template_assessment_id
               WHERE a.id = b.assessment_id"""
        )
        _copy(
            cursor,
            IndicativeBudget,
            source="FROM bench_person b JOIN allocations_indicativebudget t "
            "ON t.assessment_id = b.template_assessment_id AND t.status = 'current'",
            overrides={"person_id": "b.person_id", "assessment_id": "b.assessment_id"},
        )
        # One in five has an agreed budget (council-managed, the indicative figure), agreed
        # over the last year, so a year's reviews fall due over the coming one.
        agreed = (
            "FROM bench_person b JOIN allocations_indicativebudget ib "
            "ON ib.person_id = b.person_id AND ib.status = 'current' WHERE b.g %% 5 = 0"
        )
        _copy(
            cursor,
            SupportPlan,
            source=agreed,
            overrides={
                "status": "'agreed'",
                "management": "'council_managed'",
                "direct_payment_weekly_gbp": "0",
                "council_managed_weekly_gbp": "ib.indicative_weekly_gbp",
                "isf_weekly_gbp": "0",
                "contribution_weekly_gbp": "0",
                "difference_reason": "''",
                "risk_referral": "false",
                "risk_reasons": "''",
                "review_date": "NULL",
                "created_at": "now() - make_interval(days => 20 + b.g %% 360)",
                "updated_at": "now() - make_interval(days => 10 + b.g %% 360)",
                "submitted_at": "now() - make_interval(days => 12 + b.g %% 360)",
                "routing_reasons": "'[]'::jsonb",
                "returned_comments": "''",
                "decided_at": "now() - make_interval(days => 10 + b.g %% 360)",
                "created_by_id": "%(worker)s",
                "decided_by_id": "%(manager)s",
                "indicative_budget_id": "ib.id",
                "person_id": "b.person_id",
                "submitted_by_id": "%(worker)s",
                "updated_by_id": "%(worker)s",
                "closed_at": "NULL",
                "closed_reason": "''",
            },
            params=params,
        )
        _copy(
            cursor,
            AgreedBudget,
            source="FROM allocations_supportplan t JOIN bench_person b "
            "ON b.person_id = t.person_id",
            overrides={
                "status": "'current'",
                "weekly_gbp": "t.council_managed_weekly_gbp",
                "annual_gbp": "round(t.council_managed_weekly_gbp * 52, 2)",
                "one_off_gbp": "0",
                "direct_payment_weekly_gbp": "0",
                "council_managed_weekly_gbp": "t.council_managed_weekly_gbp",
                "isf_weekly_gbp": "0",
                "contribution_weekly_gbp": "0",
                "council_weekly_gbp": "t.council_managed_weekly_gbp",
                "indicative_weekly_gbp": "t.council_managed_weekly_gbp",
                "difference_reason": "''",
                "conditions": "''",
                "review_date": "(t.decided_at + interval '365 days')::date",
                "agreed_at": "t.decided_at",
                "agreed_how": "'team manager'",
                "ended_at": "NULL",
                "agreed_by_id": "%(manager)s",
                "person_id": "t.person_id",
                "plan_id": "t.id",
                "decided_at": "NULL",
                "decided_by_id": "NULL",
                "decision_reason": "''",
                "replaces_id": "NULL",
            },
            params=params,
        )
        # Draft reassessments: bench account n's own on person n (the load saves it), and one
        # person in forty's, each with its first two sections answered.
        cursor.execute(
            """CREATE TEMP TABLE bench_draft AS
               SELECT b.*, u.id AS worker_id FROM bench_person b
               JOIN assessments_user u ON u.username = 'load.sw' || lpad(
                   (CASE WHEN b.g <= %(accounts)s THEN b.g
                         ELSE 1 + b.g %% %(accounts)s END)::text, 2, '0')
               WHERE b.g <= %(accounts)s OR b.g %% 40 = 0""",
            params,
        )
        _copy(
            cursor,
            Assessment,
            source="FROM bench_draft b "
            "JOIN assessments_assessment t ON t.id = b.template_assessment_id",
            overrides={
                "person_id": "b.person_id",
                "status": "'draft'",
                "assessment_date": "current_date",
                "informal_support": "''",
                "carer_assessed": "NULL",
                "carer_able_and_willing": "NULL",
                "carer_impact": "''",
                "started_at": "now() - interval '2 days'",
                "updated_at": "now() - interval '2 days'",
                "started_by_id": "b.worker_id",
                "updated_by_id": "b.worker_id",
                "lock_version": "1",
                "submitted_at": "NULL",
                "submitted_by_id": "NULL",
            },
        )
        _copy(
            cursor,
            Answer,
            source="""FROM bench_draft b
                JOIN assessments_assessment d ON d.person_id = b.person_id AND d.status = 'draft'
                JOIN assessments_answer t ON t.assessment_id = b.template_assessment_id
                JOIN assessments_question q ON q.id = t.question_id
                JOIN assessments_section s ON s.id = q.section_id
                WHERE s."order" <= (SELECT min(s2."order") + 1 FROM assessments_section s2
                                    WHERE s2.version_id = s.version_id)""",
            overrides={
                "assessment_id": "d.id",
                "answered_by_id": "b.worker_id",
                "answered_at": "now() - interval '2 days'",
            },
        )
    # As autovacuum would soon after a bulk load: statistics for the planner, and the trigram
    # indexes' pending lists merged (searched unmerged, each search scans them: 30 ms, not 1).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- The request plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request of a round: `data` is the form of a POST (the CSRF token is added when
    sent)."""

    page: str
    method: str
    path: str
    data: dict | None = None


@dataclass
class Account:
    """A virtual user: its login, and its own draft, saved every round (the lock_version it
    expects goes up with each save)."""

    username: str
    draft_pk: int
    person_pk: int
    section_fields: list[tuple[str, list[int]]]
    lock_version: int
    saves: int = field(default=0)


@dataclass(frozen=True)
class Caseload:
    """Whom the rounds visit: people of the team (with their current budget) and searches."""

    people: list[tuple[int, int]]  # (person id, current indicative budget id)
    searches: list[str]


def accounts_load(usernames: list[str]) -> list[Account]:
    """Each account's own draft (the one it started) and its first section's fields, read
    through the selectors the section page uses."""
    from assessments.models import Assessment
    from assessments.selectors.assessments import assessment_steps, section_questions

    accounts = []
    for username in usernames:
        draft = (
            Assessment.objects.filter(started_by__username=username, status=Assessment.Status.DRAFT)
            .order_by("person__reference")  # its own (L-1000nn) before the others it started
            .first()
        )
        if draft is None:
            sys.exit(f"{username} has no draft assessment: run without BENCH_REUSE to seed.")
        section = assessment_steps(assessment=draft)[0].section
        fields = [
            (f"q_{q.pk}", [o.pk for o in q.options.all()])
            for q in section_questions(section=section)
        ]
        accounts.append(Account(username, draft.pk, draft.person_id, fields, draft.lock_version))
    return accounts


def caseload_load(*, team_code: str) -> Caseload:
    from allocations.models import IndicativeBudget

    people = list(
        IndicativeBudget.objects.filter(
            status=IndicativeBudget.Status.CURRENT, person__team__code=team_code
        ).values_list("person_id", "pk")
    )
    names = IndicativeBudget.objects.filter(person_id__in=[p for p, _ in people[:400]])
    searches = sorted(
        {n.person.family_name for n in names.select_related("person")}
        | {f"{n.person.given_name} {n.person.family_name}" for n in names[:200]}
    )
    return Caseload(people=people, searches=searches)


def round_steps(account: Account, caseload: Caseload, rng: random.Random) -> list[Step]:
    """One round of a virtual user's work, in the order a social worker clicks."""
    from django.urls import reverse

    person_pk, budget_pk = rng.choice(caseload.people)
    account.saves += 1
    form = {"lock_version": account.lock_version, "action": "next"}
    # A different answer each save, so every save writes answers and their history.
    for index, (name, options) in enumerate(account.section_fields):
        form[name] = options[(account.saves + index) % len(options)]
        form[name.replace("q_", "evidence_", 1)] = ""
    return [
        Step("people list", "GET", reverse("assessments:person_list")),
        Step(
            "people search",
            "GET",
            reverse("assessments:person_list")
            + "?"
            + urlencode({"q": rng.choice(caseload.searches)}),
        ),
        Step("person page", "GET", reverse("assessments:person_detail", args=[person_pk])),
        Step(
            "section save",
            "POST",
            reverse("assessments:assessment_step", args=[account.draft_pk, 1]),
            form,
        ),
        Step("budget explanation", "GET", reverse("allocations:budget_detail", args=[budget_pk])),
        Step("my work", "GET", reverse("panels:my_work")),
        Step("healthz", "GET", reverse("healthz")),
    ]


# --- The client ----------------------------------------------------------------------------------

LOCK_VERSION = re.compile(rb'name="lock_version" value="(\d+)"')


class Browser:
    """One virtual user's connection and cookies (http.client reconnects by itself when
    gunicorn's sync worker closes the connection after a response)."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None):
        headers = {"Host": HOST}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, content

    def log_in(self, username: str) -> None:
        from django.urls import reverse

        login = reverse("login")
        status, _ = self.request("GET", login)
        if status != 200:
            raise RuntimeError(f"login page: HTTP {status}")
        status, _ = self.request("POST", login, {"username": username, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"{username} could not sign in: HTTP {status}")


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAGES, 0))
    samples: list[str] = field(default_factory=list)

    def error(self, page: str, what: str) -> None:
        self.errors[page] += 1
        if len(self.samples) < 8:
            self.samples.append(f"{page}: {what}")


def virtual_user(port, account, caseload, results, start_barrier, deadline, think, seed):
    rng = random.Random(seed)
    browser = Browser(port)
    try:
        browser.log_in(account.username)
    except Exception as error:  # reported; the user takes no part
        results.error("sign in", f"{account.username}: {error}")
        start_barrier.wait()
        return
    start_barrier.wait()
    while time.perf_counter() < deadline[0]:
        for step in round_steps(account, caseload, rng):
            if think:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
            if time.perf_counter() >= deadline[0]:
                return
            began = time.perf_counter()
            try:
                status, content = browser.request(step.method, step.path, step.data)
            except Exception as error:
                results.times[step.page].append((time.perf_counter() - began) * 1000)
                results.error(step.page, f"{type(error).__name__}: {error}")
                continue
            results.times[step.page].append((time.perf_counter() - began) * 1000)
            if step.page == "section save":
                if status == 302:
                    account.lock_version += 1
                    continue
                # Shown again (a conflict or a refusal): note it, take the version shown.
                found = LOCK_VERSION.search(content)
                if found:
                    account.lock_version = int(found.group(1))
                results.error(step.page, f"HTTP {status} (the form was shown again)")
            elif not 200 <= status < 400:
                results.error(step.page, f"HTTP {status} {step.path}")


# --- The server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, log):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ras_site.settings",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "ras_site.wsgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):
        if server.poll() is not None:
            break
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": HOST})
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    log.seek(0)
    sys.exit("gunicorn did not start:\n" + log.read().decode(errors="replace")[-3000:])


def stop_server(server) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- Report -----------------------------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(results: Results, seconds: float) -> bool:
    """Print the table; True when the target is met."""
    health = sorted(results.times["healthz"])
    health_p50 = percentile(health, 50)
    print(
        f"{'page':<20}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'p50/healthz':>13}"
    )
    met, over = True, []
    total = 0
    for page in PAGES[1:]:
        times = sorted(results.times[page])
        total += len(times)
        p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
        ratio = p50 / health_p50 if health_p50 == health_p50 and health_p50 > 0 else float("nan")
        print(
            f"{page:<20}{len(times):>9}{len(times) / seconds:>8.1f}{p50:>9.0f}{p95:>9.0f}"
            f"{p99:>9.0f}{results.errors[page]:>8}{ratio:>12.1f}×"
        )
        if not times or p95 >= TARGET_P95_MS or results.errors[page]:
            met = False
            over.append(page)
    print(f"{'all':<20}{total:>9}{total / seconds:>8.1f}")
    if results.errors["sign in"]:
        met = False
        over.append(f"{results.errors['sign in']} users could not sign in")
    for sample in results.samples:
        print(f"  error: {sample}")
    verdict = "met" if met else "NOT met (" + ", ".join(over) + ")"
    print(f"target p95 < {TARGET_P95_MS:g} ms on every page and 0 errors: {verdict}")
    return met


def main() -> None:
    seconds = _env_number("BENCH_SECONDS", 120)
    users = int(_env_number("BENCH_USERS", 50))
    think = _env_number("BENCH_THINK_SECONDS", 1.0)
    workers = int(_env_number("BENCH_WORKERS", 4))
    reuse = os.environ.get("BENCH_REUSE") == "1"
    accounts = max(ACCOUNTS, users)

    bench_db = use_bench_database("ras_bench_load")
    # The same key in this process, which reverses URLs and reads the plan, as in the server.
    os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
    os.environ["DJANGO_ALLOWED_HOSTS"] = HOST
    if not reuse:
        recreate_database(bench_db)
    import django

    django.setup()
    from django.db import connection

    from assessments.models import Person, User

    started = time.perf_counter()
    if not reuse:
        seed(PEOPLE, accounts)
        print(f"seed: {time.perf_counter() - started:.1f} s")
    usernames = [f"load.sw{n:02d}" for n in range(1, users + 1)]
    if User.objects.filter(username__in=usernames).count() < users:
        sys.exit(f"The last seed made fewer than {users} accounts: run without BENCH_REUSE.")
    plan = accounts_load(usernames)
    caseload = caseload_load(team_code="north")
    print(
        f"data: {Person.objects.filter(team__code='north').count():,} people in the north "
        f"team, {len(caseload.people):,} with a current budget"
    )
    connection.close()

    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_server(port, workers, log)
        try:
            results = Results()
            barrier = threading.Barrier(users + 1)
            deadline = [float("inf")]
            threads = [
                threading.Thread(
                    target=virtual_user,
                    args=(port, account, caseload, results, barrier, deadline, think, n),
                    daemon=True,
                )
                for n, account in enumerate(plan)
            ]
            login_started = time.perf_counter()
            for thread in threads:
                thread.start()
            barrier.wait()
            begin = time.perf_counter()
            deadline[0] = begin + seconds
            print(
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                f"{users} users signed in in {begin - login_started:.1f} s; running "
                f"{seconds:g} s against gunicorn ({workers} sync workers) on {HOST}:{port}, "
                f"pause between requests {think:g} s on average"
            )
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - begin
        finally:
            stop_server(server)
        met = report(results, elapsed)
        if not met and sum(results.errors.values()):
            log.seek(0)
            lines = log.read().decode(errors="replace").splitlines()
            print("gunicorn's log, last lines:", *lines[-15:], sep="\n  ")


if __name__ == "__main__":
    main()
